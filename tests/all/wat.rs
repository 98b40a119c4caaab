//! Hostile plugins that Rust cannot express, written as core-module WAT and
//! turned into `eligibility-plugin` components with `wit-component` (the
//! same tool that makes every Rust guest a component). Each is a complete,
//! loadable plugin whose one misbehaviour is the point of its test.
//!
//! Fixtures are built against the current contract (0.2.2), with a settings
//! check that accepts everything unless a [`SettingsCheck`] says otherwise,
//! or against the frozen 0.2.1 and 0.2.0 contracts (`tests/contract/`).

use std::time::{Duration, Instant};

use kinga_host::{Containment, Error, Host, Limits, ValidCase};

use crate::support::{as_of, sample_case};

/// Where the static data of every fixture module starts.
const DATA: u32 = 1024;

/// Builds the data segment: strings and the records `describe` returns.
struct Image {
    bytes: Vec<u8>,
}

impl Image {
    fn addr(&self) -> u32 {
        DATA + u32::try_from(self.bytes.len()).unwrap()
    }

    fn align(&mut self) {
        while !self.bytes.len().is_multiple_of(8) {
            self.bytes.push(0);
        }
    }

    fn string(&mut self, text: &str) -> (u32, u32) {
        self.align();
        let at = self.addr();
        self.bytes.extend_from_slice(text.as_bytes());
        (at, u32::try_from(text.len()).unwrap())
    }

    fn record(&mut self, fields: &[u32], size: usize) -> u32 {
        self.align();
        let at = self.addr();
        let start = self.bytes.len();
        for field in fields {
            self.bytes.extend_from_slice(&field.to_le_bytes());
        }
        self.bytes.resize(start + size, 0);
        at
    }

    fn wat(&self) -> String {
        let escaped: String = self.bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        format!("(data (i32.const {DATA}) \"{escaped}\")")
    }
}

/// A core module implementing the eligibility world; `evaluate` runs `body`
/// and then returns `ok([])` (at address 8192, all zeros), or whatever
/// `body` returns itself. `fields` adds module fields (functions, globals,
/// tables, a start function...); `pages` is the initial memory.
fn plugin(id: &str, pages: u32, fields: &str, body: &str) -> Vec<u8> {
    plugin_versioned(id, "1.0.0", pages, fields, body)
}

/// [`plugin`] with a version of its own.
pub(crate) fn plugin_versioned(
    id: &str,
    version: &str,
    pages: u32,
    fields: &str,
    body: &str,
) -> Vec<u8> {
    build(id, version, "A WAT fixture", pages, fields, body)
}

/// A well-behaved fixture that calls itself `name`, whatever it holds.
pub(crate) fn plugin_named(id: &str, name: &str) -> Vec<u8> {
    build(id, "1.0.0", name, 1, "", "")
}

/// What a fixture's settings check does with settings other than its
/// defaults (told apart by their length); with the defaults it accepts,
/// unless `TrapAlways` says it traps on them too.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CheckAnswer {
    /// Accepts them.
    Accept,
    /// Refuses them with these `(code, pointer)` refusals.
    Refuse(&'static [(&'static str, &'static str)]),
    /// Traps (`unreachable`).
    Trap,
    /// Loops until the deadline.
    Loop,
    /// Traps on every settings, the defaults included.
    TrapAlways,
}

/// The settings check of a 0.2.1 or later fixture: what it declares and
/// answers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SettingsCheck {
    /// `(code, message)`, as `refusals` returns them.
    pub declared: &'static [(&'static str, &'static str)],
    /// What `check` answers.
    pub answer: CheckAnswer,
    /// The plugin's default settings (a JSON object text); `check` takes
    /// settings of another length for a change.
    pub defaults: &'static str,
}

/// The contract a fixture is built against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Contract {
    /// 0.2.0: no settings check.
    V020,
    /// 0.2.1 (reads case 1.0), with this settings check.
    V021(SettingsCheck),
    /// 0.2.2, the current contract, with this settings check.
    V022(SettingsCheck),
}

