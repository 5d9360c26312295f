//! Statistical division codes (统计用区划代码) and the division register.
//!
//! A code is `PP CC DD TTT VVV`: province, prefecture, county, township, village. Higher levels
//! are zero-padded to 12 digits (county 620421 → `620421000000`).

use std::fmt;

use crate::error::{Error, Result};

/// The administrative level of a division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 省 province
    Province,
    /// 市 prefecture-level city
    City,
    /// 县 county / district
    County,
    /// 乡 township / sub-district
    Township,
    /// 村 village / community
    Village,
}

impl Level {
    /// The level's name as the register CSV spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "province" => Level::Province,
            "city" => Level::City,
            "county" => Level::County,
            "township" => Level::Township,
            "village" => Level::Village,
            _ => return None,
        })
    }
}

/// A 12-digit statistical division code.
///
/// ```
/// use riskcensus_core::DivisionCode;
/// let code = DivisionCode::parse("620421103201").unwrap();
/// assert_eq!(code.county(), "620421");
/// assert_eq!(code.township(), "620421103");
/// assert!(DivisionCode::parse("62042110320").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DivisionCode(String);

impl DivisionCode {
    /// Parse exactly 12 ASCII digits (surrounding whitespace is ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        (t.len() == 12 && t.bytes().all(|b| b.is_ascii_digit())).then(|| Self(t.to_string()))
    }

    /// Pad a 2-, 4-, 6- or 9-digit code to 12 digits.
    pub fn from_prefix(prefix: &str) -> Option<Self> {
        let t = prefix.trim();
        if !matches!(t.len(), 2 | 4 | 6 | 9 | 12) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self(format!("{t:0<12}")))
    }

    /// The number exactly 12 ASCII digits spell (no trimming), else `None`: the key the register
    /// and the village index hash, so that a look-up neither follows a pointer to the key's text
    /// nor compares it (both showed in the profiles of national validations).
    ///
    /// ```
    /// use riskcensus_core::DivisionCode;
    /// assert_eq!(DivisionCode::number("620421103201"), Some(620_421_103_201));
    /// assert_eq!(DivisionCode::number("000000000001"), Some(1));
    /// assert_eq!(DivisionCode::number(" 62042110320"), None);
    /// assert_eq!(DivisionCode::number("6204211032011"), None);
    /// ```
    pub fn number(text: &str) -> Option<u64> {
        if text.len() != 12 {
            return None;
        }
        text.bytes().try_fold(0u64, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
        })
    }

    /// The full 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 6-digit county part.
    pub fn county(&self) -> &str {
        &self.0[..6]
    }

    /// The 9-digit township part.
    pub fn township(&self) -> &str {
        &self.0[..9]
    }

    /// The level implied by the zero padding.
    pub fn implied_level(&self) -> Level {
        let c = &self.0;
        if &c[9..] != "000" {
            Level::Village
        } else if &c[6..9] != "000" {
            Level::Township
        } else if &c[4..6] != "00" {
            Level::County
        } else if &c[2..4] != "00" {
            Level::City
        } else {
            Level::Province
        }
    }
}

impl fmt::Display for DivisionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One division of the register.
#[derive(Debug, Clone, PartialEq)]
pub struct Division {
    /// The 12-digit code.
    pub code: DivisionCode,
    /// The Chinese name, e.g. `乌兰镇`.
    pub name: String,
    /// Its level.
    pub level: Level,
    /// The 12-digit code of its parent, if any.
    pub parent: Option<DivisionCode>,
}

/// The NBS division register of one edition, indexed by 12-digit code.
#[derive(Debug, Clone, Default)]
pub struct Register {
    divisions: Vec<Division>,
    /// By [`DivisionCode::number`] (foldhash: the register is looked up once or more per row).
    by_code: foldhash::HashMap<u64, usize>,
    /// Index of each division's parent (resolved once, so a row's chain needs one look-up).
    parents: Vec<Option<usize>>,
    /// Indexes of each division's children, in register order.
    children: Vec<Vec<usize>>,
}

