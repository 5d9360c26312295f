//! A cache of checked polygons: the villages and counties as [`check_villages`](crate::check_villages)
//! and [`check_counties`](crate::counties::check_counties) leave them, with their findings, so
//! that a technician's repeated `validate` of one small return against a national pipeline does
//! not read and check 600,000 village polygons again.
//!
//! An entry is one MessagePack file named by its key ([`key`]): a 128-bit XXH3 hash of what the
//! checks depend on — the polygon files and their sidecar files (`.dbf`, `.shx`, `.prj`, `.cpg`
//! …), how they are read, and the program itself. Any change to one of them is another key. An
//! entry is written to a temporary file and renamed into place, so a reader sees a whole entry or
//! none; one that cannot be read is a miss (and removed). The folder keeps the
//! [`KEEP`] most recently written entries.
//!
//! ```
//! use riskcensus_locate::cache::{key, CheckedPolygons, PolygonCache};
//! let dir = std::env::temp_dir().join(format!("rc-cache-doc-{}", std::process::id()));
//! let cache = PolygonCache::new(&dir);
//! let k = key("settings", &[]).unwrap();
//! assert!(cache.load(&k).is_none());
//! let checked = CheckedPolygons { villages: vec![], counties: Default::default(), findings: vec![] };
//! cache.store(&k, &checked).unwrap();
//! assert_eq!(cache.load(&k).map(|c| c.villages.len()), Some(0));
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geo_types::MultiPolygon;
use riskcensus_core::Finding;

use crate::Village;

/// Entries kept in the folder (the most recently written).
pub const KEEP: usize = 4;

/// What the polygon checks leave: checked villages in input order, checked counties, findings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CheckedPolygons {
    /// Villages to index.
    pub villages: Vec<Village>,
    /// Counties by 6-digit code: name and outline.
    pub counties: BTreeMap<String, (String, MultiPolygon<f64>)>,
    /// Findings on the county and village layers.
    pub findings: Vec<Finding>,
}

/// The cache key of polygons read from `files` with `settings` (how they are read and shown):
/// each file's bytes and those of its sidecars (files of the same stem beside it), the settings,
/// and the running program (its size and modification time: a rebuilt program may check
/// otherwise).
pub fn key(settings: &str, files: &[&Path]) -> std::io::Result<String> {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(b"riskcensus polygon cache 1\0");
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    if let Some(program) = std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::metadata(p).ok())
    {
        hasher.update(&program.len().to_le_bytes());
        if let Some(since) = program
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        {
            hasher.update(&since.as_nanos().to_le_bytes());
        }
    }
    hasher.update(settings.as_bytes());
    for file in files {
        for part in with_sidecars(file)? {
            let name = part.file_name().map(|n| n.to_string_lossy().into_owned());
            hasher.update(b"\0file\0");
            hasher.update(name.unwrap_or_default().as_bytes());
            hasher.update(b"\0");
            hasher.update(&std::fs::read(&part)?);
        }
    }
    Ok(format!("{:032x}", hasher.digest128()))
}

/// `file` and the files beside it that share its stem, in name order.
fn with_sidecars(file: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (Some(dir), Some(stem)) = (file.parent(), file.file_stem()) else {
        return Ok(vec![file.to_path_buf()]);
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_stem() == Some(stem))
        .collect();
    if !parts.iter().any(|p| p.file_name() == file.file_name()) {
        parts.push(file.to_path_buf());
    }
    parts.sort();
    Ok(parts)
}

/// A folder of cache entries.
#[derive(Debug, Clone)]
pub struct PolygonCache {
    dir: PathBuf,
}