impl Contract {
    /// The version, as export names spell it.
    fn version(self) -> &'static str {
        match self {
            Contract::V020 => "0.2.0",
            Contract::V021(_) => "0.2.1",
            Contract::V022(_) => "0.2.2",
        }
    }

    /// The folder holding its WIT.
    fn wit(self) -> &'static str {
        match self {
            Contract::V020 => concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/contract/wit-0.2.0"),
            Contract::V021(_) => {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/contract/wit-0.2.1")
            }
            Contract::V022(_) => concat!(env!("CARGO_MANIFEST_DIR"), "/../wit"),
        }
    }

    /// Its settings check, if it has one.
    fn check(self) -> Option<SettingsCheck> {
        match self {
            Contract::V020 => None,
            Contract::V021(check) | Contract::V022(check) => Some(check),
        }
    }
}

/// The check of an ordinary fixture: declares nothing, accepts everything.
const ACCEPTING: SettingsCheck = SettingsCheck {
    declared: &[],
    answer: CheckAnswer::Accept,
    defaults: "{}",
};

/// A fixture built against `contract` that describes itself with this id,
/// version and name, whatever they hold.
pub(crate) fn plugin_described(id: &str, version: &str, name: &str, contract: Contract) -> Vec<u8> {
    build_for(contract, id, version, name, 1, "", "")
}

/// A well-behaved fixture built against `contract`.
pub(crate) fn plugin_for(id: &str, contract: Contract) -> Vec<u8> {
    build_for(contract, id, "1.0.0", "A WAT fixture", 1, "", "")
}

fn build(id: &str, version: &str, name: &str, pages: u32, fields: &str, body: &str) -> Vec<u8> {
    build_for(
        Contract::V022(ACCEPTING),
        id,
        version,
        name,
        pages,
        fields,
        body,
    )
}

/// The settings interface's functions for `check`, with their data in
/// `image`.
fn settings_exports(image: &mut Image, check: SettingsCheck, at: &str) -> String {
    let list = |image: &mut Image, pairs: &[(&str, &str)]| {
        let records: Vec<u32> = pairs
            .iter()
            .flat_map(|(a, b)| {
                let (a_ptr, a_len) = image.string(a);
                let (b_ptr, b_len) = image.string(b);
                [a_ptr, a_len, b_ptr, b_len]
            })
            .collect();
        let items = if records.is_empty() {
            0
        } else {
            image.record(&records, records.len() * 4)
        };
        image.record(&[items, u32::try_from(pairs.len()).unwrap()], 8)
    };
    let declared = list(image, check.declared);
    let unchanged = check.defaults.len();
    let (when_changed, always) = match check.answer {
        CheckAnswer::Accept => (String::new(), ""),
        CheckAnswer::Refuse(refusals) => {
            let answer = list(image, refusals);
            (format!("(return (i32.const {answer}))"), "")
        }
        CheckAnswer::Trap => ("unreachable".to_owned(), ""),
        CheckAnswer::Loop => ("(loop $spin (br $spin))".to_owned(), ""),
        CheckAnswer::TrapAlways => (String::new(), "unreachable"),
    };
    format!(
        r#"(func (export "kinga:plugin/settings@{at}#refusals") (result i32) (i32.const {declared}))
            (func (export "kinga:plugin/settings@{at}#check") (param i32 i32) (result i32)
              {always}
              (if (i32.ne (local.get 1) (i32.const {unchanged})) (then {when_changed} nop))
              (i32.const 8192))"#
    )
}

