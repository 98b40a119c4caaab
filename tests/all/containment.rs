//! Hostile plugins are stopped with a typed error; the host keeps serving.

use std::time::{Duration, Instant};

use kinga_artifacts::{TEST_ELIGIBILITY, TEST_HOSTILE};
use kinga_host::{Containment, Error, Host, Limits};
use serde_json::json;

use crate::support::{as_of, captured_log, host_with, host_with_limits, sample_case, valid};

fn behave(host: &mut Host, behaviour: &str) -> Result<Vec<kinga_host::Referral>, Error> {
    host.set_settings(
        "test-hostile",
        json!({"behaviour": behaviour}).as_object().unwrap(),
    )
    .unwrap();
    host.route(&valid(&sample_case()), as_of())
}

fn contained(result: Result<Vec<kinga_host::Referral>, Error>) -> Containment {
    match result {
        Err(Error::Contained { plugin, kind }) => {
            assert_eq!(plugin, "test-hostile");
            kind
        }
        other => panic!("expected containment, got {other:?}"),
    }
}

fn invalid_output(result: Result<Vec<kinga_host::Referral>, Error>) -> (String, String) {
    match result {
        Err(Error::InvalidOutput {
            plugin,
            pointer,
            message,
        }) => {
            assert_eq!(plugin, "test-hostile");
            (pointer, message)
        }
        other => panic!("expected invalid output, got {other:?}"),
    }
}

/// After any containment, the same host evaluates a well-behaved plugin.
fn still_serves(host: &Host) {
    let decisions = host
        .evaluate(&valid(&sample_case()), as_of())
        .expect("the next evaluation succeeds");
    assert_eq!(decisions.len(), 2);
}

#[test]
fn an_infinite_loop_is_stopped_by_its_deadline_and_the_host_keeps_serving() {
    let limits = Limits::default()
        .with_fuel(u64::MAX / 2)
        .with_deadline(Duration::from_millis(200));
    let mut host = host_with_limits(&[TEST_HOSTILE, TEST_ELIGIBILITY], limits);
    let started = Instant::now();
    assert_eq!(contained(behave(&mut host, "loop")), Containment::Deadline);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200),
        "stopped before its deadline: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "stopped long after its deadline: {elapsed:?}"
    );
    still_serves(&host);
    assert_eq!(
        behave(&mut host, "none").unwrap().len(),
        1,
        "the same plugin works again in a fresh store"
    );
}

#[test]
fn an_infinite_loop_runs_out_of_fuel_deterministically() {
    let limits = Limits::default()
        .with_fuel(5_000_000)
        .with_deadline(Duration::from_secs(60));
    let mut host = host_with_limits(&[TEST_HOSTILE, TEST_ELIGIBILITY], limits);
    assert_eq!(contained(behave(&mut host, "loop")), Containment::OutOfFuel);
    assert_eq!(contained(behave(&mut host, "loop")), Containment::OutOfFuel);
    still_serves(&host);
}

#[test]
fn unbounded_memory_growth_hits_the_cap() {
    let limits = Limits::default().with_memory_bytes(16 << 20);
    let mut host = host_with_limits(&[TEST_HOSTILE, TEST_ELIGIBILITY], limits);
    assert_eq!(
        contained(behave(&mut host, "grow-memory")),
        Containment::MemoryLimit
    );
    still_serves(&host);
}

#[test]
fn unbounded_recursion_is_a_stack_overflow_not_an_abort() {
    let mut host = host_with(&[TEST_HOSTILE, TEST_ELIGIBILITY]);
    assert_eq!(
        contained(behave(&mut host, "recurse")),
        Containment::StackOverflow
    );
    still_serves(&host);
}

#[test]
fn a_panic_is_a_trap() {
    let mut host = host_with(&[TEST_HOSTILE, TEST_ELIGIBILITY]);
    assert_eq!(
        contained(behave(&mut host, "panic")),
        Containment::Unreachable
    );
    still_serves(&host);
}

#[test]
fn malformed_dates_and_ids_are_refused_not_passed_on() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let (pointer, message) = invalid_output(behave(&mut host, "bad-date"));
    assert_eq!(pointer, "/0/due");
    assert!(
        message.contains("date-time") || message.contains("pattern"),
        "{message}"
    );
    let (pointer, _) = invalid_output(behave(&mut host, "bad-service"));
    assert_eq!(pointer, "/0/service");
}

#[test]
fn output_from_switched_off_or_unknown_rules_is_refused() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let (pointer, message) = invalid_output(behave(&mut host, "disabled-rule"));
    assert_eq!(pointer, "/0/rule");
    assert!(message.contains("switched off"), "{message}");
    let (_, message) = invalid_output(behave(&mut host, "unknown-rule"));
    assert!(message.contains("does not have"), "{message}");
}

