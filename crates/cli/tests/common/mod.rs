//! Helpers shared by the CLI test files.

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
pub fn riskcensus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_riskcensus"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run riskcensus")
}
