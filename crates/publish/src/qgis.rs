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
    /// A table without geometry (household returns): listed, never drawn or styled.
    Table,
}

/// A layer of the project: its path relative to the output root, name and group.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectLayer {
    /// Path relative to the project file (`facilities/HB-PSF-01.parquet`, `villages.parquet`).
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

/// The hue of each mid-class (degrees); its sub-classes are shades of it.
fn mid_class_hue(code: &str) -> f64 {
    match code.get(..6) {
        Some("HB-PSF") => 210.0, // blue
        Some("HB-HCS") => 0.0,   // red
        Some("HB-NCM") => 30.0,  // brown-orange
        Some("DR-GOV") => 120.0, // green
        Some("DR-ENT") => 275.0, // purple
        Some("DR-GRS") => 45.0,  // amber
        Some("DR-HH-") => 180.0, // teal
        _ => 0.0,
    }
}

/// A colour per sub-class: its mid-class's hue, darker or lighter and more or less saturated by
/// its number, so that the nine 公共服务设施 classes are told apart.
fn class_colour(code: &str) -> String {
    let number: usize = code
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    // (saturation, value) per sub-class number: 12 shades, enough for DR-GOV's 11 classes.
    const SHADES: [(f64, f64); 12] = [
        (0.95, 0.45),
        (0.9, 0.85),
        (0.55, 0.65),
        (0.7, 1.0),
        (0.4, 0.55),
        (0.95, 0.7),
        (0.45, 0.95),
        (0.75, 0.55),
        (0.3, 0.8),
        (0.6, 0.4),
        (0.85, 0.95),
        (0.25, 0.6),
    ];
    let (saturation, value) = SHADES[number.saturating_sub(1) % SHADES.len()];
    let hue = mid_class_hue(code);
    let (r, g, b) = hsv_to_rgb(hue, saturation, value);
    format!("{r},{g},{b},255")
}

fn hsv_to_rgb(hue: f64, saturation: f64, value: f64) -> (u8, u8, u8) {
    let c = value * saturation;
    let h = (hue % 360.0) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = value - c;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    (byte(r), byte(g), byte(b))
}

/// The grey of "no data" (无数据): a graded field that is empty.
pub const NO_DATA_COLOUR: &str = "200,200,200,255";

fn fill_symbol(name: &str, colour: &str) -> String {
    format!(
        r#"<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleFill" enabled="1" pass="0" locked="0"><Option type="Map"><Option type="QString" name="color" value="{colour}"/><Option type="QString" name="outline_color" value="90,90,90,255"/><Option type="QString" name="outline_width" value="0.2"/><Option type="QString" name="style" value="solid"/></Option></layer></symbol>"#
    )
}

fn marker_symbol(name: &str, colour: &str, shape: &str, size: &str, outline: &str) -> String {
    format!(
        r#"<symbol type="marker" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0"><layer class="SimpleMarker" enabled="1" pass="0" locked="0"><Option type="Map"><Option type="QString" name="color" value="{colour}"/><Option type="QString" name="name" value="{shape}"/><Option type="QString" name="outline_color" value="{outline}"/><Option type="QString" name="outline_width" value="0.4"/><Option type="QString" name="size" value="{size}"/></Option></layer></symbol>"#
    )
}

/// A graduated renderer over `field` (levels 1 … 5 with `labels` and `colours`) plus a grey
/// 无数据 class for empty values: its expression maps an empty field to 0.
fn graded(r: &mut String, field: &str, labels: [&str; 5], colours: [&str; 5]) {
    let _ = write!(
        r,
        r#"<renderer-v2 type="graduatedSymbol" attr="{}" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0"><ranges>"#,
        esc(&format!("coalesce(\"{field}\", 0)"))
    );
    let _ = write!(
        r,
        r#"<range lower="-0.5" upper="0.5" symbol="0" label="无数据 no data" render="true"/>"#
    );
    for (i, label) in labels.iter().enumerate() {
        let level = i + 1;
        let _ = write!(
            r,
            r#"<range lower="{}" upper="{}" symbol="{level}" label="{}" render="true"/>"#,
            level as f64 - 0.5,
            level as f64 + 0.5,
            esc(label)
        );
    }
    r.push_str("</ranges><symbols>");
    r.push_str(&fill_symbol("0", NO_DATA_COLOUR));
    for (i, colour) in colours.iter().enumerate() {
        r.push_str(&fill_symbol(&(i + 1).to_string(), colour));
    }
    r.push_str("</symbols><source-symbol>");
    r.push_str(&fill_symbol("0", NO_DATA_COLOUR));
    r.push_str("</source-symbol></renderer-v2>\n");
}

