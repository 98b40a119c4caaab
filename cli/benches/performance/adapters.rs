//! Section 6: the platform adapters. Mapping a Primero record (parse the
//! document, read it through the bundled profile, check the canonical case
//! it gives) against evaluating that case (eligibility and referral,
//! sandboxed), per record, in one run: mapping must cost less than a tenth.

use kinga_host::adapt::{Platform, Profile};
use kinga_host::{EvalOptions, Host, ValidCase};
use serde_json::json;

use super::measure::Samples;
use super::table::{Row, Table};

/// `count` Primero records (`GET /api/v2/cases/:id`), the synthetic
/// `primero-1` with its ids and dates varied.
fn records(count: usize) -> Vec<Vec<u8>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/platforms/primero-1.json");
    let base: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the synthetic payload")).unwrap();
    (0..count)
        .map(|i| {
            let mut record = base.clone();
            record["data"]["id"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
            record["data"]["date_of_birth"] =
                json!(format!("2014-{:02}-{:02}", i % 12 + 1, i % 28 + 1));
            serde_json::to_vec(&record).unwrap()
        })
        .collect()
}

/// Runs section 6.
pub fn run(host: &Host, count: usize, as_of: kinga_host::AsOf, table: &mut Table) {
    let profile = Profile::bundled(Platform::Primero);
    let documents = records(count);
    let cases: Vec<ValidCase> = documents
        .iter()
        .map(|bytes| {
            let mut mapped = profile.map_document(bytes).expect("the record maps");
            mapped.remove(0).case.expect("the record maps")
        })
        .collect();
    let options = EvalOptions::new(as_of);
    for case in cases.iter().take(50) {
        let _ = host.evaluate_with(case, &options);
    }
    let mapping = Samples::each(&documents, |bytes| {
        std::hint::black_box(profile.map_document(bytes).map(|m| m.len()).ok());
    });
    let evaluation = Samples::each(&cases, |case| {
        let decisions = host.evaluate_with(case, &options).map(|e| e.outputs.len());
        let referrals = host.route_with(case, &options).map(|e| e.outputs.len());
        std::hint::black_box((decisions.ok(), referrals.ok()));
    });
    table.push(Row::info(
        "6 adapters",
        &format!(
            "a Primero record mapped (parse, profile, case checks), {} B",
            documents[0].len()
        ),
        mapping.summary(),
    ));
    table.push(Row::info(
        "6 adapters",
        "its case evaluated: every eligibility and referral plugin, sandboxed",
        evaluation.summary(),
    ));
    table.push(Row::target(
        "6 adapters",
        "mapping / evaluating (median)",
        mapping.median().as_secs_f64() / evaluation.median().as_secs_f64(),
        0.1,
        "x",
    ));
}
