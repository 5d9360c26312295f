//! Which class an upload is when neither the page nor its name says (no `HB-PSF-01_…` prefix):
//! the class whose Chinese name the file name holds (the longest, so 学校 does not win over a
//! longer name that holds it), else the class whose fields its header names most — read from the
//! first 64 KiB of a CSV, or the workbook — when one class leads and names at least three.
//!
//! ```no_run
//! # fn demo(schemas: &riskcensus_core::SchemaSet) {
//! let path = std::path::Path::new("in/1.csv");
//! let class = riskcensus_serve::recognise::class_of(path, "白银区学校名单.csv", schemas);
//! assert_eq!(class.as_deref(), Some("HB-PSF-01"));
//! # }
//! ```

use std::path::Path;

use riskcensus_core::SchemaSet;
use riskcensus_ingest::Encoding;

/// Bytes of a CSV read to recognise its class.
const CSV_HEAD: usize = 64 << 10;

/// The class of the file at `path`, sent as `name`, if it can be told.
pub fn class_of(path: &Path, name: &str, schemas: &SchemaSet) -> Option<String> {
    from_name(name, schemas).or_else(|| from_headers(path, name, schemas))
}

/// The class whose Chinese name `name` holds, the longest first.
pub fn from_name(name: &str, schemas: &SchemaSet) -> Option<String> {
    schemas
        .classes
        .values()
        .filter(|c| !c.node.zh.is_empty() && name.contains(c.node.zh.as_str()))
        .max_by_key(|c| c.node.zh.chars().count())
        .map(|c| c.node.code.clone())
}

/// The class whose fields the file's header names most, if one leads with at least three.
pub fn from_headers(path: &Path, name: &str, schemas: &SchemaSet) -> Option<String> {
    let head = if riskcensus_ingest::excel::is_spreadsheet(path) {
        None
    } else {
        let bytes = std::fs::read(path).ok()?;
        let end = if bytes.len() <= CSV_HEAD {
            bytes.len()
        } else {
            bytes[..CSV_HEAD].iter().rposition(|b| *b == b'\n')? + 1
        };
        Some(bytes[..end].to_vec())
    };
    let mut scores: Vec<((usize, std::cmp::Reverse<usize>), &str)> = schemas
        .classes
        .values()
        .filter_map(|class| {
            let table = match &head {
                Some(bytes) => riskcensus_ingest::ingest_bytes(name, bytes, Encoding::Auto, class),
                None => riskcensus_ingest::ingest_file(path, name, Encoding::Auto, None, class),
            }
            .ok()?;
            let named = table.columns.iter().filter(|c| c.field.is_some()).count();
            let missing = table.missing_required.len();
            Some((
                (named, std::cmp::Reverse(missing)),
                class.node.code.as_str(),
            ))
        })
        .collect();
    scores.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    match scores.as_slice() {
        [(best, code), rest @ ..]
            if best.0 >= 3 && rest.first().is_none_or(|(next, _)| next < best) =>
        {
            Some((*code).to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every sample return, its class code taken off its name (and, for the headers, its Chinese
    /// class name too), is recognised as the class the sample pipeline gives it.
    #[test]
    fn the_sample_returns_are_recognised_without_their_class_codes() {
        let schemas = SchemaSet::load(&repo().join("schemas")).expect("schemas");
        let pipeline =
            std::fs::read_to_string(repo().join("pipelines/baiyin-2021.toml")).expect("pipeline");
        let mut checked = 0;
        let mut by_headers = 0;
        for block in pipeline.split("[[returns]]").skip(1) {
            let value = |key: &str| {
                block.lines().find_map(|l| l.strip_prefix(key)).map(|v| {
                    v.trim()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"')
                        .to_string()
                })
            };
            let (Some(class), Some(path)) = (value("class "), value("path ")) else {
                continue;
            };
            let path = repo().join("pipelines").join(path);
            let file_name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            let bare = file_name
                .trim_start_matches(class.as_str())
                .trim_start_matches('_')
                .to_string();
            assert_eq!(
                class_of(&path, &bare, &schemas).as_deref(),
                Some(class.as_str()),
                "{bare}"
            );
            let zh = &schemas.class(&class).expect("class").node.zh;
            let anonymous = format!(
                "return.{}",
                path.extension().expect("ext").to_string_lossy()
            );
            if let Some(found) = from_headers(&path, &anonymous, &schemas) {
                assert_eq!(found, class, "{file_name} by its headers ({zh})");
                by_headers += 1;
            }
            checked += 1;
        }
        assert_eq!(checked, 35);
        assert_eq!(
            by_headers, checked,
            "every sample return is told by its headers alone"
        );
    }

    #[test]
    fn a_file_that_names_no_fields_is_not_guessed() {
        let schemas = SchemaSet::load(&repo().join("schemas")).expect("schemas");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("1.csv");
        std::fs::write(&path, "甲,乙,丙\n1,2,3\n").expect("write");
        assert_eq!(class_of(&path, "名单.csv", &schemas), None);
    }
}