impl Register {
    /// Read the register CSV (`code,name,level,parent_code,urban_rural_code,code12,parent_code12,…`).
    ///
    /// ```
    /// use riskcensus_core::{Register, Level};
    /// let csv = "code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
    ///            620421,靖远县,county,620400,,620421000000,620400000000,2023\n";
    /// let reg = Register::from_csv_str(csv).unwrap();
    /// assert_eq!(reg.get("620421000000").unwrap().level, Level::County);
    /// ```
    pub fn from_csv_str(text: &str) -> Result<Self> {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| Error::register(0, e.to_string()))?
            .clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim_start_matches('\u{feff}') == name)
                .ok_or_else(|| Error::register(1, format!("missing column `{name}`")))
        };
        let (c_code, c_name, c_level, c_parent) = (
            col("code12")?,
            col("name")?,
            col("level")?,
            col("parent_code12")?,
        );
        let mut register = Register::default();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| Error::register(line, e.to_string()))?;
            let field = |c: usize| record.get(c).unwrap_or("").trim();
            let code = DivisionCode::parse(field(c_code))
                .ok_or_else(|| Error::register(line, format!("bad code12 `{}`", field(c_code))))?;
            let level = Level::parse(field(c_level))
                .ok_or_else(|| Error::register(line, format!("bad level `{}`", field(c_level))))?;
            let parent = DivisionCode::parse(field(c_parent));
            let key = DivisionCode::number(code.as_str())
                .ok_or_else(|| Error::register(line, format!("bad code12 `{}`", code.as_str())))?;
            if register.by_code.contains_key(&key) {
                return Err(Error::register(line, format!("duplicate code {code}")));
            }
            register.by_code.insert(key, register.divisions.len());
            register.divisions.push(Division {
                code,
                name: field(c_name).to_string(),
                level,
                parent,
            });
        }
        register.parents = register
            .divisions
            .iter()
            .map(|d| {
                d.parent
                    .as_ref()
                    .and_then(|p| register.index_of(p.as_str()))
            })
            .collect();
        register.children = vec![Vec::new(); register.divisions.len()];
        for (child, parent) in register.parents.iter().enumerate() {
            if let Some(parent) = parent {
                register.children[*parent].push(child);
            }
        }
        Ok(register)
    }

    /// The position of a 12-digit code's division.
    fn index_of(&self, code12: &str) -> Option<usize> {
        self.by_code.get(&DivisionCode::number(code12)?).copied()
    }

    /// Look a 12-digit code up.
    pub fn get(&self, code12: &str) -> Option<&Division> {
        self.index_of(code12).map(|i| &self.divisions[i])
    }

    /// All divisions in register order.
    pub fn divisions(&self) -> &[Division] {
        &self.divisions
    }

    /// The divisions whose parent is `code12`, in register order (a county's townships, a
    /// township's villages): a look-up by name among them costs their number, not the
    /// register's.
    ///
    /// ```
    /// use riskcensus_core::Register;
    /// let csv = "code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
    ///            620421,靖远县,county,6204,,620421000000,620400000000,2023\n\
    ///            620421100,乌兰镇,township,620421,,620421100000,620421000000,2023\n";
    /// let register = Register::from_csv_str(csv).unwrap();
    /// let names: Vec<&str> = register.children("620421000000").map(|d| d.name.as_str()).collect();
    /// assert_eq!(names, ["乌兰镇"]);
    /// assert_eq!(register.children("620421100000").count(), 0);
    /// ```
    pub fn children(&self, code12: &str) -> impl Iterator<Item = &Division> {
        self.index_of(code12)
            .and_then(|i| self.children.get(i))
            .into_iter()
            .flatten()
            .map(|&i| &self.divisions[i])
    }

    /// Divisions of one level.
    pub fn of_level(&self, level: Level) -> impl Iterator<Item = &Division> {
        self.divisions.iter().filter(move |d| d.level == level)
    }

    /// The chain of names from the top of the register down to `code`, e.g.
    /// `[白银市, 靖远县, 乌兰镇, 西关社区]`.
    pub fn names_down_to(&self, code12: &str) -> Vec<&Division> {
        let mut chain: Vec<&Division> = self.names_up_from(code12).collect();
        chain.reverse();
        chain
    }

    /// [`Register::names_down_to`] from the bottom up, without collecting it (validation walks
    /// it once per row).
    ///
    /// ```
    /// use riskcensus_core::Register;
    /// let csv = "code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
    ///            6204,白银市,city,62,,620400000000,620000000000,2023\n\
    ///            620421,靖远县,county,6204,,620421000000,620400000000,2023\n";
    /// let register = Register::from_csv_str(csv).unwrap();
    /// let names: Vec<&str> = register.names_up_from("620421000000").map(|d| d.name.as_str()).collect();
    /// assert_eq!(names, ["靖远县", "白银市"]);
    /// ```
    pub fn names_up_from(&self, code12: &str) -> impl Iterator<Item = &Division> {
        std::iter::successors(self.index_of(code12), |&i| {
            self.parents.get(i).copied().flatten()
        })
        // A register whose parents form a loop must not hang: stop after 8 levels.
        .take(8)
        .map(|i| &self.divisions[i])
    }

    /// Number of divisions.
    pub fn len(&self) -> usize {
        self.divisions.len()
    }

    /// Whether the register is empty.
    pub fn is_empty(&self) -> bool {
        self.divisions.is_empty()
    }
}

