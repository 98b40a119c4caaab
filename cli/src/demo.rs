//! `kinga demo`: the whole of Kinga on a synthetic caseload, for a person at
//! a terminal.

use std::collections::BTreeMap;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use kinga_host::devkit::Synth;
use kinga_host::{
    AsOf, Error, Format, Host, PluginKind, Referral, Status, Urgency, ValidCase, render,
};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// Arguments of `kinga demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many synthetic cases.
    #[arg(long, default_value_t = 5000)]
    pub count: u64,
    /// The seed of the synthetic caseload.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The moment to run the demo as of (default: now, East Africa Time).
    #[arg(long, value_name = "WHEN")]
    pub as_of: Option<String>,
}

/// Counts of one track's outcomes.
#[derive(Default)]
struct TrackCounts {
    eligible: u64,
    undetermined: u64,
    ineligible: u64,
}

/// Runs the demo and returns its exit code.
pub fn run(global: &Global, args: &DemoArgs, errors: &ErrorPrinter) -> u8 {
    match demo(global, args) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            errors.fail(&e);
            EXIT_FAILED
        }
    }
}

fn progress(len: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("  {msg:<28} [{bar:30}] {pos}/{len} ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

fn demo(global: &Global, args: &DemoArgs) -> Result<(), Error> {
    let as_of = setup::as_of(args.as_of.as_deref())?;
    let started = Instant::now();
    let host = setup::host(global)?;
    let mut out = String::new();
    out.push_str("\nKinga demo: Building a Future, Kwale and Kilifi (synthetic data only)\n\n");
    out.push_str(&format!(
        "Plugins loaded in {} ms:\n",
        started.elapsed().as_millis()
    ));
    for plugin in host.plugins() {
        let d = plugin.description();
        out.push_str(&format!(
            "  {:<32} {:<11} {}  ({} rules)\n",
            d.id,
            d.kind.as_str(),
            d.version,
            d.rules.len()
        ));
    }
    out.push_str(&format!(
        "As of {as_of}; {} synthetic cases, seed {}.\n",
        args.count, args.seed
    ));
    setup::emit(&out);

    let generating = progress(args.count, "generating cases");
    let cases: Vec<ValidCase> = Synth::new(args.seed, as_of)
        .take(usize::try_from(args.count).unwrap_or(usize::MAX))
        .map(|value| {
            generating.inc(1);
            ValidCase::from_value(value)
        })
        .collect::<Result<_, _>>()?;
    generating.finish_and_clear();

    let (tracks, screened_in) = screen(&host, &cases, as_of)?;
    let (referrals, routed_in) = route(&host, &cases, as_of)?;
    let mut out = eligibility_summary(&tracks, cases.len(), screened_in);
    out.push_str(&referral_summary(&referrals, routed_in));
    out.push_str(&report(&host, &cases, as_of)?);
    setup::emit(&out);
    Ok(())
}

fn screen(
    host: &Host,
    cases: &[ValidCase],
    as_of: AsOf,
) -> Result<(BTreeMap<String, TrackCounts>, f64), Error> {
    let bar = progress(cases.len() as u64, "screening eligibility");
    let started = Instant::now();
    let mut tracks: BTreeMap<String, TrackCounts> = BTreeMap::new();
    for case in cases {
        for decision in host.evaluate(case, as_of)? {
            let counts = tracks.entry(decision.track).or_default();
            match decision.status {
                Status::Eligible => counts.eligible += 1,
                Status::Undetermined => counts.undetermined += 1,
                Status::Ineligible => counts.ineligible += 1,
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((tracks, started.elapsed().as_secs_f64()))
}

fn route(
    host: &Host,
    cases: &[ValidCase],
    as_of: AsOf,
) -> Result<(Vec<(String, Referral)>, f64), Error> {
    let bar = progress(cases.len() as u64, "routing referrals");
    let started = Instant::now();
    let mut all = Vec::new();
    for case in cases {
        for referral in host.route(case, as_of)? {
            all.push((case.case_id().to_owned(), referral));
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((all, started.elapsed().as_secs_f64()))
}

fn eligibility_summary(
    tracks: &BTreeMap<String, TrackCounts>,
    cases: usize,
    seconds: f64,
) -> String {
    let mut out = format!("\nEligibility: {cases} cases screened in {seconds:.1} s\n");
    out.push_str(&format!(
        "  {:<22} {:>9} {:>13} {:>11}\n",
        "track", "eligible", "undetermined", "ineligible"
    ));
    for (track, c) in tracks {
        out.push_str(&format!(
            "  {:<22} {:>9} {:>13} {:>11}\n",
            track, c.eligible, c.undetermined, c.ineligible
        ));
    }
    out
}

fn urgency_label(urgency: Urgency) -> &'static str {
    match urgency {
        Urgency::Emergency => "emergency",
        Urgency::Within24h => "within-24h",
        Urgency::Within72h => "within-72h",
        Urgency::Routine => "routine",
    }
}

fn referral_summary(referrals: &[(String, Referral)], seconds: f64) -> String {
    let cases: std::collections::BTreeSet<&str> =
        referrals.iter().map(|(id, _)| id.as_str()).collect();
    let mut out = format!(
        "\nReferrals: {} for {} cases, routed in {seconds:.1} s\n",
        referrals.len(),
        cases.len()
    );
    let mut by_urgency: BTreeMap<Urgency, (u64, u64)> = BTreeMap::new();
    for (_, r) in referrals {
        let entry = by_urgency.entry(r.urgency).or_default();
        entry.0 += 1;
        if r.consent == kinga_host::ConsentStatus::Required {
            entry.1 += 1;
        }
    }
    out.push_str(&format!(
        "  {:<12} {:>9} {:>17}\n",
        "urgency", "referrals", "pending consent"
    ));
    for (urgency, (count, pending)) in &by_urgency {
        out.push_str(&format!(
            "  {:<12} {:>9} {:>17}\n",
            urgency_label(*urgency),
            count,
            pending
        ));
    }
    let mut urgent: Vec<&(String, Referral)> = referrals.iter().collect();
    urgent.sort_by(|a, b| (a.1.urgency, &a.1.due).cmp(&(b.1.urgency, &b.1.due)));
    out.push_str("\nThe five most urgent:\n");
    for (id, r) in urgent.iter().take(5) {
        let provider = r
            .provider
            .as_ref()
            .map(|p| p.name.as_str())
            .unwrap_or("no provider in the area");
        out.push_str(&format!(
            "  {id:<16} {:<11} due {}  {:<32} {provider}\n",
            urgency_label(r.urgency),
            r.due,
            r.service
        ));
    }
    out
}

fn report(host: &Host, cases: &[ValidCase], as_of: AsOf) -> Result<String, Error> {
    let date = as_of.date();
    let quarter = format!("{}-Q{}", date.year(), (date.month() as u8 - 1) / 3 + 1);
    let Some(_) = host
        .plugins()
        .find(|p| p.description().kind == PluginKind::Reporting)
    else {
        return Ok("\n(no reporting plugin loaded)\n".into());
    };
    let mut run = host.report(
        "baf-quarterly",
        &[("period".into(), quarter.clone())],
        as_of,
    )?;
    let bar = progress(cases.len() as u64, "building the report");
    for case in cases {
        run.add(case)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut report = run.finish()?;
    report.suppress_small_cells(5);
    Ok(format!(
        "\nReport baf-quarterly for {quarter}, as it would be published (counts of 1-4 shown as <5, and the counts that would give one away withheld):\n\n{}",
        render(&report, Format::Markdown)
    ))
}
