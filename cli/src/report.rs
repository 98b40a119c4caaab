//! `kinga report`: stream a JSON Lines batch through a report template.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use kinga_host::{Error, Format, render};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_BAD_INPUT, EXIT_OK, Global};

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// JSON following schemas/report.schema.json.
    Json,
    /// One CSV section per table.
    Csv,
    /// Markdown tables.
    Md,
}

/// Arguments of `kinga report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The template id (see `kinga plugins list`).
    pub template: String,
    /// The cases, one JSON object per line.
    #[arg(long, value_name = "FILE.jsonl")]
    pub cases: PathBuf,
    /// A template parameter, as NAME=VALUE (for example period=2026-Q3).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    pub params: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: FormatArg,
    /// Prepare the report for publication outside the programme: counts from
    /// 1 to --suppress-below − 1 are shown as "<N".
    #[arg(long)]
    pub publish: bool,
    /// The small-cell threshold used by --publish.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(2..))]
    pub suppress_below: u64,
    /// Leave invalid cases out (reporting how many) instead of refusing the
    /// whole report.
    #[arg(long)]
    pub skip_invalid: bool,
    /// The lines are a platform's own documents (--from, --profile).
    #[command(flatten)]
    pub read: super::convert::ReadArgs,
    /// Also print the report in DHIS2's terms: the `POST /api/dataValueSets`
    /// body of the template's data set for --param period=YYYY-Qn, from
    /// the outbound reports of the DHIS2 profile (--profile with --from
    /// dhis2, else the one in use). Prints JSON: the report and its
    /// delivery.
    #[arg(long, value_name = "dhis2", value_parser = parse_report_target, conflicts_with = "format")]
    pub to: Option<kinga_host::adapt::outbound::Target>,
}

fn parse_report_target(text: &str) -> Result<kinga_host::adapt::outbound::Target, String> {
    match text {
        "dhis2" => Ok(kinga_host::adapt::outbound::Target::Dhis2),
        _ => Err("reports go to DHIS2 only (dhis2): aggregate data value sets".into()),
    }
}

fn parse_param(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| "expected NAME=VALUE".to_owned())
}

/// Runs the command and returns its exit code.
pub fn run(global: &Global, args: &ReportArgs, errors: &ErrorPrinter) -> u8 {
    let host = match setup::host(global) {
        Ok(host) => host,
        Err(e) => return errors.fail(&e),
    };
    let profile = match super::convert::read_profile(global, &args.read) {
        Ok(profile) => profile,
        Err(e) => return super::convert::report_refusal(errors, "", &e),
    };
    let cases = match super::convert::case_stream(profile.as_ref(), &args.cases) {
        Ok(cases) => cases,
        Err(e) => return errors.fail(&e),
    };
    let mut run = match host.report(
        &args.template,
        &args.params,
        kinga_host::AsOf::now(kinga_host::EAST_AFRICA_TIME),
    ) {
        Ok(run) => run,
        Err(e) => return errors.fail(&e),
    };
    let mut skipped = 0u64;
    for line in cases {
        let line = match line {
            Ok(line) => line,
            Err(source) => {
                return errors.fail(&Error::Io {
                    path: args.cases.display().to_string(),
                    cause: source,
                });
            }
        };
        // A case the schema admits can still be one that cannot be counted
        // at the report's as-of (a birth after it, say): the run says so.
        let added = line.case.and_then(|case| run.add(&case));
        match added {
            Ok(()) => {}
            // A case the template's plugin cannot be given (a case 1.1
            // field for a plugin reading 1.0), or a platform record that
            // cannot be mapped, is left out like an invalid one, and named
            // by its line.
            Err(Error::InvalidCase(_) | Error::CaseVersion { .. } | Error::Mapping(_))
                if args.skip_invalid =>
            {
                skipped += 1;
                tracing::debug!(line = line.line, "invalid case skipped");
            }
            Err(e @ Error::Mapping(_)) => {
                let refused = super::convert::report_refusal(errors, &line.place, &e);
                eprintln!(
                    "kinga: nothing was reported (use --skip-invalid to leave such records out)"
                );
                return refused;
            }
            Err(e @ (Error::InvalidCase(_) | Error::CaseVersion { .. })) => {
                let message = format!(
                    "{}: {e}; nothing was reported (use --skip-invalid to leave such cases out)",
                    line.place
                );
                return errors.usage(&message);
            }
            Err(e) => return errors.fail(&e),
        }
    }
    let mut report = match run.finish() {
        Ok(report) => report,
        Err(e) => return errors.fail(&e),
    };
    if args.publish {
        report.suppress_small_cells(args.suppress_below);
    }
    if args.to.is_some() {
        let dhis2 = match (args.read.from, &profile) {
            (Some(kinga_host::adapt::Platform::Dhis2), Some(profile)) => Ok(profile.clone()),
            _ => super::convert::profile(global, kinga_host::adapt::Platform::Dhis2, None),
        };
        let period = args
            .params
            .iter()
            .find(|(name, _)| name == "period")
            .map_or("", |(_, value)| value.as_str());
        let delivery = dhis2.and_then(|profile| {
            profile
                .deliver_report(&report, period)
                .map_err(Error::Delivery)
        });
        match delivery {
            Ok(delivery) => setup::emit(
                &(serde_json::to_string_pretty(&serde_json::json!({
                    "report": report,
                    "delivery": delivery,
                }))
                .unwrap_or_default()
                    + "\n"),
            ),
            Err(e) => return super::convert::report_refusal(errors, "", &e),
        }
    } else {
        let format = match args.format {
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Md => Format::Markdown,
        };
        setup::emit(&render(&report, format));
    }
    if skipped > 0 {
        eprintln!("kinga: {skipped} invalid cases were left out of the report");
        return EXIT_BAD_INPUT;
    }
    EXIT_OK
}
