//! The bad-input catalogue: well over a hundred broken inputs, each made by a generator here from
//! a copy of the sample (nothing large is stored), each run through `riskcensus run` with an
//! earlier database in place. For every case the harness checks its expected exit code and
//! message, and the invariants that hold for any input:
//!
//! - no panic (exit 101, "panicked"), and the run ends within [`LIVENESS`];
//! - read = accepted + rejected in the summary and in the manifest when a database is written;
//! - a run that fails (exit ≥ 2) leaves the earlier database byte-identical;
//! - nothing outside the output folder is written, changed or removed.
//!
//! The counts (cases, exits by code, the slowest case, the peak memory where `/proc` tells it)
//! are printed at the end: `cargo test --test catalogue -- --nocapture`
//! (`CATALOGUE_ONLY=schema:` runs the cases whose name holds `schema:`).

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

mod common;
#[path = "../../../tests/support/tree.rs"]
mod tree;
use common::{repo, riskcensus};
use tree::copy_tree;

/// Generous: the slowest case takes a few seconds in a debug build.
const LIVENESS: Duration = Duration::from_secs(120);

const SCHOOLS: &str = "sample_data/returns/HB-PSF-01_学校.csv";
const SHELTERS: &str = "sample_data/returns/DR-GOV-10_应急避难场所_BOM.csv";
const PIPELINE: &str = "pipelines/baiyin-2021.toml";
const VILLAGES: &str = "sample_data/geometry/baiyin_villages.geojson";
const COUNTIES: &str = "sample_data/geometry/baiyin_counties.geojson";
const REGISTER: &str = "sample_data/register/baiyin_divisions.csv";
const EXCEL: &str = "sample_data/returns/HB-PSF-03_提供住宿的社会服务机构.xlsx";

/// Breaks a copy of the sample in the given folder; returns extra arguments for `run`.
type Setup = Box<dyn Fn(&Path) -> Vec<String> + Send + Sync>;

/// One bad input: how to break a copy of the sample, what to run, what must come out.
struct Case {
    name: String,
    /// Breaks the copy (e.g. a cell) and gives `run` its extra arguments (e.g. `--out`).
    setup: Setup,
    /// Expected exit code.
    code: i32,
    /// A fragment the message must hold (stderr), empty for none.
    message: &'static str,
    /// Where the database is written, relative to the case folder (default `out/baiyin-2021`).
    out: &'static str,
    /// What the run may change, relative to the case folder (default: the database's folder).
    may_change: Option<&'static str>,
}

fn case(
    name: impl Into<String>,
    code: i32,
    message: &'static str,
    setup: impl Fn(&Path) -> Vec<String> + Send + Sync + 'static,
) -> Case {
    Case {
        name: name.into(),
        setup: Box::new(setup),
        code,
        message,
        out: "out/baiyin-2021",
        may_change: None,
    }
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).expect("read")
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    std::fs::write(dir.join(rel), bytes).expect("write");
}

/// Replace the text of one file of the copy.
fn edit(dir: &Path, rel: &str, f: impl FnOnce(String) -> String) {
    let text = read(dir, rel);
    write(dir, rel, f(text));
}

/// Set the cell of `column` (0-based) in data line `line` (1 = header) of a CSV.
fn set_cell(text: &str, line: usize, column: usize, value: &str) -> String {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect();
    if let Some(cell) = rows.get_mut(line - 1).and_then(|r| r.get_mut(column)) {
        *cell = value.to_string();
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row).expect("write");
    }
    String::from_utf8(writer.into_inner().expect("csv")).expect("utf-8")
}

fn header_index(text: &str, starts: &str) -> usize {
    text.trim_start_matches('\u{feff}')
        .lines()
        .next()
        .expect("header")
        .split(',')
        .position(|h| h.starts_with(starts))
        .expect("column")
}

fn no_args() -> Vec<String> {
    Vec::new()
}