/// The fields a style refers to (for tests and for checking a layer before styling it).
pub fn styled_fields(kind: &LayerKind) -> Vec<&'static str> {
    match kind {
        LayerKind::Capacity => vec!["capacity_level", "name"],
        LayerKind::Findings => vec!["severity", "rule"],
        LayerKind::Facilities { .. } => vec!["name"],
        LayerKind::Counties => vec!["risk_level", "name"],
        LayerKind::Table => vec![],
    }
}

/// The labels of a layer, if it has any: the Chinese `name` of counties and villages (villages
/// only from 1:250,000 in, where they no longer crowd), in dark grey on a white halo, in QGIS's
/// default font (a CJK font where the system has one).
pub fn labeling(kind: &LayerKind) -> Option<String> {
    // QGIS stores a label's zoom range as `scaleMin` (the most zoomed-out scale shown; 0 = no
    // limit) and `scaleMax` (the most zoomed-in).
    let (size, most_zoomed_out) = match kind {
        LayerKind::Counties => ("11", 0),
        LayerKind::Capacity => ("8", 250_000),
        _ => return None,
    };
    Some(format!(
        r#"<labeling type="simple"><settings calloutType="simple"><text-style fieldName="name" isExpression="0" fontSize="{size}" fontSizeUnit="Point" textColor="40,40,40,255" textOpacity="1"><text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="1"/></text-style><placement placement="1" centroidInside="1" centroidWhole="0"/><rendering scaleVisibility="{}" scaleMin="{most_zoomed_out}" scaleMax="0" obstacle="1" fontLimitPixelSize="0"/></settings></labeling>"#,
        u8::from(most_zoomed_out > 0)
    ))
}

