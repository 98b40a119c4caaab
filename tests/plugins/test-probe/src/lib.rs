//! An eligibility plugin that reports what it can see from inside the
//! sandbox, for the host's containment tests. The `probe` setting picks what
//! `evaluate` reports, in its last log line (answers carry declared codes
//! only):
//!
//! | probe | reports |
//! |---|---|
//! | `wasi` | environment variables and arguments, the wall and monotonic clocks, and a hash seeded by WASI random |
//! | `nan` | the bits of a NaN computed from one with a payload |
//! | `fields` | which case fields it received |
//! | `quadratic` | the sum of an `n`×`n` loop (long but finite work) |
//! | `echo` | repeats the case id in its finding (which the host must redact) |
//! | `echo-disguised` | logs the case id reversed, in hex, with zero-width characters and in full-width forms (which the host must withhold), then `disguised` |
//! | `log-pii` | logs the case id (which the host must redact) |
//! | `panic` | panics (the SDK's hook must log the message and location) |
//! | `undeclared` | answers by `/child/county`, which it does not declare (`kinga test` must say so) |

use std::hash::{BuildHasher, Hasher};

use kinga_plugin_sdk::*;
use serde::{Deserialize, Serialize};

/// The plugin.
pub struct TestProbe;

/// Its settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// What to probe.
    pub probe: String,
    /// Size of the `quadratic` work.
    pub n: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            probe: "wasi".into(),
            n: 10,
        }
    }
}

impl Plugin for TestProbe {
    type Settings = Settings;

    fn info() -> PluginInfo {
        PluginInfo {
            id: "test-probe".into(),
            name: "Test probe".into(),
            version: "0.1.0".into(),
            purpose: "Reports what a plugin can see from inside the sandbox, for the host's tests."
                .into(),
            rules: vec![RuleInfo::new(
                "probe",
                "Probe",
                "Reports what it sees, in a log line.",
                &[("probe", "probe {/probe} ran: its findings are in the log")],
            )],
            settings_schema:
                r#"{"type":"object","additionalProperties":false,"required":["probe","n"],
                "properties":{"probe":{"type":"string"},"n":{"type":"integer","minimum":0}}}"#
                    .into(),
            case_fields: vec!["/status".into(), "/child/sex".into()],
            errors: Vec::new(),
        }
    }
}

fn seen(case: &Case) -> String {
    let mut fields = vec!["case_id"];
    let present = [
        ("registered_on", case.registered_on.is_some()),
        ("status", case.status.is_some()),
        ("survivor_status", case.survivor_status.is_some()),
        ("education", case.education.is_some()),
        ("household", case.household.is_some()),
        ("incidents", case.incidents.is_some()),
        ("extensions", case.extensions.is_some()),
        (
            "child.sex",
            case.child.as_ref().is_some_and(|c| c.sex.is_some()),
        ),
        (
            "child.date_of_birth",
            case.child
                .as_ref()
                .is_some_and(|c| c.date_of_birth.is_some()),
        ),
        (
            "child.county",
            case.child.as_ref().is_some_and(|c| c.county.is_some()),
        ),
    ];
    fields.extend(present.iter().filter(|(_, p)| *p).map(|(name, _)| *name));
    fields.join(",")
}

fn wasi() -> String {
    let env = std::env::vars().count();
    let args = std::env::args().count();
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    let start = std::time::Instant::now();
    let monotonic = start.elapsed().as_nanos();
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(42);
    format!(
        "env={env} args={args} wall={wall} monotonic={monotonic} hash={:016x}",
        hasher.finish()
    )
}

impl EligibilityPlugin for TestProbe {
    fn evaluate(ctx: &Context<Settings>, case: &Case) -> Result<Vec<Decision>, PluginError> {
        let message = match ctx.settings.probe.as_str() {
            "wasi" => wasi(),
            "nan" => {
                let payload = f64::from_bits(0x7ff8_0000_0000_0abc);
                let computed = std::hint::black_box(payload) + std::hint::black_box(1.0);
                format!("nan={:016x}", computed.to_bits())
            }
            "fields" => format!("seen={}", seen(case)),
            "quadratic" => {
                let n = ctx.settings.n;
                let mut sum: u64 = 0;
                for i in 0..n {
                    for j in 0..n {
                        sum = std::hint::black_box(sum.wrapping_add(i ^ j));
                    }
                }
                format!("sum={sum}")
            }
            "echo" => format!("case {} looked at", case.case_id),
            "echo-disguised" => {
                let id = &case.case_id;
                let reversed: String = id.to_lowercase().chars().rev().collect();
                let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
                let hidden: String = id.chars().flat_map(|c| [c, '\u{200b}']).collect();
                let wide: String = id
                    .chars()
                    .map(|c| match c {
                        '0'..='9' | 'A'..='Z' => char::from_u32(c as u32 + 0xfee0).unwrap_or(c),
                        other => other,
                    })
                    .collect();
                for line in [reversed, hex, hidden, wide] {
                    log::info(&format!("case {line}"));
                }
                "disguised".into()
            }
            "panic" => panic!("deliberate panic in the probe"),
            "undeclared" => {
                // Reads a field it does not declare: never given it, so the
                // answer changes only when the whole case is (`kinga test`).
                let status = if case
                    .child
                    .as_ref()
                    .and_then(|c| c.county.as_ref())
                    .is_some()
                {
                    Status::Ineligible
                } else {
                    Status::Eligible
                };
                return Ok(vec![Decision {
                    track: "probe".into(),
                    status,
                    priority: None,
                    reasons: vec![Reason::new("probe", "probe")],
                    missing: vec![],
                }]);
            }
            "log-pii" => {
                log::info(&format!("looking at case {}", case.case_id));
                "logged".into()
            }
            other => format!("unknown probe {other}"),
        };
        // Answers carry declared codes only (contract 0.2): the findings
        // cross in a log line, which the host checks like any other.
        log::info(&message);
        Ok(vec![Decision {
            track: "probe".into(),
            status: Status::Eligible,
            priority: None,
            reasons: vec![Reason::new("probe", "probe")],
            missing: vec![],
        }])
    }
}

kinga_plugin_sdk::export_eligibility_plugin!(TestProbe, wit = "../../../wit");
