//! Reports: one findings model, six renderings.
//!
//! `terminal` (per file, then per rule worst first, then the findings; colour optional), `json`
//! (documented in docs/formats.md), `csv` (UTF-8 with BOM, Excel-safe), `html` (one self-contained
//! page a technician opens offline), `junit` (one test suite per file, one test case per rule) and
//! `github` (workflow-command annotations). `max_findings` caps the findings listed, never the
//! counts or the verdict.
//!
//! ```
//! use riskcensus_core::{FileSummary, Finding, Rule};
//! use riskcensus_report::{render, Format, Lang, Options, Report};
//! let findings = vec![Finding::new("a.csv", "HB-PSF-01", Rule::Required, "单位名称为空", "name is empty").at_row(3)];
//! let files = vec![FileSummary { file: "a.csv".into(), class: "HB-PSF-01".into(), encoding: "UTF-8".into(),
//!     sha256: String::new(), rows_read: 2, accepted: 1, rejected: 1, errors: 1, warnings: 0, infos: 0 }];
//! let report = Report { files: &files, findings: &findings };
//! let out = render(&report, Format::Github, &Options { lang: Lang::En, ..Options::default() });
//! assert_eq!(String::from_utf8(out).unwrap(),
//!     "::error file=a.csv,line=3,title=cell.required::name is empty\n");
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use riskcensus_core::{FileSummary, Finding, Rule, Severity};

/// The findings and counts of one run.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Per file.
    pub files: &'a [FileSummary],
    /// Every finding, file by file, row by row.
    pub findings: &'a [Finding],
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human summary.
    Terminal,
    /// JSON document.
    Json,
    /// CSV, one finding a row.
    Csv,
    /// Self-contained HTML page.
    Html,
    /// JUnit XML.
    Junit,
    /// GitHub Actions annotations.
    Github,
}

/// Message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文.
    #[default]
    Zh,
    /// English.
    En,
}

/// Rendering options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Language of messages (JSON and CSV carry both).
    pub lang: Lang,
    /// List at most this many findings (counts and verdict are never capped).
    pub max_findings: Option<usize>,
    /// ANSI colour in the terminal format.
    pub color: bool,
}

impl Options {
    fn message<'f>(&self, f: &'f Finding) -> &'f str {
        match self.lang {
            Lang::Zh => &f.message_zh,
            Lang::En => &f.message_en,
        }
    }
    fn title(&self, r: Rule) -> &'static str {
        match self.lang {
            Lang::Zh => r.title_zh(),
            Lang::En => r.title_en(),
        }
    }
    fn fix(&self, r: Rule) -> &'static str {
        match self.lang {
            Lang::Zh => r.fix_zh(),
            Lang::En => r.fix_en(),
        }
    }
    fn listed<'f>(&self, findings: &'f [Finding]) -> &'f [Finding] {
        &findings[..self.max_findings.unwrap_or(usize::MAX).min(findings.len())]
    }
}

/// Render a report.
pub fn render(report: &Report<'_>, format: Format, options: &Options) -> Vec<u8> {
    match format {
        Format::Terminal => terminal(report, options).into_bytes(),
        Format::Json => json(report, options).into_bytes(),
        Format::Csv => findings_csv(options.listed(report.findings)),
        Format::Html => html(report, options).into_bytes(),
        Format::Junit => junit(report, options).into_bytes(),
        Format::Github => github(report, options).into_bytes(),
    }
}

/// Counts per (severity, rule), worst first.
pub fn rule_counts(findings: &[Finding]) -> Vec<(Severity, Rule, usize)> {
    let mut counts: BTreeMap<(Severity, Rule), usize> = BTreeMap::new();
    for f in findings {
        *counts.entry((f.severity, f.rule)).or_default() += 1;
    }
    let mut v: Vec<_> = counts.into_iter().map(|((s, r), n)| (s, r, n)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.cmp(&a.2)).then(a.1.cmp(&b.1)));
    v
}

