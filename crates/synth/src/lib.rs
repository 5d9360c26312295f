//! A synthetic national census at any scale, deterministic for a seed: the division register,
//! village and county polygons, returns of all 31 classes with the census's class mix, planted
//! defects at a chosen rate, and a pipeline file that `riskcensus run` takes as is.
//!
//! ```no_run
//! use riskcensus_core::SchemaSet;
//! use riskcensus_synth::{generate, Options};
//!
//! let schemas = SchemaSet::load(std::path::Path::new("schemas")).unwrap();
//! let options = Options { villages: 2_000, rows: 20_000, seed: 7, defect_rate: 0.01, village_shape: Default::default() };
//! let summary = generate(&options, &schemas, std::path::Path::new("schemas"), "target/synth".as_ref()).unwrap();
//! assert_eq!(summary.rows, 20_000);
//! ```
//!
//! Layout of the output directory:
//! - `register.csv` — every division, province to village;
//! - `geometry/villages.geojson`, `geometry/counties.geojson` — EPSG:4490;
//! - `returns/<province code>/<CLASS>.csv` — one file per province and class, UTF-8;
//! - `planted_defects.csv` — file, row, field and the rule each planted defect must raise;
//! - `schemas/` — a copy of the schemas the returns were generated from;
//! - `pipeline.toml` — runs all of it.
#![deny(missing_docs)]

mod geography;
mod names;
mod returns;

use std::path::{Path, PathBuf};

use riskcensus_core::SchemaSet;

pub use geography::{Geography, VillageShape};
pub use returns::{
    class_mix, class_short, credit_code_with, numbered_credit_code, random_value, Defect,
};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of villages and communities.
    pub villages: usize,
    /// Number of return rows, all classes together (at least villages + townships: every village
    /// and township files its own capacity return).
    pub rows: usize,
    /// Seed: the same seed and sizes write the same bytes.
    pub seed: u64,
    /// Share of rows (0–1) that carry one planted defect.
    pub defect_rate: f64,
    /// How villages tile their county.
    pub village_shape: VillageShape,
}

/// What was generated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    /// Provinces.
    pub provinces: usize,
    /// Counties.
    pub counties: usize,
    /// Townships.
    pub townships: usize,
    /// Villages.
    pub villages: usize,
    /// How they tile their county.
    pub village_shape: VillageShape,
    /// Return rows.
    pub rows: usize,
    /// Return files.
    pub files: usize,
    /// Planted defects.
    pub defects: usize,
    /// Rows per class.
    pub rows_per_class: std::collections::BTreeMap<String, usize>,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The options cannot be met.
    #[error("{0}")]
    Options(String),
    /// Writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing CSV failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// Writing JSON failed.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A plain I/O error while writing a stream.
    #[error(transparent)]
    Stream(#[from] std::io::Error),
    /// The schemas lack a class the census needs.
    #[error("the schemas lack class {0}")]
    MissingClass(String),
}

/// The most villages the code layout holds: 31 provinces × 99 cities × 10 counties × ≈ 210
/// villages is 6.4 M; beyond that city numbers would need three digits.
pub const MAX_VILLAGES: usize = 6_000_000;

/// Mix a seed with a stream number (SplitMix64), so that every part of the census has its own
/// random stream whatever the order parts are generated in.
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, SynthError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| SynthError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    let file = std::fs::File::create(path).map_err(|source| SynthError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(std::io::BufWriter::with_capacity(1 << 20, file))
}

/// Generate a census into `out` (created if missing; files of an earlier census there are
/// overwritten). `schema_dir` is copied to `out/schemas` so the directory stands alone.
pub fn generate(
    options: &Options,
    schemas: &SchemaSet,
    schema_dir: &Path,
    out: &Path,
) -> Result<Summary, SynthError> {
    if !(0.0..=1.0).contains(&options.defect_rate) {
        return Err(SynthError::Options(format!(
            "--defect-rate must be between 0 and 1, not {}",
            options.defect_rate
        )));
    }
    if options.villages == 0 || options.villages > MAX_VILLAGES {
        return Err(SynthError::Options(format!(
            "--villages must be between 1 and {MAX_VILLAGES} (ten times the census's 600,000), not {}",
            options.villages
        )));
    }
    let geo = Geography::shaped(options.villages, options.seed, options.village_shape);
    let floor = geo.villages.len() + geo.townships.len();
    if options.rows < floor {
        return Err(SynthError::Options(format!(
            "--rows {} is fewer than the {} villages plus {} townships, which each file a capacity return (DR-GRS-02, DR-GRS-01)",
            options.rows,
            geo.villages.len(),
            geo.townships.len()
        )));
    }
    let (register, villages, counties) = (
        out.join("register.csv"),
        out.join("geometry/villages.geojson"),
        out.join("geometry/counties.geojson"),
    );
    let mut results = [Ok(()), Ok(()), Ok(())];
    rayon::scope(|s| {
        let [r0, r1, r2] = &mut results;
        s.spawn(|_| *r0 = create(&register).and_then(|w| geo.write_register(w)));
        s.spawn(|_| *r1 = create(&villages).and_then(|w| geo.write_villages(w)));
        s.spawn(|_| *r2 = create(&counties).and_then(|w| geo.write_counties(w)));
    });
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    copy_schemas(schema_dir, &out.join("schemas"))?;
    let written = returns::write_all(&geo, schemas, options, out)?;
    returns::write_pipeline(&geo, &written, options, out)?;
    let mut rows_per_class = std::collections::BTreeMap::new();
    for f in &written.files {
        *rows_per_class.entry(f.class.clone()).or_insert(0) += f.rows;
    }
    Ok(Summary {
        provinces: geo.provinces.len(),
        counties: geo.counties.len(),
        townships: geo.townships.len(),
        villages: geo.villages.len(),
        village_shape: options.village_shape,
        rows: written.files.iter().map(|f| f.rows).sum(),
        files: written.files.len(),
        defects: written.defects,
        rows_per_class,
    })
}

fn copy_schemas(from: &Path, to: &Path) -> Result<(), SynthError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SynthError::Io { path, source }
    };
    for dir in [
        from.to_path_buf(),
        from.join("classes"),
        from.join("blocks"),
    ] {
        if !dir.is_dir() {
            continue;
        }
        let target = to.join(dir.strip_prefix(from).unwrap_or(Path::new("")));
        std::fs::create_dir_all(&target).map_err(io(&target))?;
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let path = entry.map_err(io(&dir))?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                let dest = target.join(path.file_name().unwrap_or_default());
                std::fs::copy(&path, &dest).map_err(io(&dest))?;
            }
        }
    }
    Ok(())
}
