//! Class schemas as data: the 2 → 7 → 31 taxonomy and each class's fields.
//!
//! One format drives validation, the output columns and the docs. Files:
//! `taxonomy.toml` (the class tree), `common.toml` (the header every class shares),
//! `blocks/<name>.toml` (field blocks several classes share) and `classes/<CODE>.toml` (each
//! class's own fields and cross-field checks). A sourced field (`source = "S"` or `"S3"`)
//! names its `evidence`.
//!
//! ```
//! use riskcensus_core::schema::{ClassSchema, FieldType};
//! let schema: ClassSchema = toml::from_str(r#"
//!     code = "HB-PSF-01"
//!     version = "1"
//!     [[field]]
//!     id = "students"
//!     zh = "在校学生数"
//!     en = "Enrolled students"
//!     type = "integer"
//!     unit = "人"
//!     min = 0
//! "#).unwrap();
//! assert_eq!(schema.fields[0].field_type, FieldType::Integer);
//! assert!(schema.fields[0].matches_header("在校学生数（人）"));
//! ```

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a definition comes from (taxonomy.md's tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Source {
    /// Sourced from primary material.
    S,
    /// Sourced from third-party code reading official exports.
    S3,
    /// Reconstructed: confirm before relying on it.
    #[default]
    R,
}

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    /// Free text.
    Text,
    /// Whole number.
    Integer,
    /// Decimal number.
    Decimal,
    /// One value of `codes`.
    Enum,
    /// Several values of `codes`, separated by `;`, `；`, `、`, `,` or `，`.
    MultiEnum,
    /// A date: `2020-12-31`, `2020/12/31`, `2020.12.31`, `2020年12月31日`, `20201231`.
    Date,
    /// 是 / 否.
    Boolean,
    /// 12-digit statistical division code.
    DivisionCode,
    /// Unified social credit code (GB 32100).
    CreditCode,
    /// Longitude, decimal degrees (or easting in a projected CRS).
    Longitude,
    /// Latitude, decimal degrees (or northing in a projected CRS).
    Latitude,
}

impl FieldType {
    /// Whether the field is a coordinate.
    pub fn is_coordinate(self) -> bool {
        matches!(self, FieldType::Longitude | FieldType::Latitude)
    }

    /// Whether values are parsed as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Integer | FieldType::Decimal | FieldType::Longitude | FieldType::Latitude
        )
    }
}

/// One field of a class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// English id: the output column name (snake case).
    pub id: String,
    /// The census field code (e.g. `dwmc`), when the form has one.
    #[serde(default)]
    pub code: Option<String>,
    /// Chinese label as printed on the form, without the unit.
    pub zh: String,
    /// English label.
    pub en: String,
    /// Value type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Unit as printed on the form (人, 张, 万元, m² …).
    #[serde(default)]
    pub unit: Option<String>,
    /// Whether every row must have a value.
    #[serde(default)]
    pub required: bool,
    /// Smallest allowed number.
    #[serde(default)]
    pub min: Option<f64>,
    /// Largest allowed number.
    #[serde(default)]
    pub max: Option<f64>,
    /// Longest allowed text, in characters.
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Code list for `enum` fields.
    #[serde(default)]
    pub codes: Vec<String>,
    /// Other labels seen on forms for this column.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Flag values about 10⁴ above the file's median (万元 entered as 元).
    #[serde(default)]
    pub check_unit_slip: bool,
    /// For dates: must not be after the pipeline's reference date (2020-12-31).
    #[serde(default)]
    pub not_after_reference: bool,
    /// Part of the object's own place (address, coordinates): required only where the class
    /// locates its rows by point ([`LocationKind::Point`]); elsewhere optional and checked only
    /// when given.
    #[serde(default)]
    pub place: bool,
    /// How a missing or empty value follows from other data of the row (see [`Derive`]).
    #[serde(default)]
    pub derive: Option<Derive>,
    /// Sourced or reconstructed: the field itself (its label, census code and type).
    #[serde(default)]
    pub source: Source,
    /// Where a sourced field comes from: source id and place, e.g.
    /// `S6 zhjzzy_zfzhjzzy_yjbncs.bnsrnrs` (taxonomy.md §8 numbers the sources). Required when
    /// `source` is `S` or `S3`.
    #[serde(default)]
    pub evidence: Option<String>,
    /// Whether the code list is sourced, when it differs from the field's own `source` (a
    /// sourced column whose options no source lists is `codes_source = "R"`).
    #[serde(default)]
    pub codes_source: Option<Source>,
}

