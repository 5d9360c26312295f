//! Helpers shared by the CLI test files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Run the `riskcensus` binary from the repository root.
#[allow(dead_code)] // not every test file runs it this way
pub fn riskcensus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskcensus"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run riskcensus")
}

/// The rows of a CSV riskcensus wrote (BOM skipped), as header → cell.
#[allow(dead_code)] // not every test file reads CSVs
pub fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("read csv");
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().expect("headers").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The sample pipeline with `returns` (class, absolute path) as its only returns.
#[allow(dead_code)] // not every test file writes pipelines
pub fn pipeline_with(dir: &Path, returns: &[(&str, &Path)]) -> PathBuf {
    let text =
        std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml")).expect("pipeline");
    let head = text.split("[[returns]]").next().expect("head");
    let mut text = head.replace("\"../", &format!("\"{}/", repo().display()));
    for (class, path) in returns {
        text.push_str(&format!(
            "[[returns]]\nclass = \"{class}\"\npath = \"{}\"\n\n",
            path.display()
        ));
    }
    std::fs::create_dir_all(dir).expect("dir");
    let path = dir.join("p.toml");
    std::fs::write(&path, text).expect("write pipeline");
    path
}
