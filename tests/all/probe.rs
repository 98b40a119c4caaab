//! What a plugin can see and do from inside the sandbox: no environment,
//! frozen clocks, deterministic randomness and NaNs, only its declared
//! fields; and what it cannot get away with: echoing or logging case data,
//! unbounded work, starving other plugins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kinga_artifacts::{TEST_ELIGIBILITY, TEST_HOSTILE, TEST_PROBE};
use kinga_host::{Containment, Error, EvalOptions, Host, Limits};
use serde_json::json;

use crate::support::{
    as_of, assert_success, captured_log, host_with, host_with_limits, kinga_env, plugin_dir,
    sample_case, stderr, valid,
};

/// Runs `probe` and returns its finding (the text of its last log line)
/// with the whole captured log. Answers carry declared codes only, so the
/// finding crosses in a log line, which the host bounds and redacts.
fn probe_with_log(host: &mut Host, probe: &str, n: u64) -> (Result<String, Error>, String) {
    host.set_settings(
        "test-probe",
        json!({"probe": probe, "n": n}).as_object().unwrap(),
    )
    .unwrap();
    let (decisions, log) = captured_log(|| {
        host.evaluate_with(
            &valid(&sample_case()),
            &EvalOptions::new(as_of()).plugins(["test-probe"]),
        )
    });
    let result = decisions.map(|decisions| {
        let reason = &decisions.outputs[0].reasons[0];
        assert_eq!(reason.code, "probe");
        assert_eq!(
            reason.message,
            format!("probe {probe} ran: its findings are in the log")
        );
        finding(&log)
    });
    (result, log)
}

/// The text of the last line the probe logged (at INFO: the host's own
/// warnings about its log are not findings).
fn finding(log: &str) -> String {
    let line = log
        .lines()
        .rfind(|l| {
            l.contains("INFO")
                && l.contains("kinga::plugin:")
                && l.contains("plugin=\"test-probe\"")
        })
        .unwrap_or_else(|| panic!("the probe logged nothing: {log}"));
    let text = &line[line.find("kinga::plugin: ").unwrap() + "kinga::plugin: ".len()..];
    text.trim_end()
        .trim_end_matches("plugin=\"test-probe\"")
        .trim_end()
        .to_owned()
}

fn probe(host: &mut Host, probe: &str, n: u64) -> Result<String, Error> {
    probe_with_log(host, probe, n).0
}

#[test]
fn h18_h19_h20_environment_clocks_and_random_give_nothing_and_are_deterministic() {
    let mut host = host_with(&[TEST_PROBE]);
    let seen = probe(&mut host, "wasi", 0).unwrap();
    assert!(
        seen.starts_with("env=0 args=0 wall=0 monotonic=0 hash="),
        "{seen}"
    );
    assert_eq!(
        probe(&mut host, "wasi", 0).unwrap(),
        seen,
        "the same in the next call"
    );
    let mut other = host_with(&[TEST_PROBE]);
    assert_eq!(
        probe(&mut other, "wasi", 0).unwrap(),
        seen,
        "the same in another host"
    );
}

#[test]
fn h34_nans_are_canonical() {
    let mut host = host_with(&[TEST_PROBE]);
    assert_eq!(probe(&mut host, "nan", 0).unwrap(), "nan=7ff8000000000000");
}

#[test]
fn dp1_a_plugin_receives_only_the_fields_it_declared() {
    let mut host = host_with(&[TEST_PROBE]);
    let mut case = sample_case();
    case["household"] = json!({"caregiver": "parent", "monthly_income_kes": 5000});
    case["education"] = json!({"enrolled": true});
    host.set_settings(
        "test-probe",
        json!({"probe": "fields", "n": 0}).as_object().unwrap(),
    )
    .unwrap();
    let (decisions, log) = captured_log(|| host.evaluate(&valid(&case), as_of()));
    decisions.unwrap();
    assert_eq!(finding(&log), "seen=case_id,status,child.sex");
}

#[test]
fn h15_case_data_never_reaches_an_answer_and_is_redacted_in_the_log() {
    let mut host = host_with(&[TEST_PROBE]);
    let (result, log) = probe_with_log(&mut host, "echo", 0);
    // The answer carries the declared message, whatever the plugin wrote.
    assert_eq!(result.unwrap(), "case [redacted] looked at");
    assert!(!log.contains("T-0001"), "{log}");
}

#[test]
fn h15_a_case_id_in_disguise_is_withheld_from_the_log() {
    let mut host = host_with(&[TEST_PROBE]);
    let (result, log) = probe_with_log(&mut host, "echo-disguised", 0);
    assert_eq!(result.unwrap(), "disguised");
    assert!(
        !log.lines().any(|l| l.contains("kinga::plugin: case ")),
        "a disguised case id reached the log: {log}"
    );
    assert!(log.contains("withheld=4"), "{log}");
}

#[test]
fn h33_case_data_in_a_plugin_log_is_redacted() {
    let mut host = host_with(&[TEST_PROBE]);
    let (result, log) = probe_with_log(&mut host, "log-pii", 0);
    assert_eq!(result.unwrap(), "logged");
    assert!(log.contains("looking at case [redacted]"), "{log}");
    assert!(!log.contains("T-0001"), "{log}");
}