/// A value that follows from other data of the same row: derived, and recorded, rather than
/// rejected when the column is missing or the cell empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Derive {
    /// The province's name, from the division code via the register.
    Province,
    /// The prefecture's name, likewise.
    City,
    /// The county's name, likewise.
    County,
    /// The township's name, likewise.
    Township,
    /// The village's (community's) name, likewise.
    Village,
    /// 代码类型 from the credit code's shape: a valid 18-character USCC is
    /// 统一社会信用代码.
    CodeType,
}

impl Derive {
    /// The register level whose name this derivation takes, for the name derivations.
    pub fn level(self) -> Option<crate::division::Level> {
        use crate::division::Level;
        match self {
            Derive::Province => Some(Level::Province),
            Derive::City => Some(Level::City),
            Derive::County => Some(Level::County),
            Derive::Township => Some(Level::Township),
            Derive::Village => Some(Level::Village),
            Derive::CodeType => None,
        }
    }

    /// The value as the schema writes it (`province`, `code_type` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Derive::Province => "province",
            Derive::City => "city",
            Derive::County => "county",
            Derive::Township => "township",
            Derive::Village => "village",
            Derive::CodeType => "code_type",
        }
    }
}

/// The 代码类型 value of a unified social credit code.
pub const CODE_TYPE_USCC: &str = "统一社会信用代码";

/// Where a class's rows are: at their own point, or in their division's polygon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LocationKind {
    /// A facility at its own point: coordinates (and address) required.
    #[default]
    Point,
    /// The village (community) itself (DR-GRS-02): its place is the village polygon.
    Village,
    /// The township itself (DR-GRS-01): its place is the township; the code is a township code.
    Township,
    /// A sampled household (DR-HH-01): placed by its village.
    Household,
}

impl LocationKind {
    /// `point`, `village`, `township` or `household`.
    pub fn as_str(self) -> &'static str {
        match self {
            LocationKind::Point => "point",
            LocationKind::Village => "village",
            LocationKind::Township => "township",
            LocationKind::Household => "household",
        }
    }

    /// The level of the division code rows of this kind carry.
    pub fn division_level(self) -> DivisionLevel {
        match self {
            LocationKind::Township => DivisionLevel::Township,
            _ => DivisionLevel::Village,
        }
    }
}

/// Turn a header as technicians type it into a comparable key: no spaces, half-width
/// brackets, no trailing unit in brackets, lower case.
///
/// ```
/// use riskcensus_core::schema::normalize_header;
/// assert_eq!(normalize_header(" 在校学生数 (人) "), "在校学生数");
/// assert_eq!(normalize_header("在校学生数（人）"), "在校学生数");
/// assert_eq!(normalize_header("Students"), "students");
/// assert_eq!(normalize_header("破拆设备数量（台（套））"), "破拆设备数量");
/// ```
pub fn normalize_header(header: &str) -> String {
    let mut s = fold_header(header);
    // A trailing unit in brackets, nested ones included: `数量(台(套))` → `数量`.
    if s.ends_with(')') {
        let mut depth = 0i32;
        let mut cut = None;
        for (idx, c) in s.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' => {
                    depth -= 1;
                    if depth == 0 {
                        cut = Some(idx);
                        break;
                    }
                }
                _ => {}
            }
        }
        if let Some(open) = cut.filter(|&o| o > 0) {
            s.truncate(open);
        }
    }
    s
}

/// A header without BOM, whitespace and `*`, brackets half-width, lower case; a trailing
/// bracket is kept (the whole label, as [`normalize_header`] before it drops a unit).
fn fold_header(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c,
        })
        .collect::<String>()
        .to_lowercase()
}

/// A name for duplicate comparison: no whitespace or brackets, half-width, lower case.
pub fn normalize_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '（' | '）' | '·' | '-'))
        .map(|c| {
            if c.is_ascii() {
                c.to_ascii_lowercase()
            } else if ('\u{3000}'..='\u{9FFF}').contains(&c) {
                // CJK punctuation, kana and ideographs have no case: skip the table look-up.
                c
            } else {
                c.to_lowercase().next().unwrap_or(c)
            }
        })
        .collect()
}