#[allow(clippy::too_many_arguments)]
fn build_for(
    contract: Contract,
    id: &str,
    version: &str,
    name: &str,
    pages: u32,
    fields: &str,
    body: &str,
) -> Vec<u8> {
    let mut image = Image { bytes: Vec::new() };
    let (id_ptr, id_len) = image.string(id);
    let (name_ptr, name_len) = image.string(name);
    let (version_ptr, version_len) = image.string(version);
    let (purpose_ptr, purpose_len) =
        image.string("Tests how the host contains a misbehaving plugin.");
    let (schema_ptr, schema_len) = image.string(r#"{"type":"object"}"#);
    let defaults = contract.check().map_or("{}", |check| check.defaults);
    let (defaults_ptr, defaults_len) = image.string(defaults);
    let (rule_ptr, rule_len) = image.string("r");
    let (message_ptr, message_len) = image.string("A fixture reason.");
    // reason-info: code, message.
    let reason = image.record(&[rule_ptr, rule_len, message_ptr, message_len], 16);
    // rule-info: id, title, description (empty), enabled-by-default, reasons,
    // services (none), priorities (none: discriminant 0, then the payload).
    let rule = image.record(
        &[
            rule_ptr, rule_len, rule_ptr, rule_len, rule_ptr, 0, 1, reason, 1, 0, 0, 0, 0, 0,
        ],
        56,
    );
    // error-info: code, kind (internal = 3), message.
    let (code_ptr, code_len) = image.string("state-survived");
    let (error_message_ptr, error_message_len) = image.string("State survived a call.");
    let declared_error = image.record(
        &[code_ptr, code_len, 3, error_message_ptr, error_message_len],
        20,
    );
    // plugin-info: id, name, version, kind (eligibility = 0), purpose, rules,
    // settings-schema, default-settings, case-fields (empty), errors.
    let info = image.record(
        &[
            id_ptr,
            id_len,
            name_ptr,
            name_len,
            version_ptr,
            version_len,
            0,
            purpose_ptr,
            purpose_len,
            rule,
            1,
            schema_ptr,
            schema_len,
            defaults_ptr,
            defaults_len,
            0,
            0,
            declared_error,
            1,
        ],
        76,
    );
    // result::err(plugin-error { "state-survived", pointer: none }).
    let error = image.record(&[1, code_ptr, code_len, 0, 0, 0], 24);
    let at = contract.version();
    let settings = contract
        .check()
        .map_or_else(String::new, |check| settings_exports(&mut image, check, at));
    assert!(image.addr() < 8192, "fixture data overlaps the result area");
    let core = format!(
        r#"(module
            (memory (export "memory") {pages})
            (global $heap (mut i32) (i32.const 16384))
            (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
              (local $p i32)
              (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                                     (i32.sub (i32.const 0) (local.get 2))))
              (global.set $heap (i32.add (local.get $p) (local.get 3)))
              (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                (then (if (i32.eq (memory.grow (i32.add (i32.const 1)
                              (i32.div_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
                                         (i32.const 65536))))
                            (i32.const -1))
                        (then unreachable))))
              (local.get $p))
            (func (export "kinga:plugin/plugin@{at}#describe") (result i32) (i32.const {info}))
            (func (export "kinga:plugin/eligibility@{at}#evaluate")
                  (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
              {body}
              (i32.const 8192))
            {settings}
            (global $error i32 (i32.const {error}))
            {fields}
            {data})"#,
        data = image.wat(),
    );
    componentize(
        &wat::parse_str(core).expect("fixture WAT parses"),
        contract.wit(),
    )
}

/// Embeds the `eligibility-plugin` world of the contract in `wit` and
/// encodes a component.
fn componentize(core: &[u8], wit: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit).expect("the WIT parses");
    let world = resolve
        .select_world(&[package], Some("eligibility-plugin"))
        .expect("the world exists");
    let mut module = core.to_vec();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("metadata embeds");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("the module is accepted")
        .validate(true)
        .encode()
        .expect("the component encodes")
}

fn quick_limits() -> Limits {
    Limits::default()
        .with_deadline(Duration::from_millis(300))
        .with_fuel(u64::MAX / 4)
}

fn load(bytes: &[u8], limits: Limits) -> (Host, Result<String, Error>) {
    let mut host = Host::builder().limits(limits).build().unwrap();
    host.load_file(kinga_artifacts::TEST_ELIGIBILITY).unwrap();
    let loaded = host.load_bytes(bytes, "fixture.wasm");
    (host, loaded)
}

