//! Unified social credit codes (统一社会信用代码, GB 32100-2015).
//!
//! 18 characters from `0123456789ABCDEFGHJKLMNPQRTUWXY`, each worth its index; weights
//! 3^(i−1) mod 31 for positions 1–17; check = charset[(31 − Σ mod 31) mod 31]. Positions 3–8 hold
//! the registering authority's division code.
//!
//! ```
//! use riskcensus_core::uscc::{check, UsccProblem};
//! assert_eq!(check("91310110666007217T"), Ok(()));
//! assert_eq!(check("91310110666007217A"), Err(UsccProblem::Checksum { expected: 'T' }));
//! assert_eq!(check("9131011066600721"), Err(UsccProblem::Length(16)));
//! ```

/// The 31 characters of the code, in value order.
pub const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a credit code is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsccProblem {
    /// Not 18 characters; holds the length found.
    Length(usize),
    /// A character outside the charset (I, O, S, V, Z, lower case, punctuation…).
    Charset(char),
    /// The 18th character is not the check character; holds the expected one.
    Checksum {
        /// The check character the first 17 characters call for.
        expected: char,
    },
}

/// The value of each ASCII character (`u8::MAX`: not in the charset), built from [`CHARSET`].
const VALUES: [u8; 128] = {
    let chars = CHARSET.as_bytes();
    let mut values = [u8::MAX; 128];
    let mut i = 0;
    while i < chars.len() {
        values[chars[i] as usize] = i as u8;
        i += 1;
    }
    values
};

/// A character's value: a table look-up (`str::find` per character was 3 % of a validation).
fn value(c: char) -> Option<u32> {
    let v = *VALUES.get(c as usize)?;
    (v != u8::MAX).then_some(u32::from(v))
}

/// The check character for the first 17 characters, if they are all in the charset.
pub fn check_char(first17: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut n = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += value(c)? * w;
        n += 1;
    }
    if n != 17 {
        return None;
    }
    CHARSET.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// Check a credit code.
pub fn check(code: &str) -> Result<(), UsccProblem> {
    let len = code.chars().count();
    if len != 18 {
        return Err(UsccProblem::Length(len));
    }
    if let Some(bad) = code.chars().find(|&c| value(c).is_none()) {
        return Err(UsccProblem::Charset(bad));
    }
    let expected = check_char(&code[..17]).ok_or(UsccProblem::Length(len))?;
    if code.ends_with(expected) {
        Ok(())
    } else {
        Err(UsccProblem::Checksum { expected })
    }
}

/// The 6-digit registering-authority division segment (positions 3–8), when it is digits.
pub fn region_segment(code: &str) -> Option<&str> {
    let seg = code.get(2..8)?;
    seg.bytes().all(|b| b.is_ascii_digit()).then_some(seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_table_is_the_charset() {
        for c in (0..=0x2FFFu32).filter_map(char::from_u32) {
            assert_eq!(value(c), CHARSET.find(c).map(|i| i as u32), "{c:?}");
        }
    }

    /// Every example in `sample_data/reference/uscc_examples.csv` (copied from shared/reference).
    #[test]
    fn reference_examples() {
        let csv = include_str!("../../../sample_data/reference/uscc_examples.csv");
        let mut seen = 0;
        for line in csv.lines().skip(1) {
            let mut parts = line.split(',');
            let code = parts.next().unwrap_or_default();
            let expected_valid = parts.next() == Some("true");
            assert_eq!(
                check(code).is_ok(),
                expected_valid,
                "{code}: {:?}",
                check(code)
            );
            seen += 1;
        }
        assert_eq!(seen, 13);
    }

    #[test]
    fn charset_problem_names_the_character() {
        assert_eq!(check("91310110666007217I"), Err(UsccProblem::Charset('I')));
        assert_eq!(region_segment("91620402MA7BY00133"), Some("620402"));
    }
}