/// Cases on the schools CSV: its bytes broken in one way each.
fn csv_cases() -> Vec<Case> {
    let mut cases = vec![
        case("csv: unterminated quote on line 30", 3, "line 30", |d| {
            edit(d, SCHOOLS, |t| {
                let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
                lines[29] = lines[29].replacen(',', ",\"", 1);
                lines.join("\n") + "\n"
            });
            no_args()
        }),
        case(
            "csv: quote left open, closed 40 lines below",
            3,
            "not closed",
            |d| {
                edit(d, SCHOOLS, |t| {
                    let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
                    lines[20] = lines[20].replacen(',', ",\"", 1);
                    lines[60] = lines[60].replacen(',', "\",", 1);
                    lines.join("\n") + "\n"
                });
                no_args()
            },
        ),
        case("csv: 100 000 columns", 3, "columns", |d| {
            edit(d, SCHOOLS, |t| {
                format!("{}{}\n", t.trim_end(), ",x".repeat(100_000))
            });
            no_args()
        }),
        case("csv: a cell of 40 000 characters", 3, "characters", |d| {
            edit(d, SCHOOLS, |t| set_cell(&t, 5, 1, &"长".repeat(40_000)));
            no_args()
        }),
        case("csv: NUL byte", 3, "control character", |d| {
            edit(d, SCHOOLS, |t| t.replacen("学校", "学\0校", 1));
            no_args()
        }),
        case("csv: UTF-16 without BOM", 3, "UTF-16", |d| {
            let t = read(d, SCHOOLS);
            let bytes: Vec<u8> = t.encode_utf16().flat_map(u16::to_le_bytes).collect();
            write(d, SCHOOLS, bytes);
            no_args()
        }),
        case("csv: UTF-16 with BOM", 1, "", |d| {
            let t = read(d, SCHOOLS);
            let mut bytes = vec![0xFF, 0xFE];
            bytes.extend(t.encode_utf16().flat_map(u16::to_le_bytes));
            write(d, SCHOOLS, bytes);
            no_args()
        }),
        case("csv: empty file", 3, "empty", |d| {
            write(d, SCHOOLS, "");
            no_args()
        }),
        case("csv: header only", 1, "", |d| {
            edit(d, SCHOOLS, |t| {
                t.lines().next().unwrap_or_default().to_string() + "\n"
            });
            no_args()
        }),
        case("csv: truncated mid-row", 1, "", |d| {
            edit(d, SCHOOLS, |t| {
                let cut = t
                    .char_indices()
                    .nth(t.chars().count() / 2)
                    .map_or(0, |(i, _)| i);
                t[..cut].to_string()
            });
            no_args()
        }),
        case("csv: CR line ends", 1, "", |d| {
            edit(d, SCHOOLS, |t| t.replace('\n', "\r"));
            no_args()
        }),
        case("csv: CRLF line ends", 1, "", |d| {
            edit(d, SCHOOLS, |t| t.replace('\n', "\r\n"));
            no_args()
        }),
        case("csv: semicolon-separated", 1, "", |d| {
            edit(d, SCHOOLS, |t| t.replace(',', ";"));
            no_args()
        }),
        case("csv: every row ragged", 1, "", |d| {
            edit(d, SCHOOLS, |t| {
                t.lines()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            l.to_string()
                        } else {
                            format!("{l},x")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            no_args()
        }),
        case("csv: GBK bytes declared UTF-8", 3, "", |d| {
            edit(d, PIPELINE, |t| {
                t.replace(
                    "path = \"../sample_data/returns/HB-PSF-01_学校.csv\"",
                    "path = \"../sample_data/returns/HB-PSF-01_学校.csv\"\nencoding = \"utf-8\"",
                )
            });
            let t = read(d, SCHOOLS);
            let (bytes, _, _) = encoding_rs::GBK.encode(&t);
            write(d, SCHOOLS, bytes.as_ref());
            no_args()
        }),
        case("csv: binary garbage", 3, "", |d| {
            write(
                d,
                SCHOOLS,
                (0..4096u32)
                    .map(|i| (i * 7919 % 251) as u8)
                    .collect::<Vec<_>>(),
            );
            no_args()
        }),
        case("csv: 20 000 identical rows", 1, "", |d| {
            edit(d, SCHOOLS, |t| {
                let mut lines = t.lines();
                let header = lines.next().unwrap_or_default();
                let row = lines.next().unwrap_or_default();
                format!("{header}\n{}", format!("{row}\n").repeat(20_000))
            });
            no_args()
        }),
        case(
            "csv: 20 000 rows at one point, distinct names",
            1,
            "",
            |d| {
                edit(d, SCHOOLS, |t| {
                    let mut lines = t.lines();
                    let header = lines.next().unwrap_or_default();
                    let row = lines.next().unwrap_or_default().to_string();
                    let name_at = header_index(&t, "单位名称");
                    let rows: String = (0..20_000)
                        .map(|i| {
                            let mut cells: Vec<String> =
                                row.split(',').map(str::to_string).collect();
                            cells[name_at] =
                                format!("第{i}号学校{}", ['甲', '乙', '丙', '丁'][i % 4]);
                            cells.join(",") + "\n"
                        })
                        .collect();
                    format!("{header}\n{rows}")
                });
                no_args()
            },
        ),
    ];
    // One odd value in one cell, for several columns: a finding or a clean row, never a panic.
    let odd_values: [(&str, &str); 16] = [
        ("无", "no"),
        ("", "empty"),
        ("\u{200b}", "zero width space"),
        ("１２３", "full-width digits"),
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("-inf", "minus inf"),
        ("1e400", "1e400"),
        ("99999999999999999999999", "huge integer"),
        ("😀🏫", "emoji"),
        ("=HYPERLINK(\"x\")", "formula"),
        ("a\"b", "quote inside"),
        ("  ", "blanks"),
        ("-0", "minus zero"),
        ("6204021010010", "13 digits"),
        ("ǅ\u{301}", "combining marks"),
    ];
    for column in [
        "行政区划代码",
        "统一社会信用代码",
        "经度",
        "在校（园）学生数",
        "单位名称",
    ] {
        for (value, what) in odd_values {
            cases.push(case(format!("cell: {what} in {column}"), 1, "", move |d| {
                edit(d, SCHOOLS, |t| {
                    let at = header_index(&t, column);
                    set_cell(&t, 7, at, value)
                });
                no_args()
            }));
        }
    }
    cases
}

/// Cases on the pipeline file.
fn pipeline_cases() -> Vec<Case> {
    let replace = |name: &str, from: &'static str, to: &'static str, code: i32, message| {
        case(format!("pipeline: {name}"), code, message, move |d| {
            edit(d, PIPELINE, |t| {
                assert!(t.contains(from), "{from}");
                t.replacen(from, to, 1)
            });
            no_args()
        })
    };
    vec![
        replace(
            "impossible reference date",
            "2020-12-31",
            "2021-02-30",
            2,
            "reference_date",
        ),
        replace(
            "reference date 9999-99-99",
            "2020-12-31",
            "9999-99-99",
            2,
            "reference_date",
        ),
        replace(
            "reference date as a number",
            "\"2020-12-31\"",
            "20201231",
            2,
            "reference_date",
        ),
        replace(
            "NaN hazard",
            "\"620402\" = 0.15",
            "\"620402\" = nan",
            2,
            "hazard",
        ),
        replace(
            "infinite hazard",
            "\"620402\" = 0.15",
            "\"620402\" = inf",
            2,
            "hazard",
        ),
        replace(
            "negative hazard",
            "\"620402\" = 0.15",
            "\"620402\" = -0.15",
            2,
            "hazard",
        ),
        replace(
            "unknown key",
            "name = \"baiyin-2021\"",
            "name = \"baiyin-2021\"\ncolour = 1",
            2,
            "colour",
        ),
        replace("missing register", "[register]", "[registre]", 2, ""),
        replace(
            "batch_mib as text",
            "name = \"baiyin-2021\"",
            "name = \"baiyin-2021\"\nbatch_mib = \"x\"",
            2,
            "batch_mib",
        ),
        replace(
            "chunk_mib of zero",
            "name = \"baiyin-2021\"",
            "name = \"baiyin-2021\"\nchunk_mib = 0",
            2,
            "chunk_mib = 0",
        ),
        replace(
            "unknown encoding",
            "encoding = \"gbk\"",
            "encoding = \"latin1\"",
            2,
            "latin1",
        ),
        replace(
            "unknown CRS",
            "crs = \"EPSG:4490\"",
            "crs = \"EPSG:3857\"",
            2,
            "EPSG:3857",
        ),
        replace(
            "CRS gibberish",
            "crs = \"EPSG:4490\"",
            "crs = \"北京54\"",
            2,
            "CRS",
        ),
        replace(
            "register is a folder",
            "../sample_data/register/baiyin_divisions.csv",
            "../sample_data/register",
            2,
            "register",
        ),
        replace(
            "return is a folder",
            "../sample_data/returns/HB-PSF-01_学校.csv",
            "../sample_data/returns",
            2,
            "",
        ),
        replace(
            "missing return",
            "HB-PSF-01_学校.csv",
            "HB-PSF-01_无此文件.csv",
            2,
            "does not exist",
        ),
        replace(
            "unknown class",
            "class = \"HB-PSF-01\"",
            "class = \"HB-XXX-99\"",
            2,
            "HB-XXX-99",
        ),
        case("pipeline: unknown rule", 2, "no.such_rule", |d| {
            edit(d, PIPELINE, |t| {
                t + "\n[rules]\n\"no.such_rule\" = \"error\"\n"
            });
            no_args()
        }),
        case("pipeline: bad rule level", 2, "fatal", |d| {
            edit(d, PIPELINE, |t| t + "\n[rules]\n\"geo.zero\" = \"fatal\"\n");
            no_args()
        }),
        replace(
            "schemas missing",
            "schemas = \"../schemas\"",
            "schemas = \"../no-schemas\"",
            2,
            "schema",
        ),
        case("pipeline: not TOML", 2, "pipeline file", |d| {
            write(d, PIPELINE, "这不是 TOML [[[");
            no_args()
        }),
        case("pipeline: empty", 2, "pipeline file", |d| {
            write(d, PIPELINE, "");
            no_args()
        }),
        case("pipeline: no returns", 2, "", |d| {
            edit(d, PIPELINE, |t| {
                t.split("[[returns]]")
                    .next()
                    .unwrap_or_default()
                    .to_string()
            });
            no_args()
        }),
        case("pipeline: path in a symlink loop", 2, "", |d| {
            let loop_a = d.join("sample_data/loop_a");
            let loop_b = d.join("sample_data/loop_b");
            std::os::unix::fs::symlink(&loop_b, &loop_a).expect("link");
            std::os::unix::fs::symlink(&loop_a, &loop_b).expect("link");
            edit(d, PIPELINE, |t| {
                t.replace(
                    "../sample_data/register/baiyin_divisions.csv",
                    "../sample_data/loop_a",
                )
            });
            no_args()
        }),
    ]
}

/// Cases on the register, polygons and workbooks.
fn reference_cases() -> Vec<Case> {
    vec![
        case("register: duplicate code", 2, "duplicate", |d| {
            edit(d, REGISTER, |t| {
                let second = t.lines().nth(1).unwrap_or_default().to_string();
                format!("{t}{second}\n")
            });
            no_args()
        }),
        case("register: bad code", 2, "bad code12", |d| {
            edit(d, REGISTER, |t| {
                t.replacen("620402000000", "62040200000X", 1)
            });
            no_args()
        }),
        case("register: missing column", 2, "missing column", |d| {
            edit(d, REGISTER, |t| t.replacen("code12", "kode12", 1));
            no_args()
        }),
        case("register: empty", 2, "", |d| {
            write(d, REGISTER, "");
            no_args()
        }),
        case("register: GBK", 2, "UTF-8", |d| {
            let t = read(d, REGISTER);
            write(d, REGISTER, encoding_rs::GBK.encode(&t).0.as_ref());
            no_args()
        }),
        case("villages: empty collection", 2, "no polygons", |d| {
            write(d, VILLAGES, r#"{"type":"FeatureCollection","features":[]}"#);
            no_args()
        }),
        case("villages: malformed JSON", 2, "", |d| {
            edit(d, VILLAGES, |t| t[..t.len() / 2].to_string());
            no_args()
        }),
        case("villages: not UTF-8", 2, "UTF-8", |d| {
            write(d, VILLAGES, [0xFFu8, 0xFE, 0x00, 0x41]);
            no_args()
        }),
        case("villages: a point, not a polygon", 2, "", |d| {
            write(
                d,
                VILLAGES,
                r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"620402001001"},"geometry":{"type":"Point","coordinates":[104,36]}}]}"#,
            );
            no_args()
        }),
        case("villages: one polygon of 200 000 vertices", 1, "", |d| {
            edit(d, VILLAGES, |t| {
                let mut fc: serde_json::Value = serde_json::from_str(&t).expect("geojson");
                let ring = fc["features"][0]["geometry"]["coordinates"][0][0].clone();
                let points = ring.as_array().expect("ring");
                let (x, y) = (
                    points[0][0].as_f64().unwrap_or(104.0),
                    points[0][1].as_f64().unwrap_or(36.0),
                );
                let n = 200_000;
                let circle: Vec<serde_json::Value> = (0..=n)
                    .map(|i| {
                        let a = std::f64::consts::TAU * f64::from(i % n) / f64::from(n);
                        serde_json::json!([x + 0.01 * a.cos(), y + 0.01 * a.sin()])
                    })
                    .collect();
                fc["features"][0]["geometry"] =
                    serde_json::json!({"type": "Polygon", "coordinates": [circle]});
                fc.to_string()
            });
            no_args()
        }),
        case("counties: empty collection", 2, "no county", |d| {
            write(d, COUNTIES, r#"{"type":"FeatureCollection","features":[]}"#);
            no_args()
        }),
        case("counties: malformed", 2, "", |d| {
            write(d, COUNTIES, "{");
            no_args()
        }),
        case("counties: no adcode", 2, "adcode", |d| {
            edit(d, COUNTIES, |t| t.replace("adcode", "code"));
            no_args()
        }),
        case("excel: a CSV renamed .xlsx", 3, "spreadsheet", |d| {
            let csv = read(d, SCHOOLS);
            write(d, EXCEL, csv);
            no_args()
        }),
        case("excel: truncated zip", 3, "", |d| {
            let bytes = std::fs::read(d.join(EXCEL)).expect("xlsx");
            write(d, EXCEL, &bytes[..bytes.len() / 2]);
            no_args()
        }),
        case("excel: empty file", 3, "", |d| {
            write(d, EXCEL, "");
            no_args()
        }),
        case(
            "excel: zip bomb (one huge sheet part)",
            3,
            "inflates",
            |d| {
                write(d, EXCEL, zip_bomb());
                no_args()
            },
        ),
        case("excel: missing sheet", 3, "no sheet", |d| {
            edit(d, PIPELINE, |t| {
                t.replace(
                    "path = \"../sample_data/returns/HB-PSF-03_提供住宿的社会服务机构.xlsx\"",
                    "path = \"../sample_data/returns/HB-PSF-03_提供住宿的社会服务机构.xlsx\"\nsheet = \"不存在\"",
                )
            });
            no_args()
        }),
        case("gk return: 1e308 and NaN coordinates", 1, "", |d| {
            // The shelters as Gauss-Krüger zone 35 (EPSG:4523 takes x with its zone prefix):
            // every point is far off, and two cannot be projected at all.
            edit(d, PIPELINE, |t| {
                t.replace(
                    "path = \"../sample_data/returns/DR-GOV-10_应急避难场所_BOM.csv\"",
                    "path = \"../sample_data/returns/DR-GOV-10_应急避难场所_BOM.csv\"\ncrs = \"EPSG:4544\"",
                )
            });
            edit(d, SHELTERS, |t| {
                let x = header_index(&t, "经度");
                let t = set_cell(&t, 3, x, "1e308");
                set_cell(&t, 4, x, "NaN")
            });
            no_args()
        }),
    ]
}

