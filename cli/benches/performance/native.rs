//! The same rule code as the sandboxed plugins, compiled for the host: the
//! plugin crates are libraries too. Each call does what the guest does per
//! call: parse the context's settings and the case JSON, run the rules.

use kinga_host::{Host, ValidCase};
use kinga_plugin_sdk::{Case, Context};

/// The settings JSON each plugin gets by default (as the host passes it).
fn settings(host: &Host, plugin: &str) -> String {
    host.plugins()
        .find(|p| p.description().id == plugin)
        .map(|p| p.settings().to_string())
        .expect("the plugin is loaded")
}

/// The cases as the plugin receives them: reduced to its declared fields.
pub fn projected(host: &Host, kind: &str, cases: &[ValidCase]) -> Vec<String> {
    let plugin = match kind {
        "eligibility" => "building-a-future-eligibility",
        _ => "kenya-referral-pathway",
    };
    let fields = host
        .plugin(plugin)
        .expect("the plugin is loaded")
        .case_fields
        .clone();
    let settings = settings(host, plugin);
    SETTINGS.with(|s| s.borrow_mut().insert(plugin.to_owned(), settings));
    cases.iter().map(|c| c.projected_json(&fields)).collect()
}

thread_local! {
    static SETTINGS: std::cell::RefCell<std::collections::HashMap<String, String>> =
        std::cell::RefCell::default();
}

fn context<S: serde::de::DeserializeOwned>(plugin: &str, rules: &[&str]) -> Context<S> {
    let settings = SETTINGS.with(|s| s.borrow().get(plugin).cloned().unwrap_or_default());
    Context::from_raw(
        super::AS_OF,
        rules.iter().map(|r| (*r).to_owned()).collect(),
        &settings,
    )
    .expect("the default settings parse")
}

/// Eligibility natively; returns the number of decisions.
pub fn eligibility(case_json: &str) -> usize {
    use building_a_future_eligibility::rules;
    let ctx = context::<building_a_future_eligibility::Settings>(
        "building-a-future-eligibility",
        &[
            "education-support",
            "vocational-training",
            "family-livelihood",
            "child-rights-club",
        ],
    );
    let case = Case::from_json(case_json).expect("the case parses");
    rules::evaluate(&ctx, &case).map_or(0, |d| d.len())
}

/// Referral routing natively; returns the number of referrals.
pub fn referral(case_json: &str) -> usize {
    use kenya_referral_pathway::rules;
    let ctx = context::<kenya_referral_pathway::Settings>(
        "kenya-referral-pathway",
        &[
            "post-rape-care",
            "emergency-contraception",
            "medical-examination",
            "childrens-officer",
            "police",
            "safe-shelter",
            "psychosocial",
            "legal-aid",
            "education-reentry",
            "vocational",
        ],
    );
    let case = Case::from_json(case_json).expect("the case parses");
    rules::route(&ctx, &case).map_or(0, |r| r.len())
}
