//! `kinga convert` and the `--from` option: a platform's own payload read
//! through a mapping profile (`docs/adapters.md`).

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use kinga_host::adapt::outbound::Target;
use kinga_host::adapt::{MAX_DOCUMENT_BYTES, MappedLines, MappingRejection, Platform, Profile};
use kinga_host::admin::AdminError;
use kinga_host::{Error, ValidCase};

use super::setup::ErrorPrinter;
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Global};

/// Which platform's payload, and which profile reads it.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Read the platform's own payload instead of canonical cases:
    /// primero, cpims-crs, cpims-record or dhis2.
    #[arg(long, value_name = "PLATFORM", value_parser = parse_platform)]
    pub from: Option<Platform>,
    /// The mapping profile to read it with (a JSON file). Default: the
    /// profile in use (`kinga profiles`), else the one bundled for the
    /// platform.
    #[arg(long, value_name = "FILE.json", requires = "from")]
    pub profile: Option<PathBuf>,
}

/// Which platform's payload, which profile reads it, and where answers
/// go back.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The platform and the profile.
    #[command(flatten)]
    pub read: ReadArgs,
    /// Answer in the platform's own terms: the requests (Primero, DHIS2)
    /// or rows (CPIMS) that write the answers back to the record the case
    /// came from, and what the platform cannot hold.
    #[arg(long, value_name = "PLATFORM", requires = "from", value_parser = parse_target)]
    pub to: Option<Target>,
}

