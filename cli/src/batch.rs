//! `kinga eligibility` and `kinga route`: one case, or a JSON Lines batch.

use std::io::{BufReader, Read, Write};

use kinga_host::CaseLines;
use kinga_host::adapt::outbound::{Answers, Target};
use kinga_host::adapt::{Platform, Profile};
use kinga_host::{Decision, Error, EvalOptions, Host, Referral, ValidCase};
use serde_json::{Value, json};

use super::convert;
use super::setup::{self, ErrorPrinter};
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EvaluateArgs, Global};

/// Which evaluation.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Eligibility decisions.
    Eligibility,
    /// Referrals.
    Route,
}

impl Kind {
    fn field(self) -> &'static str {
        match self {
            Kind::Eligibility => "decisions",
            Kind::Route => "referrals",
        }
    }
}

/// Runs the command and returns its exit code.
pub fn run(global: &Global, args: &EvaluateArgs, kind: Kind, errors: &ErrorPrinter) -> u8 {
    let as_of = match setup::as_of(args.as_of.as_deref()) {
        Ok(as_of) => as_of,
        Err(e) => return errors.fail(&e),
    };
    let mut options = EvalOptions::new(as_of)
        .trace(args.trace)
        .isolate_failures(true);
    if !args.only.is_empty() {
        options = options.plugins(args.only.iter().cloned());
    }
    if let Some(platform) = args.source.read.from {
        return from_platform(global, args, platform, kind, &options, errors);
    }
    if let Some(path) = &args.case {
        // The case is checked before any plugin is loaded: bad input never
        // reaches a plugin, and is reported at once.
        let case = match read_input(path)
            .and_then(|bytes| ValidCase::parse(&bytes).map_err(Error::from))
        {
            Ok(case) => case,
            Err(e) => return errors.fail(&e),
        };
        return match setup::host(global).and_then(|host| with_settings(host, args)) {
            Ok(host) if args.explain => explain(&host, &case, kind, &options, &args.only, errors),
            Ok(host) => single(&host, &case, kind, &options, None, errors),
            Err(e) => errors.fail(&e),
        };
    }
    let host = match setup::host(global).and_then(|host| with_settings(host, args)) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    match &args.cases {
        Some(path) => batch(&host, path, kind, &options, errors),
        None => errors.usage("give --case FILE or --cases FILE.jsonl"),
    }
}

/// `--from PLATFORM`: the platform's records mapped by the profile, then
/// evaluated. One record is answered as `--case` answers; several (a list
/// page, a collection, JSON Lines) one JSON line each, naming the record.
fn from_platform(
    global: &Global,
    args: &EvaluateArgs,
    platform: Platform,
    kind: Kind,
    options: &EvalOptions,
    errors: &ErrorPrinter,
) -> u8 {
    let profile = match convert::profile(global, platform, args.source.read.profile.as_deref()) {
        Ok(profile) => profile,
        Err(e) => return convert::report_refusal(errors, "", &e),
    };
    let records = match convert::read_records(&profile, args.case.as_deref(), args.cases.as_deref())
    {
        Ok(records) => records,
        Err(e @ Error::Mapping(_)) => return convert::report_refusal(errors, "", &e),
        Err(e) => return errors.fail(&e),
    };
    if let Some(to) = args.source.to
        && !to.writes_back(platform)
    {
        return errors.usage(&format!(
            "--to {} writes back to the record a case came from: give --from {}",
            to.name(),
            match to {
                Target::Primero => "primero",
                Target::Cpims => "cpims-record",
                Target::Dhis2 => "dhis2",
            }
        ));
    }
    let host = match setup::host(global).and_then(|host| with_settings(host, args)) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    let out = Out {
        profile: &profile,
        to: args.source.to,
    };
    if let ([record], Some(_)) = (records.as_slice(), &args.case) {
        return match &record.case {
            Ok(case) if args.explain => explain(&host, case, kind, options, &args.only, errors),
            Ok(case) => single(&host, case, kind, options, Some(out), errors),
            Err(e) => convert::report_refusal(errors, &record.place, e),
        };
    }
    let stdout = std::io::stdout();
    let mut writer = std::io::BufWriter::new(stdout.lock());
    let (mut bad_input, mut failed) = (0u64, 0u64);
    for record in &records {
        let line = match &record.case {
            Err(e) => {
                bad_input += 1;
                json!({ "record": record.place, "error": e.report(), "problems": problems(e) })
            }
            Ok(case) => match evaluate(&host, case, kind, options)
                .and_then(|answer| out.apply(answer, case, options))
            {
                Ok(answer) => {
                    if answer.failures.iter().any(|e| !e.is_bad_input()) {
                        failed += 1;
                    } else if !answer.failures.is_empty() {
                        bad_input += 1;
                    }
                    let mut line = json!({ "record": record.place, "case_id": case.case_id(), kind.field(): answer.outputs, "errors": answer.failure_reports() });
                    if let Some(delivery) = answer.delivery {
                        line["delivery"] = delivery;
                    }
                    line
                }
                Err(e) => {
                    if e.is_bad_input() {
                        bad_input += 1;
                    } else {
                        failed += 1;
                    }
                    json!({ "record": record.place, "case_id": case.case_id(), "error": e.report() })
                }
            },
        };
        if writeln!(writer, "{line}").is_err() {
            return EXIT_FAILED;
        }
    }
    let _ = writer.flush();
    summarise(records.len() as u64, bad_input, failed, "records", errors)
}

