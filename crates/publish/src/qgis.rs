//! QGIS styles (`.qml` beside each layer, same base name, which QGIS applies on load) and a
//! project (`.qgs`) with every layer grouped, CRS EPSG:4490 and relative paths.
//!
//! The XML is written with quick-xml's escaping; the tests parse it back and check that every
//! referenced file exists and every styled field exists in its layer.

use std::fmt::Write as _;

/// What a layer holds, for its style.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerKind {
    /// Facility points of one class: one symbol, the class's Chinese name as legend.
    Facilities {
        /// Class code.
        code: String,
        /// Chinese name.
        zh: String,
    },
    /// Village or township polygons graduated by `capacity_level` (5 强 … 1 弱).
    Capacity,
    /// County outlines.
    Counties,
    /// Findings points categorised by `severity`.
    Findings,
}

/// A layer of the project: its path relative to the output root, name and group.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectLayer {
    /// Path relative to the project file (`county=620402/villages.parquet`).
    pub path: String,
    /// Layer name shown in QGIS.
    pub name: String,
    /// Group: 承灾体, 减灾能力, 行政区 or 质量问题.
    pub group: &'static str,
    /// Style.
    pub kind: LayerKind,
}

fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The five grade colours, 弱 (1) to 强 (5): red to green.
pub const GRADE_COLOURS: [(&str, &str); 5] = [
    ("弱", "215,25,28,255"),
    ("较弱", "253,174,97,255"),
    ("中等", "255,255,191,255"),
    ("较强", "166,217,106,255"),
    ("强", "26,150,65,255"),
];

fn class_colour(code: &str) -> &'static str {
    match code.get(..6) {
        Some("HB-PSF") => "31,120,180,255",
        Some("HB-HCS") => "227,26,28,255",
        Some("HB-NCM") => "177,89,40,255",
        Some("DR-GOV") => "51,160,44,255",
        Some("DR-ENT") => "106,61,154,255",
        Some("DR-GRS") => "255,127,0,255",
        _ => "99,99,99,255",
    }
}

fn fill_symbol(name: &str, colour: &str) -> String {
    format!(
        r#"<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map"><Option type="QString" name="color" value="{colour}"/><Option type="QString" name="outline_color" value="90,90,90,255"/><Option type="QString" name="outline_width" value="0.2"/><Option type="QString" name="style" value="solid"/></Option></layer></symbol>"#
    )
}

fn marker_symbol(name: &str, colour: &str, size: &str) -> String {
    format!(
        r#"<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleMarker" enabled="1" pass="0" locked="0"><Option type="Map"><Option type="QString" name="color" value="{colour}"/><Option type="QString" name="name" value="circle"/><Option type="QString" name="outline_color" value="255,255,255,255"/><Option type="QString" name="size" value="{size}"/></Option></layer></symbol>"#
    )
}

/// The fields a style refers to (for tests and for checking a layer before styling it).
pub fn styled_fields(kind: &LayerKind) -> Vec<&'static str> {
    match kind {
        LayerKind::Capacity => vec!["capacity_level", "name"],
        LayerKind::Findings => vec!["severity", "rule"],
        LayerKind::Facilities { .. } => vec!["name"],
        LayerKind::Counties => vec!["risk_level", "name"],
    }
}