fn paint(text: &str, style: anstyle::Style, color: bool) -> String {
    if color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn severity_style(s: Severity) -> anstyle::Style {
    let c = match s {
        Severity::Error => anstyle::AnsiColor::Red,
        Severity::Warning => anstyle::AnsiColor::Yellow,
        Severity::Info => anstyle::AnsiColor::Cyan,
    };
    anstyle::Style::new().fg_color(Some(c.into())).bold()
}

fn terminal(report: &Report<'_>, o: &Options) -> String {
    let mut out = String::new();
    let bold = anstyle::Style::new().bold();
    let _ = writeln!(
        out,
        "{}",
        paint(
            &format!(
                "{:<48} {:>9} {:>6} {:>8} {:>8} {:>6} {:>8}",
                "file", "class", "read", "accepted", "rejected", "errors", "warnings"
            ),
            bold,
            o.color
        )
    );
    let mut files: Vec<&FileSummary> = report.files.iter().collect();
    files.sort_by(|a, b| {
        b.errors
            .cmp(&a.errors)
            .then(b.warnings.cmp(&a.warnings))
            .then(a.file.cmp(&b.file))
    });
    for f in files {
        let _ = writeln!(
            out,
            "{:<48} {:>9} {:>6} {:>8} {:>8} {:>6} {:>8}",
            f.file, f.class, f.rows_read, f.accepted, f.rejected, f.errors, f.warnings
        );
    }
    let counts = rule_counts(report.findings);
    if !counts.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(
                if o.lang == Lang::Zh {
                    "按规则统计 findings by rule"
                } else {
                    "findings by rule"
                },
                bold,
                o.color
            )
        );
        for (sev, rule, n) in &counts {
            let _ = writeln!(
                out,
                "  {:<8} {:<30} {:>6}  {}",
                paint(sev.as_str(), severity_style(*sev), o.color),
                rule.code(),
                n,
                o.title(*rule)
            );
        }
        let listed = o.listed(report.findings);
        if !listed.is_empty() {
            let _ = writeln!(
                out,
                "\n{}",
                paint(
                    &format!("findings ({} of {})", listed.len(), report.findings.len()),
                    bold,
                    o.color
                )
            );
        }
        for f in listed {
            let place = match (f.row, &f.column) {
                (Some(r), Some(c)) if !c.is_empty() => format!("{}:{r} [{c}]", f.file),
                (Some(r), _) => format!("{}:{r}", f.file),
                _ => f.file.clone(),
            };
            let value = f
                .value
                .as_deref()
                .map(|v| format!(" “{v}”"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {place} {}{value}: {}",
                paint(f.severity.as_str(), severity_style(f.severity), o.color),
                f.rule.code(),
                o.message(f)
            );
        }
    }
    let (read, accepted, rejected) = report.files.iter().fold((0, 0, 0), |(r, a, j), f| {
        (r + f.rows_read, a + f.accepted, j + f.rejected)
    });
    let check = if read == accepted + rejected {
        "✓"
    } else {
        "✗"
    };
    let _ = writeln!(
        out,
        "\nrows: read {read} = accepted {accepted} + rejected {rejected} {check}; findings: {}",
        report.findings.len()
    );
    out
}

/// The JSON report's schema version (docs/formats.md).
pub const JSON_SCHEMA_VERSION: &str = "1";

