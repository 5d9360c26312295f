//! Findings: typed statements about the census data (not errors of the program).

use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a finding is. Errors reject the row; warnings and infos never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Rejects the row (or the file, for file-level findings).
    Error,
    /// Worth a look; the row is kept.
    Warning,
    /// For information.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
    /// 错误 / 警告 / 提示.
    pub fn as_zh(self) -> &'static str {
        match self {
            Severity::Error => "错误",
            Severity::Warning => "警告",
            Severity::Info => "提示",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! rules {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $sev:ident, $zh:literal, $en:literal, $fix_zh:literal, $fix_en:literal; )*) => {
        /// The catalogue of rules. Codes are stable: scripts and pipelines refer to them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Rule { $( $(#[$doc])* $variant, )* }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant),*];
            /// The stable code, e.g. `cell.required`.
            pub fn code(self) -> &'static str { match self { $(Rule::$variant => $code,)* } }
            /// The severity unless a pipeline overrides it.
            pub fn default_severity(self) -> Severity { match self { $(Rule::$variant => Severity::$sev,)* } }
            /// A short Chinese title.
            pub fn title_zh(self) -> &'static str { match self { $(Rule::$variant => $zh,)* } }
            /// A short English title.
            pub fn title_en(self) -> &'static str { match self { $(Rule::$variant => $en,)* } }
            /// How to fix it, in Chinese.
            pub fn fix_zh(self) -> &'static str { match self { $(Rule::$variant => $fix_zh,)* } }
            /// How to fix it, in English.
            pub fn fix_en(self) -> &'static str { match self { $(Rule::$variant => $fix_en,)* } }
            /// Look a rule up by its code.
            pub fn from_code(code: &str) -> Option<Rule> {
                match code { $($code => Some(Rule::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    /// A column the class schema does not know.
    UnknownColumn = "struct.unknown_column", Warning, "未知列", "Unknown column", "将列名改为表式中的名称，或忽略（该列不会发布）", "Rename the column to the form's label, or ignore it (it is not published)";
    /// A required column is missing from the file: every row is rejected.
    MissingColumn = "struct.missing_column", Error, "缺少必填列", "Missing required column", "补上该列后重新上传", "Add the column and upload again";
    /// Two columns map to the same field.
    DuplicateColumn = "struct.duplicate_column", Error, "重复列", "Duplicate column", "删除重复的列", "Delete one of the two columns";
    /// A row with more or fewer values than the header has columns.
    RaggedRow = "struct.ragged_row", Error, "行列数与表头不符", "Ragged row", "检查该行是否有多余的逗号或缺少的单元格", "Look for a stray comma or a missing cell in the row";
    /// A column the census fills from other data of the row (省/市/县/乡镇/村 from the division
    /// code, 代码类型 from the credit code) is missing: derived, each value in `changes.csv`.
    DerivedColumn = "struct.derived_column", Info, "缺少可推导的列，已推导", "Derivable column missing: derived", "无需处理；推导值见 changes.csv", "Nothing to do; the derived values are in changes.csv";
    /// An empty cell whose value follows from other data of the row: derived.
    DerivedValue = "cell.derived", Info, "空值已推导", "Empty value derived", "无需处理；推导值见 changes.csv", "Nothing to do; the derived value is in changes.csv";
    /// Full-width digits in a number, code or date: read as half-width (no finding); the rule
    /// of `riskcensus fix`'s change that rewrites them.
    FullWidth = "cell.full_width", Info, "全角数字已转半角", "Full-width digits made half-width", "无需处理", "Nothing to do";
    /// A blank line between rows (skipped).
    BlankRow = "struct.blank_row", Info, "空行", "Blank row", "删除空行（已跳过）", "Delete the blank line (it was skipped)";
    /// A required value is empty.
    Required = "cell.required", Error, "必填项为空", "Required value missing", "填写该项", "Fill in the value";
    /// A value does not parse as the field's type.
    Type = "cell.type", Error, "类型错误", "Wrong type", "按类型填写：整数、数值或“是/否”", "Write digits, a number, or 是/否 as the field needs";
    /// A value is not in the field's code list.
    CodeList = "cell.code_list", Error, "不在代码表中", "Not in code list", "从代码表中选择", "Choose a value from the code list";
    /// A number outside the field's range.
    Range = "cell.range", Error, "超出取值范围", "Out of range", "核对数值", "Check the number";
    /// A date after the reference date (where the field says so) or before 1900.
    DateRange = "cell.date_range", Error, "日期超出范围", "Date out of range", "核对日期：不应晚于普查标准时点（2020-12-31）", "Check the date: not after the census reference date (2020-12-31)";
    /// Text longer than the field allows.
    Length = "cell.length", Error, "长度超限", "Too long", "缩短内容", "Shorten the text";
    /// The division code is not 12 digits.
    DivisionFormat = "id.division_format", Error, "区划代码格式错误", "Malformed division code", "填写12位统计用区划代码", "Write the 12-digit NBS statistical division code";
    /// The division code is not in the register.
    DivisionUnknown = "id.division_unknown", Error, "区划代码不存在", "Division code not in register", "在统计用区划代码库中查找该村的代码", "Look the village up in the NBS register";
    /// The code is not in the register, but its township name is: likely the civil-affairs numbering.
    DivisionCivilAffairs = "id.division_mca", Error, "疑用民政区划代码", "Civil-affairs code instead of NBS code", "改用建议的统计用区划代码", "Use the suggested NBS statistical code";
    /// The division code is not at village level.
    DivisionLevel = "id.division_level", Error, "区划代码层级错误", "Division code at wrong level", "填写村（社区）级代码", "Use the village (community) code";
    /// Address names disagree with the division code.
    DivisionName = "id.division_name", Warning, "地址名称与区划代码不符", "Address names disagree with division code", "核对地址名称或区划代码", "Correct the name or the code";
    /// The credit code is not 18 characters.
    UsccLength = "id.uscc_length", Error, "信用代码长度错误", "Credit code length", "按营业执照/登记证书重新填写", "Copy the code from the licence again";
    /// The credit code has a character outside GB 32100's charset.
    UsccCharset = "id.uscc_charset", Error, "信用代码含非法字符", "Credit code character", "信用代码不含 I、O、S、V、Z，核对易混字符", "The code never uses I, O, S, V, Z: check look-alike characters";
    /// The credit code's check character is wrong.
    UsccChecksum = "id.uscc_checksum", Error, "信用代码校验位错误", "Credit code checksum", "核对信用代码，通常为抄写错误", "Check the code: usually a copying slip";
    /// The credit code's registration region is outside the record's city.
    UsccRegion = "id.uscc_region", Warning, "信用代码登记地与所在地不符", "Credit code region differs", "核对信用代码或区划代码", "Check the credit code or the division code";
    /// The point is outside China's extent.
    OutsideChina = "geo.outside_china", Error, "坐标不在中国境内", "Point outside China", "核对经纬度（常为漏位或多位）", "Check the coordinates (often a dropped digit)";
    /// Longitude and latitude are swapped.
    Swapped = "geo.swapped", Error, "经纬度颠倒", "Longitude and latitude swapped", "交换经度、纬度两列", "Swap the longitude and latitude";
    /// The point is (0, 0).
    ZeroPoint = "geo.zero", Error, "坐标为零", "Point at (0, 0)", "补充实际位置", "Locate the object";
    /// Coordinates with too few decimals to place the object within a village.
    FewDecimals = "geo.few_decimals", Warning, "坐标精度不足", "Too few decimals", "经纬度至少保留4位小数（约10米）", "Give at least 4 decimals (about 10 m)";
    /// The whole file looks shifted by the GCJ-02 (web map) offset.
    Gcj02Shift = "geo.gcj02_shift", Warning, "整批坐标疑为火星坐标（GCJ-02）", "File shifted by GCJ-02", "用 CGCS2000/WGS84 坐标重新采集，或按建议的纠正坐标核对", "Re-collect in CGCS2000/WGS 84, or check against the corrected points";
    /// The point is outside the county of the division code.
    OutsideCounty = "geo.outside_county", Error, "坐标不在所属区县内", "Point outside its county", "核对坐标或区划代码", "Move the point or correct the code";
    /// A polygon location (the census 面位置, from a GeoPackage return) lies mostly outside the
    /// village its division code names.
    OutlineElsewhere = "geo.outline_elsewhere", Warning, "面位置不在所报村（社区）内", "Outline outside its village", "核对面位置或区划代码", "Check the outline or the division code";
    /// The point is in another village of the same county.
    OtherVillage = "geo.other_village", Warning, "坐标落在其他村（社区）", "Point in another village", "核对所属村或坐标", "Check which village is right";
    /// A part (其中) exceeds its total (合计).
    PartExceedsTotal = "xf.part_exceeds_total", Error, "其中项大于合计", "Part exceeds total", "核对其中项与合计", "Correct the part or the total";
    /// A field required by another field's value is empty.
    ConditionalRequired = "xf.conditional_required", Error, "条件必填项为空", "Conditionally required value missing", "填写相关联的项", "Fill in the dependent value";
    /// A count is zero but the amount that depends on it is not (0 places ⇒ 0 capacity).
    ZeroImpliesZero = "xf.zero_implies_zero", Error, "数量为0但容量不为0", "Zero count with non-zero amount", "数量为0时容量应为0，核对两项", "With a zero count the amount must be zero: check both";
    /// A money or count value about 10⁴ off the class's distribution (万元 vs 元).
    UnitSlip = "plaus.unit_slip", Warning, "疑似单位错误（万元/元）", "Likely unit slip (万元 vs 元)", "核对单位：本表金额以表头所示单位填写", "Check the unit: amounts are in the unit the header gives";
    /// A capacity absurd against the village's resident population.
    CapacityVsPopulation = "plaus.capacity_vs_population", Warning, "容量与常住人口不符", "Capacity implausible for population", "核对容量或人口", "Check the capacity or the population";
    /// Village returns of a township add up to more than the township's own return.
    Rollup = "xt.rollup", Warning, "村级合计超过乡镇填报数", "Villages exceed their township", "核对乡镇与所属村（社区）的填报数", "Check the township's figure against its villages'";
    /// A household return from a village that is not in the survey sample.
    NotSampled = "xt.not_sampled", Error, "非抽样村的家庭问卷", "Household outside the sample", "只填报抽样村（社区）的抽样家庭", "File households of the sampled villages only";
    /// A cross-table check that could not run (its reference data is missing).
    NotChecked = "xt.not_checked", Info, "未能核对", "Not checked", "在流水线中补充所需的参照数据", "Add the reference data to the pipeline";
    /// Areas without the return an indicator needs: their indicators are null.
    MissingInput = "ind.missing_input", Info, "指标缺少输入", "Indicator input missing", "补报缺少的乡镇或村（社区）表", "File the missing township or village returns";
    /// A village polygon was invalid (self-intersecting, unclosed ring …) and was repaired.
    GeomRepaired = "geom.repaired", Warning, "面数据已修复", "Polygon repaired", "在源数据中修正该面", "Fix the polygon in the source data";
    /// A village polygon without area: dropped.
    GeomEmpty = "geom.empty", Warning, "空面，已删除", "Empty polygon dropped", "补绘该村的面", "Draw the village's polygon";
    /// Two polygons with the same village code: the later one is dropped.
    GeomDuplicateCode = "geom.duplicate_code", Error, "村代码重复", "Duplicate village code", "每个村只保留一个面", "Keep one polygon per village";
    /// A village polygon lies (mostly) outside its county.
    GeomOutsideCounty = "geom.outside_county", Warning, "村界不在所属区县内", "Village outside its county", "核对村界或村代码", "Check the outline or the code";
    /// Neighbouring village polygons overlap by more than the tolerance.
    GeomOverlap = "geom.overlap", Warning, "村界重叠", "Villages overlap", "修正相邻村界", "Fix the shared border";
    /// The villages of a county leave a gap larger than the tolerance.
    GeomGap = "geom.gap", Warning, "村界存在缝隙", "Gap between villages", "补齐村界", "Close the gap";
    /// The same credit code twice in one class.
    DuplicateCreditCode = "dup.credit_code", Error, "信用代码重复", "Duplicate credit code", "删除重复记录", "Delete the duplicate";
    /// The same normalised name twice in one village.
    DuplicateName = "dup.name_in_village", Error, "同村重名记录", "Duplicate name in village", "删除重复记录或区分名称", "Delete the duplicate or tell the two apart";
    /// Two points less than 50 m apart with similar names.
    NearDuplicate = "dup.near_point", Warning, "疑似重复（近距离同名）", "Likely duplicate (close, similar name)", "核对是否为同一对象", "Check whether they are the same object";
    /// A check compared a row with at most a fixed number of others (a cluster of many rows at
    /// one place or under one key): what it did not compare is said, not silently skipped.
    CheckCapped = "check.capped", Info, "核对已限量", "Check capped", "核对该处密集的记录是否重复", "Check the dense cluster of rows for duplicates";
    /// The same object filed in two files of one class.
    AcrossFiles = "dup.across_files", Error, "跨文件重复填报", "Filed in two files", "只在一个文件中保留该对象", "Keep the object in one file only";
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Rule::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule `{code}`")))
    }
}

/// One statement about the data: where, which rule, how serious, and why in both languages.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Finding {
    /// The input file as the pipeline names it.
    pub file: String,
    /// The class code, e.g. `HB-PSF-01`.
    pub class: String,
    /// The row as the user sees it (line in the CSV, 1 = header); `None` for file-level findings.
    pub row: Option<u64>,
    /// The column header as it appears in the file.
    pub column: Option<String>,
    /// The offending value as written.
    pub value: Option<String>,
    /// The value the finding suggests instead, when one entry of the register or code list
    /// fits (how sure: in the message).
    pub suggestion: Option<String>,
    /// How sure the suggestion is (`exact`, `normalized`, `fuzzy`): `riskcensus fix` applies
    /// exact and normalised ones only.
    pub confidence: Option<crate::change::Confidence>,
    /// The rule.
    pub rule: Rule,
    /// The severity (the rule's default unless the pipeline overrides it).
    pub severity: Severity,
    /// Chinese message.
    pub message_zh: String,
    /// English message.
    pub message_en: String,
    /// Longitude where known (EPSG:4490), so that findings can be mapped.
    pub lon: Option<f64>,
    /// Latitude where known (EPSG:4490).
    pub lat: Option<f64>,
}

impl Finding {
    /// A finding with the rule's default severity and no location.
    pub fn new(
        file: impl Into<String>,
        class: impl Into<String>,
        rule: Rule,
        message_zh: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Finding {
            file: file.into(),
            class: class.into(),
            row: None,
            column: None,
            value: None,
            suggestion: None,
            confidence: None,
            rule,
            severity: rule.default_severity(),
            message_zh: message_zh.into(),
            message_en: message_en.into(),
            lon: None,
            lat: None,
        }
    }

    /// Set the row.
    pub fn at_row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }

    /// Set the column and the value.
    pub fn in_column(mut self, column: impl Into<String>, value: Option<String>) -> Self {
        self.column = Some(column.into());
        self.value = value;
        self
    }

    /// Set the suggested value and how sure it is (no value: neither).
    pub fn suggesting(mut self, suggested: Option<(String, crate::change::Confidence)>) -> Self {
        self.confidence = suggested.as_ref().map(|(_, c)| *c);
        self.suggestion = suggested.map(|(value, _)| value);
        self
    }

    /// Set the point.
    pub fn at_point(mut self, lon: f64, lat: f64) -> Self {
        self.lon = Some(lon);
        self.lat = Some(lat);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut codes: Vec<_> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n, "duplicate rule code");
        for r in Rule::ALL {
            assert_eq!(Rule::from_code(r.code()), Some(*r));
        }
    }
}

#[cfg(test)]
mod docs_tests {
    use super::Rule;

    /// docs/rules.md lists every rule, so the catalogue users read is the one the code has.
    #[test]
    fn every_rule_is_documented() {
        let docs = include_str!("../../../docs/rules.md");
        for r in Rule::ALL {
            assert!(
                docs.contains(&format!("| `{}` |", r.code())),
                "docs/rules.md lacks {}",
                r.code()
            );
        }
    }
}