/// How answers for a platform's record are given: annotated with what to
/// collect, or (`--to`) as the platform's own requests or rows.
#[derive(Clone, Copy)]
struct Out<'a> {
    profile: &'a Profile,
    to: Option<Target>,
}

impl Out<'_> {
    /// The answer as it is printed.
    fn apply(
        self,
        mut answer: Answer,
        case: &ValidCase,
        options: &EvalOptions,
    ) -> Result<Answer, Error> {
        annotate(&mut answer.outputs, self.profile);
        let Some(to) = self.to else {
            return Ok(answer);
        };
        let answers = Answers {
            decisions: &answer.decisions,
            referrals: &answer.referrals,
            as_of: options.as_of,
        };
        let delivery = self
            .profile
            .deliver(to, case, answers)
            .map_err(Error::Delivery)?;
        answer.delivery = Some(serde_json::to_value(delivery).unwrap_or(Value::Null));
        Ok(answer)
    }
}

/// Every problem of a refused record, for its JSON line.
fn problems(error: &Error) -> Value {
    match error {
        Error::Mapping(rejection) => {
            serde_json::to_value(&rejection.violations).unwrap_or_default()
        }
        _ => Value::Array(Vec::new()),
    }
}

/// With `--from`: each answer that names missing fields also says where
/// the platform records them (`collect`), in the platform's own terms.
fn annotate(outputs: &mut Value, profile: &Profile) {
    let Some(items) = outputs.as_array_mut() else {
        return;
    };
    for item in items {
        let hints: Vec<Value> = item
            .get("missing")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|pointer| json!({ "pointer": pointer, "collect": profile.collect_hint(pointer) }))
            .collect();
        if !hints.is_empty() {
            item["collect"] = Value::Array(hints);
        }
    }
}

/// Applies the `--set` overrides, plugin by plugin.
fn with_settings(mut host: Host, args: &EvaluateArgs) -> Result<Host, Error> {
    let mut by_plugin: std::collections::BTreeMap<&str, serde_json::Map<String, Value>> =
        Default::default();
    for (plugin, key, value) in &args.settings {
        by_plugin
            .entry(plugin)
            .or_default()
            .insert(key.clone(), value.clone());
    }
    for (plugin, overrides) in by_plugin {
        host.set_settings(plugin, &overrides)?;
    }
    Ok(host)
}

/// One case evaluated: the outputs of the plugins that answered, the
/// trace when asked for, and the plugins that failed.
struct Answer {
    outputs: Value,
    trace: Option<Value>,
    failures: Vec<Error>,
    decisions: Vec<Decision>,
    referrals: Vec<Referral>,
    /// With `--to`: the platform's requests or rows for this answer.
    delivery: Option<Value>,
}

impl Answer {
    /// The failures as JSON, each naming its plugin and its class.
    fn failure_reports(&self) -> Value {
        let reports: Vec<_> = self.failures.iter().map(Error::report).collect();
        serde_json::to_value(reports).unwrap_or_default()
    }
}

