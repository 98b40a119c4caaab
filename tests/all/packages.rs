//! Signed plugin packages: generate a key, trust it, sign, install, roll
//! back; and every way a package can be forged, each refused and audited.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::serve::server::{Options, Server, get, patch, post_json};
use crate::support::{assert_success, kinga_at};
use crate::wat::plugin_versioned;

struct Publisher {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
}

impl Publisher {
    /// A host with one trusted publisher key (`trusted.key`) and one
    /// untrusted (`stranger.key`).
    fn new() -> Publisher {
        let p = Publisher {
            home: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        };
        for name in ["trusted", "stranger"] {
            let keys = p.work.path().to_str().unwrap().to_owned();
            assert!(
                p.run(&["keys", "generate", name, "--dir", &keys])
                    .status
                    .success()
            );
        }
        let public = p.path("trusted.pub");
        let trusted = p.run(&[
            "keys",
            "trust",
            public.to_str().unwrap(),
            "--reason",
            "our publisher",
            "--actor",
            "amina",
        ]);
        assert!(
            trusted.status.success(),
            "{}",
            String::from_utf8_lossy(&trusted.stderr)
        );
        p
    }

    fn path(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        kinga_at(self.home.path(), args)
    }

    /// Signs a WAT plugin `wat-plugin` at `version` into `out`.
    fn package(&self, version: &str, key: Option<&str>, out: &str) -> PathBuf {
        self.package_of(version, 1, key, out)
    }

    /// [`Publisher::package`] with `pages` of memory: other content under
    /// the same version.
    fn package_of(&self, version: &str, pages: u32, key: Option<&str>, out: &str) -> PathBuf {
        self.package_built(
            &plugin_versioned("wat-plugin", version, pages, "", ""),
            key,
            out,
        )
    }

    /// Signs `component` into `out`.
    fn package_built(&self, component: &[u8], key: Option<&str>, out: &str) -> PathBuf {
        let path = self.path(&format!("{out}.wasm"));
        std::fs::write(&path, component).unwrap();
        let component = path;
        let out = self.path(out);
        let key = key.map(|k| self.path(k).display().to_string());
        let mut args = vec![
            "plugins",
            "sign",
            component.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(key) = &key {
            args.extend(["--key", key.as_str()]);
        }
        let signed = self.run(&args);
        assert!(
            signed.status.success(),
            "{}",
            String::from_utf8_lossy(&signed.stderr)
        );
        out
    }

    fn install(&self, package: &Path, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "plugins",
            "install",
            package.to_str().unwrap(),
            "--reason",
            "new version",
            "--actor",
            "amina",
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn active_version(&self) -> Option<String> {
        let listed = self.run(&["plugins", "list", "--json"]);
        let all: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
        all.iter()
            .find(|p| p["id"] == "wat-plugin")
            .map(|p| p["version"].as_str().unwrap().to_owned())
    }

    fn refused_installs(&self) -> usize {
        let trail = self.run(&["audit", "log", "--json"]);
        String::from_utf8(trail.stdout)
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"refused\"") && l.contains("\"install\""))
            .count()
    }
}

fn refused(output: &std::process::Output, words: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(words), "{words:?} not in {stderr}");
}