/// The `.qml` of a layer.
pub fn qml(kind: &LayerKind) -> String {
    let mut r = String::from("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.34.0\" styleCategories=\"Symbology|Labeling\">\n");
    match kind {
        LayerKind::Capacity => {
            r.push_str(r#"<renderer-v2 type="graduatedSymbol" attr="capacity_level" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0"><ranges>"#);
            for (i, (label, _)) in GRADE_COLOURS.iter().enumerate() {
                let level = i + 1;
                let _ = write!(
                    r,
                    r#"<range lower="{}" upper="{}" symbol="{i}" label="{}" render="true"/>"#,
                    level as f64 - 0.5,
                    level as f64 + 0.5,
                    esc(label)
                );
            }
            r.push_str("</ranges><symbols>");
            for (i, (_, colour)) in GRADE_COLOURS.iter().enumerate() {
                r.push_str(&fill_symbol(&i.to_string(), colour));
            }
            r.push_str("</symbols><source-symbol>");
            r.push_str(&fill_symbol("0", "220,220,220,255"));
            r.push_str("</source-symbol></renderer-v2>\n");
        }
        LayerKind::Counties => {
            r.push_str(r#"<renderer-v2 type="graduatedSymbol" attr="risk_level" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0"><ranges>"#);
            for (i, label) in ["低", "较低", "中", "较高", "高"].iter().enumerate() {
                let level = i + 1;
                let _ = write!(
                    r,
                    r#"<range lower="{}" upper="{}" symbol="{i}" label="{}" render="true"/>"#,
                    level as f64 - 0.5,
                    level as f64 + 0.5,
                    esc(label)
                );
            }
            r.push_str("</ranges><symbols>");
            // Risk reads the other way round: 高 in red.
            for (i, (_, colour)) in GRADE_COLOURS.iter().rev().enumerate() {
                r.push_str(&fill_symbol(&i.to_string(), colour));
            }
            r.push_str("</symbols><source-symbol>");
            r.push_str(&fill_symbol("0", "220,220,220,255"));
            r.push_str("</source-symbol></renderer-v2>\n");
        }
        LayerKind::Facilities { code, zh } => {
            r.push_str(r#"<renderer-v2 type="categorizedSymbol" attr="'"#);
            r.push_str(&esc(code));
            r.push_str(r#"'" symbollevels="0" enableorderby="0" forceraster="0"><categories>"#);
            let _ = write!(
                r,
                r#"<category value="{}" symbol="0" label="{} {}" render="true"/>"#,
                esc(code),
                esc(code),
                esc(zh)
            );
            r.push_str("</categories><symbols>");
            r.push_str(&marker_symbol("0", class_colour(code), "2.4"));
            r.push_str("</symbols></renderer-v2>\n");
        }
        LayerKind::Findings => {
            r.push_str(r#"<renderer-v2 type="categorizedSymbol" attr="severity" symbollevels="0" enableorderby="0" forceraster="0"><categories>"#);
            for (i, (value, label)) in [
                ("error", "错误 error"),
                ("warning", "警告 warning"),
                ("info", "提示 info"),
            ]
            .iter()
            .enumerate()
            {
                let _ = write!(
                    r,
                    r#"<category value="{value}" symbol="{i}" label="{}" render="true"/>"#,
                    esc(label)
                );
            }
            r.push_str("</categories><symbols>");
            for (i, colour) in ["215,25,28,255", "253,141,60,255", "49,130,189,255"]
                .iter()
                .enumerate()
            {
                r.push_str(&marker_symbol(&i.to_string(), colour, "3"));
            }
            r.push_str("</symbols></renderer-v2>\n");
        }
    }
    r.push_str("<layerGeometryType>");
    r.push_str(match kind {
        LayerKind::Capacity | LayerKind::Counties => "2",
        _ => "0",
    });
    r.push_str("</layerGeometryType>\n</qgis>\n");
    r
}

const EPSG_4490_SRS: &str = r#"<spatialrefsys nativeFormat="Wkt"><wkt>GEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],AXIS["geodetic longitude (Lon)",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],USAGE[SCOPE["Horizontal component of 3D system."],AREA["China - onshore and offshore."],BBOX[16.7,73.62,53.56,134.77]],ID["EPSG",4490]]</wkt><proj4>+proj=longlat +ellps=GRS80 +no_defs</proj4><srsid>0</srsid><srid>4490</srid><authid>EPSG:4490</authid><description>China Geodetic Coordinate System 2000</description><projectionacronym>longlat</projectionacronym><ellipsoidacronym>EPSG:1024</ellipsoidacronym><geographicflag>true</geographicflag></spatialrefsys>"#;

/// The groups of the project, in order.
pub const GROUPS: [&str; 4] = ["质量问题", "承灾体", "减灾能力", "行政区"];

/// Write the `.qgs` project to `out` as it is made: layers grouped, CRS EPSG:4490, paths
/// relative to the project file. A national project (≈ 160,000 layers) is ≈ 180 MB of XML,
/// which is not held in memory at once.
pub fn write_project(
    out: &mut impl std::io::Write,
    title: &str,
    layers: &[ProjectLayer],
) -> std::io::Result<()> {
    write!(out, "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis projectname=\"{}\" version=\"3.34.0\">\n", esc(title))?;
    write!(
        out,
        "<title>{}</title>\n<projectCrs>{EPSG_4490_SRS}</projectCrs>\n<layer-tree-group>\n",
        esc(title)
    )?;
    let id = |i: usize| format!("layer_{i:03}");
    for group in GROUPS {
        writeln!(
            out,
            "<layer-tree-group name=\"{}\" checked=\"Qt::Checked\" expanded=\"1\">",
            esc(group)
        )?;
        for (i, l) in layers.iter().enumerate().filter(|(_, l)| l.group == group) {
            writeln!(out, "<layer-tree-layer id=\"{}\" name=\"{}\" source=\"./{}\" providerKey=\"ogr\" checked=\"Qt::Checked\" expanded=\"0\"/>", id(i), esc(&l.name), esc(&l.path))?;
        }
        out.write_all(b"</layer-tree-group>\n")?;
    }
    out.write_all(b"</layer-tree-group>\n<projectlayers>\n")?;
    // Each kind's renderer, made once (the layers of a kind share it).
    let mut renderers: Vec<(&LayerKind, String)> = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let geometry = match l.kind {
            LayerKind::Capacity | LayerKind::Counties => "Polygon",
            _ => "Point",
        };
        let renderer = match renderers.iter().position(|(kind, _)| **kind == l.kind) {
            Some(at) => &renderers[at].1,
            None => {
                let style = qml(&l.kind);
                let renderer = style
                    .split_once("<renderer-v2")
                    .and_then(|(_, rest)| rest.split_once("</renderer-v2>"))
                    .map(|(body, _)| format!("<renderer-v2{body}</renderer-v2>"))
                    .unwrap_or_default();
                renderers.push((&l.kind, renderer));
                &renderers[renderers.len() - 1].1
            }
        };
        writeln!(out, "<maplayer type=\"vector\" geometry=\"{geometry}\" autoRefreshMode=\"Disabled\"><id>{}</id><datasource>./{}</datasource><layername>{}</layername><provider encoding=\"UTF-8\">ogr</provider><srs>{EPSG_4490_SRS}</srs>{renderer}</maplayer>", id(i), esc(&l.path), esc(&l.name))?;
    }
    out.write_all(b"</projectlayers>\n<properties><Paths><Absolute type=\"bool\">false</Absolute></Paths></properties>\n</qgis>\n")
}
