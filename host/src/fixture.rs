//! Fixtures: a case (or cases and a report), the settings and switches to
//! run it with, and what the plugin must answer — the test format of
//! `kinga test` and of the reference plugins' `tests/cases/`.
//!
//! ```json
//! {
//!   "about": "what the fixture shows",
//!   "as_of": "2026-07-01T09:00:00+03:00",
//!   "settings": { "ec_window_hours": 72 },
//!   "disabled_rules": ["police"],
//!   "case": { ... },
//!   "expect": { "post-rape-care": { "urgency": "emergency" }, "police": null }
//! }
//! ```
//!
//! `expect` maps each track (eligibility) or rule (referral) to the
//! expected output, compared as a **subset** (only the members written are
//! checked; arrays element by element), or to `null` when that track or
//! rule must produce nothing. `{"error": {"type": ..., "pointer": ...}}`
//! expects the evaluation to fail. A report fixture has `"cases": [...]` and
//! `"report": {"template": ..., "params": {...}, "publish_below": 5}`, and
//! `expect` maps table ids to `{"rows": {"label / label": count}, "exact":
//! bool}`.
//!
//! `schemas/fixture.schema.json` is the format's one definition: a fixture
//! is checked against it, then deserialised.
//!
//! [`expectation`] writes what a plugin answered in this same form (codes,
//! not prose), which is what `kinga test --update` stores after review.
//!
//! Fixtures are run by `kinga test` (feature `devkit`, which also runs each
//! again with the whole case to catch undeclared reads), and by every
//! installation of a package that carries them (see
//! [`admin::own_fixtures`](crate::admin::own_fixtures)): a plugin's own
//! tests, signed with it, must pass in the sandbox before it is put in use.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::case::ValidCase;
use crate::case::asof::{AsOf, EAST_AFRICA_TIME};
use crate::error::Error;
use crate::runtime::host::{EvalOptions, Host};
use crate::runtime::plugin::PluginKind;

/// Largest fixture file read.
const MAX_FIXTURE_BYTES: usize = 64 << 20;

/// A fixture file that could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FixtureError {
    /// The file.
    pub path: String,
    /// What is wrong (with a pointer into the fixture where one applies).
    pub message: String,
}

/// One fixture, read and checked.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The file it came from.
    pub path: PathBuf,
    /// What it shows.
    pub about: String,
    /// The whole document (kept to rewrite `expect` in place).
    pub document: Map<String, Value>,
    /// The document as `schemas/fixture.schema.json` admits it.
    spec: Spec,
}

/// A fixture's members, deserialised after the schema check.
#[derive(Debug, Clone, serde::Deserialize)]
struct Spec {
    about: Option<String>,
    as_of: String,
    #[serde(default)]
    settings: Map<String, Value>,
    #[serde(default)]
    disabled_rules: Vec<String>,
    case: Option<Value>,
    #[serde(default)]
    cases: Vec<Value>,
    report: Option<ReportSpec>,
    expect: Map<String, Value>,
}

/// What report a report fixture builds.
#[derive(Debug, Clone, serde::Deserialize)]
struct ReportSpec {
    template: String,
    #[serde(default)]
    params: Map<String, Value>,
    publish_below: Option<u64>,
}

/// One difference between what was expected and what the plugin answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where, as a pointer into `expect` (`/education-support/status`).
    pub pointer: String,
    /// What the fixture expects (`null` for nothing).
    pub expected: Value,
    /// What the plugin answered (`null` for nothing).
    pub actual: Value,
}

/// The result of running one fixture.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Every mismatch (none: the fixture passes).
    pub mismatches: Vec<Mismatch>,
    /// What the plugin answered, in the form of `expect`.
    pub actual: Value,
}

impl Fixture {
    /// Reads a fixture file.
    ///
    /// # Errors
    /// Unreadable JSON, or a document that `schemas/fixture.schema.json`
    /// refuses (the first problem, with its pointer).
    pub fn read(path: &Path) -> Result<Fixture, FixtureError> {
        let text = crate::storage::read_regular_file(path, MAX_FIXTURE_BYTES).map_err(|e| {
            FixtureError {
                path: path.display().to_string(),
                message: e.to_string(),
            }
        })?;
        Fixture::from_bytes(path, &text)
    }