/// Evaluates one case; a failing plugin costs only its own answer.
fn evaluate(
    host: &Host,
    case: &ValidCase,
    kind: Kind,
    options: &EvalOptions,
) -> Result<Answer, Error> {
    let mut answer = Answer {
        outputs: Value::Null,
        trace: None,
        failures: Vec::new(),
        decisions: Vec::new(),
        referrals: Vec::new(),
        delivery: None,
    };
    match kind {
        Kind::Eligibility => {
            let e = host.evaluate_with(case, options)?;
            answer.outputs = serde_json::to_value(&e.outputs).unwrap_or(Value::Null);
            answer.trace = e.trace.and_then(|t| serde_json::to_value(t).ok());
            answer.failures = e.failures;
            answer.decisions = e.outputs;
        }
        Kind::Route => {
            let e = host.route_with(case, options)?;
            answer.outputs = serde_json::to_value(&e.outputs).unwrap_or(Value::Null);
            answer.trace = e.trace.and_then(|t| serde_json::to_value(t).ok());
            answer.failures = e.failures;
            answer.referrals = e.outputs;
        }
    }
    Ok(answer)
}

/// Prints the answer for one case: the bare outputs when every plugin
/// answered without a trace, an object otherwise. Each failure is also
/// reported on standard error, and sets the exit code.
fn single(
    host: &Host,
    case: &ValidCase,
    kind: Kind,
    options: &EvalOptions,
    out: Option<Out<'_>>,
    errors: &ErrorPrinter,
) -> u8 {
    let answer = match evaluate(host, case, kind, options).and_then(|answer| match out {
        Some(out) => out.apply(answer, case, options),
        None => Ok(answer),
    }) {
        Ok(answer) => answer,
        Err(e) => return convert::report_refusal(errors, "", &e),
    };
    let printed =
        if answer.trace.is_none() && answer.failures.is_empty() && answer.delivery.is_none() {
            answer.outputs.clone()
        } else {
            let mut printed = json!({ kind.field(): answer.outputs });
            if let Some(delivery) = &answer.delivery {
                printed["delivery"] = delivery.clone();
            }
            if let Some(trace) = &answer.trace {
                printed["trace"] = trace.clone();
            }
            if !answer.failures.is_empty() {
                printed["errors"] = answer.failure_reports();
            }
            printed
        };
    setup::emit(&(serde_json::to_string_pretty(&printed).unwrap_or_default() + "\n"));
    let codes: Vec<u8> = answer.failures.iter().map(|e| errors.fail(e)).collect();
    if codes.contains(&EXIT_FAILED) {
        EXIT_FAILED
    } else {
        codes.first().copied().unwrap_or(EXIT_OK)
    }
}

fn batch(
    host: &Host,
    path: &std::path::Path,
    kind: Kind,
    options: &EvalOptions,
    errors: &ErrorPrinter,
) -> u8 {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(source) => {
            return errors.fail(&Error::Io {
                path: path.display().to_string(),
                cause: source,
            });
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut total, mut bad_input, mut failed) = (0u64, 0u64, 0u64);
    for line in CaseLines::new(BufReader::new(file)) {
        let line = match line {
            Ok(line) => line,
            Err(source) => {
                return errors.fail(&Error::Io {
                    path: path.display().to_string(),
                    cause: source,
                });
            }
        };
        total += 1;
        let record = match line.case {
            Err(rejection) => {
                bad_input += 1;
                json!({ "line": line.line, "error": Error::from(rejection).report() })
            }
            Ok(case) => match evaluate(host, &case, kind, options) {
                Ok(answer) => {
                    let mut record = json!({ "line": line.line, "case_id": case.case_id(), kind.field(): answer.outputs, "errors": answer.failure_reports() });
                    if let Some(trace) = answer.trace {
                        record["trace"] = trace;
                    }
                    if answer.failures.iter().any(|e| !e.is_bad_input()) {
                        failed += 1;
                    } else if !answer.failures.is_empty() {
                        bad_input += 1;
                    }
                    record
                }
                Err(e) => {
                    if e.is_bad_input() {
                        bad_input += 1;
                    } else {
                        failed += 1;
                    }
                    json!({ "line": line.line, "case_id": case.case_id(), "error": e.report() })
                }
            },
        };
        if writeln!(out, "{record}").is_err() {
            return EXIT_FAILED;
        }
    }
    let _ = out.flush();
    summarise(total, bad_input, failed, "cases", errors)
}

