//! `riskcensus template CODE… | --all -o DIR`: Excel templates for technicians.

use std::path::Path;

use riskcensus_core::SchemaSet;
use riskcensus_pipeline::PipelineError;

pub fn template(
    schemas: &Path,
    codes: &[String],
    all: bool,
    out: &Path,
) -> Result<u8, PipelineError> {
    let set = SchemaSet::load(schemas)?;
    let wanted: Vec<String> = if all {
        set.classes.keys().cloned().collect()
    } else {
        codes.to_vec()
    };
    if wanted.is_empty() {
        return Err(PipelineError::Config {
            message: "name class codes (e.g. HB-PSF-01) or --all".into(),
        });
    }
    std::fs::create_dir_all(out).map_err(|e| PipelineError::Config {
        message: format!("{}: {e}", out.display()),
    })?;
    for code in &wanted {
        let class = set.class(code).ok_or_else(|| PipelineError::Config {
            message: format!("class {code} has no field schema in {}", schemas.display()),
        })?;
        let path = out.join(format!(
            "{code}_{}.xlsx",
            class.node.zh.replace(['/', '\\'], "／")
        ));
        riskcensus_forms::write_template(class, &set.taxonomy, &[], &path)
            .map_err(|e| PipelineError::Internal(e.to_string()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(0)
}