    /// Reads a fixture from its bytes; `path` names it (its stem is the
    /// fixture's name).
    ///
    /// # Errors
    /// As [`Fixture::read`].
    pub fn from_bytes(path: &Path, text: &[u8]) -> Result<Fixture, FixtureError> {
        let fail = |message: String| FixtureError {
            path: path.display().to_string(),
            message,
        };
        let value = crate::case::json::parse_strict(
            text,
            crate::case::json::JsonLimits {
                max_bytes: MAX_FIXTURE_BYTES,
                max_depth: 64,
            },
        )
        .map_err(|e| fail(format!("{}: {}", e.pointer, e.message)))?;
        if let Some(v) = crate::case::schema::violations(crate::case::schema::fixture(), &value, 1)
            .into_iter()
            .next()
        {
            let at = if v.pointer.is_empty() {
                "(document)"
            } else {
                &v.pointer
            };
            return Err(fail(format!("{at}: {}", v.message)));
        }
        let spec: Spec = serde_json::from_value(value.clone())
            .map_err(|_| fail("does not fit schemas/fixture.schema.json".into()))?;
        let Value::Object(document) = value else {
            return Err(fail("a fixture is a JSON object".into()));
        };
        Ok(Fixture {
            path: path.to_owned(),
            about: spec.about.clone().unwrap_or_default(),
            spec,
            document,
        })
    }

    /// Every `*.json` fixture in `dir`, sorted by name.
    ///
    /// # Errors
    /// An unreadable directory; each file's own problem is in its entry.
    pub fn read_dir(dir: &Path) -> Result<Vec<Result<Fixture, FixtureError>>, FixtureError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| FixtureError {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        Ok(files.iter().map(|f| Fixture::read(f)).collect())
    }

    /// The fixture's name (its file stem).
    pub fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Applies the fixture's settings and switched-off rules to `plugin` in
    /// `host` (a host of the fixture's own: this changes it).
    ///
    /// # Errors
    /// Settings outside the plugin's schema, an unknown rule.
    pub fn prepare(&self, host: &mut Host, plugin: &str) -> Result<(), Error> {
        if !self.spec.settings.is_empty() {
            host.set_settings(plugin, &self.spec.settings)?;
        }
        for rule in &self.spec.disabled_rules {
            host.set_rule_enabled(plugin, rule, false)?;
        }
        Ok(())
    }

    /// Runs the fixture against `plugin` in a host already [`prepare`]d.
    ///
    /// [`prepare`]: Fixture::prepare
    ///
    /// # Errors
    /// A fixture whose as-of or case does not validate, a report that
    /// fails; a plugin's failure is an outcome (compared with an expected
    /// `error`), not an error.
    pub fn run(&self, host: &Host, plugin: &str) -> Result<Outcome, Error> {
        self.run_with(host, plugin, false)
    }

    /// [`Fixture::run`], then the case again whole: an answer that changes
    /// reads a field the plugin did not declare (and so never gets), and
    /// fails the fixture at `/case_fields`.
    ///
    /// # Errors
    /// As [`Fixture::run`].
    #[cfg(feature = "devkit")]
    pub fn run_checking_reads(&self, host: &Host, plugin: &str) -> Result<Outcome, Error> {
        self.run_with(host, plugin, true)
    }

