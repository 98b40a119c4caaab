//! A deliberately misbehaving referral plugin for the host's containment
//! tests. It uses the raw `wit-bindgen` bindings, not the SDK, so that it can
//! return anything the contract's types allow. The `behaviour` setting picks
//! what `route` does:
//!
//! | behaviour | what it does |
//! |---|---|
//! | `none` | routes one valid referral |
//! | `loop` | loops for ever |
//! | `grow-memory` | allocates until memory runs out |
//! | `recurse` | recurses without end |
//! | `panic` | panics |
//! | `panic-when-closed` | panics on a case whose status is `closed`, answers otherwise |
//! | `bad-date` | returns a due time that is not a date-time |
//! | `bad-service` | returns a service id of the wrong form |
//! | `disabled-rule` | returns output from a rule that is switched off |
//! | `unknown-rule` | returns output from a rule it does not have |
//! | `huge-string` | returns a 4 MiB message |
//! | `many-items` | returns 12 000 reasons (over the item cap, under the byte cap) |
//! | `formula-text` | returns a message with a formula and control characters |
//! | `log-flood` | logs 20 000 lines, then routes normally |
//! | `refuse` | returns its own `invalid-case` error |

mod bindings {
    wit_bindgen::generate!({ path: "../../../wit", world: "referral-plugin" });
}

use bindings::exports::kinga::plugin::plugin::Guest as PluginGuest;
use bindings::exports::kinga::plugin::referral::{
    ConsentStatus, Guest as ReferralGuest, Referral, Urgency,
};
use bindings::kinga::plugin::log::{Level, log};
use bindings::kinga::plugin::types::{
    Context, ErrorKind, PluginError, PluginInfo, PluginKind, Reason, RuleInfo,
};

/// The component.
pub struct TestHostile;

impl PluginGuest for TestHostile {
    fn describe() -> PluginInfo {
        let rule = |id: &str, on: bool| RuleInfo {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            enabled_by_default: on,
        };
        PluginInfo {
            id: "test-hostile".into(),
            name: "Test hostile".into(),
            version: "0.1.0".into(),
            kind: PluginKind::Referral,
            purpose: "Misbehaves on purpose so the host's containment can be tested.".into(),
            rules: vec![rule("main", true), rule("dormant", false)],
            settings_schema:
                r#"{"type":"object","additionalProperties":false,"required":["behaviour"],
                "properties":{"behaviour":{"type":"string","maxLength":32}}}"#
                    .into(),
            default_settings: r#"{"behaviour":"none"}"#.into(),
            case_fields: vec!["/status".into()],
        }
    }
}

fn referral(rule: &str, service: &str, due: &str, message: String) -> Referral {
    Referral {
        rule: rule.into(),
        service: service.into(),
        urgency: Urgency::Routine,
        due: due.into(),
        provider: None,
        consent: ConsentStatus::NotRequired,
        reasons: vec![Reason {
            rule: rule.into(),
            code: "test".into(),
            message,
        }],
    }
}

// Recursion without end is the point of this function.
#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse(depth: u64, sink: &mut [u64; 64]) -> u64 {
    sink[(depth % 64) as usize] = depth;
    recurse(depth + 1, sink) + sink[3]
}

impl ReferralGuest for TestHostile {
    fn route(ctx: Context, case: String) -> Result<Vec<Referral>, PluginError> {
        let settings: serde_json::Value = serde_json::from_str(&ctx.settings).unwrap_or_default();
        let behaviour = settings["behaviour"].as_str().unwrap_or("none");
        let due = "2030-01-01T00:00:00+03:00";
        let ok = || referral("main", "care.psychosocial", due, "fine".into());
        match behaviour {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "grow-memory" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => {
                let mut sink = [0u64; 64];
                let n = recurse(0, std::hint::black_box(&mut sink));
                Ok(vec![referral(
                    "main",
                    "care.psychosocial",
                    due,
                    n.to_string(),
                )])
            }
            "panic" => panic!("deliberate panic"),
            // Answers correctly, after a while (about 400 million fuel).
            "slow" => {
                let mut n: u64 = 0;
                for _ in 0..50_000_000u32 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
                Ok(vec![referral(
                    "main",
                    "care.psychosocial",
                    due,
                    "slow".into(),
                )])
            }
            // A large answer (about 600 KB) that takes little computation.
            "big-answer" => {
                let message = "y".repeat(400);
                Ok((0..1000)
                    .map(|_| referral("main", "care.psychosocial", due, message.clone()))
                    .collect())
            }
            // Fails on some inputs only: a case that is closed.
            "panic-when-closed" => {
                let case: serde_json::Value = serde_json::from_str(&case).unwrap_or_default();
                if case["status"] == "closed" {
                    panic!("deliberate panic on a closed case");
                }
                Ok(vec![ok()])
            }
            "bad-date" => Ok(vec![referral(
                "main",
                "care.psychosocial",
                "2026-02-30T25:00:00",
                "bad date".into(),
            )]),
            "bad-service" => Ok(vec![referral(
                "main",
                "Health Care",
                due,
                "bad service".into(),
            )]),
            "disabled-rule" => Ok(vec![referral(
                "dormant",
                "care.psychosocial",
                due,
                "dormant".into(),
            )]),
            "unknown-rule" => Ok(vec![referral(
                "no-such-rule",
                "care.psychosocial",
                due,
                "unknown".into(),
            )]),
            "huge-string" => Ok(vec![referral(
                "main",
                "care.psychosocial",
                due,
                "x".repeat(4 << 20),
            )]),
            "many-items" => {
                let mut r = ok();
                r.reasons = (0..12_000)
                    .map(|_| Reason {
                        rule: "main".into(),
                        code: "x".into(),
                        message: String::new(),
                    })
                    .collect();
                Ok(vec![r])
            }
            "formula-text" => Ok(vec![referral(
                "main",
                "care.psychosocial",
                due,
                "=HYPERLINK(\"x\")\u{1b}[31m\u{202e}".into(),
            )]),
            "log-flood" => {
                for i in 0..20_000u32 {
                    log(Level::Info, &format!("line {i}\u{1b}[2J"));
                }
                Ok(vec![ok()])
            }
            "refuse" => Err(PluginError {
                kind: ErrorKind::InvalidCase,
                code: "test-refusal".into(),
                message: "refused on purpose".into(),
                pointer: Some("/status".into()),
            }),
            _ => Ok(vec![ok()]),
        }
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(TestHostile with_types_in bindings);