#[test]
fn oversized_output_is_refused_while_it_is_copied_out() {
    let mut host = host_with(&[TEST_HOSTILE, TEST_ELIGIBILITY]);
    assert_eq!(
        contained(behave(&mut host, "huge-string")),
        Containment::OutputTooLarge
    );
    still_serves(&host);
}

#[test]
fn too_many_items_are_refused() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let (_, message) = invalid_output(behave(&mut host, "many-items"));
    assert!(message.contains("limit"), "{message}");
}

#[test]
fn text_with_control_characters_is_an_undeclared_code_and_never_repeated() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let (pointer, message) = invalid_output(behave(&mut host, "formula-text"));
    assert_eq!(pointer, "/0/reasons/0/code");
    assert!(!message.contains("HYPERLINK"), "{message:?}");
    assert!(
        !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
        "{message:?}"
    );
}

/// Each channel contract 0.2 closed, tried with a value from the case: the
/// answer is refused at the field that carried it, and the error repeats
/// nothing of it.
#[test]
fn every_closed_channel_refuses_a_case_value_at_its_field() {
    let mut host = host_with(&[TEST_HOSTILE]);
    for (behaviour, at) in [
        ("undeclared-reason", "/0/reasons/0/code"),
        ("undeclared-service", "/0/service"),
        ("foreign-provider", "/0/provider"),
        ("far-due", "/0/due"),
        ("undeclared-error", "/code"),
        ("error-pointer-elsewhere", "/pointer"),
    ] {
        let result = behave(&mut host, behaviour);
        let shown = format!("{result:?}");
        let (pointer, message) = invalid_output(result);
        assert_eq!(pointer, at, "{behaviour}: {message}");
        assert!(
            !shown.to_lowercase().contains("t-0001"),
            "{behaviour} leaked the case id: {shown}"
        );
    }
    // The declared refusal, with a pointer into the case, still crosses.
    assert!(matches!(
        behave(&mut host, "refuse"),
        Err(Error::PluginRefused { .. })
    ));
}

/// Every rendered text is the declaration's, rendered from the settings:
/// the message the host shows is the declared one, whatever the plugin
/// meant.
#[test]
fn a_reason_message_is_the_declared_one() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let referrals = behave(&mut host, "none").unwrap();
    let reason = &referrals[0].reasons[0];
    assert_eq!(reason.code, "test");
    assert_eq!(reason.message, "a test reason");
}

#[test]
fn a_log_flood_is_cut_to_the_per_call_budget_and_cleaned() {
    let mut host = host_with(&[TEST_HOSTILE]);
    let (referrals, log) = captured_log(|| behave(&mut host, "log-flood"));
    assert_eq!(referrals.unwrap().len(), 1);
    let forwarded = log.lines().filter(|l| l.contains("line ")).count();
    assert_eq!(forwarded, Limits::default().log_lines as usize);
    assert!(
        log.contains("plugin=\"test-hostile\"") || log.contains("plugin=test-hostile"),
        "{log}"
    );
    assert!(log.contains("dropped=19900"), "{log}");
    assert!(!log.contains('\u{1b}'), "control characters reach the log");
}

#[test]
fn a_plugin_refusal_is_typed_and_names_its_pointer() {
    let mut host = host_with(&[TEST_HOSTILE]);
    match behave(&mut host, "refuse") {
        Err(Error::PluginRefused {
            plugin,
            code,
            message,
            pointer,
            ..
        }) => {
            assert_eq!(plugin, "test-hostile");
            assert_eq!(code, "test-refusal");
            assert_eq!(message, "refused on purpose", "the declared message");
            assert_eq!(pointer.as_deref(), Some("/status"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pipe_or_a_device_named_wasm_is_refused_at_once_never_read() {
    // A FIFO would hang start-up until written to; /dev/zero would fill
    // memory. Both are refused by what they are, not by their name.
    for make in ["fifo", "device"] {
        let plugins = crate::support::plugin_dir(&[TEST_ELIGIBILITY]);
        let trap = plugins.path().join("zz-trap.wasm");
        match make {
            "fifo" => {
                let path = std::ffi::CString::new(trap.to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
            }
            _ => std::os::unix::fs::symlink("/dev/zero", &trap).unwrap(),
        }
        let started = Instant::now();
        let out = crate::support::kinga(&[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "plugins",
            "list",
        ]);
        let stderr = crate::support::stderr(&out);
        assert!(!out.status.success(), "{make}: {stderr}");
        assert!(
            stderr.contains("zz-trap.wasm") && stderr.contains("not a regular file"),
            "{make}: {stderr}"
        );
        assert!(started.elapsed() < Duration::from_secs(60), "{make}");
    }
}
