//! A session's results page: rows read = accepted + rejected, the downloads, the findings per
//! rule, the map, the findings table with its filters (severity, rule, column) and the files.

use std::collections::BTreeSet;
use std::fmt::Write;

use riskcensus_core::Severity;

use crate::check::{Checked, Download};
use crate::pages::{attr, esc, Lang};

/// Findings listed on the page (all are in the downloads).
pub const LISTED: usize = 5_000;

/// The results of a check: summary, downloads, rules, map, findings, files.
pub fn page(lang: Lang, id: &str, c: &Checked, map: &str) -> String {
    let read: usize = c.files.iter().map(|f| f.rows_read).sum();
    let accepted: usize = c.files.iter().map(|f| f.accepted).sum();
    let rejected: usize = c.files.iter().map(|f| f.rejected).sum();
    let mut out = format!(
        r#"<h1>{}</h1><p id="summary" class="summary"><span>{} <b id="rows-read">{read}</b></span> = <span>{} <b id="accepted">{accepted}</b></span> + <span>{} <b id="rejected">{rejected}</b></span></p>"#,
        lang.t("检查结果", "Results"),
        lang.t("读入行数", "rows read"),
        lang.t("通过", "accepted"),
        lang.t("退回", "rejected"),
    );
    let _ = write!(
        out,
        r#"<p>{} <b id="changes">{}</b> {}</p>"#,
        lang.t("修正后的文件改了", "The corrected files make"),
        c.changes.len(),
        lang.t("处（见 changes.csv）", "changes (see changes.csv)"),
    );
    let _ = write!(
        out,
        r#"<p id="downloads">{}: "#,
        lang.t("下载", "Downloads")
    );
    for d in c.downloads.iter().filter(|d| d.file.is_none()) {
        out.push_str(&link(lang, id, d));
        out.push_str(" · ");
    }
    out.push_str(lang.t(
        "各文件修正后的文件和退回的行见文件表",
        "each file's corrected copy and rejected rows: see the files table",
    ));
    out.push_str("</p>");
    out.push_str(r#"<div class="overview"><div>"#);
    out.push_str(&rules_table(lang, c));
    out.push_str("</div><div>");
    if !map.is_empty() {
        let _ = write!(
            out,
            r#"<h2>{}</h2><p class="legend"><span class="dot error"></span>{} <span class="dot warning"></span>{} <span class="dot info"></span>{} <span class="arrow"></span>{}</p><div class="map">{map}</div>"#,
            lang.t("地图", "Map"),
            lang.t("错误", "error"),
            lang.t("警告", "warning"),
            lang.t("提示", "info"),
            lang.t("建议修正的坐标", "suggested correction"),
        );
    }
    out.push_str("</div></div>");
    out.push_str(&findings_table(lang, c));
    out.push_str(&files_table(lang, id, c));
    out
}

fn link(lang: Lang, id: &str, d: &Download) -> String {
    format!(
        r#"<a href="/s/{id}/file/{key}" download="{name}">{label}</a>"#,
        key = attr(&d.key),
        name = attr(&d.name),
        label = esc(lang.t(&d.label.0, &d.label.1))
    )
}

fn files_table(lang: Lang, id: &str, c: &Checked) -> String {
    let mut out = format!(
        r#"<h2>{} ({})</h2>"#,
        lang.t("文件", "Files"),
        c.files.len(),
    );
    out.push_str(&crate::pages::table_start(
        "files",
        &[
            lang.t("文件", "file"),
            lang.t("类别", "class"),
            lang.t("编码", "encoding"),
            lang.t("读入", "read"),
            lang.t("通过", "accepted"),
            lang.t("退回", "rejected"),
            lang.t("错误/警告", "errors/warnings"),
            lang.t("下载", "downloads"),
        ],
    ));
    for (i, f) in c.files.iter().enumerate() {
        let links: Vec<String> = c
            .downloads
            .iter()
            .filter(|d| d.file == Some(i))
            .map(|d| link(lang, id, d))
            .collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td></tr>",
            esc(&f.file),
            esc(&f.class),
            esc(&f.encoding),
            f.rows_read,
            f.accepted,
            f.rejected,
            f.errors,
            f.warnings,
            links.join(" · ")
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn rules_table(lang: Lang, c: &Checked) -> String {
    let mut out = format!(r#"<h2>{}</h2>"#, lang.t("按规则", "By rule"));
    out.push_str(&crate::pages::table_start(
        "rules",
        &[
            lang.t("级别", "severity"),
            lang.t("规则", "rule"),
            lang.t("说明", "title"),
            lang.t("条数", "count"),
        ],
    ));
    for (severity, rule, n) in riskcensus_report::rule_counts(&c.findings) {
        let _ = write!(
            out,
            r#"<tr class="{}"><td>{}</td><td>{}</td><td>{}</td><td>{n}</td></tr>"#,
            severity.as_str(),
            severity_text(lang, severity),
            rule.code(),
            esc(lang.t(rule.title_zh(), rule.title_en())),
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn severity_text(lang: Lang, s: Severity) -> &'static str {
    match s {
        Severity::Error => lang.t("错误", "error"),
        Severity::Warning => lang.t("警告", "warning"),
        Severity::Info => lang.t("提示", "info"),
    }
}

fn findings_table(lang: Lang, c: &Checked) -> String {
    let listed = &c.findings[..c.findings.len().min(LISTED)];
    let rules: BTreeSet<&str> = listed.iter().map(|f| f.rule.code()).collect();
    let columns: BTreeSet<&str> = listed.iter().filter_map(|f| f.column.as_deref()).collect();
    let select = |id: &str, label: &str, values: &mut dyn Iterator<Item = (String, String)>| {
        let mut s = format!(
            r#"<label>{label} <select id="{id}"><option value="">{}</option>"#,
            lang.t("全部", "all")
        );
        for (value, text) in values {
            let _ = write!(
                s,
                r#"<option value="{}">{}</option>"#,
                attr(&value),
                esc(&text)
            );
        }
        s.push_str("</select></label> ");
        s
    };
    let severities = [Severity::Error, Severity::Warning, Severity::Info];
    let mut out = format!(
        r#"<h2>{} ({})</h2><div class="filters">{}{}{}<span id="shown-count"></span></div>"#,
        lang.t("问题明细", "Findings"),
        c.findings.len(),
        select(
            "filter-severity",
            lang.t("级别", "severity"),
            &mut severities
                .iter()
                .map(|s| (s.as_str().to_string(), severity_text(lang, *s).to_string()))
        ),
        select(
            "filter-rule",
            lang.t("规则", "rule"),
            &mut rules.iter().map(|r| (r.to_string(), r.to_string()))
        ),
        select(
            "filter-column",
            lang.t("列", "column"),
            &mut columns.iter().map(|c| (c.to_string(), c.to_string()))
        ),
    );
    if c.findings.len() > LISTED {
        let _ = write!(
            out,
            r#"<p class="note">{}</p>"#,
            esc(&match lang {
                Lang::Zh => format!("此处列出前 {LISTED} 条；全部见下载的问题清单。"),
                Lang::En =>
                    format!("The first {LISTED} are listed here; the findings download has all."),
            })
        );
    }
    out.push_str(&crate::pages::table_start(
        "findings",
        &[
            lang.t("级别", "severity"),
            lang.t("规则", "rule"),
            lang.t("文件", "file"),
            lang.t("行", "row"),
            lang.t("列", "column"),
            lang.t("值", "value"),
            lang.t("说明", "message"),
            lang.t("建议", "suggestion"),
        ],
    ));
    for f in listed {
        let column = f.column.as_deref().unwrap_or("");
        let _ = write!(
            out,
            r#"<tr class="{sev}" data-severity="{sev}" data-rule="{rule}" data-column="{col_attr}"><td>{sev_text}</td><td title="{title}">{rule}</td><td>{file}</td><td class="row">{row}</td><td>{col}</td><td>{value}</td><td>{message}</td><td>{suggestion}</td></tr>"#,
            sev = f.severity.as_str(),
            sev_text = severity_text(lang, f.severity),
            rule = f.rule.code(),
            title = attr(lang.t(f.rule.title_zh(), f.rule.title_en())),
            col_attr = attr(column),
            file = esc(&f.file),
            row = f.row.map(|r| r.to_string()).unwrap_or_default(),
            col = esc(column),
            value = esc(f.value.as_deref().unwrap_or("")),
            message = esc(lang.t(&f.message_zh, &f.message_en)),
            suggestion = esc(f.suggestion.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table>");
    out
}
