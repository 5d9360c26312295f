//! Ingest: census returns as technicians send them, into a table of text cells.
//!
//! Reads the bytes once (hashing them for the manifest), detects the encoding (UTF-8 with or
//! without BOM, UTF-16 with BOM, GBK/GB18030), parses the CSV with exact line numbers, resolves
//! each header to a schema field by its Chinese label (with or without unit), census code or
//! English id, and hands a polars `DataFrame` of text columns to validation. Structure problems
//! (unknown, duplicate or missing columns, ragged rows) are [`Finding`]s; a file that cannot be
//! read at all is an [`IngestError`].
//!
//! ```
//! use riskcensus_core::{Field, FieldType, ResolvedClass};
//! use riskcensus_ingest::{ingest_bytes, Encoding};
//! let field = |id, zh, t| Field { required: true, ..Field::new(id, zh, t) };
//! let class = ResolvedClass::bare("X", vec![field("name", "单位名称", FieldType::Text),
//!     field("students", "在校学生数", FieldType::Integer)], vec![]);
//! let csv = "单位名称,在校学生数（人）,备注\n第一小学,420,\n";
//! let table = ingest_bytes("a.csv", csv.as_bytes(), Encoding::Auto, &class).unwrap();
//! assert_eq!(table.frame.height(), 1);
//! assert_eq!(table.lines, vec![2]);
//! assert_eq!(table.findings[0].rule.code(), "struct.unknown_column"); // 备注
//! ```
#![deny(missing_docs)]

use std::path::Path;

use polars::prelude::*;
mod builder;
pub mod chunks;
pub mod excel;
pub mod gpkg;
pub mod limits;

pub use builder::halfwidth;

use riskcensus_core::table::RawTable;
use riskcensus_core::ResolvedClass;
use sha2::{Digest, Sha256};

/// What a file's encoding is declared or detected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Detect: BOM, else valid UTF-8, else GB18030 (a superset of GBK).
    #[default]
    Auto,
    /// UTF-8 (a BOM is skipped).
    Utf8,
    /// GBK / GB18030.
    Gb18030,
}

impl Encoding {
    /// Parse a pipeline's `encoding = "…"`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(
            match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
                "auto" => Encoding::Auto,
                "utf8" => Encoding::Utf8,
                "gbk" | "gb2312" | "gb18030" | "cp936" => Encoding::Gb18030,
                _ => return None,
            },
        )
    }
}

/// A file that could not be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The OS could not read it.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The bytes are not text in any encoding riskcensus reads.
    #[error(
        "{path}: not UTF-8, UTF-16 or GBK/GB18030 text ({detail}); save it as CSV UTF-8 and retry"
    )]
    UnknownEncoding {
        /// The file.
        path: String,
        /// What gave it away.
        detail: String,
    },
    /// The CSV structure is broken beyond a row (e.g. an unclosed quote).
    #[error("{path}, line {line}: malformed CSV: {message}")]
    Csv {
        /// The file.
        path: String,
        /// Line number.
        line: u64,
        /// Parser message.
        message: String,
    },
    /// No header row.
    #[error("{path}: the file is empty (no header row)")]
    Empty {
        /// The file.
        path: String,
    },
    /// A spreadsheet that cannot be opened or lacks the sheet.
    #[error("{path}: {message}")]
    Spreadsheet {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Polars refused the table.
    #[error("{path}: {source}")]
    Frame {
        /// The file.
        path: String,
        /// Polars error.
        source: PolarsError,
    },
}

/// Read and ingest a file.
///
/// `.xlsx`, `.xlsm`, `.xlsb`, `.xls` and `.ods` are read as census Excel forms ([`excel`]), in
/// the sheet named by `sheet`, else the sheet whose name holds the class code or Chinese name,
/// else the first sheet; `.gpkg` as a census GeoPackage export ([`gpkg`]), in the layer named by
/// `sheet` (the pipeline's `layer`), else the class's census table, else the only layer;
/// anything else as CSV.
pub fn ingest_file(
    path: &Path,
    display_name: &str,
    encoding: Encoding,
    sheet: Option<&str>,
    class: &ResolvedClass,
) -> Result<RawTable, IngestError> {
    ingest_file_in_chunks(
        path,
        display_name,
        encoding,
        sheet,
        class,
        chunks::CHUNK_BYTES,
    )
}