/// The `.qml` of a layer.
pub fn qml(kind: &LayerKind) -> String {
    let labels = labeling(kind);
    let mut r = format!(
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"{QGIS_VERSION}\" styleCategories=\"Symbology|Labeling\" labelsEnabled=\"{}\">\n",
        u8::from(labels.is_some())
    );
    if let Some(labels) = &labels {
        r.push_str(labels);
        r.push('\n');
    }
    let grades = GRADE_COLOURS.map(|(_, colour)| colour);
    match kind {
        LayerKind::Capacity => {
            graded(
                &mut r,
                "capacity_level",
                GRADE_COLOURS.map(|(label, _)| label),
                grades,
            );
        }
        LayerKind::Counties => {
            // Risk reads the other way round: 高 in red.
            let mut risk = grades;
            risk.reverse();
            graded(
                &mut r,
                "risk_level",
                ["低", "较低", "中", "较高", "高"],
                risk,
            );
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
            let colour = class_colour(code);
            r.push_str(&marker_symbol(
                "0",
                &colour,
                "circle",
                "2.4",
                "255,255,255,255",
            ));
            r.push_str("</symbols></renderer-v2>\n");
        }
        LayerKind::Findings => {
            // Shapes no facility uses, outlined in black, so findings stand out on top.
            r.push_str(r#"<renderer-v2 type="categorizedSymbol" attr="severity" symbollevels="0" enableorderby="0" forceraster="0"><categories>"#);
            let severities = [
                ("error", "错误 error", "triangle", "215,25,28,255", "4"),
                (
                    "warning",
                    "警告 warning",
                    "diamond",
                    "253,141,60,255",
                    "3.6",
                ),
                ("info", "提示 info", "cross2", "49,130,189,255", "3.2"),
            ];
            for (i, (value, label, ..)) in severities.iter().enumerate() {
                let _ = write!(
                    r,
                    r#"<category value="{value}" symbol="{i}" label="{}" render="true"/>"#,
                    esc(label)
                );
            }
            r.push_str("</categories><symbols>");
            for (i, (_, _, shape, colour, size)) in severities.iter().enumerate() {
                let outline = if *shape == "cross2" {
                    colour
                } else {
                    "0,0,0,255"
                };
                r.push_str(&marker_symbol(&i.to_string(), colour, shape, size, outline));
            }
            r.push_str("</symbols></renderer-v2>\n");
        }
        LayerKind::Table => {}
    }
    r.push_str("<layerGeometryType>");
    r.push_str(match kind {
        LayerKind::Capacity | LayerKind::Counties => "2",
        LayerKind::Table => "4",
        _ => "0",
    });
    r.push_str("</layerGeometryType>\n</qgis>\n");
    r
}

const EPSG_4490_SRS: &str = r#"<spatialrefsys nativeFormat="Wkt"><wkt>GEOGCRS["China Geodetic Coordinate System 2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101,LENGTHUNIT["metre",1]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433]],CS[ellipsoidal,2],AXIS["geodetic latitude (Lat)",north,ORDER[1],ANGLEUNIT["degree",0.0174532925199433]],AXIS["geodetic longitude (Lon)",east,ORDER[2],ANGLEUNIT["degree",0.0174532925199433]],USAGE[SCOPE["Horizontal component of 3D system."],AREA["China - onshore and offshore."],BBOX[16.7,73.62,53.56,134.77]],ID["EPSG",4490]]</wkt><proj4>+proj=longlat +ellps=GRS80 +no_defs</proj4><srsid>0</srsid><srid>4490</srid><authid>EPSG:4490</authid><description>China Geodetic Coordinate System 2000</description><projectionacronym>longlat</projectionacronym><ellipsoidacronym>EPSG:1024</ellipsoidacronym><geographicflag>true</geographicflag></spatialrefsys>"#;

/// The groups of the project, in order.
pub const GROUPS: [&str; 4] = ["质量问题", "承灾体", "减灾能力", "行政区"];

/// The QGIS version the projects and styles declare: the oldest one in use (Debian bookworm's),
/// so that no QGIS warns that the file comes from a newer version.
pub const QGIS_VERSION: &str = "3.22.16";

/// The id of the project's `i`-th layer. QGIS ignores ids of 10 characters or fewer when it
/// reads a project (and makes random ones, unlinking the layer tree), so these are longer.
pub fn layer_id(i: usize) -> String {
    format!("riskcensus_layer_{i:06}")
}

/// The extent a project opens on (longitude/latitude degrees, EPSG:4490).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    /// West.
    pub min_x: f64,
    /// South.
    pub min_y: f64,
    /// East.
    pub max_x: f64,
    /// North.
    pub max_y: f64,
}