impl Field {
    /// A field with an id, a Chinese label (also used as English label) and a type; optional,
    /// no unit, code, range or code list, reconstructed. Set the rest with struct update syntax.
    ///
    /// ```
    /// use riskcensus_core::{Field, FieldType};
    /// let f = Field { required: true, ..Field::new("students", "在校学生数", FieldType::Integer) };
    /// assert!(f.required && f.matches_header("在校学生数（人）"));
    /// ```
    pub fn new(id: &str, zh: &str, field_type: FieldType) -> Self {
        Field {
            id: id.into(),
            code: None,
            zh: zh.into(),
            en: zh.into(),
            field_type,
            unit: None,
            required: false,
            min: None,
            max: None,
            max_len: None,
            codes: vec![],
            aliases: vec![],
            check_unit_slip: false,
            not_after_reference: false,
            place: false,
            derive: None,
            source: Source::R,
            evidence: None,
            codes_source: None,
        }
    }

    /// Whether a file's header names this field (by label, census code or English id).
    pub fn matches_header(&self, header: &str) -> bool {
        self.header_keys().contains(&normalize_header(header))
    }

    /// What a header becomes under [`normalize_header`] when it names this field: the label,
    /// the English id, the census code, the aliases. A reader matching a whole header row
    /// computes these once per field instead of once per (header, field) pair.
    ///
    /// ```
    /// use riskcensus_core::schema::normalize_header;
    /// use riskcensus_core::{Field, FieldType};
    /// let f = Field { code: Some("A0101".into()), ..Field::new("students", "在校学生数", FieldType::Integer) };
    /// assert!(f.header_keys().contains(&normalize_header("在校学生数（人）")));
    /// assert!(f.header_keys().contains(&normalize_header("a0101")));
    /// ```
    pub fn header_keys(&self) -> Vec<String> {
        [normalize_header(&self.zh), self.id.to_lowercase()]
            .into_iter()
            .chain(self.code.as_deref().map(str::to_lowercase))
            .chain(self.aliases.iter().map(|a| normalize_header(a)))
            .collect()
    }

    /// The label with its unit, as a template prints it: `在校学生数（人）`.
    pub fn label_with_unit(&self) -> String {
        match &self.unit {
            Some(u) => format!("{}（{}）", self.zh, u),
            None => self.zh.clone(),
        }
    }
}

/// Which field each header of a file names, for readers that match a whole header row: each
/// field's header forms ([`Field::header_keys`]) are computed once, each header normalised once.
///
/// ```
/// use riskcensus_core::schema::HeaderMatcher;
/// use riskcensus_core::{Field, FieldType};
/// let fields = [Field::new("name", "单位名称", FieldType::Text),
///     Field::new("students", "在校学生数", FieldType::Integer)];
/// let matcher = HeaderMatcher::new(&fields);
/// assert_eq!(matcher.field("在校学生数（人）").map(|f| f.id.as_str()), Some("students"));
/// assert!(matcher.field("备注").is_none());
/// ```
pub struct HeaderMatcher<'f> {
    fields: &'f [Field],
    keys: Vec<Vec<String>>,
    /// Each field's labels whole ([`fold_header`]): a header that is one of them names that
    /// field even where another field's label without its bracket is the same
    /// (`区划代码（若有）` is not `区划代码`).
    whole: Vec<Vec<String>>,
}

impl<'f> HeaderMatcher<'f> {
    /// Prepare the fields' header forms.
    pub fn new(fields: &'f [Field]) -> Self {
        let whole = fields
            .iter()
            .map(|f| {
                std::iter::once(f.zh.as_str())
                    .chain(f.aliases.iter().map(String::as_str))
                    .map(fold_header)
                    .collect()
            })
            .collect();
        HeaderMatcher {
            fields,
            keys: fields.iter().map(Field::header_keys).collect(),
            whole,
        }
    }