#[test]
fn a_signed_package_installs_is_used_and_rolls_back() {
    let p = Publisher::new();
    let v1 = p.package("1.0.0", Some("trusted.key"), "v1");
    let installed = p.install(&v1, &[]);
    assert!(
        installed.status.success(),
        "{}",
        String::from_utf8_lossy(&installed.stderr)
    );
    assert_eq!(p.active_version().as_deref(), Some("1.0.0"));
    let v2 = p.package("1.1.0", Some("trusted.key"), "v2");
    assert!(p.install(&v2, &[]).status.success());
    assert_eq!(p.active_version().as_deref(), Some("1.1.0"));
    let back = p.run(&[
        "plugins",
        "rollback",
        "wat-plugin",
        "--reason",
        "1.1.0 misbehaves",
        "--actor",
        "amina",
    ]);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    assert_eq!(p.active_version().as_deref(), Some("1.0.0"));
    let again = p.run(&[
        "plugins",
        "rollback",
        "wat-plugin",
        "--reason",
        "again",
        "--actor",
        "amina",
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "nothing earlier to roll back to"
    );
    assert!(p.run(&["audit", "verify"]).status.success());
}

#[test]
fn a_tampered_component_is_refused() {
    let p = Publisher::new();
    let package = p.package("1.0.0", Some("trusted.key"), "pkg");
    let mut bytes = std::fs::read(package.join("plugin.wasm")).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(package.join("plugin.wasm"), bytes).unwrap();
    refused(&p.install(&package, &[]), "changed or swapped");
    assert_eq!(p.active_version(), None);
    assert_eq!(p.refused_installs(), 1);
}

#[test]
fn a_swapped_manifest_is_refused() {
    let p = Publisher::new();
    let one = p.package("1.0.0", Some("trusted.key"), "one");
    let two = p.package("2.0.0", Some("trusted.key"), "two");
    std::fs::copy(two.join("manifest.json"), one.join("manifest.json")).unwrap();
    refused(&p.install(&one, &[]), "changed or swapped");
}

#[test]
fn a_package_signed_by_an_untrusted_key_is_refused() {
    let p = Publisher::new();
    let package = p.package("1.0.0", Some("stranger.key"), "pkg");
    refused(&p.install(&package, &[]), "is not trusted");
    // A key file dropped into trusted-keys/ by hand is not trust.
    std::fs::copy(
        p.path("stranger.pub"),
        p.home.path().join("trusted-keys/stranger.pub"),
    )
    .unwrap();
    refused(&p.install(&package, &[]), "is not trusted");
}

#[test]
fn a_stripped_signature_never_counts_as_unsigned() {
    let p = Publisher::new();
    let package = p.package("1.0.0", Some("trusted.key"), "pkg");
    let path = package.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest.as_object_mut().unwrap().remove("signature");
    std::fs::write(&path, manifest.to_string()).unwrap();
    refused(&p.install(&package, &[]), "stripped");
    refused(&p.install(&package, &["--allow-unsigned"]), "stripped");
}

#[test]
fn an_edited_manifest_fails_its_signature() {
    let p = Publisher::new();
    let package = p.package("1.0.0", Some("trusted.key"), "pkg");
    let path = package.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("1.0.0", "1.0.1");
    std::fs::write(&path, text).unwrap();
    refused(&p.install(&package, &[]), "does not verify");
}

#[test]
fn unsigned_packages_need_development_mode() {
    let p = Publisher::new();
    let package = p.package("1.0.0", None, "pkg");
    refused(&p.install(&package, &[]), "unsigned");
    assert!(p.install(&package, &["--allow-unsigned"]).status.success());
    assert_eq!(p.active_version().as_deref(), Some("1.0.0"));
}

#[test]
fn an_installed_package_changed_on_disk_is_refused_at_the_next_start() {
    let p = Publisher::new();
    let package = p.package("1.0.0", Some("trusted.key"), "pkg");
    assert!(p.install(&package, &[]).status.success());
    let installed = std::fs::read_dir(p.home.path().join("packages/wat-plugin"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(installed.join("plugin.wasm"), b"\0asm forged").unwrap();
    let listed = p.run(&["plugins", "list"]);
    assert_eq!(listed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&listed.stderr).contains("no longer verifies"));
}

#[test]
fn a_key_of_the_wrong_half_is_refused_and_trust_is_listed_and_withdrawn() {
    let p = Publisher::new();
    let who = ["--reason", "key care", "--actor", "amina"];
    let with_who = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(&who);
        p.run(&all)
    };
    let trusted_files = || {
        std::fs::read_dir(p.home.path().join("trusted-keys"))
            .unwrap()
            .count()
    };
    let files_before = trusted_files();

    // A secret key offered for trust is refused, and never copied.
    let secret = p.path("stranger.key");
    let offered = with_who(&["keys", "trust", secret.to_str().unwrap()]);
    let stderr = crate::support::stderr(&offered);
    assert_eq!(offered.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("this is a secret key, not a public key"),
        "{stderr}"
    );
    assert_eq!(trusted_files(), files_before, "nothing was written");
    // The same bytes under another name are still a secret key.
    let renamed = p.path("looks-public.pub");
    std::fs::copy(&secret, &renamed).unwrap();
    let offered = with_who(&["keys", "trust", renamed.to_str().unwrap()]);
    assert!(crate::support::stderr(&offered).contains("this is a secret key"));

    // A public key offered for signing is refused.
    let component = p.path("wat-1.0.0.wasm");
    std::fs::write(
        &component,
        plugin_versioned("wat-plugin", "1.0.0", 1, "", ""),
    )
    .unwrap();
    let public = p.path("trusted.pub");
    let signed = p.run(&[
        "plugins",
        "sign",
        component.to_str().unwrap(),
        "--key",
        public.to_str().unwrap(),
        "--out",
        p.path("out").to_str().unwrap(),
    ]);
    let stderr = crate::support::stderr(&signed);
    assert_eq!(signed.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("this is a public key, not a secret key"),
        "{stderr}"
    );

    // Listed, withdrawn (audited), and gone from the list.
    let listed = crate::support::stdout(&p.run(&["keys", "list"]));
    let id = listed.lines().next().unwrap().trim().to_owned();
    assert!(id.starts_with("ed25519:"), "{listed}");
    crate::support::assert_success(&with_who(&["keys", "untrust", &id]));
    assert_eq!(
        crate::support::stdout(&p.run(&["keys", "list"])),
        "no publisher key is trusted\n"
    );
    let again = with_who(&["keys", "untrust", &id]);
    assert_eq!(again.status.code(), Some(2));
    assert!(crate::support::stderr(&again).contains("is not trusted"));
    let trail = std::fs::read_to_string(p.home.path().join("audit.jsonl")).unwrap();
    assert!(
        trail
            .lines()
            .any(|l| l.contains("\"untrust-key\"") && l.contains("\"accepted\"")),
        "{trail}"
    );
    // A package signed by the withdrawn key is no longer installed.
    let package = p.package("1.0.0", Some("trusted.key"), "pkg");
    assert!(!p.install(&package, &[]).status.success());
}

/// A lower version, or the same version with other content, replaces the
/// one in use only when a downgrade is asked for, and the audit trail says
/// it was one.
#[test]
fn a_downgrade_is_refused_unless_asked_for_and_then_audited() {
    let p = Publisher::new();
    let v2 = p.package("1.1.0", Some("trusted.key"), "v2");
    assert_success(&p.install(&v2, &[]));
    let v1 = p.package("1.0.0", Some("trusted.key"), "v1");
    refused(&p.install(&v1, &[]), "1.0.0 is lower than 1.1.0 in use");
    let changed = p.package_of("1.1.0", 2, Some("trusted.key"), "v2-changed");
    refused(
        &p.install(&changed, &[]),
        "1.1.0 is in use with other content",
    );
    assert_eq!(p.refused_installs(), 2, "each refusal is audited");
    assert_eq!(p.active_version().as_deref(), Some("1.1.0"));

    assert_success(&p.install(&v2, &[]));
    assert_success(&p.install(&v1, &["--allow-downgrade"]));
    assert_eq!(p.active_version().as_deref(), Some("1.0.0"));
    let trail = p.run(&["audit", "log", "--json"]);
    let last: Value = serde_json::from_str(
        String::from_utf8_lossy(&trail.stdout)
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(last["result"], "accepted", "{last}");
    assert_eq!(last["change"]["downgrade"], true, "{last}");
    assert!(p.run(&["audit", "verify"]).status.success());
}

/// A candidate that traps on the cases it is given is refused before it can
/// be used, naming the synthetic cases it failed on, and the refusal is
/// audited; the version in use stays.
#[test]
fn a_candidate_that_traps_on_the_smoke_caseload_is_refused() {
    let p = Publisher::new();
    let v1 = p.package("1.0.0", Some("trusted.key"), "v1");
    assert_success(&p.install(&v1, &[]));
    let trapping = p.package_built(
        &plugin_versioned("wat-plugin", "1.1.0", 1, "", "unreachable"),
        Some("trusted.key"),
        "trapping",
    );
    let out = p.install(&trapping, &[]);
    refused(
        &out,
        "failed on 200 of the 200 synthetic cases of the smoke caseload",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SYN-7001-"), "{stderr}");
    assert!(stderr.contains("(contained)"), "{stderr}");
    assert_eq!(p.active_version().as_deref(), Some("1.0.0"));
    assert_eq!(p.refused_installs(), 1);
}

/// Copies the reference plugin's fixtures named in `names` into a new
/// directory `dir` under the publisher's work.
fn reference_fixtures(p: &Publisher, dir: &str, names: &[&str]) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases/kenya-referral-pathway");
    let to = p.path(dir);
    std::fs::create_dir_all(&to).unwrap();
    for name in names {
        let file = format!("{name}.json");
        std::fs::copy(from.join(&file), to.join(&file)).unwrap();
    }
    to
}

/// `kinga plugins sign COMPONENT --fixtures DIR --key KEY --out OUT`.
fn sign_with_fixtures(
    p: &Publisher,
    component: &str,
    fixtures: &Path,
    key: &str,
    out: &Path,
) -> std::process::Output {
    p.run(&[
        "plugins",
        "sign",
        component,
        "--fixtures",
        fixtures.to_str().unwrap(),
        "--key",
        key,
        "--out",
        out.to_str().unwrap(),
    ])
}

fn referral_version(p: &Publisher) -> String {
    let listed = p.run(&["plugins", "list", "--json"]);
    assert_success(&listed);
    let all: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    all.iter()
        .find(|x| x["id"] == "kenya-referral-pathway")
        .map(|x| x["version"].as_str().unwrap().to_owned())
        .unwrap()
}

/// A publisher signs the plugin's own fixtures into its package; they must
/// pass to be signed, and every installation runs them again in the
/// sandbox, so that a package whose tests fail, or were changed or added to
/// after signing, is never put in use.
#[test]
fn a_package_carries_its_own_fixtures_and_installation_runs_them() {
    let p = Publisher::new();
    let candidate = kinga_artifacts::TEST_REFERRAL_EC72;
    let key = p.path("trusted.key");
    let key = key.to_str().unwrap();
    // The candidate's 72-hour emergency contraception window fails the
    // reference plugin's own 120-hour fixture.
    let passing = ["police-with-consent", "safe-shelter-when-unsafe-at-home"];
    let failing = "emergency-contraception-fires-at-exactly-120h";
    let with_failing = reference_fixtures(&p, "with-failing", &[passing[0], passing[1], failing]);

    let out = p.path("never-written");
    let signed = sign_with_fixtures(&p, candidate, &with_failing, key, &out);
    assert_eq!(
        signed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let said = String::from_utf8_lossy(&signed.stderr);
    assert!(said.contains("did not pass 1 of its 3 fixtures"), "{said}");
    assert!(said.contains(&format!("{failing}.json")), "{said}");
    assert!(!out.join("manifest.json").exists());

    // A package made without `kinga plugins sign` still has its fixtures
    // run at installation.
    let forged = p.path("forged");
    let fixtures = passing
        .iter()
        .chain([&failing])
        .map(|name| {
            let file = format!("{name}.json");
            (
                file.clone(),
                std::fs::read(with_failing.join(&file)).unwrap(),
            )
        })
        .collect();
    kinga_host::admin::write_package(
        &forged,
        &kinga_host::admin::PackageContents {
            component: std::fs::read(candidate).unwrap(),
            fixtures,
        },
        "kenya-referral-pathway",
        "1.1.0-ec72",
        "referral",
        Some(&kinga_host::admin::read_signing_key(Path::new(key)).unwrap()),
    )
    .unwrap();
    let out = p.install(&forged, &[]);
    refused(&out, "did not pass 1 of its 3 own fixtures");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("fixtures/{failing}.json the answer differs")),
        "{said}"
    );
    assert!(said.contains("/emergency-contraception"), "{said}");
    assert_eq!(p.refused_installs(), 1);
    assert_eq!(referral_version(&p), "1.0.0");

    // Fixtures it passes: signed, installed, kept with the package.
    let good = reference_fixtures(&p, "passing", &passing);
    let package = p.path("good");
    let signed = sign_with_fixtures(&p, candidate, &good, key, &package);
    assert_success(&signed);
    assert!(
        String::from_utf8_lossy(&signed.stdout).contains("with 2 fixtures of its own, all passed"),
        "{}",
        String::from_utf8_lossy(&signed.stdout)
    );

    // Changed or added to after signing: refused before anything runs.
    let tampered = p.path("tampered");
    copy_dir(&package, &tampered);
    std::fs::write(tampered.join("fixtures/police-with-consent.json"), b"{}").unwrap();
    refused(&p.install(&tampered, &[]), "changed after signing");
    let extended = p.path("extended");
    copy_dir(&package, &extended);
    std::fs::write(extended.join("fixtures/extra.json"), b"{}").unwrap();
    refused(
        &p.install(&extended, &[]),
        "fixtures/extra.json: the manifest does not name this file",
    );
    assert_eq!(p.refused_installs(), 3);

    // Signed again into the same directory with fewer fixtures: nothing
    // of the earlier signing is left behind to be refused; a file that is
    // not a fixture there is somebody's, and is never deleted.
    let fewer = reference_fixtures(&p, "fewer", &passing[..1]);
    let notes = package.join("fixtures/notes.txt");
    std::fs::write(&notes, b"kept").unwrap();
    let resigned = sign_with_fixtures(&p, candidate, &fewer, key, &package);
    refused(&resigned, "notes.txt, which is not a packaged fixture");
    assert!(notes.is_file());
    std::fs::remove_file(&notes).unwrap();
    assert_success(&sign_with_fixtures(&p, candidate, &fewer, key, &package));
    assert_success(&p.install(&package, &[]));
    assert_eq!(referral_version(&p), "1.1.0-ec72");
    let kept: Vec<PathBuf> =
        std::fs::read_dir(p.home.path().join("packages/kenya-referral-pathway"))
            .unwrap()
            .map(|e| e.unwrap().path().join("fixtures/police-with-consent.json"))
            .collect();
    assert!(kept.iter().all(|f| f.is_file()), "{kept:?}");
    // The kept package verifies again at the next start.
    assert_eq!(referral_version(&p), "1.1.0-ec72");
    assert!(p.run(&["audit", "verify"]).status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("fixtures")).unwrap();
    for name in ["plugin.wasm", "manifest.json"] {
        std::fs::copy(from.join(name), to.join(name)).unwrap();
    }
    for entry in std::fs::read_dir(from.join("fixtures")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join("fixtures").join(entry.file_name())).unwrap();
    }
}

