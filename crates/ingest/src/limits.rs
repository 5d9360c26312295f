//! What a return may hold, so that a broken or hostile file is an error at its line (exit 3)
//! instead of silently merged rows or unbounded memory (docs/formats.md, *Limits*).
//!
//! ```
//! use riskcensus_ingest::limits::{ends_inside_quotes, MAX_COLUMNS};
//! assert!(ends_inside_quotes(b"a,\"open cell\nb,c\n"));
//! assert!(!ends_inside_quotes(b"a,\"closed \"\"quoted\"\" cell\"\n"));
//! assert!(MAX_COLUMNS >= 1_000);
//! ```

use crate::IngestError;

/// The most columns a return may have (the widest census form has under 200).
pub const MAX_COLUMNS: usize = 2_000;
/// The most characters in one cell: Excel's own limit, so no real form exceeds it.
pub const MAX_CELL_CHARS: usize = 32_767;
/// The most line breaks inside one record's quoted cells. An address or a note may run over a
/// few lines; dozens mean a quote was left open and closed by a stray one far below.
pub const MAX_LINES_IN_RECORD: usize = 20;

/// The most bytes the parts of a zipped workbook (`.xlsx`, `.ods`) may inflate to, together.
/// A sheet's XML takes about ten times its size in memory once read, so this keeps a workbook
/// within the run's memory; a 1,048,576-row census form of 30 columns inflates to less.
pub const MAX_WORKBOOK_INFLATED: u64 = 256 << 20;

/// Check that a zipped workbook inflates to at most [`MAX_WORKBOOK_INFLATED`] bytes, counting
/// what each part really inflates to (a part's declared size can lie) and stopping as soon as
/// the limit is passed. Bytes that are no zip (`.xls`, a renamed CSV) pass: the spreadsheet
/// reader says what they are.
pub fn check_zip_inflation(bytes: &[u8]) -> Result<(), String> {
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Ok(());
    };
    let too_big = |what: &str| {
        format!(
            "the workbook inflates to more than {} MiB ({what}); riskcensus reads workbooks of \
             at most that size — split the return, or save it as CSV",
            MAX_WORKBOOK_INFLATED >> 20
        )
    };
    let declared: u64 = (0..archive.len())
        .filter_map(|i| archive.by_index_raw(i).ok().map(|part| part.size()))
        .fold(0u64, u64::saturating_add);
    if declared > MAX_WORKBOOK_INFLATED {
        return Err(too_big("by its parts' declared sizes"));
    }
    let mut left = MAX_WORKBOOK_INFLATED;
    for i in 0..archive.len() {
        let Ok(part) = archive.by_index(i) else {
            continue; // the spreadsheet reader reports a broken part
        };
        let inflated = std::io::copy(
            &mut std::io::Read::take(part, left.saturating_add(1)),
            &mut std::io::sink(),
        )
        .unwrap_or(0);
        if inflated > left {
            return Err(too_big("as it inflates"));
        }
        left -= inflated;
    }
    Ok(())
}

/// The limits, checked for one file.
pub(crate) struct Limits<'n> {
    name: &'n str,
}

impl<'n> Limits<'n> {
    pub(crate) fn new(name: &'n str) -> Self {
        Limits { name }
    }

    fn error(&self, line: u64, message: String) -> IngestError {
        IngestError::Csv {
            path: self.name.to_string(),
            line,
            message,
        }
    }

    /// A header or record of `count` fields.
    pub(crate) fn check_columns(&self, line: u64, count: usize) -> Result<(), IngestError> {
        if count > MAX_COLUMNS {
            return Err(self.error(
                line,
                format!("{count} columns; a return may have at most {MAX_COLUMNS}"),
            ));
        }
        Ok(())
    }

    /// One record: its width, its cells' lengths, the line breaks inside its cells.
    pub(crate) fn check_record(
        &self,
        line: u64,
        record: &csv::ByteRecord,
    ) -> Result<(), IngestError> {
        self.check_columns(line, record.len())?;
        let bytes = record.as_slice();
        // A cell of more characters has more bytes: most records are passed on their length.
        if bytes.len() > MAX_CELL_CHARS {
            if let Some((column, chars)) = record
                .iter()
                .enumerate()
                .map(|(i, cell)| (i + 1, String::from_utf8_lossy(cell).chars().count()))
                .find(|(_, chars)| *chars > MAX_CELL_CHARS)
            {
                return Err(self.error(
                    line,
                    format!(
                        "column {column} holds {chars} characters; a cell may hold at most \
                         {MAX_CELL_CHARS} (Excel's limit) — is a quote left open above it?"
                    ),
                ));
            }
        }
        if memchr::memchr(b'\n', bytes).is_some() {
            let breaks = memchr::memchr_iter(b'\n', bytes).count();
            if breaks > MAX_LINES_IN_RECORD {
                return Err(self.error(
                    line,
                    format!(
                        "a quoted cell starting on this line runs over {} lines (at most \
                         {MAX_LINES_IN_RECORD} line breaks in a record): a quote (\") is \
                         probably not closed",
                        breaks + 1
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// Whether CSV text (the last record of a file) ends inside a quoted cell, read as the csv
/// reader reads it: a quote opens a quoted cell only at a cell's start, `""` inside one is a
/// quote, and a quote elsewhere is a plain character.
pub fn ends_inside_quotes(text: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut at_cell_start = true;
    let mut bytes = text.iter().peekable();
    while let Some(&b) = bytes.next() {
        if in_quotes {
            if b == b'"' {
                if bytes.peek() == Some(&&b'"') {
                    bytes.next();
                } else {
                    in_quotes = false;
                }
            }
            continue;
        }
        match b {
            b',' | b'\n' | b'\r' => at_cell_start = true,
            b'"' if at_cell_start => {
                in_quotes = true;
                at_cell_start = false;
            }
            _ => at_cell_start = false,
        }
    }
    in_quotes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_read_as_the_csv_reader_reads_them() {
        assert!(!ends_inside_quotes(b""));
        assert!(!ends_inside_quotes(b"a,b\n"));
        assert!(!ends_inside_quotes(b"\"a\nb\",c\n"));
        assert!(
            !ends_inside_quotes(b"5\" pipe,b\n"),
            "a quote inside a cell is a character"
        );
        assert!(
            !ends_inside_quotes(b"\"\"\"\",x"),
            "a cell holding one quote"
        );
        assert!(ends_inside_quotes(b"a,\"b\n"));
        assert!(
            ends_inside_quotes(b"\"a\"\"\n"),
            "a doubled quote does not close"
        );
        assert!(ends_inside_quotes(b"x,\"\r\n\r\n"));
    }
}