const SCHEMA: &str = "schemas/classes/HB-PSF-01.toml";

/// Cases on a class schema: each breaks the schools schema in one way; all are exit 2 naming it.
fn schema_cases() -> Vec<Case> {
    let replace = |name: &str, from: &'static str, to: &'static str, message| {
        case(format!("schema: {name}"), 2, message, move |d| {
            edit(d, SCHEMA, |t| {
                assert!(t.contains(from), "{from}");
                t.replacen(from, to, 1)
            });
            no_args()
        })
    };
    vec![
        replace(
            "not TOML",
            "code = \"HB-PSF-01\"",
            "code = HB-PSF-01 [",
            "HB-PSF-01.toml",
        ),
        replace(
            "a field without id",
            "id = \"school_id\"",
            "ident = \"school_id\"",
            "ident",
        ),
        replace(
            "type as a number",
            "type = \"enum\"",
            "type = 5",
            "HB-PSF-01.toml",
        ),
        replace(
            "unknown type",
            "type = \"enum\"",
            "type = \"colour\"",
            "colour",
        ),
        replace(
            "unknown key",
            "en = \"School identifier\"",
            "en = \"School identifier\"\ncolour = 1",
            "colour",
        ),
        replace(
            "sourced without evidence",
            "evidence = \"S17 2024 学校（机构）更新表 form, row 03\"",
            "",
            "evidence",
        ),
        replace(
            "one id twice",
            "id = \"boarders\"",
            "id = \"students\"",
            "defined twice",
        ),
        replace(
            "a check naming no field",
            "total = \"students\"",
            "total = \"nope\"",
            "nope",
        ),
        replace(
            "an enum without codes",
            "codes = [\"公办\", \"民办\"]",
            "codes = []",
            "no codes",
        ),
        replace("min above max", "min = 0", "min = 10\nmax = 1", "above max"),
        replace("min NaN", "min = 0", "min = nan", "finite"),
        replace(
            "the code of another class",
            "code = \"HB-PSF-01\"",
            "code = \"HB-PSF-02\"",
            "HB-PSF-01",
        ),
        case("schema: empty file", 2, "HB-PSF-01.toml", |d| {
            write(d, SCHEMA, "");
            no_args()
        }),
        case("schema: common header missing", 2, "common.toml", |d| {
            std::fs::remove_file(d.join("schemas/common.toml")).expect("remove");
            no_args()
        }),
    ]
}

