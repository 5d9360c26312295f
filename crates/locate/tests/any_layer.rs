//! Any damage to a polygon layer: the GeoJSON and Shapefile readers never panic, and whatever
//! they read goes through the county and village checks without a panic, every village kept
//! valid. Inputs are the sample's county GeoJSON and a Shapefile of sample villages written by
//! the `shapefile` crate's writer, broken at random places (tests/support/mutate.rs).
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs the default below).

use proptest::prelude::*;
use riskcensus_locate::counties::{check_counties, Counties};
use riskcensus_locate::layers::{read_polygons, LayerSpec};
use riskcensus_locate::{check_villages, VillageIndex};
use std::path::Path;

#[path = "../../../tests/support/mutate.rs"]
mod mutate;
use mutate::{apply, edit};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn spec<'a>(path: &'a Path, code_field: &'a str) -> LayerSpec<'a> {
    LayerSpec {
        path,
        shown: "broken",
        crs: None,
        layer: None,
        code_field,
        name_field: "name",
    }
}

fn sample_counties() -> Counties {
    let path = repo().join("sample_data/geometry/baiyin_counties.geojson");
    read_polygons(&spec(&path, "adcode"))
        .expect("counties")
        .into_iter()
        .filter(|f| f.level.as_deref().is_none_or(|l| l == "county"))
        .map(|f| (f.code, (f.name, f.geometry)))
        .collect()
}

/// The first 40 sample villages as a Shapefile (code field only), written by `shapefile`.
fn village_shapefile(dir: &Path) -> std::path::PathBuf {
    use shapefile::dbase::{FieldValue, Record, TableWriterBuilder};
    let geojson = repo().join("sample_data/geometry/baiyin_villages.geojson");
    let features = read_polygons(&spec(&geojson, "code")).expect("villages");
    let path = dir.join("villages.shp");
    let table = TableWriterBuilder::new().add_character_field("code".try_into().expect("name"), 12);
    let mut writer = shapefile::Writer::from_path(&path, table).expect("writer");
    for f in features.into_iter().take(40) {
        let mut record = Record::default();
        record.insert("code".into(), FieldValue::Character(Some(f.code)));
        let polygon = shapefile::Polygon::from(f.geometry);
        writer
            .write_shape_and_record(&polygon, &record)
            .expect("write");
    }
    drop(writer);
    path
}

/// Read `path` as a village layer and check it against `counties`.
fn check_as_villages(path: &Path, counties: &Counties) -> Result<(), TestCaseError> {
    use geo::Validation;
    if let Ok(read) = VillageIndex::read_layer(&spec(path, "code")) {
        let (kept, _) = check_villages(read, counties, "broken");
        for v in &kept {
            prop_assert!(v.geometry.is_valid(), "{} kept invalid", v.code);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_broken_geojson_is_read_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..5),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let bytes = std::fs::read(repo().join("sample_data/geometry/baiyin_counties.geojson"))
            .expect("sample");
        let path = dir.path().join("broken.geojson");
        std::fs::write(&path, apply(bytes, &edits)).expect("write");
        if let Ok(features) = read_polygons(&spec(&path, "adcode")) {
            let counties: Counties = features
                .into_iter()
                .map(|f| (f.code, (f.name, f.geometry)))
                .collect();
            let (counties, _) = check_counties(counties, "broken");
            check_as_villages(
                &repo().join("sample_data/geometry/baiyin_villages.geojson"),
                &counties,
            )?;
        }
    }

    #[test]
    fn a_broken_shapefile_is_read_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..4),
        part in prop_oneof![Just("shp"), Just("dbf"), Just("shx")],
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = village_shapefile(dir.path());
        let broken = path.with_extension(part);
        let bytes = std::fs::read(&broken).expect("part");
        std::fs::write(&broken, apply(bytes, &edits)).expect("write");
        check_as_villages(&path, &sample_counties())?;
    }
}