impl PolygonCache {
    /// The cache in `dir` (created when an entry is stored).
    pub fn new(dir: &Path) -> Self {
        PolygonCache {
            dir: dir.to_path_buf(),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.msgpack"))
    }

    /// The entry of `key`, if there is a whole one.
    pub fn load(&self, key: &str) -> Option<CheckedPolygons> {
        let path = self.entry(key);
        let file = std::fs::File::open(&path).ok()?;
        match rmp_serde::decode::from_read(std::io::BufReader::new(file)) {
            Ok(checked) => Some(checked),
            Err(_) => {
                // Not ours, or damaged: a miss, and written again after the checks.
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Write the entry of `key`, then keep the [`KEEP`] newest entries.
    pub fn store(&self, key: &str, checked: &CheckedPolygons) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.entry(key);
        let temporary = self
            .dir
            .join(format!(".{key}.{}.partial", std::process::id()));
        let write = || -> std::io::Result<()> {
            let file = std::fs::File::create(&temporary)?;
            let mut out = std::io::BufWriter::new(file);
            rmp_serde::encode::write_named(&mut out, checked).map_err(std::io::Error::other)?;
            std::io::Write::flush(&mut out)?;
            std::fs::rename(&temporary, &path)
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&temporary);
            return Err(e);
        }
        self.prune();
        Ok(())
    }

    /// Remove all but the [`KEEP`] most recently written entries (errors ignored: another run
    /// may be pruning too).
    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "msgpack"))
            .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        found.sort_by(|a, b| b.cmp(a));
        for (_, old) in found.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn sample() -> CheckedPolygons {
        let square = polygon![(x: 104.0, y: 36.0), (x: 104.1, y: 36.0), (x: 104.1, y: 36.1), (x: 104.0, y: 36.0)];
        CheckedPolygons {
            villages: vec![Village {
                code: "620402001001".into(),
                name: "中心街社区".into(),
                township: "620402001".into(),
                county: "620402".into(),
                geometry: MultiPolygon(vec![square.clone()]),
            }],
            counties: BTreeMap::from([(
                "620402".to_string(),
                ("白银区".to_string(), MultiPolygon(vec![square])),
            )]),
            findings: vec![Finding::new(
                "villages.geojson",
                "geometry",
                riskcensus_core::Rule::GeomRepaired,
                "已修复",
                "repaired",
            )
            .at_row(3)
            .in_column("code", Some("620402001001".into()))],
        }
    }

    #[test]
    fn an_entry_comes_back_as_stored_and_a_damaged_one_is_a_miss() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = PolygonCache::new(dir.path());
        cache.store("k1", &sample()).expect("store");
        assert_eq!(cache.load("k1"), Some(sample()));
        assert_eq!(cache.load("k2"), None);
        std::fs::write(dir.path().join("k1.msgpack"), b"\x92\x01").expect("damage");
        assert_eq!(cache.load("k1"), None);
        assert!(
            !dir.path().join("k1.msgpack").exists(),
            "a damaged entry is removed"
        );
    }

    #[test]
    fn only_the_newest_entries_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = PolygonCache::new(dir.path());
        for i in 0..KEEP + 3 {
            cache.store(&format!("k{i}"), &sample()).expect("store");
            // Modification times of at least filesystem resolution apart.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let left = std::fs::read_dir(dir.path()).expect("dir").count();
        assert_eq!(left, KEEP);
        assert!(cache.load(&format!("k{}", KEEP + 2)).is_some());
        assert!(cache.load("k0").is_none());
    }

    #[test]
    fn a_sidecar_changes_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shp = dir.path().join("v.shp");
        std::fs::write(&shp, b"shapes").expect("shp");
        std::fs::write(dir.path().join("v.dbf"), b"table 1").expect("dbf");
        let before = key("s", &[&shp]).expect("key");
        assert_eq!(before, key("s", &[&shp]).expect("key"), "stable");
        std::fs::write(dir.path().join("v.dbf"), b"table 2").expect("dbf");
        assert_ne!(before, key("s", &[&shp]).expect("key"));
        assert_ne!(
            key("s", &[&shp]).expect("key"),
            key("t", &[&shp]).expect("key")
        );
    }
}