/// [`ingest_file`], a CSV read in chunks of about `chunk_bytes` ([`ingest_bytes_in_chunks`]);
/// spreadsheets and GeoPackages are read whole.
pub fn ingest_file_in_chunks(
    path: &Path,
    display_name: &str,
    encoding: Encoding,
    sheet: Option<&str>,
    class: &ResolvedClass,
    chunk_bytes: usize,
) -> Result<RawTable, IngestError> {
    if excel::is_spreadsheet(path) {
        return excel::ingest_excel(path, display_name, sheet, class);
    }
    if gpkg::is_geopackage(path) {
        return gpkg::ingest_gpkg(path, display_name, sheet, class);
    }
    // Each thread reads its files into one buffer it keeps: the text is copied into the table's
    // columns, so the buffer is free again once a file is ingested, and a fresh allocation per
    // file had the kernel zero every file's pages first (perf: ≈ 2 % of a national validation).
    thread_local! {
        static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    READ_BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        std::fs::File::open(path)
            .and_then(|mut file| std::io::Read::read_to_end(&mut file, buffer))
            .map_err(|source| IngestError::Io {
                path: display_name.to_string(),
                source,
            })?;
        ingest_bytes_in_chunks(display_name, buffer, encoding, class, chunk_bytes)
    })
}

/// Decode bytes to text, returning the encoding's name.
pub fn decode(
    name: &str,
    bytes: &[u8],
    encoding: Encoding,
) -> Result<(String, &'static str), IngestError> {
    decode_borrowed(name, bytes, encoding).map(|(text, enc)| (text.into_owned(), enc))
}

/// [`decode`], borrowing the bytes when they are already UTF-8 (no copy of a large file).
fn decode_borrowed<'b>(
    name: &str,
    bytes: &'b [u8],
    encoding: Encoding,
) -> Result<(std::borrow::Cow<'b, str>, &'static str), IngestError> {
    let unknown = |detail: &str| IngestError::UnknownEncoding {
        path: name.to_string(),
        detail: detail.to_string(),
    };
    // A byte-order mark says what the file is, whatever was declared (a GBK return corrected by
    // `riskcensus fix` is UTF-8 with a BOM under the same name).
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(unknown(&format!(
                "invalid {} after its byte-order mark",
                enc.name()
            )));
        }
        return Ok((
            text,
            if enc == encoding_rs::UTF_8 {
                "UTF-8 (BOM)"
            } else {
                enc.name()
            },
        ));
    }
    if encoding == Encoding::Auto || encoding == Encoding::Utf8 {
        if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
            return check_text(name, text.into(), "UTF-8");
        }
        if encoding == Encoding::Utf8 {
            return Err(unknown("declared UTF-8 but the bytes are not valid UTF-8"));
        }
    }
    match encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => check_text(name, text, "GB18030"),
        None => Err(unknown("invalid as UTF-8 and as GBK/GB18030")),
    }
}

/// Text with NULs or other C0 controls is binary or UTF-16 without a BOM.
fn check_text<'b>(
    name: &str,
    text: std::borrow::Cow<'b, str>,
    enc: &'static str,
) -> Result<(std::borrow::Cow<'b, str>, &'static str), IngestError> {
    // Control characters are C0 and DEL (one byte each in UTF-8) and C1 (0xC2 0x80–0x9F): a byte
    // scan finds the first without decoding every character.
    let bytes = text.as_bytes();
    // First the 64-byte blocks with a byte that may start one (a branch-free fold the compiler
    // vectorises: the exact scan below was 2 % of a national validation), then the exact scan
    // from the first such block on.
    const BLOCK: usize = 64;
    let c0_or_del = |b: u8| (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) | (b == 0x7F);
    let may_start = |b: u8| c0_or_del(b) | (b == 0xC2);
    let Some(block) = bytes
        .chunks(BLOCK)
        .position(|c| c.iter().fold(false, |seen, &b| seen | may_start(b)))
    else {
        return Ok((text, enc));
    };
    let first = bytes
        .iter()
        .enumerate()
        .skip(block * BLOCK)
        .position(|(i, &b)| {
            c0_or_del(b)
                || (b == 0xC2 && bytes.get(i + 1).is_some_and(|n| (0x80..=0x9F).contains(n)))
        })
        .map(|i| i + block * BLOCK);
    if let Some(c) = first
        .and_then(|i| text.get(i..))
        .and_then(|t| t.chars().next())
    {
        return Err(IngestError::UnknownEncoding {
            path: name.to_string(),
            detail: format!("control character U+{:04X} in the text", c as u32),
        });
    }
    Ok((text, enc))
}

