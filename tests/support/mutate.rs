//! Random damage to a file's bytes for property tests (included by `#[path]` from the crates'
//! tests): bytes replaced, inserted (quotes, line breaks, NUL, 0xFF, half a GBK character,
//! random runs) or cut, and the file truncated — each at a fraction of its length.

use proptest::prelude::*;

/// One way to break a file, at a fraction of its length.
#[derive(Debug, Clone)]
pub enum Edit {
    Replace(f64, u8),
    Insert(f64, Vec<u8>),
    Cut(f64, usize),
    Truncate(f64),
}

pub fn edit() -> impl Strategy<Value = Edit> {
    let at = 0.0..1.0f64;
    let bytes = prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b",".to_vec()),
        Just(vec![0u8]),
        Just(vec![0xFF]),
        Just(vec![0xB0]),
        Just("无,\"".as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..16),
    ];
    prop_oneof![
        (at.clone(), any::<u8>()).prop_map(|(a, b)| Edit::Replace(a, b)),
        (at.clone(), bytes).prop_map(|(a, b)| Edit::Insert(a, b)),
        (at.clone(), 1..200usize).prop_map(|(a, n)| Edit::Cut(a, n)),
        at.prop_map(Edit::Truncate),
    ]
}

pub fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let at = |f: f64| ((bytes.len() as f64 * f) as usize).min(bytes.len());
        match e {
            Edit::Replace(f, b) => {
                let i = at(*f);
                if let Some(x) = bytes.get_mut(i) {
                    *x = *b;
                }
            }
            Edit::Insert(f, b) => {
                let i = at(*f);
                bytes.splice(i..i, b.iter().copied());
            }
            Edit::Cut(f, n) => {
                let i = at(*f);
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate(f) => bytes.truncate(at(*f)),
        }
    }
    bytes
}