/// A state in force that a plugin now refuses (here: settings accepted by
/// 1.1.0, then a rollback to 1.0.0, whose own check refuses them) holds
/// that plugin alone: every other plugin answers, the held one answers an
/// error naming why, and an administrator can repair it with the CLI.
#[test]
fn a_plugin_refusing_the_state_in_force_is_held_and_can_be_repaired() {
    use crate::wat::{CheckAnswer, Contract, SettingsCheck, plugin_described};

    let p = Publisher::new();
    let check = |answer| {
        Contract::V022(SettingsCheck {
            declared: &[("too-big", "the value {/n} is too big")],
            answer,
            defaults: r#"{"n":1}"#,
        })
    };
    let strict = plugin_described(
        "wat-plugin",
        "1.0.0",
        "A WAT fixture",
        check(CheckAnswer::Refuse(&[("too-big", "/n")])),
    );
    let lenient = plugin_described(
        "wat-plugin",
        "1.1.0",
        "A WAT fixture",
        check(CheckAnswer::Accept),
    );
    let v1 = p.package_built(&strict, Some("trusted.key"), "strict");
    let v2 = p.package_built(&lenient, Some("trusted.key"), "lenient");
    assert_success(&p.install(&v1, &[]));
    assert_success(&p.install(&v2, &[]));
    let who = ["--reason", "trying", "--actor", "amina"];
    assert_success(&p.run(&[&["settings", "set", "wat-plugin", "n=70"][..], &who].concat()));
    assert_success(&p.run(&[&["plugins", "rollback", "wat-plugin"][..], &who].concat()));

    let listed = p.run(&["plugins", "list"]);
    assert_success(&listed);
    let said = String::from_utf8_lossy(&listed.stdout);
    assert!(said.contains("HELD"), "{said}");
    assert!(said.contains("/n: the value 70 is too big"), "{said}");
    assert!(said.contains("kenya-referral-pathway"), "{said}");

    // A one-shot evaluation refuses the state, naming it.
    let case = p.path("case.json");
    std::fs::write(&case, crate::support::sample_case().to_string()).unwrap();
    let evaluate = || {
        p.run(&[
            "eligibility",
            "--case",
            case.to_str().unwrap(),
            "--as-of",
            "2026-07-01",
        ])
    };
    let refused = evaluate();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("/n: the value 70 is too big"));

    // The service starts, holds that plugin alone, and is repaired over HTTP.
    let Publisher { home, work } = p;
    let server = Server::start_with(Options {
        home: Some(home),
        ..Options::default()
    });
    let ready = get(&server.ops_url("/readyz"), None).json();
    assert_eq!(ready["status"], "degraded", "{ready}");
    assert_eq!(ready["held"], json!(["wat-plugin"]));
    let body = json!({"case": crate::support::sample_case(), "as_of": "2026-07-01T09:00:00+03:00"});
    let screened = post_json(
        &server.url("/v1/eligibility"),
        &server.tokens.evaluator,
        &body,
    )
    .json();
    let errors = screened["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{screened}");
    assert_eq!(errors[0]["plugin"], "wat-plugin");
    assert_eq!(errors[0]["type"], "held");
    assert!(
        screened["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["track"] == "education-support"),
        "{screened}"
    );
    let shown = get(
        &server.url("/v1/plugins/wat-plugin"),
        Some(&server.tokens.admin),
    )
    .json();
    assert!(
        shown["held"].as_str().unwrap().contains("too big"),
        "{shown}"
    );
    let reset = patch(
        &server.url("/v1/plugins/wat-plugin/settings"),
        &server.tokens.admin,
        Some("*"),
        &json!({"reset": ["n"], "reason": "back to the default"}),
    );
    assert_eq!(reset.status, 200, "{}", reset.text);
    let ready = get(&server.ops_url("/readyz"), None).json();
    assert_eq!(ready["status"], "ready", "{ready}");
    drop(work);
}