/// The sample's villages as an ESRI Shapefile (`v.shp`, `.shx`, `.dbf`, code field only), written
/// by the `shapefile` crate, and the pipeline pointed at it.
fn villages_as_shapefile(d: &Path) {
    use shapefile::dbase::{FieldValue, Record, TableWriterBuilder};
    let collection: geojson::FeatureCollection = read(d, VILLAGES).parse().expect("geojson");
    let table = TableWriterBuilder::new().add_character_field("code".try_into().expect("name"), 12);
    let mut writer =
        shapefile::Writer::from_path(d.join("sample_data/geometry/v.shp"), table).expect("shp");
    for feature in collection.features {
        let code = feature
            .property("code")
            .and_then(|c| c.as_str())
            .expect("code")
            .to_string();
        let geometry = geo_types::Geometry::<f64>::try_from(feature.geometry.expect("geometry"))
            .expect("geometry");
        let polygons = match geometry {
            geo_types::Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
            geo_types::Geometry::MultiPolygon(m) => m,
            other => panic!("{other:?}"),
        };
        let mut record = Record::default();
        record.insert("code".into(), FieldValue::Character(Some(code)));
        writer
            .write_shape_and_record(&shapefile::Polygon::from(polygons), &record)
            .expect("write");
    }
    drop(writer);
    edit(d, PIPELINE, |t| {
        t.replace("baiyin_villages.geojson", "v.shp")
    });
}

