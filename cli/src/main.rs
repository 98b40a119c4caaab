//! The `kinga` command: evaluate, route and report on cases with the
//! plugins this workspace builds (or any plugin directory).

mod admin;
mod audit;
mod batch;
mod convert;
mod demo;
mod devkit;
mod keys;
mod outbox;
mod plugins;
mod profiles;
mod report;
mod scaffold;
mod serve;
mod setup;
mod synth;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Small allocations dominate mapping and reports; `mimalloc` makes them
/// cheaper than glibc's allocator (measured in docs/performance.md, "The
/// allocator"). The `kinga-host` library leaves the choice to its embedder.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code: everything succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: an evaluation failed (a plugin was stopped or misbehaved).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: bad usage or bad input.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Kinga runs a child-protection programme's eligibility checks, referral
/// routing and report templates as sandboxed WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "kinga", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Directory of plugin components (*.wasm). Default: the plugins this
    /// workspace builds.
    #[arg(long, global = true, value_name = "DIR")]
    pub plugins: Option<PathBuf>,
    /// Directory for compiled plugins. Default: $XDG_CACHE_HOME/kinga or
    /// ~/.cache/kinga.
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile plugins on every start instead of caching them.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Print errors on stderr as JSON objects instead of one readable line.
    #[arg(long, global = true)]
    pub json_errors: bool,
    /// Append a decision record of every plugin call to this hash-chained
    /// JSON Lines log (no case data: hashes, ids, codes).
    #[arg(long, global = true, value_name = "FILE", env = "KINGA_DECISION_LOG")]
    pub decision_log: Option<PathBuf>,
    /// The administration directory: plugin and rule switches, settings,
    /// and their audit trail. Default: $XDG_DATA_HOME/kinga or
    /// ~/.local/share/kinga.
    #[arg(long, global = true, value_name = "DIR", env = "KINGA_HOME")]
    pub home: Option<PathBuf>,
    /// The log key file that seals the decision log and the audit trail
    /// (created on first use). Default: log.key in the administration
    /// directory; better on a path the logs' writers cannot read.
    #[arg(long, global = true, value_name = "FILE", env = "KINGA_LOG_KEY_FILE")]
    pub log_key: Option<PathBuf>,
    /// The sandbox's fuel (about one per WebAssembly instruction) for one
    /// plugin call. Default 500000000.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub fuel: Option<u64>,
    /// The sandbox's wall-clock deadline for one plugin call, in
    /// milliseconds. Default 2000.
    #[arg(long, global = true, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub deadline_ms: Option<u64>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide which programme tracks a case (or each case of a batch) is
    /// eligible for.
    Eligibility(EvaluateArgs),
    /// Decide which services a case (or each case of a batch) must be
    /// referred to, how urgently, to whom.
    Route(EvaluateArgs),
    /// Build a report from a batch of cases.
    Report(report::ReportArgs),
    /// Inspect plugins; switch, sign, install, roll back and shadow-test them.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Publisher keys: generate one, trust one.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// List the rules, or switch one on or off.
    #[command(subcommand)]
    Rules(admin::RulesCommand),
    /// Show or change a plugin's settings.
    #[command(subcommand)]
    Settings(admin::SettingsCommand),
    /// Check a log's hash chain, or read the administration audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Re-run a recorded decision and say whether the outcome is identical.
    Replay(audit::ReplayArgs),
    /// Read a platform's own payload (Primero, Kenya CPIMS, DHIS2) through
    /// a mapping profile and print the canonical case.
    Convert(convert::ConvertArgs),
    /// Mapping profiles: which one each platform is read with; show, set
    /// (checked and audited) or reset one.
    #[command(subcommand)]
    Profiles(profiles::ProfilesCommand),
    /// Deliveries to Primero waiting or failed; replay failed ones.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Write synthetic canonical cases as JSON Lines (no real data, ever).
    Synth(synth::SynthArgs),
    /// Show Kinga at work: screen, route and report on a synthetic caseload.
    Demo(demo::DemoArgs),
    /// Make a new plugin crate: one example rule, its tests, a fixture.
    New(scaffold::NewArgs),
    /// What the host would say of a plugin at install time: contract,
    /// imports, description, settings schema, case fields, size.
    Check(devkit::CheckArgs),
    /// Run a plugin's fixtures through the real host and show a diff for
    /// each mismatch.
    Test(devkit::TestArgs),
    /// Run the JSON HTTP service case platforms call (see docs/deploy.md).
    Serve(serve::ServeArgs),
    /// Make an API token for `kinga serve` and print its configuration entry.
    Token(serve::TokenArgs),
}

