//! Any damage to the TOML a run starts from: the pipeline file and a class schema, broken at
//! random places (tests/support/mutate.rs), are loaded — and, when they load, prepared with the
//! register and polygons — or refused with an error value; never a panic.
//!
//! `PROPTEST_CASES` sets the number of cases (CI runs the default below).

use proptest::prelude::*;
use riskcensus_core::SchemaSet;
use riskcensus_pipeline::{prepare, Pipeline, Timings};
use std::path::Path;

#[path = "../../../tests/support/mutate.rs"]
mod mutate;
use mutate::{apply, edit};
#[path = "../../../tests/support/tree.rs"]
mod tree;
use tree::copy_tree;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A TOML value as a slip of the hand or a wrong tool writes it.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        Just("9223372036854775807".to_string()),
        Just("true".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("2021-02-30".to_string()),
        Just("\"\"".to_string()),
        Just("\"/\"".to_string()),
        Just("\"../../../../etc\"".to_string()),
        Just("\"EPSG:99999\"".to_string()),
        "\"[\\PC&&[^\"\\\\]]{0,20}\"",
        "-?[0-9]{1,20}(\\.[0-9]{0,5})?",
    ]
}

/// Replace the value of the `key = value` line at a fraction of the file with `value`.
fn set_value(text: &str, at: f64, value: &str) -> String {
    let assignments: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(" = ") && !l.trim_start().starts_with('#'))
        .map(|(i, _)| i)
        .collect();
    let chosen = assignments
        .get(((assignments.len() as f64 * at) as usize).min(assignments.len().saturating_sub(1)))
        .copied();
    text.lines()
        .enumerate()
        .map(|(i, l)| match (Some(i) == chosen, l.split_once(" = ")) {
            (true, Some((key, _))) => format!("{key} = {value}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The sample pipeline with its paths made absolute, so that a copy finds the sample's inputs.
fn sample_pipeline() -> String {
    std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml"))
        .expect("pipeline")
        .replace("\"../", &format!("\"{}/", repo().display()))
}

/// Load and, when it loads, prepare the pipeline file at `path`: values either way.
fn try_pipeline(path: &Path) {
    if let Ok(pipeline) = Pipeline::load(path) {
        let _ = prepare(&pipeline, &mut Timings::default()).map(|_| ());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_broken_pipeline_file_is_loaded_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..5),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = sample_pipeline();
        let path = dir.path().join("broken.toml");
        std::fs::write(&path, apply(text.into_bytes(), &edits)).expect("write");
        try_pipeline(&path);
    }

    #[test]
    fn a_broken_class_schema_is_loaded_or_refused_never_a_panic(
        edits in proptest::collection::vec(edit(), 1..5),
        class in prop_oneof![Just("HB-PSF-02"), Just("DR-GOV-10"), Just("DR-GRS-02")],
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&repo().join("schemas"), dir.path());
        let file = dir.path().join(format!("classes/{class}.toml"));
        let bytes = std::fs::read(&file).expect("schema");
        std::fs::write(&file, apply(bytes, &edits)).expect("write");
        let _ = SchemaSet::load(dir.path()).map(|_| ());
    }

    #[test]
    fn any_value_in_the_pipeline_file_is_taken_or_refused_never_a_panic(
        changes in proptest::collection::vec((0.0..1.0f64, value()), 1..3),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = changes
            .iter()
            .fold(sample_pipeline(), |t, (at, v)| set_value(&t, *at, v));
        let path = dir.path().join("changed.toml");
        std::fs::write(&path, text).expect("write");
        try_pipeline(&path);
    }

    #[test]
    fn any_value_in_a_class_schema_is_taken_or_refused_never_a_panic(
        changes in proptest::collection::vec((0.0..1.0f64, value()), 1..3),
        class in prop_oneof![Just("HB-PSF-02"), Just("DR-GOV-10"), Just("HB-NCM-03")],
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_tree(&repo().join("schemas"), dir.path());
        let file = dir.path().join(format!("classes/{class}.toml"));
        let text = std::fs::read_to_string(&file).expect("schema");
        let text = changes.iter().fold(text, |t, (at, v)| set_value(&t, *at, v));
        std::fs::write(&file, text).expect("write");
        let _ = SchemaSet::load(dir.path()).map(|_| ());
    }
}
