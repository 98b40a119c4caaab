//! Kinga's performance, measured side by side in one run and printed as one
//! table: `cargo bench -p kinga-host --bench performance`.
//!
//! 1. Isolated evaluation: each synthetic case (1-2 KiB of JSON) through the
//!    sandbox, a fresh store per case, against the same rule code compiled
//!    natively (case and settings parsed, as the guest does).
//! 2. Throughput with both cores busy, over a 100,000-case batch.
//! 3. Cold start: the three reference plugins with an empty and a warm
//!    artifact cache.
//! 4. Reports: `baf-quarterly` streamed over 100,000 and 1,000,000 cases
//!    by the `kinga` binary, with the peak resident memory of each run.
//! 5. The service: `POST /v1/eligibility` under `oha` on loopback.
//! 6. The platform adapters: mapping a Primero record against evaluating
//!    its case.
//!
//! `KINGA_BENCH_QUICK=1` runs a smaller version of each (for a smoke test);
//! `KINGA_BENCH_ONLY=1,3` runs only those sections; `KINGA_BENCH_CACHE=DIR`
//! keeps the compiled plugins between runs (for profiling).
//! The method and the latest figures are in `docs/performance.md`.

mod adapters;
mod measure;
mod native;
#[allow(dead_code, reason = "each includer uses part of it")]
#[path = "../../../tests/common/process.rs"]
mod process;
mod reports;
mod service;
mod table;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kinga_host::{AsOf, EAST_AFRICA_TIME, EvalOptions, Host, ValidCase};
use measure::Samples;
use serde_json::Value;
use table::{Row, Table};

/// The `kinga` binary's allocator, so that sections measured in process
/// (1, 2, 6) and through the binary (4, 5) use the same one.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The as-of every case is evaluated at.
const AS_OF: &str = "2026-09-30T17:00:00+03:00";

/// Sizes, full or quick.
struct Sizes {
    isolated: usize,
    batch: usize,
    reports: [u64; 2],
    service_seconds: u64,
}

fn sizes() -> Sizes {
    if std::env::var_os("KINGA_BENCH_QUICK").is_some() {
        Sizes {
            isolated: 300,
            batch: 5_000,
            reports: [10_000, 100_000],
            service_seconds: 3,
        }
    } else {
        Sizes {
            isolated: 3_000,
            batch: 100_000,
            reports: [100_000, 1_000_000],
            service_seconds: 15,
        }
    }
}

/// Whether section `n` runs: all of them, unless `KINGA_BENCH_ONLY` lists
/// some (`KINGA_BENCH_ONLY=1,5`).
fn wanted(n: u32) -> bool {
    std::env::var("KINGA_BENCH_ONLY").map_or(true, |only| {
        only.split(',').any(|s| s.trim() == n.to_string())
    })
}

fn as_of() -> AsOf {
    AsOf::parse(AS_OF, EAST_AFRICA_TIME).expect("a valid as-of")
}

/// Synthetic cases as a platform would send them: the canonical fields plus
/// the platform's own `extensions` (which no plugin reads), 1-2 KiB each.
pub fn cases(count: usize, seed: u64) -> Vec<String> {
    let mut synth = kinga_host::devkit::Synth::new(seed, as_of());
    (0..count)
        .map(|i| {
            let mut case = synth.case();
            case["extensions"] = serde_json::json!({
                "platform": "primero",
                "module_id": "primeromodule-cp",
                "record_state": true,
                "workflow": "case_plan",
                "owned_by_agency": "agency-kwale-01",
                "assigned_user_names": ["cw-0042", "cw-0107"],
                "flags": [],
                "case_plan": {"goals": 3, "reviewed_on": "2026-09-01", "next_review": "2026-10-01"},
                "audit": {"created_at": "2026-05-04T10:12:00+03:00", "updated_at": "2026-09-29T16:40:00+03:00", "sync": i},
                "notes_count": i % 7,
                "padding": "x".repeat(320),
            });
            case.to_string()
        })
        .collect()
}