/// Write the `.qgs` project to `out` as it is made: layers grouped, CRS EPSG:4490 (with
/// on-the-fly projection enabled), paths relative to the project file, opening on `extent`. A
/// layer's `path` may name a GeoPackage layer (`x.gpkg|layername=villages`). The project is
/// streamed, never held in memory whole.
pub fn write_project(
    out: &mut impl std::io::Write,
    title: &str,
    layers: &[ProjectLayer],
    extent: Option<Extent>,
) -> std::io::Result<()> {
    write!(out, "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis projectname=\"{}\" version=\"{QGIS_VERSION}\">\n", esc(title))?;
    write!(
        out,
        "<title>{}</title>\n<projectCrs>{EPSG_4490_SRS}</projectCrs>\n<layer-tree-group>\n",
        esc(title)
    )?;
    for group in GROUPS {
        writeln!(
            out,
            "<layer-tree-group name=\"{}\" checked=\"Qt::Checked\" expanded=\"1\">",
            esc(group)
        )?;
        for (i, l) in layers.iter().enumerate().filter(|(_, l)| l.group == group) {
            writeln!(out, "<layer-tree-layer id=\"{}\" name=\"{}\" source=\"./{}\" providerKey=\"ogr\" checked=\"Qt::Checked\" expanded=\"0\"/>", layer_id(i), esc(&l.name), esc(&l.path))?;
        }
        out.write_all(b"</layer-tree-group>\n")?;
    }
    out.write_all(b"</layer-tree-group>\n")?;
    if let Some(e) = extent {
        writeln!(out, "<mapcanvas name=\"theMapCanvas\" annotationsVisible=\"1\"><units>degrees</units><extent><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></extent><rotation>0</rotation><destinationsrs>{EPSG_4490_SRS}</destinationsrs><rendermaptile>0</rendermaptile></mapcanvas>", e.min_x, e.min_y, e.max_x, e.max_y)?;
    }
    out.write_all(b"<projectlayers>\n")?;
    // Each kind's renderer, made once (the layers of a kind share it).
    let mut renderers: Vec<(&LayerKind, String)> = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let geometry = match l.kind {
            LayerKind::Capacity | LayerKind::Counties => "Polygon",
            LayerKind::Table => "No geometry",
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
        let labels = labeling(&l.kind);
        writeln!(out, "<maplayer type=\"vector\" geometry=\"{geometry}\" autoRefreshMode=\"Disabled\" labelsEnabled=\"{}\"><id>{}</id><datasource>./{}</datasource><layername>{}</layername><provider encoding=\"UTF-8\">ogr</provider><srs>{EPSG_4490_SRS}</srs>{renderer}{}</maplayer>", u8::from(labels.is_some()), layer_id(i), esc(&l.path), esc(&l.name), labels.unwrap_or_default())?;
    }
    out.write_all(b"</projectlayers>\n<properties><Paths><Absolute type=\"bool\">false</Absolute></Paths><SpatialRefSys><ProjectionsEnabled type=\"int\">1</ProjectionsEnabled></SpatialRefSys></properties>\n</qgis>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_classes_of_a_mid_class_get_distinct_colours() {
        for mid in ["HB-PSF", "HB-HCS", "HB-NCM", "DR-GOV", "DR-ENT", "DR-GRS"] {
            let colours: std::collections::BTreeSet<String> = (1..=12)
                .map(|n| class_colour(&format!("{mid}-{n:02}")))
                .collect();
            assert_eq!(colours.len(), 12, "{mid}");
        }
        assert_ne!(class_colour("HB-PSF-01"), class_colour("DR-GOV-01"));
    }

    #[test]
    fn layer_ids_are_longer_than_ten_characters() {
        // QGIS's readLayerXml ignores ids of ten characters or fewer.
        assert!(layer_id(0).len() > 10);
        assert_ne!(layer_id(1), layer_id(10));
    }

    #[test]
    fn graded_styles_have_a_no_data_class() {
        let style = qml(&LayerKind::Capacity);
        assert!(style.contains(r#"attr="coalesce(&quot;capacity_level&quot;, 0)""#));
        assert!(style.contains("无数据 no data"));
        assert!(!qml(&LayerKind::Table).contains("renderer-v2"));
    }

    #[test]
    fn counties_and_villages_are_labelled_by_name_and_nothing_else_is() {
        for kind in [LayerKind::Counties, LayerKind::Capacity] {
            let style = qml(&kind);
            assert!(style.contains(r#"labelsEnabled="1""#), "{kind:?}");
            assert!(style.contains(r#"fieldName="name""#), "{kind:?}");
        }
        for kind in [LayerKind::Findings, LayerKind::Table] {
            assert!(qml(&kind).contains(r#"labelsEnabled="0""#), "{kind:?}");
            assert!(labeling(&kind).is_none());
        }
    }
}