/// A file's bytes and their sha256 (hex), a read error naming the file as `name`.
pub(crate) fn read_with_sha256(path: &Path, name: &str) -> Result<(Vec<u8>, String), IngestError> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: name.to_string(),
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok((bytes, sha256))
}

/// Ingest bytes already read, in chunks of [`chunks::CHUNK_BYTES`].
pub fn ingest_bytes(
    name: &str,
    bytes: &[u8],
    encoding: Encoding,
    class: &ResolvedClass,
) -> Result<RawTable, IngestError> {
    ingest_bytes_in_chunks(name, bytes, encoding, class, chunks::CHUNK_BYTES)
}

/// [`ingest_bytes`], the records after the header cut into chunks of about `chunk_bytes`
/// ([`chunks`]) and parsed in parallel. The table is the same whatever the chunk size; its
/// [`RawTable::parts`] say where the chunks were cut, for validation to work along them.
pub fn ingest_bytes_in_chunks(
    name: &str,
    bytes: &[u8],
    encoding: Encoding,
    class: &ResolvedClass,
    chunk_bytes: usize,
) -> Result<RawTable, IngestError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let (text, encoding_found) = decode_borrowed(name, bytes, encoding)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| IngestError::Csv {
        path: name.to_string(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    };
    let header: Vec<String> = match reader.records().next() {
        Some(r) => r.map_err(csv_err)?.iter().map(str::to_string).collect(),
        None => {
            return Err(IngestError::Empty {
                path: name.to_string(),
            })
        }
    };
    let body = usize::try_from(reader.position().byte()).unwrap_or(text.len());
    let limits = limits::Limits::new(name);
    limits.check_columns(1, header.len())?;
    let parts: Vec<chunks::Chunk> = chunks::record_chunks(&text, body, chunk_bytes.max(1));
    let parse = |index: usize, chunk: &chunks::Chunk| {
        let mut table = parse_chunk(
            name,
            class,
            &header,
            &text[chunk.bytes.clone()],
            chunk.first_line,
        )?;
        if index > 0 {
            // The header's findings are the first chunk's.
            table.findings.retain(|f| f.row != Some(1));
        }
        Ok(table)
    };
    let mut tables: Vec<RawTable> = if parts.len() > 1 {
        use rayon::prelude::*;
        parts
            .par_iter()
            .enumerate()
            .map(|(i, c)| parse(i, c))
            .collect::<Result<_, IngestError>>()?
    } else {
        parts
            .iter()
            .enumerate()
            .map(|(i, c)| parse(i, c))
            .collect::<Result<_, _>>()?
    };
    if tables.is_empty() {
        tables.push(parse_chunk(name, class, &header, "", 2)?);
    }
    concat(name, tables, sha256, encoding_found)
}

/// The records of one chunk (text whose first line is `first_line` of the file) as a table with
/// `header`'s columns.
fn parse_chunk(
    name: &str,
    class: &ResolvedClass,
    header: &[String],
    text: &str,
    first_line: u64,
) -> Result<RawTable, IngestError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| IngestError::Csv {
        path: name.to_string(),
        line: first_line + e.position().map_or(0, |p| p.line().saturating_sub(1)),
        message: e.to_string(),
    };
    let limits = limits::Limits::new(name);
    // Columns sized once for the chunk's lines: growing them row by row copied every column
    // several times over and faulted in fresh memory each time (perf).
    let rows_hint = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
    let mut table = builder::TableBuilder::new(name, class, header, 1, rows_hint);
    let mut counter = LineCounter::starting_at(text, first_line);
    // One record buffer for the whole chunk. A record's fields lie end to end in it: they are
    // checked as UTF-8 in one simdutf8 call per record, then cut at their ends, which `str::get`
    // checks are character boundaries (the csv crate's own check per record was a sixth of
    // ingest time, and one check per field 2 % of a validation's CPU time).
    let mut record = csv::ByteRecord::new();
    // One vector of a record's fields, reused (collecting a new one per row, grown as it went,
    // was 3 % of a validation's CPU).
    let mut spare_fields: Vec<Option<&'static str>> = Vec::new();
    let mut last_record_start = 0;
    while reader.read_byte_record(&mut record).map_err(csv_err)? {
        last_record_start = record.position().map_or(0, |p| p.byte() as usize);
        let line = counter.line_at(last_record_start);
        limits.check_record(line, &record)?;
        // The whole text is UTF-8 and CSV splits at ASCII bytes, so every field is too.
        let mut fields = recycle(std::mem::take(&mut spare_fields));
        let all_valid = simdutf8::basic::from_utf8(record.as_slice()).is_ok_and(|all| {
            (0..record.len()).all(|i| {
                let field = record.range(i).and_then(|range| all.get(range));
                fields.push(field);
                field.is_some()
            })
        });
        if !all_valid {
            return Err(IngestError::Csv {
                path: name.to_string(),
                line,
                message: "a field is not valid UTF-8".into(),
            });
        }
        table.push_row(line, &fields);
        spare_fields = recycle(fields);
    }
    // A quote never closed swallows the rest of the file into one cell, silently: the csv
    // reader takes the end of the file as the field's end.
    let last_record = text.as_bytes().get(last_record_start..).unwrap_or_default();
    if limits::ends_inside_quotes(last_record) {
        let mut counter = LineCounter::starting_at(text, first_line);
        return Err(IngestError::Csv {
            path: name.to_string(),
            line: counter.line_at(last_record_start),
            message: "a quote (\") opened in this record is never closed: every line after it \
                      would become one cell. Close the quote, or double a quote inside a cell (\"\")"
                .into(),
        });
    }
    table.finish(String::new(), "")
}