fn parse_target(text: &str) -> Result<Target, String> {
    Target::from_name(text).ok_or_else(|| {
        let names: Vec<_> = Target::ALL.iter().map(|t| t.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// Arguments of `kinga convert`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["case", "cases"])))]
pub struct ConvertArgs {
    /// The platform whose payload this is: primero, cpims-crs,
    /// cpims-record or dhis2.
    #[arg(long, value_name = "PLATFORM", value_parser = parse_platform)]
    pub from: Platform,
    /// The mapping profile (a JSON file). Default: the profile in use
    /// (`kinga profiles`), else the bundled one.
    #[arg(long, value_name = "FILE.json")]
    pub profile: Option<PathBuf>,
    /// One platform document (a case, a webhook body, a list page, a
    /// collection). Prints the canonical case, or one per line for a
    /// document holding several.
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Platform documents, one per line. Prints one canonical case per line.
    #[arg(long, value_name = "FILE.jsonl")]
    pub cases: Option<PathBuf>,
}

/// A platform by its command-line name.
pub fn parse_platform(text: &str) -> Result<Platform, String> {
    Platform::from_name(text).ok_or_else(|| {
        let names: Vec<_> = Platform::ALL.iter().map(|p| p.name()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

/// One record read from the input: where it was, and its case.
pub struct SourceRecord {
    /// `line 3, /data/2`: where the record was, for messages.
    pub place: String,
    /// The canonical case, or why there is none.
    pub case: Result<ValidCase, Error>,
}

/// The profile to read `platform` with: `--profile FILE`, else the one
/// the administration state names (`kinga profiles`), else the bundled one.
pub fn profile(global: &Global, platform: Platform, path: Option<&Path>) -> Result<Profile, Error> {
    let Some(path) = path else {
        let Ok(store) = super::setup::state_store(global) else {
            // No administration directory can be named: no state to read.
            return Ok(Profile::bundled(platform).clone());
        };
        return store
            .load()
            .and_then(|state| store.profile_in_use(&state, platform))
            .map(|in_use| in_use.profile)
            .map_err(|e| match e {
                AdminError::InvalidProfile(rejection) => Error::InvalidProfile(rejection),
                other => Error::InvalidState(format!("the profile in use for {platform}: {other}")),
            });
    };
    let bytes = kinga_host::read_regular_file(path, kinga_host::adapt::MAX_PROFILE_BYTES).map_err(
        |cause| Error::Io {
            path: path.display().to_string(),
            cause,
        },
    )?;
    Ok(Profile::parse_for(platform, &bytes)?)
}

/// With `--from`, the profile the platform's documents are read with.
pub fn read_profile(global: &Global, read: &ReadArgs) -> Result<Option<Profile>, Error> {
    read.from
        .map(|platform| profile(global, platform, read.profile.as_deref()))
        .transpose()
}

/// One case of a JSON Lines file: its line, where it was, and the case or
/// why there is none.
pub struct StreamedCase {
    /// The line's number.
    pub line: u64,
    /// `line 3` or `line 3, /data/2`.
    pub place: String,
    /// The case, or why there is none.
    pub case: Result<ValidCase, Error>,
}

/// The cases of a JSON Lines file, read as they are needed: canonical
/// cases, or with `--from` the records of platform documents mapped
/// through the profile.
pub fn case_stream<'a>(
    profile: Option<&'a Profile>,
    path: &Path,
) -> Result<Box<dyn Iterator<Item = std::io::Result<StreamedCase>> + 'a>, Error> {
    let file = std::fs::File::open(path).map_err(|cause| Error::Io {
        path: path.display().to_string(),
        cause,
    })?;
    let reader = BufReader::new(file);
    Ok(match profile {
        None => Box::new(kinga_host::CaseLines::new(reader).map(|line| {
            line.map(|line| StreamedCase {
                place: format!("line {}", line.line),
                line: line.line,
                case: line.case.map_err(Error::InvalidCase),
            })
        })),
        Some(profile) => Box::new(MappedLines::new(profile, reader).map(|record| {
            record.map(|record| StreamedCase {
                place: record.place(),
                line: record.line,
                case: record.case.map_err(Error::Mapping),
            })
        })),
    })
}

/// Every record of one document (`--case`) or of every line (`--cases`).
pub fn read_records(
    profile: &Profile,
    case: Option<&Path>,
    cases: Option<&Path>,
) -> Result<Vec<SourceRecord>, Error> {
    let mut records = Vec::new();
    if let Some(path) = case {
        let bytes = read_document(path)?;
        let mapped = profile.map_document(&bytes)?;
        for record in mapped {
            records.push(SourceRecord {
                place: record.pointer.clone(),
                case: record.case.map_err(Error::Mapping),
            });
        }
    }
    if let Some(path) = cases {
        let io = |cause| Error::Io {
            path: path.display().to_string(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        for record in MappedLines::new(profile, BufReader::new(file)) {
            let record = record.map_err(io)?;
            records.push(SourceRecord {
                place: record.place(),
                case: record.case.map_err(Error::Mapping),
            });
        }
    }
    Ok(records)
}

fn read_document(path: &Path) -> Result<Vec<u8>, Error> {
    kinga_host::read_regular_file(path, MAX_DOCUMENT_BYTES).map_err(|cause| Error::Io {
        path: path.display().to_string(),
        cause,
    })
}

/// Prints every problem of a refused record, profile or write-back: a
/// headline, then one line per problem (pointer and message), or a JSON
/// object with `problems`.
pub fn report_refusal(errors: &ErrorPrinter, place: &str, error: &Error) -> u8 {
    let (what, violations) = match error {
        Error::Mapping(MappingRejection { violations }) => {
            ("cannot map the platform's record", violations)
        }
        Error::InvalidProfile(rejection) => ("invalid mapping profile", &rejection.violations),
        Error::Delivery(refusal) => ("cannot write the answer back", &refusal.violations),
        _ => return errors.fail(error),
    };
    let headline = if place.is_empty() {
        what.to_owned()
    } else {
        format!("{what} at {place}")
    };
    let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
    if errors.json {
        let report = error.report();
        eprintln!(
            "{}",
            serde_json::json!({
                "type": report.kind,
                "message": headline,
                "pointer": report.pointer,
                "problems": violations,
            })
        );
        EXIT_BAD_INPUT
    } else {
        errors.usage_list(&headline, &problems)
    }
}

/// Runs `kinga convert`.
pub fn run(global: &Global, args: &ConvertArgs, errors: &ErrorPrinter) -> u8 {
    let profile = match profile(global, args.from, args.profile.as_deref()) {
        Ok(profile) => profile,
        Err(e) => return report_refusal(errors, "", &e),
    };
    let records = match read_records(&profile, args.case.as_deref(), args.cases.as_deref()) {
        Ok(records) => records,
        Err(e @ Error::Mapping(_)) => return report_refusal(errors, "", &e),
        Err(e) => return errors.fail(&e),
    };
    let one = args.case.is_some() && records.len() == 1;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut code = EXIT_OK;
    for record in &records {
        match &record.case {
            Ok(case) => {
                let text = if one {
                    serde_json::to_string_pretty(case.value()).unwrap_or_default()
                } else {
                    case.canonical_json()
                };
                if writeln!(out, "{text}").is_err() {
                    return EXIT_FAILED;
                }
            }
            Err(e) => {
                let _ = out.flush();
                code = report_refusal(errors, &record.place, e).max(code);
            }
        }
    }
    let _ = out.flush();
    code
}