    /// The field this header names, if any: one whose label or alias it is, whole; else the
    /// first one it names ([`Field::matches_header`]).
    ///
    /// ```
    /// use riskcensus_core::schema::HeaderMatcher;
    /// use riskcensus_core::{Field, FieldType};
    /// let code = Field { aliases: vec!["区划代码".into()],
    ///     ..Field::new("division_code", "行政区划代码", FieldType::DivisionCode) };
    /// let fields = [code, Field::new("if_any", "区划代码（若有）", FieldType::Text)];
    /// let matcher = HeaderMatcher::new(&fields);
    /// assert_eq!(matcher.field("区划代码(若有)").map(|f| f.id.as_str()), Some("if_any"));
    /// assert_eq!(matcher.field("区划代码").map(|f| f.id.as_str()), Some("division_code"));
    /// ```
    pub fn field(&self, header: &str) -> Option<&'f Field> {
        let whole = fold_header(header);
        if let Some(i) = self.whole.iter().position(|labels| labels.contains(&whole)) {
            return self.fields.get(i);
        }
        let key = normalize_header(header);
        self.fields
            .iter()
            .zip(&self.keys)
            .find(|(_, keys)| keys.contains(&key))
            .map(|(field, _)| field)
    }
}

/// A check across fields of one record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// 其中 ≤ 合计: the sum of `parts` must not exceed `total`.
    PartLeTotal {
        /// The 其中 fields.
        parts: Vec<String>,
        /// The 合计 field.
        total: String,
    },
    /// `field` is required when `when` has a value (or equals `equals`, when given).
    RequiredIf {
        /// The field that becomes required.
        field: String,
        /// The field whose value triggers it.
        when: String,
        /// Trigger only on this value.
        #[serde(default)]
        equals: Option<String>,
    },
    /// A zero `count` requires a zero `amount` (0 places ⇒ 0 capacity), and the reverse.
    ZeroImpliesZero {
        /// The count (e.g. number of shelters).
        count: String,
        /// The amount (e.g. their capacity).
        amount: String,
    },
    /// The sum of `village_field` over the village returns of `village_class` in the record's
    /// township must not exceed `field` by more than `tolerance` (a share): community returns roll
    /// up to their township (cross-table: checked by the pipeline).
    VillagesWithinTownship {
        /// The township total (e.g. residents).
        field: String,
        /// The village class (e.g. DR-GRS-02).
        village_class: String,
        /// Its field (e.g. residents).
        village_field: String,
        /// Allowed excess, as a share (0.05 = 5 %).
        #[serde(default)]
        tolerance: f64,
    },
    /// Records only in the villages the pipeline lists as sampled (`sampled_villages`): the
    /// household survey (cross-table: checked by the pipeline).
    SampledVillagesOnly,
    /// `field` must not exceed `ratio` × the resident population of the record's village, taken
    /// from another class's returns (cross-table: checked by the pipeline).
    MaxPerResident {
        /// The field checked.
        field: String,
        /// The largest plausible ratio.
        ratio: f64,
        /// The class whose returns carry the population (e.g. DR-GRS-02).
        population_class: String,
        /// The population field of that class (e.g. residents).
        population_field: String,
    },
}

/// One class's own schema file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassSchema {
    /// Class code, e.g. `HB-PSF-01`.
    pub code: String,
    /// Version of this schema.
    pub version: String,
    /// Whether the common header applies (default yes).
    #[serde(default = "yes")]
    pub common_header: bool,
    /// Fields, in form order.
    #[serde(default, rename = "field")]
    pub fields: Vec<Field>,
    /// Cross-field checks.
    #[serde(default, rename = "check")]
    pub checks: Vec<Check>,
    /// Fields whose per-village sum is published on the village layer.
    #[serde(default)]
    pub totals: Vec<String>,
    /// Where the rows are: `point` (default: facilities), `village`, `township` or
    /// `household` (placed by their division; coordinates optional). A `township` class
    /// carries township codes.
    #[serde(default)]
    pub location: LocationKind,
    /// Shared field blocks (`blocks/<name>.toml`) appended after the class's own fields; a
    /// field the class defines itself (same id) wins over the block's.
    #[serde(default)]
    pub blocks: Vec<String>,
}

/// A block of fields several classes share (`blocks/<name>.toml`), e.g. the emergency block
/// of the public-service-facility forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldBlock {
    /// Fields, in form order.
    #[serde(rename = "field")]
    pub fields: Vec<Field>,
}

/// The level a class's division code must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DivisionLevel {
    /// A 12-digit village (community) code.
    #[default]
    Village,
    /// A township code (9 digits, padded to 12).
    Township,
}

fn yes() -> bool {
    true
}