/// Rewrite one county's outline in the county layer.
fn set_county_outline(d: &Path, code: &str, ring: Vec<[f64; 2]>) {
    edit(d, COUNTIES, |t| {
        let mut fc: serde_json::Value = serde_json::from_str(&t).expect("geojson");
        for f in fc["features"].as_array_mut().expect("features") {
            if f["properties"]["adcode"] == code {
                f["geometry"] = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
            }
        }
        fc.to_string()
    });
}

/// A ring of `n` vertices around 白银区 (about 104.05–104.45 °E, 36.35–36.75 °N), each radius
/// jittered by up to `jitter` of it, so that simplification cannot drop them.
fn ring(n: usize, jitter: f64) -> Vec<[f64; 2]> {
    let mut ring: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            let r = 0.2 * (1.0 + jitter * ((i * 7919 % 101) as f64 / 101.0));
            [104.25 + r * a.cos(), 36.55 + r * a.sin()]
        })
        .collect();
    ring.push(ring[0]);
    ring
}

/// Cases on the polygon layers and the Excel form beyond their bytes: a Shapefile without its
/// parts, outlines that cross themselves or are huge, a million empty formatted rows.
fn layer_cases() -> Vec<Case> {
    vec![
        case("villages: Shapefile without .dbf", 2, "v.dbf", |d| {
            villages_as_shapefile(d);
            std::fs::remove_file(d.join("sample_data/geometry/v.dbf")).expect("remove");
            no_args()
        }),
        // The index is optional: the shapes are read in order without it.
        case("villages: Shapefile without .shx", 1, "", |d| {
            villages_as_shapefile(d);
            std::fs::remove_file(d.join("sample_data/geometry/v.shx")).expect("remove");
            no_args()
        }),
        case("villages: Shapefile cut short", 2, "v.shp", |d| {
            villages_as_shapefile(d);
            let path = d.join("sample_data/geometry/v.shp");
            let bytes = std::fs::read(&path).expect("shp");
            std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
            no_args()
        }),
        // Found by the layer property test: the geojson crate's conversion panicked on it.
        case(
            "villages: a position of one number",
            2,
            "fewer than 2 numbers",
            |d| {
                edit(d, VILLAGES, |t| {
                    let mut fc: serde_json::Value = serde_json::from_str(&t).expect("geojson");
                    fc["features"][3]["geometry"] = serde_json::json!({"type": "Polygon",
                    "coordinates": [[[104.1, 36.5], [104.2], [104.2, 36.6], [104.1, 36.5]]]});
                    fc.to_string()
                });
                no_args()
            },
        ),
        case("counties: an outline crossing itself", 1, "", |d| {
            // A bow tie over 白银区: repaired (geom.repaired), not silently wrong.
            set_county_outline(
                d,
                "620402",
                vec![
                    [104.0, 36.3],
                    [104.5, 36.8],
                    [104.5, 36.3],
                    [104.0, 36.8],
                    [104.0, 36.3],
                ],
            );
            no_args()
        }),
        case("counties: an outline of 1 000 000 vertices", 1, "", |d| {
            // Over the limit: simplified (a smooth circle needs few vertices).
            set_county_outline(d, "620402", ring(1_000_000, 0.0));
            no_args()
        }),
        case(
            "counties: an outline of 190 000 jagged vertices",
            1,
            "",
            |d| {
                // Under the limit, and too jagged to simplify: checked as it is.
                set_county_outline(d, "620402", ring(190_000, 0.002));
                no_args()
            },
        ),
        case("excel: 1 000 000 empty formatted rows", 1, "", |d| {
            write(
                d,
                EXCEL,
                with_empty_rows(&std::fs::read(d.join(EXCEL)).expect("xlsx")),
            );
            no_args()
        }),
    ]
}

