//! Suggestions: the register entry or code-list value a technician most likely meant.
//!
//! A village is looked up by its names within a county — exact first, then normalised
//! (without 村民委员会/居民委员会 suffixes, full/half width, spaces; then without 社区/村 too),
//! then fuzzy (one name
//! containing the other, or a normalised Levenshtein similarity of at least 0.75) — and the
//! answer says how sure it is: one entry, and at which step, or several candidates. It never
//! picks among candidates.
//!
//! ```
//! use riskcensus_core::{Confidence, Register};
//! use riskcensus_validate::suggest::{village_by_names, Lookup};
//! let register = Register::from_csv_str("code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
//!     620421,靖远县,county,6204,,620421000000,620400000000,2023\n\
//!     620421103,乌兰镇,township,620421,,620421103000,620421000000,2023\n\
//!     620421103001,西关社区居民委员会,village,620421103,,620421103001,620421103000,2023\n\
//!     620421103002,红柳村民委员会,village,620421103,,620421103002,620421103000,2023\n").unwrap();
//! let Lookup::Unique(village, sure) = village_by_names(&register, "620421", Some("乌兰镇"), "西关社区") else { panic!() };
//! assert_eq!((village.code.as_str(), sure), ("620421103001", Confidence::Normalized));
//! assert!(matches!(village_by_names(&register, "620421", Some("乌兰镇"), "东湾村"), Lookup::NotFound));
//! ```

use riskcensus_core::{Confidence, Division, DivisionCode, Level, Register};

use crate::names_agree;

/// What a look-up by name found.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'r> {
    /// One entry, found at the step the confidence names.
    Unique(&'r Division, Confidence),
    /// Several entries match equally well (at most [`MAX_CANDIDATES`] listed).
    Candidates(Vec<&'r Division>),
    /// Nothing matches.
    NotFound,
}

/// How many candidates a finding lists.
pub const MAX_CANDIDATES: usize = 5;

/// A place name without its committee suffix (村民委员会, 居民委员会, 村委会 …), spaces and
/// full-width forms: `红柳村村民委员会` → `红柳村`, `Ａ村 ` → `A村`.
///
/// ```
/// use riskcensus_validate::suggest::normalize_place;
/// assert_eq!(normalize_place("红柳村村民委员会"), "红柳村");
/// assert_eq!(normalize_place(" 西关社区居民委员会"), "西关社区");
/// assert_eq!(normalize_place("委员会"), "委员会", "a name that is only a suffix stays");
/// ```
pub fn normalize_place(name: &str) -> String {
    const COMMITTEE: [&str; 6] = [
        "村民委员会",
        "居民委员会",
        "村委会",
        "居委会",
        "委员会",
        "办事处",
    ];
    let folded: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            // Full-width ASCII forms (brackets and digits among them) → ASCII.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    strip_suffixes(&folded, &COMMITTEE).to_string()
}

/// [`normalize_place`] and then the kind of place too (社区, 村, 街道, 镇, 乡): `红柳村` and
/// `红柳` and `红柳村村民委员会` all become `红柳`.
///
/// ```
/// use riskcensus_validate::suggest::place_stem;
/// assert_eq!(place_stem("红柳村村民委员会"), "红柳");
/// assert_eq!(place_stem("西关社区"), "西关");
/// assert_eq!(place_stem("村"), "村");
/// ```
pub fn place_stem(name: &str) -> String {
    const KIND: [&str; 5] = ["社区", "街道", "村", "镇", "乡"];
    strip_suffixes(&normalize_place(name), &KIND).to_string()
}

/// `name` without any of `suffixes` at its end, repeatedly, never down to nothing.
fn strip_suffixes<'n>(name: &'n str, suffixes: &[&str]) -> &'n str {
    let mut stem = name;
    while let Some(shorter) = suffixes
        .iter()
        .find_map(|s| stem.strip_suffix(s))
        .filter(|s| !s.is_empty())
    {
        stem = shorter;
    }
    stem
}

