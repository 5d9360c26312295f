//! Multi-select cells: items split on `; ； 、 , ，`, but never inside brackets, and never
//! inside an option that itself contains a separator (`风暴潮、海啸应急预案`).
//!
//! The census forms print some options with `、` in them; a plain split would cut them in
//! two. Items are therefore split first, then adjacent pieces joined again wherever the joined
//! text (with the separator typed between them) is one of the field's options.
//!
//! ```
//! use riskcensus_validate::multi::{split_items, Item};
//! let codes = ["地震灾害应急预案".to_string(), "风暴潮、海啸应急预案".to_string()];
//! let items = split_items("风暴潮、海啸应急预案、地震灾害应急预案", &codes);
//! assert_eq!(items, [Item::Code(1), Item::Code(0)]);
//! let items = split_items("地震（余震）；台风", &[]);
//! assert_eq!(items, [Item::Other("地震（余震）".into()), Item::Other("台风".into())]);
//! ```

/// One item of a multi-select cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// The option at this index of the field's code list.
    Code(usize),
    /// Text that is no option (trimmed).
    Other(String),
}

fn is_separator(c: char) -> bool {
    matches!(c, ';' | '；' | '、' | ',' | '，')
}

/// The text an option is compared by: brackets half-width, no whitespace.
fn key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect()
}

/// Pieces of the cell with the separator that followed each (none after the last), split
/// only outside brackets.
fn pieces(cell: &str) -> Vec<(String, Option<char>)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in cell.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && is_separator(c) {
            out.push((std::mem::take(&mut current), Some(c)));
        } else {
            current.push(c);
        }
    }
    out.push((current, None));
    out
}

/// The items of a cell, matched against `codes` (empty pieces dropped).
pub fn split_items(cell: &str, codes: &[String]) -> Vec<Item> {
    let keys: Vec<String> = codes.iter().map(|c| key(c)).collect();
    let code_of = |text: &str| keys.iter().position(|k| *k == key(text));
    let parts = pieces(cell);
    let mut items = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        // The longest run of pieces, rejoined with their separators, that is an option.
        let mut joined = String::new();
        let mut best = None;
        for (j, (text, _)) in parts.iter().enumerate().skip(i) {
            if j > i {
                if let Some(sep) = parts[j - 1].1 {
                    joined.push(sep);
                }
            }
            joined.push_str(text);
            if let Some(code) = code_of(&joined) {
                best = Some((j, code));
            }
        }
        match best {
            Some((j, code)) => {
                items.push(Item::Code(code));
                i = j + 1;
            }
            None => {
                let text = parts[i].0.trim();
                if !text.is_empty() {
                    items.push(Item::Other(text.to_string()));
                }
                i += 1;
            }
        }
    }
    items
}

/// The cell as its options joined by `;` (other text kept as typed, trimmed); `None` when
/// that is what the cell already holds.
///
/// ```
/// use riskcensus_validate::multi::canonical;
/// let codes = ["食品".to_string(), "饮用水".to_string()];
/// assert_eq!(canonical("食品 、 饮用水，药品", &codes), Some("食品;饮用水;药品".to_string()));
/// assert_eq!(canonical("食品;饮用水", &codes), None);
/// ```
pub fn canonical(cell: &str, codes: &[String]) -> Option<String> {
    if exact_options(cell, codes) {
        return None;
    }
    canonical_by_items(cell, codes)
}

/// Whether the cell is already options joined by `;`, each written exactly as in `codes`: the
/// usual cell, which [`split_items`] would give back unchanged. Checked without allocating
/// (splitting every cell was over half of a national validation's CPU).
///
/// The `;` must lie outside brackets, as [`pieces`] splits, and no option may hold a `;`: a run of
/// pieces joined again then never matches an option, so each piece is its own item.
fn exact_options(cell: &str, codes: &[String]) -> bool {
    if cell.is_empty() || codes.iter().any(|c| c.contains(';')) {
        return false;
    }
    let mut depth = 0usize;
    let mut start = 0;
    for (at, c) in cell.char_indices() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            ';' if depth == 0 => {
                if !is_option(cell.get(start..at), codes) {
                    return false;
                }
                start = at + 1;
            }
            _ => {}
        }
    }
    is_option(cell.get(start..), codes)
}