/// The workbook with 1,000,000 formatted rows of empty cells after its data (as a template
/// formatted down to row 1,000,011 comes back), its dimension stretched to match.
fn with_empty_rows(workbook: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(workbook)).expect("zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    for i in 0..source.len() {
        let mut part = source.by_index(i).expect("part");
        let name = part.name().expect("part name").to_string();
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes).expect("read");
        if name == "xl/worksheets/sheet1.xml" {
            let text = String::from_utf8(bytes).expect("xml");
            let rows: String = (12..1_000_012)
                .map(|r| format!("<row r=\"{r}\" s=\"3\" customFormat=\"1\"><c r=\"A{r}\" s=\"3\"/><c r=\"AM{r}\" s=\"3\"/></row>"))
                .collect();
            assert!(text.contains("</sheetData>"), "sheet data");
            bytes = text
                .replacen("</sheetData>", &format!("{rows}</sheetData>"), 1)
                .replacen("A1:AM11", "A1:AM1000011", 1)
                .into_bytes();
        }
        out.start_file(name, options).expect("part");
        out.write_all(&bytes).expect("write");
    }
    out.finish().expect("zip").into_inner()
}

/// A workbook whose one part inflates to 300 MiB of zeros (a few hundred KiB zipped).
fn zip_bomb() -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("xl/worksheets/sheet1.xml", options)
        .expect("part");
    let zeros = vec![b'0'; 1 << 20];
    for _ in 0..300 {
        zip.write_all(&zeros).expect("write");
    }
    zip.finish().expect("zip").into_inner()
}

/// Cases on `--out`: folders that are not ours, links, leftovers of killed runs.
fn output_cases() -> Vec<Case> {
    let out_arg = |name: &str, target: &'static str, message: &'static str| {
        case(format!("out: {name}"), 2, message, move |_| {
            vec!["--out".into(), target.into()]
        })
    };
    let mut cases = vec![
        out_arg("the returns folder", "sample_data/returns", "input"),
        out_arg("the pipeline's folder", "pipelines", "input"),
        out_arg("the schema folder", "schemas", "input"),
        out_arg("inside the schema folder", "schemas/db", "schema folder"),
        out_arg("the register's folder", "sample_data/register", "input"),
        out_arg("the whole sample", "sample_data", "input"),
        out_arg("the current directory", ".", "current directory"),
        out_arg(
            "a return file",
            "sample_data/returns/HB-PSF-01_学校.csv",
            "input",
        ),
        case(
            "out: a folder of other files",
            2,
            "no riskcensus manifest",
            |d| {
                std::fs::create_dir_all(d.join("docs")).expect("dir");
                write(d, "docs/notes.txt", "mine");
                vec!["--out".into(), "docs".into()]
            },
        ),
        case("out: an existing file", 2, "is a file", |d| {
            write(d, "report.txt", "mine");
            vec!["--out".into(), "report.txt".into()]
        }),
        case(
            "out: an earlier database with a file of the user's",
            2,
            "not written by riskcensus",
            |d| {
                write(d, "out/baiyin-2021/my-notes.txt", "mine");
                no_args()
            },
        ),
        case("out: a link that leads nowhere", 2, "nowhere", |d| {
            std::os::unix::fs::symlink(d.join("missing"), d.join("dangling")).expect("link");
            vec!["--out".into(), "dangling".into()]
        }),
    ];
    // Accepted ones: the database goes where they say.
    cases.push(Case {
        out: "out/baiyin-2021",
        ..case("out: a link to the earlier database", 1, "", |d| {
            std::os::unix::fs::symlink(d.join("out/baiyin-2021"), d.join("current")).expect("link");
            vec!["--out".into(), "current".into()]
        })
    });
    cases.push(case("out: an empty folder", 1, "", |d| {
        std::fs::create_dir_all(d.join("empty")).expect("dir");
        vec!["--out".into(), "out/baiyin-2021".into()]
    }));
    cases.push(Case {
        // The leftovers beside the database are what the run puts back and removes.
        may_change: Some("out"),
        ..case(
            "out: a swap killed between its renames is rolled back",
            1,
            "put the previous database back",
            |d| {
                let db = d.join("out/baiyin-2021");
                std::fs::rename(&db, d.join("out/.baiyin-2021.old-999999999")).expect("move aside");
                std::fs::create_dir_all(d.join("out/.baiyin-2021.partial-999999998")).expect("dir");
                write(
                    d,
                    "out/.baiyin-2021.partial-999999998/.riskcensus-partial",
                    "",
                );
                no_args()
            },
        )
    });
    cases
}

