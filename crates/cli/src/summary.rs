//! The run summary on stderr: per file read = accepted + rejected, findings per rule.

use std::collections::BTreeMap;

use riskcensus_pipeline::RunReport;

pub fn print(report: &RunReport, quiet: bool) {
    let (read, accepted, rejected) = report.files.iter().fold((0, 0, 0), |(r, a, j), f| {
        (r + f.rows_read, a + f.accepted, j + f.rejected)
    });
    if !quiet {
        eprintln!(
            "{:<44} {:>9} {:>6} {:>8} {:>9} {:>6} {:>8}",
            "file", "class", "read", "accepted", "rejected", "errors", "warnings"
        );
        for f in &report.files {
            eprintln!(
                "{:<44} {:>9} {:>6} {:>8} {:>9} {:>6} {:>8}",
                f.file, f.class, f.rows_read, f.accepted, f.rejected, f.errors, f.warnings
            );
        }
        let mut by_rule: BTreeMap<(riskcensus_core::Severity, &str), usize> = BTreeMap::new();
        for f in &report.findings {
            *by_rule.entry((f.severity, f.rule.code())).or_default() += 1;
        }
        if !by_rule.is_empty() {
            eprintln!("findings by rule:");
            for ((sev, rule), n) in by_rule {
                eprintln!("  {:<8} {:<26} {n}", sev.as_str(), rule);
            }
        }
        if let Some(out) = &report.output {
            eprintln!("database written to {}", out.display());
        }
    }
    let check = if read == accepted + rejected {
        "✓"
    } else {
        "✗"
    };
    eprintln!(
        "rows: read {read} = accepted {accepted} + rejected {rejected} {check}; findings: {}",
        report.findings.len()
    );
}