/// Province-level divisions by their two-digit code (GB/T 2260).
pub const PROVINCES: [(&str, &str); 34] = [
    ("11", "北京市"),
    ("12", "天津市"),
    ("13", "河北省"),
    ("14", "山西省"),
    ("15", "内蒙古自治区"),
    ("21", "辽宁省"),
    ("22", "吉林省"),
    ("23", "黑龙江省"),
    ("31", "上海市"),
    ("32", "江苏省"),
    ("33", "浙江省"),
    ("34", "安徽省"),
    ("35", "福建省"),
    ("36", "江西省"),
    ("37", "山东省"),
    ("41", "河南省"),
    ("42", "湖北省"),
    ("43", "湖南省"),
    ("44", "广东省"),
    ("45", "广西壮族自治区"),
    ("46", "海南省"),
    ("50", "重庆市"),
    ("51", "四川省"),
    ("52", "贵州省"),
    ("53", "云南省"),
    ("54", "西藏自治区"),
    ("61", "陕西省"),
    ("62", "甘肃省"),
    ("63", "青海省"),
    ("64", "宁夏回族自治区"),
    ("65", "新疆维吾尔自治区"),
    ("71", "台湾省"),
    ("81", "香港特别行政区"),
    ("82", "澳门特别行政区"),
];

/// The name of the province a code lies in, from its first two digits (GB/T 2260): for
/// registers that start below the province (a city's register has no province row).
///
/// ```
/// assert_eq!(riskcensus_core::division::province_name("620421103201"), Some("甘肃省"));
/// assert_eq!(riskcensus_core::division::province_name("990000000000"), None);
/// assert_eq!(riskcensus_core::division::province_name("无"), None);
/// ```
pub fn province_name(code: &str) -> Option<&'static str> {
    let prefix = code.get(..2)?;
    PROVINCES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, name)| *name)
}

impl Register {
    /// The name at `level` of the chain above a 12-digit code (the code's own when it is of that
    /// level): `None` when the register does not reach it (a province falls back to
    /// [`province_name`]).
    ///
    /// ```
    /// use riskcensus_core::{Level, Register};
    /// let csv = "code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
    ///            6204,白银市,city,62,,620400000000,620000000000,2023\n\
    ///            620421,靖远县,county,6204,,620421000000,620400000000,2023\n";
    /// let register = Register::from_csv_str(csv).unwrap();
    /// assert_eq!(register.name_at("620421000000", Level::City), Some("白银市"));
    /// assert_eq!(register.name_at("620421000000", Level::Province), Some("甘肃省"));
    /// assert_eq!(register.name_at("620421000000", Level::Township), None);
    /// assert_eq!(register.name_at("620499000000", Level::Province), None, "not registered");
    /// ```
    pub fn name_at(&self, code12: &str, level: Level) -> Option<&str> {
        // The topmost of the level, as `names_down_to` lists them.
        let registered = self
            .names_up_from(code12)
            .filter(|d| d.level == level)
            .last()
            .map(|d| d.name.as_str());
        match (registered, level) {
            (Some(name), _) => Some(name),
            (None, Level::Province) => self.get(code12).and_then(|_| province_name(code12)),
            (None, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implied_levels() {
        let lv = |s: &str| DivisionCode::parse(s).map(|c| c.implied_level());
        assert_eq!(lv("620000000000"), Some(Level::Province));
        assert_eq!(lv("620400000000"), Some(Level::City));
        assert_eq!(lv("620421000000"), Some(Level::County));
        assert_eq!(lv("620421103000"), Some(Level::Township));
        assert_eq!(lv("620423103400"), Some(Level::Village));
    }

    #[test]
    fn rejects_non_digits_and_wrong_lengths() {
        assert!(DivisionCode::parse("62042110320X").is_none());
        assert!(DivisionCode::parse("6204211032011").is_none());
        assert!(DivisionCode::parse("").is_none());
        assert_eq!(
            DivisionCode::from_prefix("620421103").map(|c| c.to_string()),
            Some("620421103000".to_string())
        );
    }

    #[test]
    fn register_reports_bad_lines() {
        let csv = "code,name,level,parent_code,urban_rural_code,code12,parent_code12,source_year\n\
                   620421,靖远县,county,620400,,62042100000,620400000000,2023\n";
        let err = Register::from_csv_str(csv).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