fn all_cases() -> Vec<Case> {
    let mut cases = csv_cases();
    cases.extend(pipeline_cases());
    cases.extend(reference_cases());
    cases.extend(schema_cases());
    cases.extend(layer_cases());
    cases.extend(output_cases());
    cases
}

/// The sample's database, made once, copied into each case as the earlier database.
fn earlier_database() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("riskcensus-catalogue-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = dir.join("db");
        let status = riskcensus(&["run", PIPELINE, "-q", "--out", out.to_str().expect("utf-8")]);
        assert_eq!(
            status.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        out
    })
}

/// Every file below `dir` (links not followed), with a hash of its bytes, skipping `skip`.
fn snapshot(dir: &Path, skip: &Path) -> BTreeMap<PathBuf, u64> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        if folder == skip {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_symlink() => {
                    files.insert(path, 0);
                }
                _ => {
                    let mut hasher = std::collections::hash_map::DefaultHasher::new();
                    std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
                    files.insert(path, hasher.finish());
                }
            }
        }
    }
    files
}

/// What one case did.
struct Outcome {
    code: Option<i32>,
    seconds: f64,
    peak_kib: Option<u64>,
    problems: Vec<String>,
}

fn run_case(case: &Case, root: &Path) -> Outcome {
    let dir = root.join(format!("case-{:x}", {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        case.name.hash(&mut h);
        h.finish()
    }));
    for part in ["sample_data", "schemas", "pipelines"] {
        copy_tree(&repo().join(part), &dir.join(part));
    }
    copy_tree(earlier_database(), &dir.join("out/baiyin-2021"));
    let Ok(args) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.setup)(&dir)))
    else {
        return Outcome {
            code: None,
            seconds: 0.0,
            peak_kib: None,
            problems: vec!["its setup failed".into()],
        };
    };
    let out = dir.join(case.out);
    let before_out = snapshot(&out, Path::new(""));
    let may_change = dir.join(case.may_change.unwrap_or(case.out));
    let before_rest = snapshot(&dir, &may_change);
    let mut command = Command::new(env!("CARGO_BIN_EXE_riskcensus"));
    command
        .args(["run", PIPELINE])
        .args(&args)
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn");
    let stderr_reader = child.stderr.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut s, &mut text);
            text
        })
    });
    let mut problems = Vec::new();
    // The peak memory as the kernel keeps it (VmHWM), read while the run lives: the last
    // reading is at most 10 ms short of the end.
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = None;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|t| {
            let line = t.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        }) {
            peak_kib = Some(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > LIVENESS {
            let _ = child.kill();
            let _ = child.wait();
            problems.push(format!("not finished within {LIVENESS:?}"));
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let seconds = started.elapsed().as_secs_f64();
    let stderr = stderr_reader
        .and_then(|r| r.join().ok())
        .unwrap_or_default();
    let code = status.and_then(|s| s.code());
    if code == Some(101) || stderr.contains("panicked") {
        problems.push(format!("panicked: {stderr}"));
    }
    if code != Some(case.code) {
        problems.push(format!("exit {code:?}, expected {}: {stderr}", case.code));
    }
    if !stderr.contains(case.message) {
        problems.push(format!("message lacks `{}`: {stderr}", case.message));
    }
    if let Some(line) = stderr.lines().find(|l| l.starts_with("rows: read")) {
        let numbers: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        if numbers.len() < 3 || numbers[0] != numbers[1] + numbers[2] {
            problems.push(format!("unbalanced: {line}"));
        }
    }
    let after_rest = snapshot(&dir, &may_change);
    if after_rest != before_rest {
        let changed: Vec<_> = after_rest
            .iter()
            .filter(|(p, h)| before_rest.get(*p) != Some(h))
            .map(|(p, _)| p.display().to_string())
            .chain(
                before_rest
                    .keys()
                    .filter(|p| !after_rest.contains_key(*p))
                    .map(|p| format!("removed {}", p.display())),
            )
            .take(5)
            .collect();
        problems.push(format!("wrote outside the output folder: {changed:?}"));
    }
    match code {
        Some(0 | 1) => {
            let manifest: serde_json::Value = std::fs::read(out.join("manifest.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let totals = &manifest["totals"];
            let n = |k: &str| totals[k].as_u64().unwrap_or(u64::MAX);
            if n("rows_read") != n("accepted").wrapping_add(n("rejected")) {
                problems.push(format!("manifest totals unbalanced: {totals}"));
            }
        }
        _ => {
            if snapshot(&out, Path::new("")) != before_out {
                problems.push("the earlier database changed".into());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    Outcome {
        code,
        seconds,
        peak_kib,
        problems,
    }
}

#[test]
fn every_bad_input_gets_a_clear_answer_and_harms_nothing() {
    // `CATALOGUE_ONLY=<part of a name>` runs the matching cases alone (while working on them).
    let only = std::env::var("CATALOGUE_ONLY").ok();
    let cases: Vec<Case> = all_cases()
        .into_iter()
        .filter(|c| only.as_deref().is_none_or(|o| c.name.contains(o)))
        .collect();
    assert!(
        cases.len() >= 100 || only.is_some(),
        "{} cases",
        cases.len()
    );
    let root = tempfile::tempdir().expect("tempdir");
    earlier_database();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let outcome = run_case(case, root.path());
                results.lock().expect("lock").push((i, outcome));
            });
        }
    });
    let _ = std::fs::remove_dir_all(
        earlier_database()
            .parent()
            .unwrap_or(Path::new("/nonexistent")),
    );
    let mut results = results.into_inner().expect("lock");
    results.sort_by_key(|(i, _)| *i);
    let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, outcome) in &results {
        *by_code.entry(format!("{:?}", outcome.code)).or_default() += 1;
        for problem in &outcome.problems {
            failures.push(format!("{}: {problem}", cases[*i].name));
        }
    }
    let slowest = results
        .iter()
        .max_by(|a, b| a.1.seconds.total_cmp(&b.1.seconds))
        .map(|(i, o)| format!("{} ({:.1} s)", cases[*i].name, o.seconds))
        .unwrap_or_default();
    let peak = results
        .iter()
        .filter_map(|(i, o)| o.peak_kib.map(|k| (k, &cases[*i].name)))
        .max();
    eprintln!(
        "catalogue: {} cases; exits by code {by_code:?}; panics {}; over the liveness limit {}; slowest {slowest}; peak memory {}",
        cases.len(),
        failures.iter().filter(|f| f.contains("panicked")).count(),
        failures.iter().filter(|f| f.contains("not finished")).count(),
        peak.map_or("not measured".into(), |(k, name)| format!("{} MiB ({name})", k / 1024)),
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Twenty-four runs killed (SIGKILL) at moments spread over a run: after each, the folder holds
/// the earlier database unchanged — or, killed between the swap's two renames, the earlier
/// database waits beside it under its `.old-` name — and a run to the end afterwards puts
/// everything right: the database complete, nothing left over beside it.
#[test]
fn killed_runs_never_damage_the_database_and_the_next_run_cleans_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("db");
    let out_arg = out.to_str().expect("utf-8");
    let first = riskcensus(&["run", PIPELINE, "-q", "--out", out_arg]);
    assert_eq!(first.status.code(), Some(1));
    let before = std::fs::read(out.join("manifest.json")).expect("manifest");
    let started = Instant::now();
    let full = riskcensus(&["run", PIPELINE, "-q", "--out", out_arg]);
    assert_eq!(full.status.code(), Some(1));
    let run_ms = started.elapsed().as_millis() as u64;
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".db."))
            .collect()
    };
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for trial in 0..24u64 {
        // Moments from the start to past the end of a run, in a fixed scatter.
        let delay = (trial * 7919 % 24) * run_ms / 20;
        let mut child = Command::new(env!("CARGO_BIN_EXE_riskcensus"))
            .args(["run", PIPELINE, "-q", "--out", out_arg])
            .current_dir(repo())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let manifest = std::fs::read(out.join("manifest.json")).ok();
        let kind = if status.code().is_some() {
            "finished before the kill"
        } else if manifest.is_some() {
            "killed, database in place"
        } else {
            "killed between the renames"
        };
        *kinds.entry(kind).or_default() += 1;
        match manifest {
            Some(m) => assert_eq!(m, before, "trial {trial}: the database changed"),
            None => {
                let aside = leftovers()
                    .into_iter()
                    .find(|n| n.starts_with(".db.old-"))
                    .unwrap_or_else(|| panic!("trial {trial}: no database and none aside"));
                let m = std::fs::read(dir.path().join(aside).join("manifest.json")).expect("aside");
                assert_eq!(m, before, "trial {trial}");
            }
        }
    }
    let last = riskcensus(&["run", PIPELINE, "-q", "--out", out_arg]);
    assert_eq!(
        last.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert_eq!(
        std::fs::read(out.join("manifest.json")).expect("manifest"),
        before
    );
    assert_eq!(leftovers(), Vec::<String>::new());
    let manifest: serde_json::Value = serde_json::from_slice(&before).expect("json");
    for o in manifest["outputs"].as_array().expect("outputs") {
        assert!(out.join(o["path"].as_str().expect("path")).exists(), "{o}");
    }
    eprintln!("kill trials: {kinds:?} (a run takes {run_ms} ms)");
}