fn host(cache: &Path) -> Host {
    let mut host = Host::builder()
        .cache_dir(cache)
        .build()
        .expect("the host builds");
    host.load_dir(kinga_artifacts::REFERENCE_PLUGINS_DIR)
        .expect("the reference plugins load");
    host
}

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(reports::MEASURE_PEAK) {
        reports::measure_peak(args);
    }
    let sizes = sizes();
    // KINGA_BENCH_CACHE keeps the artifact cache between runs (to profile
    // without compiling); by default each run starts empty, so that section
    // 3 measures a real cold start.
    let kept = std::env::var_os("KINGA_BENCH_CACHE").map(std::path::PathBuf::from);
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let cache = kept.as_deref().unwrap_or(temporary.path());
    let mut table = Table::default();

    // 3 first: the first load is the cold one.
    let cold = cold_start(cache);
    let host = Arc::new(host(cache));
    if wanted(1) {
        isolated(&host, &sizes, &mut table);
        recorded(cache, &host, &sizes, &mut table);
    }
    if wanted(2) {
        throughput(&host, &sizes, &mut table);
    }
    if wanted(3) {
        table.extend(cold);
    }
    if wanted(4) {
        reports::run(cache, &sizes.reports, &mut table);
    }
    if wanted(5) {
        service::run(cache, sizes.service_seconds, &mut table);
    }
    if wanted(6) {
        adapters::run(&host, sizes.isolated, as_of(), &mut table);
    }
    table.print(&machine());
}

/// Section 1: each case alone, sandboxed and native, median and p99.
fn isolated(host: &Host, sizes: &Sizes, table: &mut Table) {
    let texts = cases(sizes.isolated, 1);
    let bytes: usize = texts.iter().map(String::len).sum();
    let valid: Vec<ValidCase> = texts
        .iter()
        .map(|t| ValidCase::parse(t.as_bytes()).expect("synthetic cases are valid"))
        .collect();
    let as_of = as_of();
    let eligibility = EvalOptions::new(as_of).plugins(["building-a-future-eligibility"]);
    let referral = EvalOptions::new(as_of).plugins(["kenya-referral-pathway"]);
    // Warm up: first calls fault in the pooled memory.
    for case in valid.iter().take(50) {
        let _ = host.evaluate_with(case, &eligibility);
        let _ = host.route_with(case, &referral);
    }
    let validate = Samples::each(&texts, |text| {
        std::hint::black_box(ValidCase::parse(text.as_bytes()).is_ok());
    });
    table.push(Row::info(
        "1 isolated",
        &format!(
            "case validation (strict JSON, schema, dates), {} B mean",
            bytes / texts.len()
        ),
        validate.summary(),
    ));
    breakdown(host, &valid, table);
    for (name, options, rules) in [
        (
            "eligibility",
            &eligibility,
            native::eligibility as fn(&str) -> usize,
        ),
        ("referral", &referral, native::referral as fn(&str) -> usize),
    ] {
        let sandboxed = Samples::each(&valid, |case| {
            let n = match name {
                "eligibility" => host.evaluate_with(case, options).map(|e| e.outputs.len()),
                _ => host.route_with(case, options).map(|e| e.outputs.len()),
            };
            std::hint::black_box(n.expect("the reference plugins evaluate"));
        });
        let projected: Vec<String> = native::projected(host, name, &valid);
        let native = Samples::each(&projected, |text| {
            std::hint::black_box(rules(text));
        });
        let full = Samples::each(&texts, |text| {
            std::hint::black_box(rules(text));
        });
        table.push(Row::info(
            "1 isolated",
            &format!("{name}: sandboxed, fresh store per case"),
            sandboxed.summary(),
        ));
        table.push(Row::info(
            "1 isolated",
            &format!("{name}: native rules, the case it gets parsed"),
            native.summary(),
        ));
        table.push(Row::info(
            "1 isolated",
            &format!("{name}: native rules, the whole case parsed"),
            full.summary(),
        ));
        table.push(Row::target(
            "1 isolated",
            &format!("{name}: sandboxed / native (median)"),
            sandboxed.median().as_secs_f64() / native.median().as_secs_f64(),
            5.0,
            "x",
        ));
    }
}

/// What a decision log costs per call: a record sealed under the log key
/// and the head moved, against the same calls unrecorded, in one run.
fn recorded(cache: &Path, plain: &Host, sizes: &Sizes, table: &mut Table) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut logged = Host::builder()
        .cache_dir(cache)
        .decision_log(
            dir.path().join("decisions.jsonl"),
            kinga_host::records::LogKey::generate(),
        )
        .build()
        .expect("the host builds");
    logged
        .load_dir(kinga_artifacts::REFERENCE_PLUGINS_DIR)
        .expect("the reference plugins load");
    let valid: Vec<ValidCase> = cases(sizes.isolated, 2)
        .iter()
        .map(|t| ValidCase::parse(t.as_bytes()).expect("synthetic cases are valid"))
        .collect();
    let options = EvalOptions::new(as_of()).plugins(["building-a-future-eligibility"]);
    for case in valid.iter().take(50) {
        let _ = logged.evaluate_with(case, &options);
        let _ = plain.evaluate_with(case, &options);
    }
    let run = |host: &Host| {
        Samples::each(&valid, |case| {
            std::hint::black_box(host.evaluate_with(case, &options).expect("evaluates"));
        })
    };
    let without = run(plain);
    let with = run(&logged);
    table.push(Row::info(
        "1 isolated",
        "eligibility with a decision log (sealed record, head moved per call)",
        with.summary(),
    ));
    table.push(Row::info(
        "1 isolated",
        "eligibility: with a decision log / without (median)",
        format!(
            "{:.2} x",
            with.median().as_secs_f64() / without.median().as_secs_f64()
        ),
    ));
}

