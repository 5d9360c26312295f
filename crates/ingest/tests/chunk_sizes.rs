//! Chunking never changes what a file is read as: the same cells, the same line numbers and the
//! same structure findings for chunk sizes from one byte to the whole file, on generated CSV
//! with quoted line breaks, doubled quotes, CRLF and CR line ends, blank and ragged rows.
//!
//! The records are written here from the CSV rules (RFC 4180), not by the code under test, and
//! each record's first line is counted as it is written, so the line numbers are checked against
//! an answer known independently of both the chunker and the parser.

use proptest::prelude::*;
use riskcensus_core::table::RawTable;
use riskcensus_core::{Field, FieldType, ResolvedClass};
use riskcensus_ingest::{ingest_bytes_in_chunks, Encoding};

fn class() -> ResolvedClass {
    let field = |id: &str, zh: &str| Field {
        required: true,
        ..Field::new(id, zh, FieldType::Text)
    };
    ResolvedClass::bare(
        "X",
        vec![
            field("name", "单位名称"),
            field("address", "详细地址"),
            field("note", "说明"),
        ],
        vec![],
    )
}

/// A cell as a technician might type it: plain, with commas, quotes or line breaks (then
/// quoted), or a quote in the middle of an unquoted cell (kept as written).
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z甲乙丙0-9 ]{0,6}",
        "[a-z甲乙]{1,3}\"[0-9]{1,2}",
        "[a-z甲乙,\"\n]{1,8}".prop_map(|s| format!("\"{}\"", s.replace('"', "\"\""))),
        "[a-z]{0,3}(\r\n|\n)[a-z]{0,3}".prop_map(|s| format!("\"{s}\"")),
    ]
}

/// Records of one to four cells (the header has three), and a blank line now and then.
fn records() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop::collection::vec(prop::collection::vec(cell(), 0..5), 0..40)
}

/// The file's text and each record's first line (a record of no cells is a blank line).
fn write(records: &[Vec<String>], line_end: &str) -> (String, Vec<u64>) {
    let mut text = format!("单位名称,详细地址,说明{line_end}");
    let mut line = 2;
    let mut lines = Vec::new();
    for record in records {
        let row = record.join(",");
        if !row.is_empty() {
            lines.push(line);
        }
        // Quoted line breaks are lines too.
        line += row.matches('\n').count() as u64 - row.matches("\r\n").count() as u64
            + row.matches('\r').count() as u64
            + 1;
        text.push_str(&row);
        text.push_str(line_end);
    }
    (text, lines)
}

fn read(text: &str, chunk_bytes: usize) -> RawTable {
    ingest_bytes_in_chunks(
        "t.csv",
        text.as_bytes(),
        Encoding::Auto,
        &class(),
        chunk_bytes,
    )
    .expect("generated CSV is well formed")
}

fn findings(t: &RawTable) -> Vec<(Option<u64>, &'static str, Option<String>)> {
    t.findings
        .iter()
        .map(|f| (f.row, f.rule.code(), f.value.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_chunk_size_reads_the_same_table(
        records in records(),
        line_end in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        sizes in prop::collection::vec(1usize..200, 3),
    ) {
        // A lone CR inside a quoted cell is a line break of its own in CR files only; keep the
        // cells' breaks like the file's.
        let records: Vec<Vec<String>> = records
            .into_iter()
            .map(|r| r.into_iter().map(|c| match line_end {
                "\r" => c.replace("\r\n", "\r").replace('\n', "\r"),
                _ => c,
            }).collect())
            .collect();
        let (text, expected_lines) = write(&records, line_end);
        let whole = read(&text, usize::MAX);
        prop_assert_eq!(whole.parts.len(), 1);
        // Rows of only empty cells are blank rows: reported, not read.
        let blank = findings(&whole).iter().filter(|f| f.1 == "struct.blank_row").count();
        prop_assert_eq!(whole.lines.len() + blank, expected_lines.len());
        let mut read_lines: Vec<u64> = whole.lines.clone();
        read_lines.extend(whole.findings.iter().filter(|f| f.rule.code() == "struct.blank_row").filter_map(|f| f.row));
        read_lines.sort_unstable();
        prop_assert_eq!(&read_lines, &expected_lines);
        for size in sizes.into_iter().chain([1]) {
            let chunked = read(&text, size);
            prop_assert_eq!(chunked.parts.iter().sum::<usize>(), whole.lines.len());
            prop_assert!(chunked.frame.equals_missing(&whole.frame), "chunk size {}", size);
            prop_assert_eq!(&chunked.lines, &whole.lines);
            prop_assert_eq!(findings(&chunked), findings(&whole));
            prop_assert_eq!(&chunked.sha256, &whole.sha256);
        }
    }
}

#[test]
fn a_file_of_many_records_is_cut_into_many_parts() {
    let records: Vec<Vec<String>> = (0..1000)
        .map(|i| {
            vec![
                format!("\"单位{i}\n分部\""),
                format!("{i}号"),
                String::new(),
            ]
        })
        .collect();
    let (text, lines) = write(&records, "\r\n");
    let table = read(&text, 1 << 10);
    assert!(table.parts.len() > 20, "{} parts", table.parts.len());
    assert_eq!(table.lines, lines);
    assert!(table.findings.is_empty(), "{:?}", table.findings);
}

#[test]
fn an_unclosed_quote_is_an_error_at_its_line_whatever_the_chunk_size() {
    let text = "单位名称,详细地址,说明\na,b,c\n\"d,e\nf,g,h\n";
    for size in [1, 5, usize::MAX] {
        let err = ingest_bytes_in_chunks("t.csv", text.as_bytes(), Encoding::Auto, &class(), size)
            .expect_err("unclosed quote");
        assert!(err.to_string().contains("line 3"), "{size}: {err}");
    }
}