/// A disk that fills during the run (a 14 MiB tmpfs holding the 9 MiB earlier database: the
/// new one cannot fit beside it): exit 4 naming the file, the earlier database byte-identical,
/// no staging folder left. Needs root and a kernel that lets it mount; says so and passes where
/// it cannot mount (CI runs as root).
#[test]
fn a_full_disk_is_exit_4_and_leaves_the_earlier_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = dir.path().join("disk");
    std::fs::create_dir_all(&disk).expect("dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=14m", "tmpfs"])
        .arg(&disk)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)");
        return;
    }
    let out = disk.join("db");
    let out_arg = out.to_str().expect("utf-8");
    let first = riskcensus(&["run", PIPELINE, "-q", "--out", out_arg]);
    let before = snapshot(&out, Path::new(""));
    let second = riskcensus(&["run", PIPELINE, "-q", "--out", out_arg]);
    let after = snapshot(&out, Path::new(""));
    let left: Vec<String> = std::fs::read_dir(&disk)
        .expect("disk")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let _ = Command::new("umount").arg(&disk).status();
    assert_eq!(
        first.status.code(),
        Some(1),
        "the first run fits: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(4), "{stderr}");
    // As the OS says it, or SQLite when the disk fills inside a GeoPackage.
    assert!(
        stderr.contains("No space left on device") || stderr.contains("disk is full"),
        "{stderr}"
    );
    assert!(before == after, "the earlier database changed");
    assert_eq!(left, vec!["db".to_string()], "left beside the database");
}