/// How closely a given name matches a registered one: 0 exact, 1 equal without committee
/// suffixes, 2 equal without the kind of place too, 3 fuzzy.
fn closeness(given: &str, registered: &str) -> Option<u8> {
    if given.trim() == registered {
        return Some(0);
    }
    if normalize_place(given) == normalize_place(registered) {
        return Some(1);
    }
    let (g, r) = (place_stem(given), place_stem(registered));
    if g.is_empty() || r.is_empty() {
        return None;
    }
    if g == r {
        return Some(2);
    }
    let similar = (g.chars().count() >= 2 && r.contains(&g))
        || (r.chars().count() >= 2 && g.contains(&r))
        || strsim::normalized_levenshtein(&g, &r) >= 0.75;
    similar.then_some(3)
}

fn confidence(step: u8) -> Confidence {
    match step {
        0 => Confidence::Exact,
        1 | 2 => Confidence::Normalized,
        _ => Confidence::Fuzzy,
    }
}

/// The entries of `among` closest to `given`: those at the best step that any reaches.
fn closest<'r>(
    among: impl Iterator<Item = &'r Division>,
    given: &str,
) -> (Option<u8>, Vec<&'r Division>) {
    let mut best: Option<u8> = None;
    let mut found = Vec::new();
    for d in among {
        let Some(step) = closeness(given, &d.name) else {
            continue;
        };
        match best {
            Some(b) if step > b => {}
            Some(b) if step == b => found.push(d),
            _ => {
                best = Some(step);
                found = vec![d];
            }
        }
    }
    (best, found)
}

/// The village of county `county6` (six digits) named `village`, in the township named
/// `township` when given (a township name that matches none is ignored).
pub fn village_by_names<'r>(
    register: &'r Register,
    county6: &str,
    township: Option<&str>,
    village: &str,
) -> Lookup<'r> {
    let county = format!("{county6:0<12}");
    let townships: Vec<&Division> = register
        .children(&county)
        .filter(|d| d.level == Level::Township)
        .collect();
    let (township_step, named) = match township {
        Some(t) => closest(townships.iter().copied(), t),
        None => (None, Vec::new()),
    };
    // No township matched: every village of the county, and the township adds no doubt.
    let (township_step, searched) = if named.is_empty() {
        (0, townships)
    } else {
        (township_step.unwrap_or(0), named)
    };
    let villages = searched
        .iter()
        .flat_map(|t| register.children(t.code.as_str()))
        .filter(|d| d.level == Level::Village);
    let (step, found) = closest(villages, village);
    match (step, found.as_slice()) {
        (Some(step), [one]) => Lookup::Unique(one, confidence(step.max(township_step))),
        (_, []) => Lookup::NotFound,
        (_, many) => Lookup::Candidates(many.iter().take(MAX_CANDIDATES).copied().collect()),
    }
}

/// The township of county `county6` named `township`.
pub fn township_by_name<'r>(register: &'r Register, county6: &str, township: &str) -> Lookup<'r> {
    let county = format!("{county6:0<12}");
    let (step, found) = closest(
        register
            .children(&county)
            .filter(|d| d.level == Level::Township),
        township,
    );
    match (step, found.as_slice()) {
        (Some(step), [one]) => Lookup::Unique(one, confidence(step)),
        (_, []) => Lookup::NotFound,
        (_, many) => Lookup::Candidates(many.iter().take(MAX_CANDIDATES).copied().collect()),
    }
}

/// The code-list entries nearest to a value outside the list: those that begin with it or
/// contain it (`一级` → 一级甲等, 一级乙等, 一级丙等), else those with a normalised Levenshtein
/// similarity of at least 0.5, best first; at most [`MAX_CANDIDATES`].
///
/// ```
/// use riskcensus_validate::suggest::nearest_codes;
/// let codes = ["三级甲等", "一级甲等", "一级乙等", "一级丙等", "未定级"].map(String::from);
/// assert_eq!(nearest_codes("一级", &codes), ["一级甲等", "一级乙等", "一级丙等"]);
/// assert_eq!(nearest_codes("三级甲", &codes), ["三级甲等"]);
/// assert!(nearest_codes("医院", &codes).is_empty());
/// ```
pub fn nearest_codes<'c>(value: &str, codes: &'c [String]) -> Vec<&'c str> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    let containing: Vec<&str> = codes
        .iter()
        .filter(|c| c.contains(value))
        .map(String::as_str)
        .take(MAX_CANDIDATES)
        .collect();
    if !containing.is_empty() {
        return containing;
    }
    let mut scored: Vec<(f64, &str)> = codes
        .iter()
        .map(|c| (strsim::normalized_levenshtein(value, c), c.as_str()))
        .filter(|(score, _)| *score >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(MAX_CANDIDATES)
        .map(|(_, c)| c)
        .collect()
}

