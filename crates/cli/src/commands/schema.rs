//! `riskcensus schema list | show CODE`.

use std::path::Path;

use riskcensus_core::SchemaSet;
use riskcensus_pipeline::PipelineError;

use crate::args::{ExportFormat, SchemaAction};

macro_rules! outln {
    ($out:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

pub fn schema(dir: &Path, action: SchemaAction) -> Result<u8, PipelineError> {
    let mut out = String::new();
    let code = schema_into(&mut out, dir, action)?;
    super::print_stdout(out.as_bytes())?;
    Ok(code)
}

fn schema_into(out: &mut String, dir: &Path, action: SchemaAction) -> Result<u8, PipelineError> {
    let set = SchemaSet::load(dir)?;
    let t = &set.taxonomy;
    match action {
        SchemaAction::List => {
            outln!(
                out,
                "taxonomy {}: {} major, {} mid, {} sub-classes ({} with a field schema, marked *)",
                t.version,
                t.major.len(),
                t.mid.len(),
                t.class.len(),
                set.classes.len()
            );
            for major in &t.major {
                outln!(out, "{} {} {}", major.code, major.zh, major.en);
                for mid in t
                    .mid
                    .iter()
                    .filter(|m| m.parent.as_deref() == Some(major.code.as_str()))
                {
                    let subs: Vec<_> = t
                        .class
                        .iter()
                        .filter(|c| c.parent.as_deref() == Some(mid.code.as_str()))
                        .collect();
                    outln!(out, "  {} {} ({})", mid.code, mid.zh, subs.len());
                    for c in subs {
                        let mark = if set.class(&c.code).is_some() {
                            "*"
                        } else {
                            " "
                        };
                        outln!(out, "   {mark} {} {} — {}", c.code, c.zh, c.en);
                    }
                }
            }
            Ok(0)
        }
        SchemaAction::Export { format, out: dir } => {
            std::fs::create_dir_all(&dir).map_err(|e| PipelineError::Config {
                message: format!("{}: {e}", dir.display()),
            })?;
            for (code, class) in &set.classes {
                let doc = match format {
                    ExportFormat::TableSchema => riskcensus_forms::table_schema(class),
                    ExportFormat::JsonSchema => riskcensus_forms::json_schema(class),
                };
                let path = dir.join(format!("{code}.json"));
                let text = serde_json::to_string_pretty(&doc)
                    .map_err(|e| PipelineError::Internal(e.to_string()))?;
                std::fs::write(&path, text + "\n").map_err(|e| PipelineError::Config {
                    message: format!("{}: {e}", path.display()),
                })?;
            }
            outln!(
                out,
                "wrote {} schemas to {}",
                set.classes.len(),
                dir.display()
            );
            Ok(0)
        }
        SchemaAction::Show { code } => {
            let class = set.class(&code).ok_or_else(|| PipelineError::Config {
                message: format!("class {code} has no field schema in {}", dir.display()),
            })?;
            outln!(
                out,
                "{} {} — {} (schema {})",
                class.node.code,
                class.node.zh,
                class.node.en,
                class.version
            );
            for f in &class.fields {
                let req = if f.required { "required" } else { "" };
                outln!(
                    out,
                    "  {:<24} {:<12} {:<14} {:<9} {:?} {}{}",
                    f.id,
                    f.code.as_deref().unwrap_or("-"),
                    format!("{:?}", f.field_type).to_lowercase(),
                    req,
                    f.source,
                    f.label_with_unit(),
                    f.evidence
                        .as_deref()
                        .map(|e| format!("  [{e}]"))
                        .unwrap_or_default()
                );
            }
            Ok(0)
        }
    }
}