/// The chunks' tables, in order, as the file's one table.
fn concat(
    name: &str,
    tables: Vec<RawTable>,
    sha256: String,
    encoding: &'static str,
) -> Result<RawTable, IngestError> {
    let mut tables = tables.into_iter();
    let Some(mut table) = tables.next() else {
        return Err(IngestError::Empty {
            path: name.to_string(),
        });
    };
    table.parts = vec![table.lines.len()];
    for next in tables {
        table
            .frame
            .vstack_mut_owned(next.frame)
            .map_err(|source| IngestError::Frame {
                path: name.to_string(),
                source,
            })?;
        table.parts.push(next.lines.len());
        table.lines.extend(next.lines);
        table.findings.extend(next.findings);
    }
    table.sha256 = sha256;
    table.encoding = encoding;
    Ok(table)
}

/// An empty vector with `fields`'s allocation, for the fields of another record.
fn recycle<'b>(mut fields: Vec<Option<&str>>) -> Vec<Option<&'b str>> {
    fields.clear();
    // Nothing is left to map: collecting an emptied vector's iterator into items of the same
    // size keeps its allocation.
    fields.into_iter().map(|_| None).collect()
}

/// Line numbers as an editor or Excel shows them, for CRLF, LF and CR files alike: the line of
/// the first character of a record (the csv crate reports the line of the previous terminator
/// for CRLF files).
struct LineCounter<'a> {
    bytes: &'a [u8],
    scanned: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    #[cfg(test)]
    fn new(text: &'a str) -> Self {
        Self::starting_at(text, 1)
    }

    /// A counter for `text` whose first line is line `line` of its file.
    fn starting_at(text: &'a str, line: u64) -> Self {
        LineCounter {
            bytes: text.as_bytes(),
            scanned: 0,
            line,
        }
    }

    /// The line of the record starting at `byte` (records come in increasing byte order).
    fn line_at(&mut self, byte: usize) -> u64 {
        let mut start = byte.min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        // Only the line ends between the last record and this one are looked at (memchr: a byte
        // at a time over the whole file was 2 % of a validation's CPU time).
        if self.scanned < start {
            for offset in memchr::memchr2_iter(b'\n', b'\r', &self.bytes[self.scanned..start]) {
                let at = self.scanned + offset;
                // CRLF counts once, at its LF; a lone CR (old Mac files) counts itself.
                if self.bytes[at] == b'\n' || self.bytes.get(at + 1) != Some(&b'\n') {
                    self.line += 1;
                }
            }
            self.scanned = start;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_is_detected_and_decoded() {
        let (bytes, _, _) = encoding_rs::GBK.encode("单位名称,学生\n白银市第一中学,1\n");
        let (text, enc) = decode("x", &bytes, Encoding::Auto).unwrap();
        assert_eq!(enc, "GB18030");
        assert!(text.contains("白银市第一中学"));
    }

    #[test]
    fn line_numbers_are_the_same_for_lf_crlf_and_quoted_newlines() {
        let mut lf = LineCounter::new("h\na\n\nb\n");
        assert_eq!((lf.line_at(2), lf.line_at(5)), (2, 4));
        let mut crlf = LineCounter::new("h\r\na\r\n\"x\r\ny\"\r\nb\r\n");
        assert_eq!(
            (crlf.line_at(1), crlf.line_at(4), crlf.line_at(14)),
            (2, 3, 5)
        );
        let mut cr = LineCounter::new("h\ra\r\rb\r");
        assert_eq!((cr.line_at(2), cr.line_at(5)), (2, 4));
    }

    #[test]
    fn recycled_fields_keep_their_allocation() {
        let text = String::from("甲,乙");
        let fields: Vec<Option<&str>> = vec![Some(&text[..3]); 40];
        let (at, capacity) = (fields.as_ptr() as usize, fields.capacity());
        let again: Vec<Option<&'static str>> = recycle(fields);
        assert!(again.is_empty());
        assert_eq!((again.as_ptr() as usize, again.capacity()), (at, capacity));
    }

    fn class() -> ResolvedClass {
        use riskcensus_core::{Field, FieldType};
        let field = |id: &str, zh: &str| Field {
            code: Some(format!("c_{id}")),
            required: true,
            ..Field::new(id, zh, FieldType::Text)
        };
        ResolvedClass::bare(
            "X",
            vec![field("name", "单位名称"), field("address", "详细地址")],
            vec![],
        )
    }

    fn rules(t: &RawTable) -> Vec<(u64, &'static str)> {
        t.findings
            .iter()
            .map(|f| (f.row.unwrap_or(0), f.rule.code()))
            .collect()
    }

    #[test]
    fn structure_rules_fire_on_bad_structure() {
        let text = "单位名称,c_name,备注\n甲,甲,\n,,\n乙,乙,x,extra\n";
        let t = ingest_bytes("a.csv", text.as_bytes(), Encoding::Auto, &class()).unwrap();
        assert_eq!(
            rules(&t),
            [
                (1, "struct.unknown_column"),
                (1, "struct.missing_column"),
                (1, "struct.duplicate_column"),
                (3, "struct.blank_row"),
                (4, "struct.ragged_row")
            ]
        );
        assert_eq!(t.lines, [2, 4]);
        assert_eq!(t.missing_required, ["address"]);
    }

    #[test]
    fn clean_structure_raises_nothing() {
        let t = ingest_bytes(
            "a.csv",
            "c_name,详细地址（全称）\n甲,某路1号\n".as_bytes(),
            Encoding::Auto,
            &class(),
        )
        .unwrap();
        assert!(t.findings.is_empty(), "{:?}", t.findings);
    }

    #[test]
    fn bom_is_stripped() {
        let (text, enc) = decode("x", "\u{feff}a,b\n".as_bytes(), Encoding::Auto).unwrap();
        assert_eq!((text.as_str(), enc), ("a,b\n", "UTF-8 (BOM)"));
    }

    #[test]
    fn binary_is_an_unknown_encoding() {
        let utf16_without_bom: Vec<u8> =
            "a,b\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let err = decode("x.csv", &utf16_without_bom, Encoding::Auto).unwrap_err();
        assert!(matches!(err, IngestError::UnknownEncoding { .. }), "{err}");
        let err = decode("x.csv", &[0x41, 0xc3, 0x28, 0x41], Encoding::Utf8).unwrap_err();
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
    }

    #[test]
    fn control_characters_are_found_wherever_they_are() {
        let detail = |text: String| match check_text("x.csv", text.into(), "UTF-8") {
            Ok(_) => None,
            Err(IngestError::UnknownEncoding { detail, .. }) => Some(detail),
            Err(e) => panic!("{e}"),
        };
        // Text of several blocks, with a middle dot (C2 B7), tabs and line ends: clean.
        let clean = "名称\t甲·乙,1\r\n".repeat(20);
        assert_eq!(detail(clean.clone()), None);
        // A C1 control (NEL, C2 85) split across two 64-byte blocks, and a NUL far in.
        let mut split = "a".repeat(63);
        split.push('\u{85}');
        assert_eq!(split.as_bytes()[63], 0xC2);
        assert_eq!(
            detail(split).as_deref(),
            Some("control character U+0085 in the text")
        );
        let nul = format!("{clean}b\u{0}c");
        assert_eq!(
            detail(nul).as_deref(),
            Some("control character U+0000 in the text")
        );
        // The first of several is the one reported, DEL included.
        let two = format!("{clean}\u{7f}{clean}\u{1}");
        assert_eq!(
            detail(two).as_deref(),
            Some("control character U+007F in the text")
        );
    }

    #[test]
    fn encoding_names() {
        assert_eq!(Encoding::parse("GBK"), Some(Encoding::Gb18030));
        assert_eq!(Encoding::parse("utf-8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("latin1"), None);
    }
}
