//! `kinga synth`: synthetic cases as JSON Lines.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use kinga_host::devkit::{Synth, default_reference};
use kinga_host::{EAST_AFRICA_TIME, Error};

use super::setup::ErrorPrinter;
use super::{EXIT_FAILED, EXIT_OK};

/// Arguments of `kinga synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// How many cases.
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// The seed: the same seed gives the same cases.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The reference moment: nothing is dated after it. Default
    /// 2026-09-30T17:00:00+03:00.
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE.jsonl")]
    pub out: Option<PathBuf>,
}

/// Runs the command and returns its exit code.
pub fn run(args: &SynthArgs, errors: &ErrorPrinter) -> u8 {
    let reference = match &args.as_of {
        Some(text) => match kinga_host::AsOf::parse(text, EAST_AFRICA_TIME) {
            Ok(at) => at,
            Err(e) => return errors.fail(&e),
        },
        None => default_reference(),
    };
    let sink: Box<dyn Write> = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Box::new(file),
            Err(source) => {
                return errors.fail(&Error::Io {
                    path: path.display().to_string(),
                    cause: source,
                });
            }
        },
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(sink);
    for case in
        Synth::new(args.seed, reference).take(usize::try_from(args.count).unwrap_or(usize::MAX))
    {
        if writeln!(out, "{case}").is_err() {
            return if args.out.is_some() {
                EXIT_FAILED
            } else {
                EXIT_OK
            };
        }
    }
    match out.flush() {
        Ok(()) => EXIT_OK,
        Err(_) if args.out.is_none() => EXIT_OK,
        Err(source) => errors.fail(&Error::Io {
            path: format!("{:?}", args.out),
            cause: source,
        }),
    }
}