/// What a finding adds for a look-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Described {
    /// The Chinese tail of the message.
    pub zh: String,
    /// The English tail of the message.
    pub en: String,
    /// The suggested code and how sure it is, when one entry fits.
    pub suggestion: Option<(String, Confidence)>,
}

/// What a finding adds for a look-up; `None` when nothing was found, or when the one entry found
/// is `current` (no news).
pub fn describe(lookup: &Lookup<'_>, current: &str) -> Option<Described> {
    match lookup {
        Lookup::Unique(d, _) if d.code.as_str() == current => None,
        Lookup::Unique(d, sure) => Some(Described {
            zh: format!(
                "；按名称建议代码 {}（{}，{}）",
                d.code,
                d.name,
                sure.as_zh()
            ),
            en: format!(
                "; by name, suggested code {} ({}, {})",
                d.code,
                d.name,
                sure.as_en()
            ),
            suggestion: Some((d.code.to_string(), *sure)),
        }),
        Lookup::Candidates(many) => {
            let list = many
                .iter()
                .map(|d| format!("{}（{}）", d.code, d.name))
                .collect::<Vec<_>>();
            Some(Described {
                zh: format!("；按名称有多个可能的代码：{}", list.join("、")),
                en: format!("; by name, several codes are possible: {}", list.join(", ")),
                suggestion: None,
            })
        }
        Lookup::NotFound => None,
    }
}

/// For a code that is not in the register: when its township part is unknown too but the row's
/// township name is a registered township of the same county, the NBS township (and, by the
/// village name or the same village digits, the village) to suggest, and how sure the village is. Typically the civil-affairs
/// (民政) numbering was used instead of the NBS statistical one.
pub fn suggest_nbs_code<'r>(
    register: &'r Register,
    code: &str,
    township_name: Option<&str>,
    village_name: Option<&str>,
) -> Option<(
    &'r riskcensus_core::Division,
    Option<&'r riskcensus_core::Division>,
    Confidence,
)> {
    // Twelve ASCII digits, so that the prefixes below fall on character boundaries.
    if DivisionCode::number(code).is_none() || register.get(&format!("{}000", &code[..9])).is_some()
    {
        return None;
    }
    // Looked up among the county's townships and the township's villages only (a walk over
    // the whole register per row was quadratic in a national return of such codes).
    let township = register
        .children(&format!("{}000000", &code[..6]))
        .find(|t| {
            t.level == Level::Township && names_agree(township_name.unwrap_or_default(), &t.name)
        })?;
    // By the village name (a normalised match), else by the same village digits (a guess).
    let by_name = village_name.and_then(|vn| {
        register
            .children(township.code.as_str())
            .find(|v| v.level == Level::Village && names_agree(vn, &v.name))
    });
    let (village, sure) = match by_name {
        Some(v) => (Some(v), Confidence::Normalized),
        None => (
            register.get(&format!("{}{}", township.code.township(), &code[9..])),
            Confidence::Fuzzy,
        ),
    };
    Some((township, village, sure))
}

/// The division a row's names point to within the county of `code`: the village by township
/// and village names (the township by its name for township-level classes); `None` when the
/// row gives no name to look up.
pub(crate) fn lookup_by_names<'r>(
    register: &'r Register,
    wanted: Level,
    code: &str,
    township: Option<&str>,
    village: Option<&str>,
) -> Option<Lookup<'r>> {
    let county = code.get(..6)?;
    match (wanted, village) {
        (Level::Township, _) => Some(township_by_name(register, county, township?)),
        (_, Some(village)) => Some(village_by_names(register, county, township, village)),
        (_, None) => None,
    }
}