    #[cfg_attr(not(feature = "devkit"), allow(unused_variables))]
    fn run_with(&self, host: &Host, plugin: &str, check_reads: bool) -> Result<Outcome, Error> {
        let as_of = AsOf::parse(&self.spec.as_of, EAST_AFRICA_TIME)?;
        let expect = Value::Object(self.spec.expect.clone());
        let description = host
            .plugin(plugin)
            .ok_or_else(|| Error::UnknownPlugin(plugin.to_owned()))?;
        let kind = description.kind;
        // An expectation for a rule the plugin does not have can never fail
        // (a misspelt `"labour-officr": null` passes forever): it fails now.
        let mut mismatches: Vec<Mismatch> = match kind {
            PluginKind::Reporting => Vec::new(),
            _ => self
                .spec
                .expect
                .iter()
                .filter(|(key, _)| {
                    *key != "error" && !description.rules.iter().any(|r| r.id == **key)
                })
                .map(|(key, expected)| Mismatch {
                    pointer: format!("/{}", crate::case::json::escape_token(key)),
                    expected: expected.clone(),
                    actual: Value::String(format!(
                        "(no such rule: {plugin} has {})",
                        description
                            .rules
                            .iter()
                            .map(|r| r.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                })
                .collect(),
        };
        let actual = match kind {
            PluginKind::Reporting => self.report(host, as_of)?,
            _ => {
                let case = ValidCase::from_value(self.spec.case.clone().unwrap_or_default())
                    .map_err(Error::InvalidCase)?;
                let options = EvalOptions::new(as_of).plugins([plugin.to_owned()]);
                let answer = |options: &EvalOptions| match kind {
                    PluginKind::Eligibility => host
                        .evaluate_with(&case, options)
                        .map(|e| serde_json::to_value(e.outputs).unwrap_or_default()),
                    _ => host
                        .route_with(&case, options)
                        .map(|e| serde_json::to_value(e.outputs).unwrap_or_default()),
                };
                let outputs = answer(&options);
                #[cfg(feature = "devkit")]
                if check_reads
                    && let (Ok(declared), Ok(whole)) =
                        (&outputs, answer(&options.clone().whole_case(true)))
                    && *declared != whole
                {
                    mismatches.push(undeclared_read(&case, &description.case_fields));
                }
                match outputs {
                    Ok(outputs) => expectation(&outputs, &expect),
                    Err(e) => {
                        let report = serde_json::to_value(e.report()).unwrap_or_default();
                        let mut error = Map::new();
                        for key in ["type", "pointer", "plugin"] {
                            if let Some(v) = report.get(key).filter(|v| !v.is_null()) {
                                error.insert(key.into(), v.clone());
                            }
                        }
                        json!({ "error": error })
                    }
                }
            }
        };
        compare(&expect, &actual, kind, &mut mismatches);
        Ok(Outcome { mismatches, actual })
    }

    fn report(&self, host: &Host, as_of: AsOf) -> Result<Value, Error> {
        let Some(report) = &self.spec.report else {
            return Err(Error::UnknownTemplate("(the fixture names none)".into()));
        };
        let params: Vec<(String, String)> = report
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        let mut run = host.report(&report.template, &params, as_of)?;
        for case in &self.spec.cases {
            run.add(&ValidCase::from_value(case.clone()).map_err(Error::InvalidCase)?)?;
        }
        let mut out = run.finish()?;
        if let Some(below) = report.publish_below {
            out.suppress_small_cells(below);
        }
        let rendered = serde_json::to_value(&out).unwrap_or_default();
        let mut tables = Map::new();
        for table in rendered["tables"].as_array().into_iter().flatten() {
            let rows: Map<String, Value> = table["rows"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|row| {
                    let labels: Vec<&str> = row["labels"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    (labels.join(" / "), row["count"].clone())
                })
                .collect();
            let id = table["id"].as_str().unwrap_or_default().to_owned();
            tables.insert(id, json!({"rows": rows, "exact": true}));
        }
        Ok(Value::Object(tables))
    }

    /// Rewrites the file with `actual` as its `expect`, everything else as
    /// it was (after review: this is `kinga test --update`).
    ///
    /// # Errors
    /// I/O errors.
    pub fn update(&self, actual: &Value) -> std::io::Result<()> {
        let mut document = self.document.clone();
        document.insert("expect".into(), actual.clone());
        let text = serde_json::to_string_pretty(&Value::Object(document))
            .map_err(std::io::Error::other)?;
        crate::storage::write_atomically(&self.path, (text + "\n").as_bytes())
    }
}

/// What `outputs` (decisions or referrals, as JSON) say, in the form of
/// `expect`: per track or rule, the members that matter (codes, not
/// prose); `null` kept for keys `previous` expected to be silent and that
/// still are.
pub fn expectation(outputs: &Value, previous: &Value) -> Value {
    let mut expect = Map::new();
    for output in outputs.as_array().into_iter().flatten() {
        let Some(key) = output
            .get("track")
            .or_else(|| output.get("rule"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let mut kept = Map::new();
        for (name, value) in output.as_object().into_iter().flatten() {
            match name.as_str() {
                "plugin" | "plugin_version" | "track" | "rule" => {}
                "reasons" => {
                    let codes: Vec<Value> = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|r| json!({"code": r["code"]}))
                        .collect();
                    kept.insert(name.clone(), codes.into());
                }
                "provider" => {
                    kept.insert(name.clone(), json!({"id": value["id"]}));
                }
                _ => {
                    kept.insert(name.clone(), value.clone());
                }
            }
        }
        // A key that answered twice is kept as a list, so that an
        // expectation of one output shows the difference.
        match expect.get_mut(key) {
            None => {
                expect.insert(key.to_owned(), Value::Object(kept));
            }
            Some(Value::Array(many)) => many.push(Value::Object(kept)),
            Some(one) => *one = Value::Array(vec![one.take(), Value::Object(kept)]),
        }
    }
    for (key, value) in previous.as_object().into_iter().flatten() {
        if value.is_null() && !expect.contains_key(key) && key != "error" {
            expect.insert(key.clone(), Value::Null);
        }
    }
    Value::Object(expect)
}

/// Compares `expect` with `actual` (both in the `expect` form).
fn compare(expect: &Value, actual: &Value, kind: PluginKind, out: &mut Vec<Mismatch>) {
    let empty = Map::new();
    let expect = expect.as_object().unwrap_or(&empty);
    let actual_map = actual.as_object().unwrap_or(&empty);
    if expect.contains_key("error") || actual_map.contains_key("error") {
        subset(
            expect.get("error").unwrap_or(&Value::Null),
            actual_map.get("error").unwrap_or(&Value::Null),
            "/error",
            out,
        );
        return;
    }
    for (key, expected) in expect {
        let at = format!("/{}", crate::case::json::escape_token(key));
        let found = actual_map.get(key);
        match (kind, expected, found) {
            (PluginKind::Reporting, expected, found) => {
                compare_table(expected, found.unwrap_or(&Value::Null), &at, out)
            }
            (_, Value::Null, None) => {}
            (_, expected, found) => subset(expected, found.unwrap_or(&Value::Null), &at, out),
        }
    }
}

fn compare_table(expected: &Value, actual: &Value, at: &str, out: &mut Vec<Mismatch>) {
    let empty = Map::new();
    let rows = actual["rows"].as_object().unwrap_or(&empty);
    let wanted = expected["rows"].as_object().unwrap_or(&empty);
    for (labels, count) in wanted {
        let got = rows.get(labels).cloned().unwrap_or(Value::from(0));
        if &got != count {
            out.push(Mismatch {
                pointer: format!("{at}/rows/{}", crate::case::json::escape_token(labels)),
                expected: count.clone(),
                actual: got,
            });
        }
    }
    if expected["exact"] == Value::Bool(true) {
        for (labels, count) in rows.iter().filter(|(k, _)| !wanted.contains_key(*k)) {
            out.push(Mismatch {
                pointer: format!("{at}/rows/{}", crate::case::json::escape_token(labels)),
                expected: Value::Null,
                actual: count.clone(),
            });
        }
    }
}

/// Every member of `expected` must match in `actual`; arrays element by
/// element and in length.
fn subset(expected: &Value, actual: &Value, at: &str, out: &mut Vec<Mismatch>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let at = format!("{at}/{}", crate::case::json::escape_token(key));
                subset(value, a.get(key).unwrap_or(&Value::Null), &at, out);
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                subset(e, a, &format!("{at}/{i}"), out);
            }
        }
        (e, a) if e == a => {}
        (e, a) => out.push(Mismatch {
            pointer: at.to_owned(),
            expected: e.clone(),
            actual: a.clone(),
        }),
    }
}

/// The mismatch that reports an answer depending on undeclared fields,
/// naming the fields of `case` outside `declared`.
#[cfg(feature = "devkit")]
fn undeclared_read(case: &ValidCase, declared: &[String]) -> Mismatch {
    let mut outside = Vec::new();
    leaf_pointers(case.value(), String::new(), &mut outside);
    outside.retain(|p| {
        !declared
            .iter()
            .any(|d| p == d || p.starts_with(&format!("{d}/")))
    });
    outside.truncate(12);
    Mismatch {
        pointer: "/case_fields".into(),
        expected: Value::String(
            "the same answer whether the plugin gets its declared fields or the whole case".into(),
        ),
        actual: Value::String(format!(
            "a different answer with the whole case: the plugin reads a field it does not declare in case_fields, among {}",
            outside.join(", ")
        )),
    }
}

/// The JSON pointers of the members of `value` (arrays as one field).
#[cfg(feature = "devkit")]
fn leaf_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                leaf_pointers(
                    member,
                    format!("{at}/{}", crate::case::json::escape_token(key)),
                    out,
                );
            }
        }
        _ => out.push(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_checks_only_what_is_written() {
        let mut out = Vec::new();
        subset(
            &json!({"status": "eligible"}),
            &json!({"status": "eligible", "priority": 3}),
            "/t",
            &mut out,
        );
        assert!(out.is_empty());
        subset(
            &json!({"reasons": [{"code": "a"}]}),
            &json!({"reasons": [{"code": "a"}, {"code": "b"}]}),
            "/t",
            &mut out,
        );
        assert_eq!(out.len(), 1, "arrays must match in length");
        assert_eq!(out[0].pointer, "/t/reasons");
    }

    #[test]
    fn an_expectation_keeps_codes_and_silent_keys() {
        let outputs = json!([{"plugin": "p", "plugin_version": "1", "track": "t", "status": "eligible",
            "reasons": [{"rule": "t", "code": "c", "message": "prose"}], "missing": []}]);
        let expect = expectation(&outputs, &json!({"quiet": null, "t": {"status": "x"}}));
        assert_eq!(
            expect,
            json!({"t": {"status": "eligible", "reasons": [{"code": "c"}], "missing": []}, "quiet": null})
        );
    }
}