/// Reports how many of a batch's items were not evaluated by every plugin,
/// and returns the batch's exit code.
fn summarise(total: u64, bad_input: u64, failed: u64, items: &str, errors: &ErrorPrinter) -> u8 {
    if bad_input + failed > 0 {
        let message = format!(
            "{} of {total} {items} were not evaluated by every plugin ({bad_input} invalid, {failed} failed; see each line's errors)",
            bad_input + failed
        );
        if errors.json {
            eprintln!(
                "{}",
                json!({"type": "batch-summary", "message": message, "total": total, "invalid": bad_input, "failed": failed})
            );
        } else {
            eprintln!("kinga: {message}");
        }
    }
    if failed > 0 {
        EXIT_FAILED
    } else if bad_input > 0 {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }
}

/// Reads a case file, refusing one larger than any valid case, and saying
/// how large it really is (a regular file's length; a pipe's is unknown).
fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io {
        path: path.display().to_string(),
        cause: source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let length = file
        .metadata()
        .ok()
        .filter(std::fs::Metadata::is_file)
        .map(|m| m.len());
    let max = kinga_host::MAX_CASE_BYTES;
    let mut bytes = Vec::new();
    file.take(max as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > max {
        let size = length.map_or_else(|| "more than that".to_owned(), |n| format!("{n} bytes"));
        return Err(Error::InvalidCase(kinga_host::CaseRejection::one(
            "",
            format!("the case is {size}; the largest case is {max} bytes"),
        )));
    }
    Ok(bytes)
}

/// `--explain`: each rule of each plugin, whether it fired and why.
fn explain(
    host: &Host,
    case: &ValidCase,
    kind: Kind,
    options: &EvalOptions,
    only: &[String],
    errors: &ErrorPrinter,
) -> u8 {
    let explained = match kind {
        Kind::Eligibility => host
            .evaluate_with(case, options)
            .and_then(kinga_host::Evaluation::complete)
            .map(|outputs| kinga_host::devkit::explain_eligibility(host, &outputs, only)),
        Kind::Route => host
            .route_with(case, options)
            .and_then(kinga_host::Evaluation::complete)
            .map(|outputs| kinga_host::devkit::explain_referrals(host, &outputs, only)),
    };
    match explained {
        Ok(explained) => {
            setup::emit(&render_explanation(&explained, options));
            EXIT_OK
        }
        Err(e) => errors.fail(&e),
    }
}

fn render_explanation(
    explained: &[kinga_host::devkit::RuleExplanation],
    options: &EvalOptions,
) -> String {
    use kinga_host::devkit::Fired;
    let mut text = format!("as of {}\n", options.as_of.to_rfc3339());
    let mut plugin = "";
    for rule in explained {
        if rule.plugin != plugin {
            plugin = &rule.plugin;
            text.push_str(&format!("\n{plugin}\n"));
        }
        let outcome = |o: &Value| -> String {
            if let Some(status) = o.get("status").and_then(Value::as_str) {
                let priority = o
                    .get("priority")
                    .and_then(Value::as_i64)
                    .map(|p| format!(" (priority {p})"))
                    .unwrap_or_default();
                return format!("{}{priority}", status.to_uppercase());
            }
            let text = |k: &str| {
                o.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let provider = o
                .get("provider")
                .and_then(Value::as_str)
                .map(|p| format!(" to {p}"))
                .unwrap_or_else(|| " (no provider in the directory)".into());
            format!(
                "REFER {} {}, due {}{provider}; consent {}",
                text("service"),
                text("urgency"),
                text("due"),
                text("consent")
            )
        };
        let head = match rule.fired {
            Fired::Fired => rule
                .outcomes
                .iter()
                .map(outcome)
                .collect::<Vec<_>>()
                .join("; "),
            Fired::NotFired => "did not fire".to_owned(),
            Fired::RuleOff => "switched off by an administrator".to_owned(),
            Fired::PluginOff => "the plugin is switched off by an administrator".to_owned(),
        };
        text.push_str(&format!(
            "  {:<26} {}\n",
            rule.rule,
            setup::printable(&head)
        ));
        for reason in &rule.reasons {
            text.push_str(&format!(
                "      because {} [{}]\n",
                setup::printable(&reason.message),
                reason.code
            ));
        }
        if !rule.missing.is_empty() {
            text.push_str(&format!("      collect {}\n", rule.missing.join(", ")));
        }
        if rule.fired == Fired::NotFired {
            text.push_str(&format!(
                "      fires when: {}\n",
                setup::printable(&rule.fires_when)
            ));
        }
    }
    text
}