/// Where an eligibility call's time goes, host side: preparing the case
/// for the plugin, and making (and dropping) a fresh store.
fn breakdown(host: &Host, valid: &[ValidCase], table: &mut Table) {
    let fields = host
        .plugin("building-a-future-eligibility")
        .expect("loaded")
        .case_fields
        .clone();
    let prepare = Samples::each(valid, |case| {
        let projected = case.projected(&fields);
        let identifying = kinga_host::identifying_values(&projected);
        std::hint::black_box((kinga_host::canonical_json(&projected), identifying));
    });
    table.push(Row::info(
        "1 isolated",
        "eligibility, host side: project the case, find its identifying values, canonical JSON",
        prepare.summary(),
    ));
    let options = EvalOptions::new(as_of()).plugins(["building-a-future-eligibility"]);
    let answers: Vec<Value> = valid
        .iter()
        .map(|case| {
            serde_json::to_value(
                host.evaluate_with(case, &options)
                    .expect("evaluates")
                    .outputs,
            )
            .expect("JSON")
        })
        .collect();
    let check = Samples::each(&answers, |answer| {
        for decision in answer.as_array().into_iter().flatten() {
            std::hint::black_box(kinga_host::schemas::violations(
                kinga_host::schemas::decision(),
                decision,
                1,
            ));
        }
    });
    table.push(Row::info(
        "1 isolated",
        "eligibility, host side: the answer checked against decision.schema.json",
        check.summary(),
    ));
    let factory =
        kinga_host::fuzzing::StoreFactory::new(kinga_host::Limits::default()).expect("an engine");
    let stores = Samples::each(valid, |_| factory.make_and_drop());
    table.push(Row::info(
        "1 isolated",
        "a fresh store (limits, fuel, deadline, inert WASI context), made and dropped",
        stores.summary(),
    ));
}

/// Section 2: a 100,000-case batch on every core (validation, eligibility
/// and referral of each case).
fn throughput(host: &Arc<Host>, sizes: &Sizes, table: &mut Table) {
    let texts = Arc::new(cases(sizes.batch, 2));
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let as_of = as_of();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (host, texts, next) = (Arc::clone(host), Arc::clone(&texts), Arc::clone(&next));
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(text) = texts.get(i) else { break };
                    let case = ValidCase::parse(text.as_bytes()).expect("valid");
                    let decisions = host.evaluate(&case, as_of).expect("evaluates");
                    let referrals = host.route(&case, as_of).expect("routes");
                    std::hint::black_box((decisions, referrals));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a worker finishes");
    }
    let elapsed = started.elapsed();
    table.push(Row::value(
        "2 throughput",
        &format!(
            "{} cases, validated + screened + routed, {threads} threads",
            texts.len()
        ),
        texts.len() as f64 / elapsed.as_secs_f64(),
        "cases/s",
    ));
}

/// Section 3: loading the three reference plugins with an empty cache, then
/// a warm one (median of five).
fn cold_start(cache: &Path) -> Vec<Row> {
    let started = Instant::now();
    drop(host(cache));
    let cold = started.elapsed();
    let mut warm = Samples::default();
    for _ in 0..5 {
        let started = Instant::now();
        drop(std::hint::black_box(host(cache)));
        warm.push(started.elapsed());
    }
    vec![
        Row::value(
            "3 cold start",
            "three plugins, empty cache (compiling)",
            cold.as_secs_f64() * 1e3,
            "ms",
        ),
        Row::target(
            "3 cold start",
            "three plugins, warm cache (median of 5)",
            warm.median().as_secs_f64() * 1e3,
            30.0,
            "ms",
        ),
    ]
}

/// The machine, for the table's heading.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| format!("{} GiB", kb >> 20))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory}")
}