/// The header every class shares (`common.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonHeader {
    /// Version.
    pub version: String,
    /// Fields.
    #[serde(rename = "field")]
    pub fields: Vec<Field>,
    /// Checks.
    #[serde(default, rename = "check")]
    pub checks: Vec<Check>,
}

/// A node of the class tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassNode {
    /// Code: `HB`, `HB-PSF`, `HB-PSF-01`.
    pub code: String,
    /// Chinese name.
    pub zh: String,
    /// English name.
    pub en: String,
    /// Census software table code (prefix for major/mid classes).
    #[serde(default)]
    pub sys_table: Option<String>,
    /// Parent code (for mid and sub-classes).
    #[serde(default)]
    pub parent: Option<String>,
    /// Geometry in the survey stage: `P`, `A`, `P+A`, `Admin`, `none`.
    #[serde(default)]
    pub geometry: Option<String>,
    /// Sourced or reconstructed.
    #[serde(default)]
    pub source: Source,
}

/// The 2 → 7 → 31 taxonomy (`taxonomy.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taxonomy {
    /// Version.
    pub version: String,
    /// Major classes.
    pub major: Vec<ClassNode>,
    /// Mid classes.
    pub mid: Vec<ClassNode>,
    /// Sub-classes.
    pub class: Vec<ClassNode>,
}

impl Taxonomy {
    /// The node of a sub-class.
    pub fn class(&self, code: &str) -> Option<&ClassNode> {
        self.class.iter().find(|c| c.code == code)
    }

    fn check(&self, path: &Path) -> Result<()> {
        let majors: HashSet<_> = self.major.iter().map(|m| m.code.as_str()).collect();
        let mids: HashSet<_> = self.mid.iter().map(|m| m.code.as_str()).collect();
        for m in &self.mid {
            if !m.parent.as_deref().is_some_and(|p| majors.contains(p)) {
                return Err(Error::schema(
                    path,
                    format!("mid class {} has no known major", m.code),
                ));
            }
        }
        let mut seen = HashSet::new();
        for c in &self.class {
            if !c.parent.as_deref().is_some_and(|p| mids.contains(p)) {
                return Err(Error::schema(
                    path,
                    format!("class {} has no known mid class", c.code),
                ));
            }
            if !seen.insert(c.code.as_str()) {
                return Err(Error::schema(
                    path,
                    format!("class {} listed twice", c.code),
                ));
            }
        }
        Ok(())
    }
}

/// A class with its resolved fields: the common header followed by the class's own.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedClass {
    /// The taxonomy node.
    pub node: ClassNode,
    /// Schema version (`common version + class version`).
    pub version: String,
    /// All fields.
    pub fields: Vec<Field>,
    /// All checks.
    pub checks: Vec<Check>,
    /// Fields summed per village.
    pub totals: Vec<String>,
    /// Where the rows are.
    pub location: LocationKind,
    /// The level of the division code (follows from `location`).
    pub division_level: DivisionLevel,
}

impl ResolvedClass {
    /// A class with a bare taxonomy node (code only), version 1, no totals: for tests and
    /// examples that build a schema in code.
    pub fn bare(code: &str, fields: Vec<Field>, checks: Vec<Check>) -> Self {
        ResolvedClass {
            node: ClassNode {
                code: code.into(),
                zh: String::new(),
                en: String::new(),
                sys_table: None,
                parent: None,
                geometry: None,
                source: Source::R,
            },
            version: "1".into(),
            fields,
            checks,
            totals: vec![],
            location: LocationKind::Point,
            division_level: DivisionLevel::Village,
        }
    }

    /// A field by id.
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// Everything under a schema directory.
#[derive(Debug, Clone)]
pub struct SchemaSet {
    /// The directory it was read from.
    pub dir: PathBuf,
    /// The class tree.
    pub taxonomy: Taxonomy,
    /// Classes that have a field schema, by code.
    pub classes: BTreeMap<String, ResolvedClass>,
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| Error::schema(path, e.to_string().trim_end().to_string()))
}

/// A shared block named by a class file.
fn read_block(dir: &Path, name: &str, class_path: &Path) -> Result<FieldBlock> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::schema(
            class_path,
            format!("block name `{name}` is not a plain name (letters, digits, _ and -)"),
        ));
    }
    let path = dir.join("blocks").join(format!("{name}.toml"));
    if !path.is_file() {
        return Err(Error::schema(
            class_path,
            format!("block `{name}` not found: {}", path.display()),
        ));
    }
    read_toml(&path)
}