fn case() -> ValidCase {
    ValidCase::from_value(sample_case()).unwrap()
}

fn evaluate(host: &Host) -> Result<usize, Error> {
    host.evaluate_with(
        &case(),
        &kinga_host::EvalOptions::new(as_of()).plugins(["wat-plugin"]),
    )
    .map(|e| e.outputs.len())
}

/// The well-behaved plugin in the same host still answers.
fn still_serves(host: &Host) {
    let decisions = host
        .evaluate_with(
            &case(),
            &kinga_host::EvalOptions::new(as_of()).plugins(["test-eligibility"]),
        )
        .expect("the next evaluation of another plugin succeeds");
    assert_eq!(decisions.outputs.len(), 2);
}

#[test]
fn the_fixture_plugin_loads_and_evaluates_when_it_behaves() {
    let (host, loaded) = load(&plugin("wat-plugin", 1, "", ""), Limits::default());
    assert_eq!(loaded.unwrap(), "wat-plugin");
    assert_eq!(evaluate(&host).unwrap(), 0);
}

#[test]
fn h02_a_loop_while_instantiating_meets_a_deadline_armed_before_it() {
    let looping = plugin(
        "wat-plugin",
        1,
        r#"(func $spin (loop $l (br $l))) (start $spin)"#,
        "",
    );
    let started = Instant::now();
    let (host, loaded) = load(&looping, quick_limits());
    let elapsed = started.elapsed();
    match loaded {
        Err(Error::PluginLoad { problems, .. }) => {
            let message = problems.join("; ");
            assert!(message.contains("instantiation failed"), "{message}");
            assert!(message.contains("deadline"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    still_serves(&host);
}

#[test]
fn h07_a_huge_declared_memory_is_refused_before_it_is_instantiated() {
    let (host, loaded) = load(&plugin("wat-plugin", 60_000, "", ""), Limits::default());
    match loaded {
        Err(Error::PluginLoad { problems, .. }) => {
            let message = problems.join("; ");
            assert!(message.contains("cannot be loaded"), "{message}");
            assert!(message.contains("exceeds the limit"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    still_serves(&host);
}

#[test]
fn h08_a_table_bomb_is_refused_before_it_is_instantiated() {
    let (host, loaded) = load(
        &plugin("wat-plugin", 1, "(table 5000000 funcref)", ""),
        Limits::default(),
    );
    match loaded {
        Err(Error::PluginLoad { problems, .. }) => {
            let message = problems.join("; ");
            assert!(message.contains("exceeds the limit"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    still_serves(&host);
}

#[test]
fn h08_too_many_memories_are_refused() {
    let memories: String = (0..12).map(|i| format!("(memory $m{i} 1)")).collect();
    let (host, loaded) = load(&plugin("wat-plugin", 1, &memories, ""), Limits::default());
    assert!(
        matches!(loaded, Err(Error::PluginLoad { .. })),
        "{loaded:?}"
    );
    still_serves(&host);
}

#[test]
fn h08_growing_a_table_past_the_limit_fails_inside_the_plugin() {
    let grow = "(if (i32.ne (table.grow $t (ref.null func) (i32.const 5000000)) (i32.const -1)) (then unreachable))";
    let (host, loaded) = load(
        &plugin("wat-plugin", 1, "(table $t 1 funcref)", grow),
        Limits::default(),
    );
    loaded.unwrap();
    assert_eq!(
        evaluate(&host).unwrap(),
        0,
        "table.grow returned -1, as the limit requires"
    );
}

fn trap_kind(fields: &str, body: &str) -> Containment {
    let (host, loaded) = load(&plugin("wat-plugin", 1, fields, body), Limits::default());
    loaded.unwrap();
    let kind = match evaluate(&host) {
        Err(Error::Contained { plugin, kind }) => {
            assert_eq!(plugin, "wat-plugin");
            kind
        }
        other => panic!("{other:?}"),
    };
    still_serves(&host);
    kind
}

#[test]
fn h23_every_trap_is_mapped_to_its_class_and_the_host_keeps_serving() {
    assert_eq!(trap_kind("", "unreachable"), Containment::Unreachable);
    assert_eq!(
        trap_kind(
            "",
            "(drop (i32.div_u (i32.const 1) (i32.sub (local.get 0) (local.get 0))))"
        ),
        Containment::Arithmetic
    );
    assert_eq!(
        trap_kind(
            "",
            "(drop (i32.trunc_f32_s (f32.div (f32.const 0) (f32.const 0))))"
        ),
        Containment::Arithmetic
    );
    assert_eq!(
        trap_kind("", "(drop (i32.load (i32.const -4)))"),
        Containment::OutOfBounds
    );
    let table = "(type $takes (func (param i32))) (table 2 funcref) (elem (i32.const 0) $nothing) (func $nothing)";
    assert_eq!(
        trap_kind(
            table,
            "(call_indirect (type $takes) (i32.const 5) (i32.const 0))"
        ),
        Containment::BadCall
    );
    assert_eq!(
        trap_kind(
            table,
            "(call_indirect (type $takes) (i32.const 5) (i32.const 1))"
        ),
        Containment::BadCall
    );
    assert_eq!(
        trap_kind(
            "(func $down (param i32) (call $down (i32.add (local.get 0) (i32.const 1))))",
            "(call $down (i32.const 0))"
        ),
        Containment::StackOverflow
    );
}

#[test]
fn h26_h27_a_global_never_survives_into_the_next_evaluation() {
    let remember = "(global $calls (mut i32) (i32.const 0))";
    let body = "(global.set $calls (i32.add (global.get $calls) (i32.const 1)))
                (if (i32.gt_u (global.get $calls) (i32.const 1)) (then (return (global.get $error))))";
    let (host, loaded) = load(&plugin("wat-plugin", 1, remember, body), Limits::default());
    loaded.unwrap();
    for _ in 0..200 {
        assert_eq!(
            evaluate(&host).unwrap(),
            0,
            "a second call saw the first call's global"
        );
    }
}

/// The planter copies every case it is given into a fresh page; the scanner
/// searches its whole memory for the planted case id.
#[test]
fn h27_stale_memory_is_never_visible_across_pooled_slots_or_plugins() {
    const NEEDLE: &str = "T-0001";
    // Keep the case text (already in memory at local 6, length local 7) and
    // fill two more pages with copies of it.
    let plant = "(drop (memory.grow (i32.const 2)))
                 (local.set $i (i32.const 0))
                 (loop $fill
                   (memory.copy (i32.add (i32.const 65536) (local.get $i)) (local.get 6) (local.get 7))
                   (local.set $i (i32.add (local.get $i) (local.get 7)))
                   (br_if $fill (i32.lt_u (i32.add (local.get $i) (local.get 7)) (i32.const 131072))))";
    // Look for the needle (kept XOR 0x55 in its data so the scanner does not
    // find its own copy) everywhere except the case it was just given.
    let needle: String = NEEDLE
        .bytes()
        .map(|b| format!("\\{:02x}", b ^ 0x55))
        .collect();
    let scan_fields = format!(
        r#"(data (i32.const 4096) "{needle}")
           (func $matches (param $at i32) (result i32) (local $k i32)
             (loop $cmp
               (if (i32.ne (i32.load8_u (i32.add (local.get $at) (local.get $k)))
                           (i32.xor (i32.load8_u (i32.add (i32.const 4096) (local.get $k))) (i32.const 0x55)))
                 (then (return (i32.const 0))))
               (local.set $k (i32.add (local.get $k) (i32.const 1)))
               (br_if $cmp (i32.lt_u (local.get $k) (i32.const {len}))))
             (i32.const 1))"#,
        len = NEEDLE.len()
    );
    let scan = "(drop (memory.grow (i32.const 2)))
                (local.set $end (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 16)))
                (loop $walk
                  (if (i32.and (call $matches (local.get $at))
                               (i32.or (i32.lt_u (local.get $at) (local.get 6))
                                       (i32.ge_u (local.get $at) (i32.add (local.get 6) (local.get 7)))))
                    (then (return (global.get $error))))
                  (local.set $at (i32.add (local.get $at) (i32.const 1)))
                  (br_if $walk (i32.lt_u (local.get $at) (local.get $end))))";
    let limits = Limits::default();
    let mut host = Host::builder().limits(limits).build().unwrap();
    let (plant_locals, scan_locals) = ("(local $i i32)", "(local $at i32) (local $end i32)");
    host.load_bytes(
        &plugin("wat-planter", 1, "", &format!("{plant_locals} {plant}")),
        "planter.wasm",
    )
    .unwrap();
    host.load_bytes(
        &plugin(
            "wat-scanner",
            1,
            &scan_fields,
            &format!("{scan_locals} {scan}"),
        ),
        "scanner.wasm",
    )
    .unwrap();
    let planted = case();
    assert!(planted.canonical_json().contains(NEEDLE));
    let mut other = sample_case();
    other["case_id"] = serde_json::json!("Z-9999");
    let other = ValidCase::from_value(other).unwrap();
    for _ in 0..100 {
        host.evaluate_with(
            &planted,
            &kinga_host::EvalOptions::new(as_of()).plugins(["wat-planter"]),
        )
        .unwrap();
        let scanned = host.evaluate_with(
            &other,
            &kinga_host::EvalOptions::new(as_of()).plugins(["wat-scanner"]),
        );
        assert!(
            scanned.is_ok(),
            "the scanner found the previous child's case id: {scanned:?}"
        );
    }
    // The positive control: planting and scanning in the same call does find
    // the needle, so the scanner would have seen a leak.
    host.load_bytes(
        &plugin(
            "wat-control",
            1,
            &scan_fields,
            &format!("{plant_locals} {scan_locals} {plant} {scan}"),
        ),
        "control.wasm",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let control = host.evaluate_with(
        &planted,
        &kinga_host::EvalOptions::new(as_of()).plugins(["wat-control"]),
    );
    assert!(
        matches!(control, Err(Error::PluginRefused { ref code, .. }) if code == "state-survived"),
        "{control:?}"
    );
}

/// A name that would rewrite a terminal, reorder a line or hide text is
/// refused at load, by the library and by the binary, and the error shows
/// none of it raw.
#[test]
fn a_plugin_name_with_escapes_or_bidirectional_controls_is_refused_at_load() {
    for name in [
        "Eligibility\u{1b}[2J\u{1b}[31m",
        "Referral \u{202e}lanoitan\u{202c}",
        "Zero\u{200b}width",
        "Two\nlines",
    ] {
        let (_, loaded) = load(&plugin_named("wat-plugin", name), Limits::default());
        match loaded {
            Err(Error::PluginLoad { problems, .. }) => {
                let message = problems.join("; ");
                assert!(message.contains("/name"), "{message}");
                assert!(!message.chars().any(char::is_control), "{message:?}");
            }
            other => panic!("{name:?}: {other:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("named.wasm"),
            plugin_named("wat-plugin", name),
        )
        .unwrap();
        let out =
            crate::support::kinga(&["--plugins", dir.path().to_str().unwrap(), "plugins", "list"]);
        assert_eq!(out.status.code(), Some(1), "{name:?}");
        let shown = crate::support::stderr(&out);
        assert!(shown.contains("/name"), "{shown}");
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{202e}') && !shown.contains('\u{200b}'),
            "{shown:?}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn h29_disabled_proposals_are_refused_at_load() {
    let shared = plugin("wat-plugin", 1, "(memory $s 1 1 shared)", "");
    let (_, loaded) = load(&shared, Limits::default());
    assert!(
        matches!(loaded, Err(Error::PluginLoad { .. })),
        "{loaded:?}"
    );
}
