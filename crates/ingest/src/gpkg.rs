//! Census GeoPackage exports as returns: one feature table (layer) of a `.gpkg`, its attribute
//! columns matched like a CSV header (census codes `dwmc`, `code` …, or labels), its point
//! geometry (the census 点位置 `dgeom`) as the 经度/纬度 columns.
//!
//! The layer is the pipeline's `layer` (or `sheet`), else the one named after the class's census
//! table (`zhjzzy_zfzhjzzy_yjbncs` for DR-GOV-10), else the only feature table. Rows are
//! numbered by their feature id (the primary key GIS tools show as `fid`). Points are read in
//! CGCS2000 or WGS 84 longitude/latitude (EPSG:4490, EPSG:4326); a layer in another CRS is an
//! error that names it. Polygon features (面位置) become the table's `outlines`, which the
//! locate stage checks against the village of the row's code. The file itself is read by
//! [`riskcensus_gpkg`].

use std::path::Path;

use geo_types::Geometry;
use riskcensus_core::table::RawTable;
use riskcensus_core::ResolvedClass;
use riskcensus_gpkg::{choose_layer, decode, GeoPackage};

use crate::builder::TableBuilder;
use crate::IngestError;

/// Whether the path names a GeoPackage (`.gpkg`).
pub fn is_geopackage(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gpkg"))
}

/// Read one layer of a GeoPackage as a return.
pub fn ingest_gpkg(
    path: &Path,
    name: &str,
    layer: Option<&str>,
    class: &ResolvedClass,
) -> Result<RawTable, IngestError> {
    let err = |message: String| IngestError::Spreadsheet {
        path: name.to_string(),
        message,
    };
    let (bytes, sha256) = crate::read_with_sha256(path, name)?;
    drop(bytes);
    let gpkg = GeoPackage::open(path).map_err(err)?;
    let layers = gpkg.feature_layers().map_err(err)?;
    let table = choose_layer(
        &layers,
        layer,
        class.node.sys_table.as_deref(),
        &class.node.code,
    )
    .map_err(err)?;
    let geometry = gpkg.geometry_column(&table).map_err(err)?;
    if let Some(g) = &geometry {
        if !matches!(g.srs.as_str(), "EPSG:4490" | "EPSG:4326" | "undefined") {
            return Err(err(format!(
                "layer “{table}” is in {}; GeoPackage returns are read in longitude/latitude \
                 (EPSG:4490 or EPSG:4326): reproject the layer, or export it as CSV with the \
                 pipeline's `crs`",
                g.srs
            )));
        }
    }
    let (_, attributes) = gpkg
        .attribute_columns(&table, geometry.as_ref())
        .map_err(err)?;
    let with_point = geometry.is_some()
        && !attributes
            .iter()
            .any(|a| matches!(a.as_str(), "经度" | "纬度"));
    let mut header = attributes.clone();
    if with_point {
        header.extend(["经度".to_string(), "纬度".to_string()]);
    }
    let mut builder = TableBuilder::new(name, class, &header, 1, 1024);
    let mut outlines = Vec::new();
    gpkg.for_each_row(
        &table,
        geometry.as_ref(),
        &attributes,
        |fid, blob, mut cells| {
            let (lon, lat) = match blob.and_then(decode) {
                Some(Geometry::Point(p)) => (Some(p.x()), Some(p.y())),
                Some(Geometry::MultiPoint(m)) if m.0.len() == 1 => {
                    (Some(m.0[0].x()), Some(m.0[0].y()))
                }
                Some(Geometry::Polygon(p)) => {
                    outlines.push((fid, geo_types::MultiPolygon(vec![p])));
                    (None, None)
                }
                Some(Geometry::MultiPolygon(m)) => {
                    outlines.push((fid, m));
                    (None, None)
                }
                _ => (None, None),
            };
            if with_point {
                cells.push(lon.map(|x| x.to_string()));
                cells.push(lat.map(|y| y.to_string()));
            }
            builder.push_row(
                u64::try_from(fid).unwrap_or(0),
                &cells.iter().map(|c| c.as_deref()).collect::<Vec<_>>(),
            );
        },
    )
    .map_err(err)?;
    let mut table = builder.finish(sha256, "GeoPackage")?;
    table.outlines = outlines
        .into_iter()
        .map(|(fid, m)| (u64::try_from(fid).unwrap_or(0), m))
        .collect();
    Ok(table)
}
