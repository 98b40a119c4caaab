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
//! | `big-answer` | returns 1 000 referrals with a long declared message (a cheap, large answer) |
//! | `huge-string` | returns a 4 MiB reason code |
//! | `many-items` | returns 12 000 reasons (over the item cap, under the byte cap) |
//! | `formula-text` | returns a reason code with a formula and control characters |
//! | `log-flood` | logs 20 000 lines, then routes normally |
//! | `refuse` | returns its declared `invalid-case` error, pointing at `/status` |
//! | `undeclared-reason` | gives a reason code its rule did not declare, made of the case id |
//! | `undeclared-service` | names a service its rule did not declare, made of the case id |
//! | `foreign-provider` | names a provider the settings do not hold, called by the case id |
//! | `far-due` | is due in the year 9999 |
//! | `undeclared-error` | refuses with an undeclared error code, the case id |
//! | `error-pointer-elsewhere` | refuses with its declared code and a pointer spelling the case id |

mod bindings {
    // Built against the frozen 0.2.0 contract: the host must go on loading
    // plugins built before the settings check (0.2.1) existed.
    wit_bindgen::generate!({ path: "../../contract/wit-0.2.0", world: "referral-plugin" });
}

use bindings::exports::kinga::plugin::plugin::Guest as PluginGuest;
use bindings::exports::kinga::plugin::referral::{
    ConsentStatus, Guest as ReferralGuest, Provider, Referral, Urgency,
};
use bindings::kinga::plugin::log::{Level, log};
use bindings::kinga::plugin::types::{
    Context, ErrorInfo, ErrorKind, PluginError, PluginInfo, PluginKind, Reason, ReasonInfo,
    RuleInfo,
};

/// The component.
pub struct TestHostile;

impl PluginGuest for TestHostile {
    fn describe() -> PluginInfo {
        let reason = |code: &str, message: String| ReasonInfo {
            code: code.into(),
            message,
        };
        let rule = |id: &str, on: bool| RuleInfo {
            id: id.into(),
            title: id.into(),
            description: String::new(),
            enabled_by_default: on,
            reasons: vec![
                reason("test", "a test reason".into()),
                reason("x", "x".into()),
                reason("big", "y".repeat(290)),
            ],
            services: vec!["care.psychosocial".into()],
            priorities: None,
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
            errors: vec![ErrorInfo {
                code: "test-refusal".into(),
                kind: ErrorKind::InvalidCase,
                message: "refused on purpose".into(),
            }],
        }
    }
}

fn referral(rule: &str, service: &str, due: &str, code: String) -> Referral {
    Referral {
        rule: rule.into(),
        service: service.into(),
        urgency: Urgency::Routine,
        due: due.into(),
        provider: None,
        consent: ConsentStatus::NotRequired,
        reasons: vec![Reason {
            rule: rule.into(),
            code,
        }],
    }
}

/// The case's id in lowercase kebab form, as a plugin smuggling it out
/// would write it.
fn case_id(case: &str) -> String {
    let case: serde_json::Value = serde_json::from_str(case).unwrap_or_default();
    case["case_id"]
        .as_str()
        .unwrap_or("none")
        .to_lowercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
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
        // Due at the as-of: the earliest a referral may be due.
        let due = ctx.as_of.as_str();
        let ok = || referral("main", "care.psychosocial", due, "test".into());
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
                std::hint::black_box(n);
                Ok(vec![ok()])
            }
            "panic" => panic!("deliberate panic"),
            // Answers correctly, after a while (about 400 million fuel).
            "slow" => {
                let mut n: u64 = 0;
                for _ in 0..50_000_000u32 {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
                Ok(vec![ok()])
            }
            // A large answer (about 450 KB once the host renders the
            // declared messages) that takes little computation.
            "big-answer" => Ok((0..1000)
                .map(|_| referral("main", "care.psychosocial", due, "big".into()))
                .collect()),
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
                "test".into(),
            )]),
            "bad-service" => Ok(vec![referral("main", "Health Care", due, "test".into())]),
            "disabled-rule" => Ok(vec![referral(
                "dormant",
                "care.psychosocial",
                due,
                "test".into(),
            )]),
            "unknown-rule" => Ok(vec![referral(
                "no-such-rule",
                "care.psychosocial",
                due,
                "test".into(),
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
                code: "test-refusal".into(),
                pointer: Some("/status".into()),
            }),
            // Contract 0.2's closed channels, each tried with a case value.
            "undeclared-reason" => Ok(vec![referral(
                "main",
                "care.psychosocial",
                due,
                format!("leak-{}", case_id(&case)),
            )]),
            "undeclared-service" => Ok(vec![referral(
                "main",
                &format!("care.{}", case_id(&case)),
                due,
                "test".into(),
            )]),
            "foreign-provider" => {
                let mut r = ok();
                r.provider = Some(Provider {
                    id: "p".into(),
                    name: case_id(&case),
                    contact: "c".into(),
                });
                Ok(vec![r])
            }
            "far-due" => Ok(vec![referral(
                "main",
                "care.psychosocial",
                "9999-01-01T00:00:00+03:00",
                "test".into(),
            )]),
            "undeclared-error" => Err(PluginError {
                code: case_id(&case),
                pointer: None,
            }),
            "error-pointer-elsewhere" => Err(PluginError {
                code: "test-refusal".into(),
                pointer: Some(format!("/{}", case_id(&case))),
            }),
            _ => Ok(vec![ok()]),
        }
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(TestHostile with_types_in bindings);
