//! One case, one outcome, whatever the machine's load: the host's work on a
//! plugin's behalf (its log lines) is charged in fuel, so a flood stops the
//! same way on every machine, and a stop that does depend on load (the
//! wall-clock deadline) is recorded as not reproducible, not as an outcome.

use kinga_artifacts::{KENYA_REFERRAL_PATHWAY, TEST_HOSTILE};
use serde_json::Value;

use crate::serve::server::AS_OF;
use crate::support::{kinga_at, plugin_dir, sample_case, stdout};

/// Routes the sample case with the hostile plugin doing `behaviour`, with
/// `extra` global options first; returns the printed answer.
fn route(
    home: &std::path::Path,
    plugins: &std::path::Path,
    extra: &[&str],
    behaviour: &str,
) -> Value {
    let case = home.join("case.json");
    std::fs::write(&case, sample_case().to_string()).unwrap();
    let setting = format!("test-hostile.behaviour={behaviour}");
    let mut args = vec!["--plugins", plugins.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&[
        "route",
        "--case",
        case.to_str().unwrap(),
        "--as-of",
        AS_OF,
        "--trace",
        "--set",
        &setting,
    ]);
    let out = kinga_at(home, &args);
    serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|_| panic!("{}", crate::support::stderr(&out)))
}

/// Routes twice with `fuel`: the hostile plugin doing `behaviour` is
/// stopped out of fuel both times, and the reference plugin still answers.
fn stopped_out_of_fuel_every_time(
    home: &std::path::Path,
    plugins: &std::path::Path,
    fuel: &str,
    behaviour: &str,
) {
    for _ in 0..2 {
        let stopped = route(home, plugins, &["--fuel", fuel], behaviour);
        let errors = stopped["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{stopped}");
        assert_eq!(errors[0]["plugin"], "test-hostile");
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("out of fuel"),
            "{stopped}"
        );
        assert!(
            stopped["referrals"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["plugin"] == "kenya-referral-pathway"),
            "{stopped}"
        );
    }
}

fn hostile_fuel(answer: &Value) -> Option<u64> {
    answer["trace"]
        .as_array()?
        .iter()
        .find(|call| call["plugin"] == "test-hostile")?["fuel_used"]
        .as_u64()
}

#[test]
fn log_lines_cost_fuel_so_a_flood_stops_the_same_way_everywhere() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    // 20 000 log calls, 100 kept: each costs its fuel, kept or dropped.
    let flood = route(home.path(), plugins.path(), &[], "log-flood");
    let fuel = hostile_fuel(&flood).expect("the flood still answers within the default fuel");
    assert!(
        fuel >= 20_000 * 10_000,
        "20 000 log calls cost only {fuel} fuel"
    );
    let quiet = hostile_fuel(&route(home.path(), plugins.path(), &[], "none")).unwrap();
    assert!(quiet < fuel / 100, "{quiet} vs {fuel}");

    // With less fuel than the flood needs it is stopped out of fuel, and
    // stopped the same way every time.
    stopped_out_of_fuel_every_time(home.path(), plugins.path(), "100000000", "log-flood");
}

#[test]
fn a_deadline_stop_is_recorded_as_not_reproducible_and_replay_says_so() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("decisions.jsonl");
    let log_arg = log.to_str().unwrap();
    let stopped = route(
        home.path(),
        plugins.path(),
        &[
            "--decision-log",
            log_arg,
            "--fuel",
            "1000000000000000",
            "--deadline-ms",
            "100",
        ],
        "loop",
    );
    assert!(
        stopped["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deadline"),
        "{stopped}"
    );
    let record: Value = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["plugin"] == "test-hostile")
        .expect("the stopped call is recorded");
    assert_eq!(record["outcome"]["result"], "not-reproducible", "{record}");

    let case = home.path().join("case.json");
    let replayed = kinga_at(
        home.path(),
        &[
            "--plugins",
            plugins.path().to_str().unwrap(),
            "--decision-log",
            log_arg,
            "replay",
            record["record_id"].as_str().unwrap(),
            "--case",
            case.to_str().unwrap(),
        ],
    );
    assert_eq!(replayed.status.code(), Some(1));
    let printed = stdout(&replayed);
    assert!(printed.starts_with("NOT REPRODUCIBLE"), "{printed}");
    assert!(printed.contains("\"reproducible\": false"), "{printed}");
}

#[test]
fn an_answer_costs_fuel_for_its_bytes_so_a_cheap_large_answer_is_not_free() {
    let plugins = plugin_dir(&[KENYA_REFERRAL_PATHWAY, TEST_HOSTILE]);
    let home = tempfile::tempdir().unwrap();
    // A thousand referrals with 400-byte reasons: little computation, an
    // answer of some 600 KB, charged 50 fuel a byte.
    let big = route(home.path(), plugins.path(), &[], "big-answer");
    let answer_bytes = serde_json::to_vec(
        &big["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["plugin"] == "test-hostile")
            .collect::<Vec<_>>(),
    )
    .unwrap()
    .len() as u64;
    assert!(answer_bytes > 500_000, "{answer_bytes}");
    let fuel = hostile_fuel(&big).expect("the answer fits the default fuel");
    assert!(
        fuel >= answer_bytes * 50,
        "an answer of {answer_bytes} bytes cost only {fuel} fuel"
    );

    // With less fuel than the answer costs, the call is stopped out of
    // fuel, every time, and the other plugin still answers.
    stopped_out_of_fuel_every_time(home.path(), plugins.path(), "20000000", "big-answer");
}