impl SchemaSet {
    /// Read `taxonomy.toml`, `common.toml`, `classes/*.toml` and the blocks they name under
    /// `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let taxonomy_path = dir.join("taxonomy.toml");
        let taxonomy: Taxonomy = read_toml(&taxonomy_path)?;
        taxonomy.check(&taxonomy_path)?;
        let common: CommonHeader = read_toml(&dir.join("common.toml"))?;
        let class_dir = dir.join("classes");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&class_dir)
            .map_err(|source| Error::Io {
                path: class_dir.clone(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut classes = BTreeMap::new();
        for path in paths {
            let schema: ClassSchema = read_toml(&path)?;
            let node = taxonomy.class(&schema.code).cloned().ok_or_else(|| {
                Error::schema(
                    &path,
                    format!("class {} is not in taxonomy.toml", schema.code),
                )
            })?;
            let mut fields = if schema.common_header {
                common.fields.clone()
            } else {
                Vec::new()
            };
            fields.extend(schema.fields.iter().cloned());
            for name in &schema.blocks {
                let block = read_block(dir, name, &path)?;
                for f in block.fields {
                    if !fields.iter().any(|g| g.id == f.id) {
                        fields.push(f);
                    }
                }
            }
            // Address and coordinates are the object's own place: a class placed by its
            // division has them optional (checked when given).
            if schema.location != LocationKind::Point {
                for f in fields.iter_mut().filter(|f| f.place) {
                    f.required = false;
                }
            }
            let mut checks = if schema.common_header {
                common.checks.clone()
            } else {
                Vec::new()
            };
            checks.extend(schema.checks.iter().cloned());
            let resolved = ResolvedClass {
                node,
                version: format!("{}+{}", common.version, schema.version),
                fields,
                checks,
                totals: schema.totals.clone(),
                location: schema.location,
                division_level: schema.location.division_level(),
            };
            check_class(&resolved, &path)?;
            classes.insert(schema.code.clone(), resolved);
        }
        Ok(SchemaSet {
            dir: dir.to_path_buf(),
            taxonomy,
            classes,
        })
    }

    /// A class with a field schema.
    pub fn class(&self, code: &str) -> Option<&ResolvedClass> {
        self.classes.get(code)
    }
}

fn check_class(class: &ResolvedClass, path: &Path) -> Result<()> {
    let mut ids = HashSet::new();
    for f in &class.fields {
        if !ids.insert(f.id.as_str()) {
            return Err(Error::schema(
                path,
                format!("field `{}` defined twice", f.id),
            ));
        }
        if f.source != Source::R && f.evidence.as_deref().is_none_or(|e| e.trim().is_empty()) {
            return Err(Error::schema(
                path,
                format!(
                    "field `{}` is tagged {:?} (sourced) but names no `evidence`",
                    f.id, f.source
                ),
            ));
        }
        if f.field_type == FieldType::Enum && f.codes.is_empty() {
            return Err(Error::schema(
                path,
                format!("enum field `{}` has no codes", f.id),
            ));
        }
        check_bounds(f, path)?;
    }
    let known = |id: &str| -> Result<()> {
        if ids.contains(id) {
            Ok(())
        } else {
            Err(Error::schema(
                path,
                format!("check names unknown field `{id}`"),
            ))
        }
    };
    for c in &class.checks {
        match c {
            Check::PartLeTotal { parts, total } => {
                known(total)?;
                parts.iter().try_for_each(|p| known(p))?;
            }
            Check::RequiredIf { field, when, .. } => {
                known(field)?;
                known(when)?;
            }
            Check::ZeroImpliesZero { count, amount } => {
                known(count)?;
                known(amount)?;
            }
            Check::MaxPerResident { field, .. } | Check::VillagesWithinTownship { field, .. } => {
                known(field)?
            }
            Check::SampledVillagesOnly => {}
        }
    }
    for t in &class.totals {
        known(t)?;
    }
    let count = |role: FieldType| class.fields.iter().filter(|f| f.field_type == role).count();
    if count(FieldType::DivisionCode) != 1 {
        return Err(Error::schema(
            path,
            "class needs exactly one division_code field",
        ));
    }
    if count(FieldType::Longitude) > 1 || count(FieldType::Longitude) != count(FieldType::Latitude)
    {
        return Err(Error::schema(
            path,
            "class needs one longitude and one latitude field, or neither",
        ));
    }
    if class.location == LocationKind::Point && count(FieldType::Longitude) == 0 {
        return Err(Error::schema(
            path,
            "a class located by point (location = \"point\", the default) needs longitude and latitude fields",
        ));
    }
    for f in &class.fields {
        match f.derive {
            Some(Derive::CodeType)
                if f.field_type != FieldType::Enum
                    || !f.codes.iter().any(|c| c == CODE_TYPE_USCC) =>
            {
                return Err(Error::schema(
                    path,
                    format!("field `{}`: derive = \"code_type\" needs an enum field listing “{CODE_TYPE_USCC}”", f.id),
                ));
            }
            Some(d) if d.level().is_some() && f.field_type != FieldType::Text => {
                return Err(Error::schema(
                    path,
                    format!(
                        "field `{}`: derive = \"{}\" needs a text field",
                        f.id,
                        d.as_str()
                    ),
                ));
            }
            _ => {}
        }
        if f.field_type == FieldType::MultiEnum && f.codes.is_empty() {
            return Err(Error::schema(
                path,
                format!("multi_enum field `{}` has no codes", f.id),
            ));
        }
    }
    Ok(())
}

/// A field's `min`/`max` must be numbers with `min ≤ max`: bounds no value can meet would reject
/// every row of the class, and a NaN bound would switch the check off without a word.
fn check_bounds(f: &Field, path: &Path) -> Result<()> {
    for (key, bound) in [("min", f.min), ("max", f.max)] {
        if bound.is_some_and(|b| !b.is_finite()) {
            return Err(Error::schema(
                path,
                format!("field `{}`: {key} is not a finite number", f.id),
            ));
        }
    }
    if let (Some(min), Some(max)) = (f.min, f.max) {
        if min > max {
            return Err(Error::schema(
                path,
                format!("field `{}`: min {min} is above max {max}", f.id),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let err = toml::from_str::<ClassSchema>("code = \"X\"\nversion = \"1\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    /// A class schema file with the real common header, as `SchemaSet::load` reads them.
    fn load_with(class_toml: &str) -> Result<SchemaSet> {
        let dir = tempfile::tempdir().map_err(|source| Error::Io {
            path: PathBuf::from("tempdir"),
            source,
        })?;
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        std::fs::create_dir_all(dir.path().join("classes")).map_err(|source| Error::Io {
            path: dir.path().to_path_buf(),
            source,
        })?;
        std::fs::create_dir_all(dir.path().join("blocks")).map_err(|source| Error::Io {
            path: dir.path().to_path_buf(),
            source,
        })?;
        for file in [
            "taxonomy.toml",
            "common.toml",
            "blocks/record.toml",
            "blocks/public_facility.toml",
        ] {
            std::fs::copy(repo.join(file), dir.path().join(file)).map_err(|source| Error::Io {
                path: repo.join(file),
                source,
            })?;
        }
        std::fs::write(dir.path().join("classes/HB-PSF-01.toml"), class_toml).map_err(
            |source| Error::Io {
                path: dir.path().to_path_buf(),
                source,
            },
        )?;
        SchemaSet::load(dir.path())
    }

    #[test]
    fn bounds_no_value_can_meet_are_schema_errors() {
        let field = |bounds: &str| {
            format!(
                "code = \"HB-PSF-01\"\nversion = \"1\"\n[[field]]\nid = \"n\"\nzh = \"数\"\nen = \"N\"\ntype = \"integer\"\n{bounds}\n"
            )
        };
        for (bounds, message) in [
            ("min = 10\nmax = 1", "min 10 is above max 1"),
            ("min = nan", "min is not a finite number"),
            ("max = inf", "max is not a finite number"),
        ] {
            let err = load_with(&field(bounds)).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|e| e.contains(message)),
                "{bounds}: {err:?}"
            );
        }
        assert!(load_with(&field("min = 1\nmax = 1")).is_ok());
    }

    #[test]
    fn location_sets_the_division_level_and_which_place_fields_are_required() {
        let set = load_with("code = \"HB-PSF-01\"\nversion = \"1\"\nlocation = \"township\"\n")
            .expect("a township class");
        let class = set.class("HB-PSF-01").expect("class");
        assert_eq!(class.division_level, DivisionLevel::Township);
        for id in ["address", "lon", "lat"] {
            assert!(
                !class.field(id).expect(id).required,
                "{id} optional off point"
            );
        }
        assert!(class.field("name").expect("name").required);
        let point = load_with("code = \"HB-PSF-01\"\nversion = \"1\"\n").expect("point");
        let class = point.class("HB-PSF-01").expect("class");
        assert!(class.field("lon").expect("lon").required);
        assert_eq!(class.location, LocationKind::Point);
    }

    #[test]
    fn bad_location_and_derive_values_are_schema_errors_that_name_the_file() {
        let cases = [
            ("location = \"county\"\n", "unknown variant"),
            ("[[field]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\ntype = \"text\"\nderive = \"street\"\n", "unknown variant"),
            ("[[field]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\ntype = \"integer\"\nderive = \"county\"\n", "needs a text field"),
            ("[[field]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\ntype = \"text\"\nderive = \"code_type\"\n", "needs an enum field"),
            ("common_header = false\n[[field]]\nid = \"c\"\nzh = \"c\"\nen = \"c\"\ntype = \"division_code\"\n", "needs longitude and latitude"),
            ("[[field]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\ntype = \"text\"\nsource = \"S3\"\n", "names no `evidence`"),
            ("[[field]]\nid = \"x\"\nzh = \"x\"\nen = \"x\"\ntype = \"text\"\nsource = \"S\"\nevidence = \" \"\n", "names no `evidence`"),
            ("blocks = [\"../common\"]\n", "not a plain name"),
            ("blocks = [\"nowhere\"]\n", "block `nowhere` not found"),
        ];
        for (extra, needle) in cases {
            let text = format!("code = \"HB-PSF-01\"\nversion = \"1\"\n{extra}");
            let err = load_with(&text).expect_err(extra).to_string();
            assert!(
                err.contains("HB-PSF-01.toml") && err.contains(needle),
                "{extra}: {err}"
            );
        }
    }

    #[test]
    fn blocks_are_appended_after_the_class_fields_and_a_class_field_wins() {
        let set = load_with(
            "code = \"HB-PSF-01\"\nversion = \"1\"\nblocks = [\"record\"]\n\
             [[field]]\nid = \"phone\"\nzh = \"值班电话\"\nen = \"Duty phone\"\ntype = \"text\"\n",
        )
        .expect("a class with a block");
        let class = set.class("HB-PSF-01").expect("class");
        let phones: Vec<&str> = class
            .fields
            .iter()
            .filter(|f| f.id == "phone")
            .map(|f| f.zh.as_str())
            .collect();
        assert_eq!(phones, ["值班电话"], "the class's own field wins");
        assert_eq!(
            class.fields.last().map(|f| f.id.as_str()),
            Some("revision_note")
        );
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let set = SchemaSet::load(&repo).expect("the real schemas");
        let class = set.class("HB-PSF-01").expect("schools");
        let ids: Vec<&str> = class.fields.iter().map(|f| f.id.as_str()).collect();
        let own = ids
            .iter()
            .position(|i| *i == "is_shelter")
            .expect("own field");
        let block = ids
            .iter()
            .position(|i| *i == "security_staff")
            .expect("block field");
        assert!(own < block, "{ids:?}");
        // HB-PSF-02 defines the emergency block itself, tagged sourced.
        let medical = set.class("HB-PSF-02").expect("medical");
        assert_eq!(
            medical.field("security_staff").map(|f| f.source),
            Some(Source::S3)
        );
        for class in set.classes.values() {
            for f in class.fields.iter().filter(|f| f.source != Source::R) {
                assert!(f.evidence.is_some(), "{} {}", class.node.code, f.id);
            }
        }
    }

    #[test]
    fn header_matching_accepts_code_id_and_label_variants() {
        let f = Field {
            code: Some("syzycws".into()),
            en: "Beds".into(),
            unit: Some("张".into()),
            source: Source::S3,
            ..Field::new("beds", "实有住院床位数", FieldType::Integer)
        };
        for h in [
            "实有住院床位数（张）",
            "实有住院床位数 (张)",
            " 实有住院床位数",
            "SYZYCWS",
            "beds",
        ] {
            assert!(f.matches_header(h), "{h}");
        }
        assert!(!f.matches_header("床位"));
        assert_eq!(f.label_with_unit(), "实有住院床位数（张）");
    }
}
