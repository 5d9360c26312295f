//! Cutting a CSV text into chunks of whole records, so that one large return is parsed (and then
//! validated) on several cores.
//!
//! The cuts are found by `csv-core`, the state machine the `csv` crate parses with: a line break
//! inside a quoted cell is never a cut, and a quote in the middle of an unquoted cell (`3"5`,
//! kept as written) does not open one, exactly as the parse itself reads them. Each chunk knows
//! the line its first record is on, counted as [`crate::LineCounter`] counts (LF, CRLF and lone
//! CR alike), so a finding's row is the same whatever the chunk size.
//!
//! ```
//! use riskcensus_ingest::chunks::record_chunks;
//! let text = "h1,h2\na,\"x\ny\"\nb,c\nd,e\n";
//! let body = text.find('\n').unwrap() + 1;
//! // A budget of one byte: every record its own chunk; the quoted line break stays inside.
//! let chunks = record_chunks(text, body, 1);
//! let parts: Vec<&str> = chunks.iter().map(|c| &text[c.bytes.clone()]).collect();
//! assert_eq!(parts, ["a,\"x\ny\"\n", "b,c\n", "d,e\n"]);
//! assert_eq!(chunks.iter().map(|c| c.first_line).collect::<Vec<_>>(), [2, 4, 5]);
//! ```

use std::ops::Range;

/// Bytes per chunk unless the pipeline sets `chunk_mib`: large enough that a chunk's fixed costs
/// (a table builder, a polars plan) vanish, small enough that a 2 GB national file is cut into
/// enough chunks for every core.
pub const CHUNK_BYTES: usize = 32 << 20;

/// Whole records of a text, as a byte range of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The chunk's bytes in the text: from the first byte of a record to the end of a record's
    /// line break (or the end of the text).
    pub bytes: Range<usize>,
    /// The line (1 = the first line of the text) before the chunk's first byte is counted: the
    /// line its first byte is on.
    pub first_line: u64,
}

/// Cut `text` from byte `start` (a record's start, e.g. after the header) into chunks of about
/// `budget` bytes (at least one record each), at record ends. An empty rest gives no chunk.
pub fn record_chunks(text: &str, start: usize, budget: usize) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    // The line break that ends the record before `start` is that record's, whole (a reader's
    // position can lie between a CR and its LF).
    let mut start = start.min(bytes.len());
    while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
        start += 1;
    }
    let mut cuts = vec![start];
    let mut reader = csv_core::Reader::new();
    // The cells are not wanted, only where records end: small buffers, overwritten.
    let mut output = [0u8; 4096];
    let mut ends = [0usize; 64];
    let mut at = start;
    let mut chunk_start = start;
    loop {
        let (result, read, _, _) = reader.read_record(&bytes[at..], &mut output, &mut ends);
        at += read;
        match result {
            csv_core::ReadRecordResult::Record => {
                // Line breaks after a record belong to it (the reader skips them either way).
                while at < bytes.len() && matches!(bytes[at], b'\r' | b'\n') {
                    at += 1;
                }
                if at - chunk_start >= budget && at < bytes.len() {
                    cuts.push(at);
                    chunk_start = at;
                }
            }
            csv_core::ReadRecordResult::End => break,
            // More cells than the buffers hold, or the input read: go on (at the end of the
            // input the reader is called once more with nothing, and ends its last record).
            csv_core::ReadRecordResult::InputEmpty
            | csv_core::ReadRecordResult::OutputFull
            | csv_core::ReadRecordResult::OutputEndsFull => {}
        }
    }
    if start < bytes.len() {
        cuts.push(bytes.len());
    }
    let mut line = 1 + line_ends(&bytes[..start]);
    let mut chunks = Vec::with_capacity(cuts.len().saturating_sub(1));
    for pair in cuts.windows(2) {
        let (from, to) = (pair[0], pair[1]);
        chunks.push(Chunk {
            bytes: from..to,
            first_line: line,
        });
        line += line_ends(&bytes[from..to]);
    }
    chunks
}

/// Line ends in `bytes`: LF, CRLF (once) and a lone CR. A CR that ends `bytes` counts as lone;
/// chunks never end between a CR and its LF, since a record's line break is kept whole.
fn line_ends(bytes: &[u8]) -> u64 {
    memchr::memchr2_iter(b'\n', b'\r', bytes)
        .filter(|&at| bytes[at] == b'\n' || bytes.get(at + 1) != Some(&b'\n'))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str, budget: usize) -> Vec<(&str, u64)> {
        record_chunks(text, 0, budget)
            .into_iter()
            .map(|c| (&text[c.bytes], c.first_line))
            .collect()
    }

    #[test]
    fn crlf_and_cr_line_breaks_stay_with_their_record() {
        assert_eq!(
            parts("a\r\n\r\nb\r\nc", 1),
            [("a\r\n\r\n", 1), ("b\r\n", 3), ("c", 4)]
        );
        assert_eq!(parts("a\rb\r", 1), [("a\r", 1), ("b\r", 2)]);
    }

    #[test]
    fn a_quote_inside_an_unquoted_cell_opens_nothing() {
        // `3"5` keeps its quote as written (as the csv parser reads it): the next line is a
        // record of its own, and the quoted break in the last one is no cut.
        let text = "3\"5,x\ny,z\n\"p\nq\",r\n";
        assert_eq!(
            parts(text, 1),
            [("3\"5,x\n", 1), ("y,z\n", 2), ("\"p\nq\",r\n", 3)]
        );
    }

    #[test]
    fn a_large_budget_is_one_chunk_and_an_empty_rest_none() {
        assert_eq!(parts("a\nb\n", 1 << 20), [("a\nb\n", 1)]);
        assert!(record_chunks("h\n", 2, 1).is_empty());
    }

    #[test]
    fn an_unclosed_quote_runs_to_the_end() {
        assert_eq!(parts("a\n\"b\nc\n", 1), [("a\n", 1), ("\"b\nc\n", 2)]);
    }
}