#[test]
fn h03_long_finite_work_is_cut_off_by_fuel_deterministically() {
    let limits = Limits::default()
        .with_fuel(20_000_000)
        .with_deadline(Duration::from_secs(60));
    let mut host = host_with_limits(&[TEST_PROBE], limits);
    for _ in 0..2 {
        match probe(&mut host, "quadratic", 20_000) {
            Err(Error::Contained { kind, .. }) => assert_eq!(kind, Containment::OutOfFuel),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(probe(&mut host, "quadratic", 100).unwrap(), "sum=597144");
    let fuel = |host: &mut Host| {
        host.evaluate_with(
            &valid(&sample_case()),
            &EvalOptions::new(as_of()).trace(true),
        )
        .unwrap()
        .trace
        .unwrap()[0]
            .fuel_used
    };
    assert_eq!(
        fuel(&mut host),
        fuel(&mut host),
        "the same work costs the same fuel"
    );
}

#[test]
fn h34_the_same_input_gives_byte_identical_output_across_processes() {
    let dir = plugin_dir(&[TEST_PROBE, TEST_ELIGIBILITY]);
    let case_dir = tempfile::tempdir().unwrap();
    let case = case_dir.path().join("case.json");
    std::fs::write(&case, sample_case().to_string()).unwrap();
    let run = || {
        let output = kinga_env(
            &[("KINGA_LOG", "kinga::plugin=info"), ("NO_COLOR", "1")],
            &[
                "--plugins",
                dir.path().to_str().unwrap(),
                "eligibility",
                "--case",
                case.to_str().unwrap(),
                "--as-of",
                "2026-07-01T09:00:00+03:00",
            ],
        );
        assert_success(&output);
        let seen = finding(&stderr(&output));
        (output.stdout, seen)
    };
    let (first, seen) = run();
    assert!(seen.contains("hash="), "{seen}");
    assert_eq!((first, seen), run());
}

#[test]
fn h32_many_slow_plugins_at_once_do_not_starve_a_well_behaved_one_and_the_breaker_trips() {
    // Each hostile call is a different input (its own as-of day): the
    // breaker counts distinct failing inputs, not repeats.
    let day = |thread: u32, call: u32| {
        kinga_host::AsOf::parse(
            &format!("2026-07-{:02}", 1 + thread * 3 + call),
            kinga_host::EAST_AFRICA_TIME,
        )
        .unwrap()
    };
    let limits = Limits::default()
        .with_fuel(u64::MAX / 4)
        .with_deadline(Duration::from_millis(250))
        .with_concurrency(4, 2)
        .with_breaker_threshold(5);
    let mut host = host_with_limits(&[TEST_HOSTILE, TEST_ELIGIBILITY], limits);
    host.set_settings(
        "test-hostile",
        json!({"behaviour": "loop"}).as_object().unwrap(),
    )
    .unwrap();
    let host = Arc::new(host);
    let hostile: Vec<_> = (0..6)
        .map(|thread| {
            let host = Arc::clone(&host);
            std::thread::spawn(move || {
                (0..3)
                    .map(|call| {
                        host.route(&valid(&sample_case()), day(thread, call))
                            .unwrap_err()
                    })
                    .collect::<Vec<Error>>()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(
            host.evaluate(&valid(&sample_case()), as_of())
                .unwrap()
                .len(),
            2
        );
        slowest = slowest.max(started.elapsed());
    }
    let errors: Vec<Error> = hostile
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert!(
        slowest < Duration::from_secs(2),
        "the well-behaved plugin waited {slowest:?}"
    );
    assert!(
        errors.iter().all(|e| matches!(
            e,
            Error::Contained {
                kind: Containment::Deadline,
                ..
            } | Error::SwitchedOff { .. }
        )),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, Error::SwitchedOff { .. })),
        "the breaker never tripped: {errors:?}"
    );
    let breaker = host
        .plugins()
        .find(|p| p.description().id == "test-hostile")
        .unwrap()
        .breaker();
    assert_eq!(breaker.state, kinga_host::BreakerState::Open);
    assert!(
        breaker.distinct_failures >= 5 && breaker.trips == 1,
        "{breaker:?}"
    );
    let started = Instant::now();
    assert!(matches!(
        host.route(&valid(&sample_case()), as_of()),
        Err(Error::SwitchedOff { .. })
    ));
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "a switched-off plugin costs nothing"
    );
    host.close_breaker("test-hostile").unwrap();
    assert!(
        matches!(
            host.route(&valid(&sample_case()), as_of()),
            Err(Error::Contained { .. })
        ),
        "back on"
    );
}

/// A panic in a plugin built with the SDK reaches the developer with its
/// message and location (the SDK's panic hook logs them through the
/// contract), through the binary; the answer is a contained failure.
#[test]
fn a_plugin_panic_shows_its_message_and_location() {
    let plugins = plugin_dir(&[TEST_PROBE]);
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case.json");
    std::fs::write(&case, sample_case().to_string()).unwrap();
    let out = kinga_env(
        &[("NO_COLOR", "1")],
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "eligibility",
            "--case",
            case.to_str().unwrap(),
            "--set",
            "test-probe.probe=panic",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let log = stderr(&out);
    assert!(log.contains("deliberate panic in the probe"), "{log}");
    assert!(
        log.contains("panicked at ") && log.contains("src/lib.rs:"),
        "{log}"
    );
}