fn is_option(piece: Option<&str>, codes: &[String]) -> bool {
    piece.is_some_and(|p| codes.iter().any(|c| c == p))
}

/// [`canonical`] by splitting the cell into items.
fn canonical_by_items(cell: &str, codes: &[String]) -> Option<String> {
    let joined = split_items(cell, codes)
        .into_iter()
        .map(|item| match item {
            Item::Code(i) => codes[i].clone(),
            Item::Other(text) => text,
        })
        .collect::<Vec<_>>()
        .join(";");
    (joined != cell).then_some(joined)
}

/// The items that are no option of `codes`.
pub fn unknown_items(cell: &str, codes: &[String]) -> Vec<String> {
    if exact_options(cell, codes) {
        return Vec::new();
    }
    split_items(cell, codes)
        .into_iter()
        .filter_map(|item| match item {
            Item::Other(text) => Some(text),
            Item::Code(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_with_separators_and_brackets_stay_whole() {
        let c = codes(&[
            "地质灾害（滑坡、泥石流、崩塌）应急预案",
            "风暴潮、海啸应急预案",
            "其他灾害(自然灾害)",
        ]);
        let cell =
            "地质灾害(滑坡、泥石流、崩塌)应急预案;风暴潮、海啸应急预案，其他灾害（自然灾害）";
        assert_eq!(
            split_items(cell, &c),
            [Item::Code(0), Item::Code(1), Item::Code(2)]
        );
        assert_eq!(
            canonical(cell, &c).as_deref(),
            Some("地质灾害（滑坡、泥石流、崩塌）应急预案;风暴潮、海啸应急预案;其他灾害(自然灾害)")
        );
        assert_eq!(
            unknown_items("风暴潮、海啸、地震", &c),
            ["风暴潮", "海啸", "地震"]
        );
    }

    proptest! {
        /// Any selection of options, joined by any separator, splits back into exactly
        /// those options.
        #[test]
        fn joined_options_split_back(picks in proptest::collection::vec(0usize..5, 0..6),
                                     seps in proptest::collection::vec(0usize..5, 6)) {
            let c = codes(&["风暴潮、海啸应急预案", "地震", "洪水（含山洪）", "A、B、C", "B"]);
            let mut cell = String::new();
            for (n, p) in picks.iter().enumerate() {
                if n > 0 {
                    cell.push([';', '；', '、', ',', '，'][seps[n]]);
                }
                cell.push_str(&c[*p]);
            }
            let got: Vec<Item> = split_items(&cell, &c);
            let want: Vec<Item> = picks.iter().map(|p| Item::Code(*p)).collect();
            prop_assert_eq!(got, want);
        }

        /// The shortcut for cells already in canonical form agrees with splitting, on cells of
        /// options, look-alikes, brackets, spaces and every separator.
        #[test]
        fn the_exact_shortcut_agrees_with_splitting(
            pieces in proptest::collection::vec(
                prop_oneof![
                    Just("风暴潮、海啸应急预案"), Just("地震"), Just("洪水（含山洪）"),
                    Just("A、B、C"), Just("B"), Just("A"), Just(" B"), Just("（"), Just(")"),
                    Just("洪水(含山洪)"), Just(""), Just("地震;B"),
                ],
                0..6),
            seps in proptest::collection::vec(prop_oneof![Just(";"), Just("、"), Just("，"), Just(";;")], 6),
        ) {
            let c = codes(&["风暴潮、海啸应急预案", "地震", "洪水（含山洪）", "A、B、C", "B"]);
            let mut cell = String::new();
            for (n, p) in pieces.iter().enumerate() {
                if n > 0 {
                    cell.push_str(seps[n]);
                }
                cell.push_str(p);
            }
            prop_assert_eq!(canonical(&cell, &c), canonical_by_items(&cell, &c));
            let by_items: Vec<String> = split_items(&cell, &c).into_iter().filter_map(|i| match i {
                Item::Other(t) => Some(t),
                Item::Code(_) => None,
            }).collect();
            prop_assert_eq!(unknown_items(&cell, &c), by_items);
        }
    }
}
