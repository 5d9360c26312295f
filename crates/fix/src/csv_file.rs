//! A [`Plan`] applied to a CSV return: the same rows in the same order (so row numbers stay),
//! the same columns with derived ones added at the end, written as UTF-8 with a BOM (Excel opens
//! it as Unicode). A ragged row (more or fewer cells than the header) is written as it was.

use std::collections::BTreeMap;

use riskcensus_core::schema::HeaderMatcher;
use riskcensus_core::{Change, Confidence, Field, FieldType, ResolvedClass, Rule};
use riskcensus_ingest::Encoding;

use crate::plan::{Column, Plan};
use crate::FixError;

/// Apply `plan` to the CSV `bytes` of return `name`: the corrected file and every change made.
pub fn fix_csv(
    name: &str,
    bytes: &[u8],
    encoding: Encoding,
    class: &ResolvedClass,
    plan: &Plan,
) -> Result<(Vec<u8>, Vec<Change>), FixError> {
    let csv_err = |e: &dyn std::fmt::Display| FixError::File {
        path: name.to_string(),
        message: e.to_string(),
    };
    let (text, _) = riskcensus_ingest::decode(name, bytes, encoding)?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        Some(r) => r
            .map_err(|e| csv_err(&e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect(),
        None => return Err(csv_err(&"the file is empty")),
    };
    let matcher = HeaderMatcher::new(&class.fields);
    let fields: Vec<Option<&Field>> = header.iter().map(|h| matcher.field(h)).collect();
    let index_of = |column: &Column| match column {
        Column::Header(h) => header.iter().position(|x| x == h),
        Column::Field(id) => fields.iter().position(|f| f.is_some_and(|f| f.id == *id)),
    };
    let added = added_columns(plan, class, &matcher, &index_of);
    let coordinate = |t: FieldType| {
        fields
            .iter()
            .position(|f| f.is_some_and(|f| f.field_type == t))
    };
    let points = coordinate(FieldType::Longitude).zip(coordinate(FieldType::Latitude));
    let mut by_line: BTreeMap<u64, Vec<(&Column, &Change)>> = BTreeMap::new();
    for ((line, column), change) in &plan.set {
        by_line.entry(*line).or_default().push((column, change));
    }

    let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    out.write_record(header.iter().chain(&added))
        .map_err(|e| csv_err(&e))?;
    let mut changes = Vec::new();
    for record in records {
        let record = record.map_err(|e| csv_err(&e))?;
        let line = record.position().map_or(0, |p| p.line());
        let mut cells: Vec<String> = record.iter().map(str::to_string).collect();
        let whole = cells.len() == header.len();
        let mut change = |column: usize, old: &str, new: String, rule: Rule| {
            changes.push(Change::new(
                name,
                &class.node.code,
                line,
                header[column].clone(),
                (!old.is_empty()).then(|| old.to_string()),
                new,
                rule,
                Confidence::Derived,
            ));
        };
        if whole {
            for (i, field) in fields.iter().enumerate() {
                if let Some(half) = field.and_then(|f| halfwidth(f, &cells[i])) {
                    change(i, &cells[i], half.clone(), Rule::FullWidth);
                    cells[i] = half;
                }
            }
            if let Some((x, y)) = points {
                if plan.swap.contains(&line) {
                    change(x, &cells[x], cells[y].clone(), Rule::Swapped);
                    change(y, &cells[y], cells[x].clone(), Rule::Swapped);
                    cells.swap(x, y);
                }
                if plan.gcj02 {
                    if let Some((lon, lat)) = from_gcj02(&cells[x], &cells[y]) {
                        change(x, &cells[x], lon.clone(), Rule::Gcj02Shift);
                        change(y, &cells[y], lat.clone(), Rule::Gcj02Shift);
                        (cells[x], cells[y]) = (lon, lat);
                    }
                }
            }
        }
        let mut extra = vec![String::new(); added.len()];
        for (column, planned) in by_line.get(&line).into_iter().flatten() {
            let target = match index_of(column) {
                Some(i) if whole => &mut cells[i],
                None if whole => match column {
                    Column::Header(h) => match added.iter().position(|a| a == h) {
                        Some(k) => &mut extra[k],
                        None => continue,
                    },
                    Column::Field(_) => continue,
                },
                _ => continue,
            };
            let old = std::mem::replace(target, planned.new.clone());
            changes.push(Change {
                column: match index_of(column) {
                    Some(i) => header[i].clone(),
                    None => planned.column.clone(),
                },
                old: (!old.is_empty()).then_some(old),
                ..(*planned).clone()
            });
        }
        if whole {
            cells.extend(extra);
        }
        out.write_record(&cells).map_err(|e| csv_err(&e))?;
    }
    let bytes = out.into_inner().map_err(|e| csv_err(&e))?;
    Ok((bytes, changes))
}

/// The columns the plan fills that the file lacks, in schema order.
fn added_columns(
    plan: &Plan,
    class: &ResolvedClass,
    matcher: &HeaderMatcher<'_>,
    index_of: &dyn Fn(&Column) -> Option<usize>,
) -> Vec<String> {
    let mut added: Vec<(usize, String)> = Vec::new();
    for (_, column) in plan.set.keys() {
        let Column::Header(label) = column else {
            continue;
        };
        if index_of(column).is_some() || added.iter().any(|(_, a)| a == label) {
            continue;
        }
        let order = matcher
            .field(label)
            .and_then(|f| class.fields.iter().position(|c| c.id == f.id))
            .unwrap_or(usize::MAX);
        added.push((order, label.clone()));
    }
    added.sort();
    added.into_iter().map(|(_, label)| label).collect()
}

/// A number, code or date cell with full-width digits, made half-width (as ingest reads it);
/// `None` when there is nothing to change.
pub(crate) fn halfwidth(field: &Field, cell: &str) -> Option<String> {
    let numeric = field.field_type.is_numeric()
        || matches!(
            field.field_type,
            FieldType::DivisionCode | FieldType::CreditCode | FieldType::Date
        );
    if !numeric || cell.is_ascii() {
        return None;
    }
    let half = riskcensus_ingest::halfwidth(cell).trim().to_string();
    // Only values: a form's units row (`（人）`) under a number column is no number.
    let value = half
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | ':' | '+'));
    (value && half != cell).then_some(half)
}

/// A point written in GCJ-02 as CGCS2000 (WGS 84 within centimetres), 6 decimals; `None` for
/// cells that are no point in China (they keep their own findings).
pub(crate) fn from_gcj02(x: &str, y: &str) -> Option<(String, String)> {
    let (lon, lat) = (x.trim().parse::<f64>().ok()?, y.trim().parse::<f64>().ok()?);
    if !((73.0..=136.0).contains(&lon) && (3.0..=54.0).contains(&lat)) {
        return None;
    }
    let (lon, lat) = coordtransform::gcj02_to_wgs84(lon, lat);
    Some((format!("{lon:.6}"), format!("{lat:.6}")))
}