fn json(report: &Report<'_>, o: &Options) -> String {
    let counts: Vec<_> = rule_counts(report.findings)
        .into_iter()
        .map(|(s, r, n)| serde_json::json!({"severity": s, "rule": r.code(), "count": n, "title_zh": r.title_zh(), "title_en": r.title_en()}))
        .collect();
    let by_severity = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    let doc = serde_json::json!({
        "schema_version": JSON_SCHEMA_VERSION,
        "totals": {
            "rows_read": report.files.iter().map(|f| f.rows_read).sum::<usize>(),
            "accepted": report.files.iter().map(|f| f.accepted).sum::<usize>(),
            "rejected": report.files.iter().map(|f| f.rejected).sum::<usize>(),
            "errors": by_severity(Severity::Error),
            "warnings": by_severity(Severity::Warning),
            "infos": by_severity(Severity::Info),
            "findings": report.findings.len(),
            "findings_listed": o.listed(report.findings).len(),
        },
        "files": report.files,
        "rules": counts,
        "findings": o.listed(report.findings),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// Keep a spreadsheet from reading a cell as a formula (CSV injection): a leading `=`, `+`, `@`,
/// tab or carriage return, or `-` not followed by a digit, gets a `'` in front.
///
/// ```
/// use riskcensus_report::excel_safe;
/// assert_eq!(excel_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
/// assert_eq!(excel_safe("-5"), "-5");
/// assert_eq!(excel_safe("第一小学"), "第一小学");
/// ```
pub fn excel_safe(value: &str) -> std::borrow::Cow<'_, str> {
    let mut chars = value.chars();
    let risky = match chars.next() {
        Some('=' | '+' | '@' | '\t' | '\r') => true,
        Some('-') => !chars.next().is_some_and(|c| c.is_ascii_digit() || c == '.'),
        _ => false,
    };
    if risky {
        format!("'{value}").into()
    } else {
        value.into()
    }
}

/// The columns of `findings.csv`, in order.
pub const FINDING_COLUMNS: [&str; 13] = [
    "file",
    "class",
    "row",
    "column",
    "value",
    "suggestion",
    "confidence",
    "rule",
    "severity",
    "message_zh",
    "message_en",
    "lon",
    "lat",
];

/// Findings as CSV: UTF-8 with BOM (Excel opens it as Unicode), Excel-safe cells.
pub fn findings_csv(findings: &[Finding]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(FINDING_COLUMNS);
    for f in findings {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let _ = w.write_record([
            excel_safe(&f.file).as_ref(),
            &f.class,
            &f.row.map(|r| r.to_string()).unwrap_or_default(),
            excel_safe(f.column.as_deref().unwrap_or("")).as_ref(),
            excel_safe(f.value.as_deref().unwrap_or("")).as_ref(),
            excel_safe(f.suggestion.as_deref().unwrap_or("")).as_ref(),
            f.confidence.map_or("", |c| c.as_str()),
            f.rule.code(),
            f.severity.as_str(),
            excel_safe(&f.message_zh).as_ref(),
            excel_safe(&f.message_en).as_ref(),
            &opt(f.lon),
            &opt(f.lat),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

/// The columns of `changes.csv`, in order.
pub const CHANGE_COLUMNS: [&str; 8] = [
    "file",
    "class",
    "row",
    "column",
    "old",
    "new",
    "rule",
    "confidence",
];

/// Values derived or corrected, as CSV: UTF-8 with BOM, Excel-safe cells, one row per change.
///
/// ```
/// use riskcensus_core::{Change, Confidence, Rule};
/// let c = Change::new("a.csv", "HB-PSF-01", 2, "省", None, "甘肃省", Rule::DerivedColumn, Confidence::Derived);
/// let text = String::from_utf8(riskcensus_report::changes_csv(&[c])).unwrap();
/// assert_eq!(text.lines().nth(1), Some("a.csv,HB-PSF-01,2,省,,甘肃省,struct.derived_column,derived"));
/// ```
pub fn changes_csv(changes: &[riskcensus_core::Change]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(CHANGE_COLUMNS);
    for c in changes {
        let _ = w.write_record([
            excel_safe(&c.file).as_ref(),
            &c.class,
            &c.row.to_string(),
            excel_safe(&c.column).as_ref(),
            excel_safe(c.old.as_deref().unwrap_or("")).as_ref(),
            excel_safe(&c.new).as_ref(),
            c.rule.code(),
            c.confidence.as_str(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_safe(s)
}

const CSS: &str = "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.n{text-align:right}.error{color:#b00020;font-weight:600}.warning{color:#a15c00;font-weight:600}\
.info{color:#006680}td.error,td.warning,td.info{white-space:nowrap}.ok{color:#1b7f3b;font-weight:600}code{font-size:90%}details{margin:.5em 0}summary{cursor:pointer}";

fn html(report: &Report<'_>, o: &Options) -> String {
    let zh = o.lang == Lang::Zh;
    let t = |a: &'static str, b: &'static str| if zh { a } else { b };
    let mut h = String::new();
    let errors = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let _ = write!(h, "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>riskcensus {}</title><style>{CSS}</style></head><body>\n",
        if zh { "zh-CN" } else { "en" }, t("校验报告", "validation report"));
    let _ = writeln!(
        h,
        "<h1>riskcensus {}</h1>",
        t("普查数据校验报告", "census validation report")
    );
    let (read, acc, rej) = report.files.iter().fold((0, 0, 0), |(r, a, j), f| {
        (r + f.rows_read, a + f.accepted, j + f.rejected)
    });
    let verdict = if errors == 0 {
        format!(
            "<span class=\"ok\">{}</span>",
            t("通过：无错误", "passed: no errors")
        )
    } else {
        format!(
            "<span class=\"error\">{} {errors}</span>",
            t("未通过：错误数", "failed: errors")
        )
    };
    let _ = writeln!(
        h,
        "<p id=\"verdict\">{verdict} — {} {read} = {} {acc} + {} {rej}</p>",
        t("读入行", "rows read"),
        t("通过", "accepted"),
        t("退回", "rejected")
    );
    let _ = writeln!(h, "<h2>{}</h2><table id=\"files\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("文件", "Files"), t("文件", "file"), t("小类", "class"), t("读入", "read"), t("通过", "accepted"), t("退回", "rejected"), t("错误", "errors"), t("警告", "warnings"));
    for f in report.files {
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&f.file), esc(&f.class), f.rows_read, f.accepted, f.rejected, f.errors, f.warnings);
    }
    h.push_str("</table>\n");
    let _ = writeln!(h, "<h2>{}</h2><table id=\"rules\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t("按规则", "By rule"), t("级别", "severity"), t("规则", "rule"), t("说明", "title"), t("数量", "count"), t("如何修改", "how to fix"));
    for (s, r, n) in rule_counts(report.findings) {
        let _ = writeln!(h, "<tr><td class=\"{0}\">{1}</td><td><code>{2}</code></td><td>{3}</td><td class=\"n\">{n}</td><td>{4}</td></tr>",
            s.as_str(), if zh { s.as_zh() } else { s.as_str() }, r.code(), esc(o.title(r)), esc(o.fix(r)));
    }
    h.push_str("</table>\n");
    let listed = o.listed(report.findings);
    let _ = writeln!(
        h,
        "<h2>{} ({} / {})</h2>",
        t("问题明细", "Findings"),
        listed.len(),
        report.findings.len()
    );
    for f in report.files {
        let rows: Vec<&Finding> = listed.iter().filter(|x| x.file == f.file).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(h, "<details open><summary>{} — {} {}</summary><table class=\"findings\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            esc(&f.file), rows.len(), t("条", "findings"), t("行", "row"), t("列", "column"), t("值", "value"), t("级别", "severity"), t("规则", "rule"), t("说明", "message"), t("如何修改", "how to fix"));
        for x in rows {
            let _ = writeln!(h, "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                x.row.map(|r| r.to_string()).unwrap_or_default(), esc(x.column.as_deref().unwrap_or("")), esc(x.value.as_deref().unwrap_or("")),
                x.severity.as_str(), if zh { x.severity.as_zh() } else { x.severity.as_str() }, x.rule.code(), esc(o.message(x)), esc(o.fix(x.rule)));
        }
        h.push_str("</table></details>\n");
    }
    h.push_str("</body></html>\n");
    h
}

fn junit(report: &Report<'_>, o: &Options) -> String {
    use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
    let mut w = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    let listed = o.listed(report.findings);
    let failures: usize = report
        .files
        .iter()
        .map(|f| failing_rules(report.findings, &f.file).len())
        .sum();
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let tests = report.files.len() * Rule::ALL.len();
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "riskcensus"));
    root.push_attribute(("tests", tests.to_string().as_str()));
    root.push_attribute(("failures", failures.to_string().as_str()));
    let _ = w.write_event(Event::Start(root));
    for f in report.files {
        let failing = failing_rules(report.findings, &f.file);
        let mut suite = BytesStart::new("testsuite");
        suite.push_attribute(("name", f.file.as_str()));
        suite.push_attribute(("tests", Rule::ALL.len().to_string().as_str()));
        suite.push_attribute(("failures", failing.len().to_string().as_str()));
        let _ = w.write_event(Event::Start(suite));
        for rule in Rule::ALL {
            let mut case = BytesStart::new("testcase");
            case.push_attribute(("classname", format!("{}.{}", f.class, f.file).as_str()));
            case.push_attribute(("name", rule.code()));
            let hits: Vec<&Finding> = report
                .findings
                .iter()
                .filter(|x| x.file == f.file && x.rule == *rule)
                .collect();
            let errors: Vec<&&Finding> = hits
                .iter()
                .filter(|x| x.severity == Severity::Error)
                .collect();
            if hits.is_empty() {
                let _ = w.write_event(Event::Empty(case));
                continue;
            }
            let _ = w.write_event(Event::Start(case));
            let text: String = hits
                .iter()
                .filter(|x| listed.iter().any(|l| std::ptr::eq(l, **x)))
                .map(|x| {
                    format!(
                        "{}:{} {} {}\n",
                        x.file,
                        x.row.map(|r| r.to_string()).unwrap_or_default(),
                        x.severity,
                        o.message(x)
                    )
                })
                .collect();
            if errors.is_empty() {
                let _ = w.write_event(Event::Start(BytesStart::new("system-out")));
                let _ = w.write_event(Event::Text(BytesText::new(&text)));
                let _ = w.write_event(Event::End(BytesEnd::new("system-out")));
            } else {
                let mut failure = BytesStart::new("failure");
                failure.push_attribute(("type", rule.code()));
                let message = format!("{} × {}", errors.len(), o.title(*rule));
                failure.push_attribute(("message", message.as_str()));
                let _ = w.write_event(Event::Start(failure));
                let _ = w.write_event(Event::CData(BytesCData::new(text.replace("]]>", "]] >"))));
                let _ = w.write_event(Event::End(BytesEnd::new("failure")));
            }
            let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
        }
        let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("testsuites")));
    String::from_utf8(w.into_inner()).unwrap_or_default() + "\n"
}

fn failing_rules(findings: &[Finding], file: &str) -> Vec<Rule> {
    let mut rules: Vec<Rule> = findings
        .iter()
        .filter(|f| f.file == file && f.severity == Severity::Error)
        .map(|f| f.rule)
        .collect();
    rules.sort();
    rules.dedup();
    rules
}

/// Escape data for a workflow command (`%`, CR, LF), and properties also `:` and `,`.
fn gh_escape(s: &str, property: bool) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    if property {
        s.replace(':', "%3A").replace(',', "%2C")
    } else {
        s
    }
}

fn github(report: &Report<'_>, o: &Options) -> String {
    let mut out = String::new();
    for f in o.listed(report.findings) {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let line = f.row.map(|r| format!(",line={r}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "::{level} file={}{line},title={}::{}",
            gh_escape(&f.file, true),
            gh_escape(f.rule.code(), true),
            gh_escape(o.message(f), false)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<FileSummary>, Vec<Finding>) {
        let findings = vec![
            Finding::new(
                "a,b.csv",
                "HB-PSF-01",
                Rule::Required,
                "单位名称为空",
                "name is\nempty",
            )
            .at_row(3)
            .in_column("单位名称", None),
            Finding::new(
                "a,b.csv",
                "HB-PSF-01",
                Rule::OtherVillage,
                "落在<其他>村",
                "in another village",
            )
            .at_row(4)
            .in_column("经度", Some("=1+2".into())),
        ];
        let files = vec![FileSummary {
            file: "a,b.csv".into(),
            class: "HB-PSF-01".into(),
            encoding: "UTF-8".into(),
            sha256: String::new(),
            rows_read: 3,
            accepted: 2,
            rejected: 1,
            errors: 1,
            warnings: 1,
            infos: 0,
        }];
        (files, findings)
    }

    #[test]
    fn github_escapes_properties_and_data() {
        let (files, findings) = sample();
        let out = render(
            &Report {
                files: &files,
                findings: &findings,
            },
            Format::Github,
            &Options {
                lang: Lang::En,
                ..Default::default()
            },
        );
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("::error file=a%2Cb.csv,line=3,title=cell.required::name is%0Aempty")
        );
        assert!(text.contains("::warning file=a%2Cb.csv,line=4"));
    }

    #[test]
    fn junit_parses_and_counts_failures() {
        let (files, findings) = sample();
        let xml = render(
            &Report {
                files: &files,
                findings: &findings,
            },
            Format::Junit,
            &Options::default(),
        );
        let mut reader = quick_xml::Reader::from_reader(xml.as_slice());
        let (mut cases, mut failures, mut buf) = (0, 0, Vec::new());
        loop {
            match reader.read_event_into(&mut buf).unwrap() {
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                    match e.name().as_ref() {
                        b"testcase" => cases += 1,
                        b"failure" => failures += 1,
                        _ => {}
                    }
                }
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
            buf.clear();
        }
        assert_eq!((cases, failures), (Rule::ALL.len(), 1));
    }

    #[test]
    fn html_escapes_values_and_max_findings_caps_only_the_list() {
        let (files, findings) = sample();
        let report = Report {
            files: &files,
            findings: &findings,
        };
        let page = String::from_utf8(render(&report, Format::Html, &Options::default())).unwrap();
        assert!(
            page.contains("落在&lt;其他&gt;村") && !page.contains("落在<其他>村"),
            "{page}"
        );
        let capped = String::from_utf8(render(
            &report,
            Format::Html,
            &Options {
                max_findings: Some(1),
                ..Default::default()
            },
        ))
        .unwrap();
        assert!(capped.contains("(1 / 2)") && !capped.contains("落在&lt;其他&gt;村"));
        let json: serde_json::Value = serde_json::from_slice(&render(
            &Report {
                files: &files,
                findings: &findings,
            },
            Format::Json,
            &Options {
                max_findings: Some(1),
                ..Default::default()
            },
        ))
        .unwrap();
        assert_eq!(json["totals"]["findings"], 2);
        assert_eq!(json["findings"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn csv_is_excel_safe() {
        let (_, findings) = sample();
        let text = String::from_utf8(findings_csv(&findings)).unwrap();
        assert!(text.starts_with('\u{feff}'));
        assert!(text.contains(",'=1+2,"));
    }
}