/// Input and options of `eligibility` and `route`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["case", "cases"])))]
pub struct EvaluateArgs {
    /// One case, as a JSON file (canonical case 1.1). Prints a JSON array.
    #[arg(long, value_name = "FILE")]
    pub case: Option<PathBuf>,
    /// Many cases, one JSON object per line. Prints one JSON line per case;
    /// a bad case is reported on its line and never stops the batch.
    #[arg(long, value_name = "FILE.jsonl")]
    pub cases: Option<PathBuf>,
    /// The moment to evaluate as of: YYYY-MM-DD (start of that day, East
    /// Africa Time) or an RFC 3339 date-time with offset. Default: now.
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,
    /// Only this plugin (by id); repeat for several. Default: all of the kind.
    #[arg(long = "plugin", value_name = "ID")]
    pub only: Vec<String>,
    /// Include a trace of each plugin call (rules, settings, fuel, time).
    #[arg(long)]
    pub trace: bool,
    /// Explain one case rule by rule, in words: whether each rule fired and
    /// why, from the plugin's reasons (with --case only).
    #[arg(long, conflicts_with_all = ["cases", "trace"])]
    pub explain: bool,
    /// A platform's payload instead of canonical cases (--from, --profile).
    #[command(flatten)]
    pub source: convert::SourceArgs,
    /// Override a plugin setting for this run, as PLUGIN.KEY=VALUE (VALUE
    /// is JSON, or else taken as a string); checked against the plugin's
    /// settings schema. Repeat for several.
    #[arg(long = "set", value_name = "PLUGIN.KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String, serde_json::Value)>,
}

fn parse_setting(text: &str) -> Result<(String, String, serde_json::Value), String> {
    let (target, value) = text.split_once('=').ok_or("expected PLUGIN.KEY=VALUE")?;
    let (plugin, key) = target.split_once('.').ok_or("expected PLUGIN.KEY=VALUE")?;
    if plugin.is_empty() || key.is_empty() {
        return Err("expected PLUGIN.KEY=VALUE".into());
    }
    let value =
        serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
    Ok((plugin.to_owned(), key.to_owned(), value))
}

/// Parses the command line, runs the command, and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            });
        }
    };
    setup::init_logging(matches!(cli.command, Command::Serve(_)));
    let errors = setup::ErrorPrinter {
        json: cli.global.json_errors,
    };
    let code = match &cli.command {
        Command::Eligibility(args) => {
            batch::run(&cli.global, args, batch::Kind::Eligibility, &errors)
        }
        Command::Route(args) => batch::run(&cli.global, args, batch::Kind::Route, &errors),
        Command::Report(args) => report::run(&cli.global, args, &errors),
        Command::Plugins(command) => plugins::run(&cli.global, command, &errors),
        Command::Rules(command) => admin::rules(&cli.global, command, &errors),
        Command::Keys(command) => keys::run(&cli.global, command, &errors),
        Command::Settings(command) => admin::settings(&cli.global, command, &errors),
        Command::Synth(args) => synth::run(args, &errors),
        Command::Convert(args) => convert::run(&cli.global, args, &errors),
        Command::Profiles(command) => profiles::run(&cli.global, command, &errors),
        Command::Outbox(command) => outbox::run(&cli.global, command, &errors),
        Command::Audit(command) => audit::run(&cli.global, command, &errors),
        Command::Replay(args) => audit::replay(&cli.global, args, &errors),
        Command::Demo(args) => demo::run(&cli.global, args, &errors),
        Command::Serve(args) => serve::run(&cli.global, args, &errors),
        Command::New(args) => scaffold::run(&cli.global, args, &errors),
        Command::Check(args) => devkit::check(&cli.global, args, &errors),
        Command::Test(args) => devkit::test(&cli.global, args, &errors),
        Command::Token(args) => serve::token(args, &errors),
    };
    ExitCode::from(code)
}

fn main() -> std::process::ExitCode {
    no_core_dumps();
    run()
}

/// A core dump would hold whatever case data was in memory: never write one.
fn no_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid, initialised rlimit has no other
        // effect than lowering this process's core size limit.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
}
