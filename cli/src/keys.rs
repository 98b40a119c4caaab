//! `kinga keys` and the package commands: generate a publisher key, trust
//! one, sign a plugin, install a package, roll back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use kinga_host::admin::{self, Change};
use kinga_host::{Error, Host};

use super::admin::Accountability;
use super::setup::{self, ErrorPrinter};
use super::{EXIT_FAILED, EXIT_OK, Global};

/// `kinga keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a publisher key pair: NAME.key (secret, keep it safe) and
    /// NAME.pub (give it to the hosts that should trust you).
    Generate {
        /// The key's file name.
        name: String,
        /// Where to write it.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Trust a publisher's public key on this host.
    Trust {
        /// The NAME.pub file.
        public_key: PathBuf,
        #[command(flatten)]
        who: Accountability,
    },
    /// Stop trusting a publisher key (by id, as `keys list` shows it).
    Untrust {
        /// The key's id (`ed25519:...`).
        key_id: String,
        #[command(flatten)]
        who: Accountability,
    },
    /// List the publisher keys this host trusts.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The directory of trusted publisher keys.
pub fn trusted_dir(global: &Global) -> Result<PathBuf, String> {
    setup::home(global).map(|home| home.join("trusted-keys"))
}

/// Runs `kinga keys ...`.
pub fn run(global: &Global, command: &KeysCommand, errors: &ErrorPrinter) -> u8 {
    match command {
        KeysCommand::Generate { name, dir } => {
            let written = admin::generate_key().and_then(|key| {
                let paths = admin::write_key_pair(dir, name, &key)?;
                Ok((paths, admin::key_id(&key.verifying_key())))
            });
            match written {
                Ok(((secret, public), id)) => {
                    setup::emit(&format!(
                        "key {id}\n  secret: {} (keep it private)\n  public: {}\n",
                        secret.display(),
                        public.display()
                    ));
                    EXIT_OK
                }
                Err(e) => errors.usage(&format!("cannot write the key: {e}")),
            }
        }
        KeysCommand::Trust { public_key, who } => {
            let key = match admin::read_public_key(public_key) {
                Ok(key) => key,
                Err(message) => return errors.usage(&message.to_string()),
            };
            let id = admin::key_id(&key);
            let dir = match trusted_dir(global) {
                Ok(dir) => dir,
                Err(message) => return errors.usage(&message),
            };
            // The key is written anew from what was read, never copied:
            // only a public key's bytes can reach the host.
            let target = dir.join(format!("{}.pub", id.replace(':', "-")));
            if let Err(e) =
                std::fs::create_dir_all(&dir).and_then(|()| admin::write_public_key(&target, &key))
            {
                return errors.usage(&format!("{}: {e}", target.display()));
            }
            super::admin::apply(global, Change::TrustKey { key_id: id }, who, errors)
        }
        KeysCommand::Untrust { key_id, who } => super::admin::apply(
            global,
            Change::UntrustKey {
                key_id: key_id.clone(),
            },
            who,
            errors,
        ),
        KeysCommand::List { json } => list(global, *json, errors),
    }
}

/// `kinga keys list`: the keys the audited state trusts, and whether each
/// one's file is in place.
fn list(global: &Global, json: bool, errors: &ErrorPrinter) -> u8 {
    let state = match setup::state_store(global).map(|store| store.load()) {
        Ok(Ok(state)) => state,
        Ok(Err(e)) => return errors.usage(&e.to_string()),
        Err(message) => return errors.usage(&message),
    };
    let dir = match trusted_dir(global) {
        Ok(dir) => dir,
        Err(message) => return errors.usage(&message),
    };
    let keys: Vec<(String, bool)> = state
        .trusted_keys
        .iter()
        .map(|id| {
            let file = dir.join(format!("{}.pub", id.replace(':', "-")));
            (id.clone(), file.is_file())
        })
        .collect();
    let text = if json {
        let listed: Vec<_> = keys
            .iter()
            .map(|(id, present)| serde_json::json!({"key_id": id, "file_present": present}))
            .collect();
        serde_json::to_string_pretty(&listed).unwrap_or_default() + "\n"
    } else if keys.is_empty() {
        "no publisher key is trusted\n".to_owned()
    } else {
        keys.iter()
            .map(|(id, present)| {
                let note = if *present {
                    ""
                } else {
                    "  (its file is missing)"
                };
                format!("{id}{note}\n")
            })
            .collect()
    };
    setup::emit(&text);
    EXIT_OK
}

/// The fixtures a package will carry: every `*.json` in `dir`, by file
/// name, each a regular file within the package limit and named as the
/// manifest schema allows.
fn package_fixtures(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut fixtures = BTreeMap::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !admin::is_fixture_name(&name) {
            return Err(format!(
                "{}: a packaged fixture is named with lowercase letters, digits, - and _ (at most 96), then .json",
                path.display()
            ));
        }
        let bytes = kinga_host::read_regular_file(&path, admin::MAX_PACKAGED_FIXTURE_BYTES)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        fixtures.insert(name, bytes);
        if fixtures.values().map(Vec::len).sum::<usize>() > admin::MAX_PACKAGED_FIXTURES_BYTES {
            return Err(format!(
                "{}: the fixtures come to more than {} bytes, the most a package carries",
                dir.display(),
                admin::MAX_PACKAGED_FIXTURES_BYTES
            ));
        }
    }
    if fixtures.is_empty() {
        return Err(format!("{}: no *.json fixtures", dir.display()));
    }
    Ok(fixtures)
}

/// `kinga plugins sign`: writes a signed package, with the plugin's own
/// fixtures when `fixtures` names their directory (they must pass first).
pub fn sign(
    component: &Path,
    fixtures: Option<&Path>,
    key: Option<&Path>,
    out: &Path,
    errors: &ErrorPrinter,
) -> u8 {
    let component = match super::devkit::component(component, errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let component = component.as_path();
    let bytes = match kinga_host::read_regular_file(
        component,
        kinga_host::Limits::default().component_bytes,
    ) {
        Ok(bytes) => bytes,
        Err(source) => {
            return errors.fail(&Error::Io {
                path: component.display().to_string(),
                cause: source,
            });
        }
    };
    let (id, version, kind) = match admin::describe(&bytes, &component.display().to_string()) {
        Ok(described) => described,
        Err(e) => return errors.fail(&e),
    };
    let key = match key.map(admin::read_signing_key).transpose() {
        Ok(key) => key,
        Err(message) => return errors.usage(&message.to_string()),
    };
    let fixtures = match fixtures.map(package_fixtures).transpose() {
        Ok(fixtures) => fixtures.unwrap_or_default(),
        Err(message) => return errors.usage(&message),
    };
    // A package whose own fixtures fail would be refused at every
    // installation: it is not written.
    match admin::own_fixtures::run(&bytes, &fixtures, &kinga_host::Limits::default()) {
        Ok(failed) if failed.is_empty() => {}
        Ok(failed) => {
            eprintln!(
                "kinga: the plugin did not pass {} of its {} fixtures; no package was written:",
                failed.len(),
                fixtures.len()
            );
            for failure in &failed {
                eprintln!(
                    "  - {}: {}",
                    setup::printable(&failure.fixture),
                    setup::printable(&failure.problem)
                );
            }
            return EXIT_FAILED;
        }
        Err(e) => return errors.fail(&e),
    }
    let contents = admin::PackageContents {
        component: bytes,
        fixtures,
    };
    match admin::write_package(out, &contents, &id, &version, &kind, key.as_ref()) {
        Ok(manifest) => {
            let by = manifest
                .publisher_key_id
                .as_deref()
                .unwrap_or("nobody (UNSIGNED, development only)");
            let carried = match manifest.fixtures.len() {
                0 => " (no fixtures of its own: installation runs only the smoke caseload)"
                    .to_owned(),
                n => format!(", with {n} fixtures of its own, all passed"),
            };
            setup::emit(&format!(
                "package {} {} signed by {by}{carried}: {}\n",
                manifest.id,
                manifest.version,
                out.display()
            ));
            EXIT_OK
        }
        Err(e) => errors.usage(&format!("{}: {e}", out.display())),
    }
}

/// `kinga plugins install`: verifies a package, copies it into the
/// administration directory and makes it the version in use.
pub fn install(
    global: &Global,
    dir: &Path,
    options: admin::InstallOptions,
    who: &Accountability,
    errors: &ErrorPrinter,
) -> u8 {
    let (store, host) = match super::admin::store_and_host(global, errors) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let installed = admin::install(&store, &host, dir, options, &who.request());
    super::admin::report(installed, who, errors)
}

/// What a shadow run compares the version in use with.
pub enum Candidate<'a> {
    /// A package.
    Package(&'a Path),
    /// The version in use with these settings laid over its own.
    Settings(serde_json::Map<String, serde_json::Value>),
}

/// What `kinga plugins shadow` was asked.
pub struct ShadowArgs<'a> {
    /// The plugin.
    pub plugin: &'a str,
    /// The candidate.
    pub candidate: Candidate<'a>,
    /// The cases.
    pub cases: &'a Path,
    /// With `--from`: the platform and the profile the lines are read
    /// with.
    pub read: &'a super::convert::ReadArgs,
    /// The as-of.
    pub as_of: Option<&'a str>,
    /// Development mode.
    pub allow_unsigned: bool,
    /// JSON output.
    pub json: bool,
}

/// `kinga plugins shadow`: the version in use and a verified candidate over
/// the same cases, with the same administration state, recording nothing.
pub fn shadow(global: &Global, args: &ShadowArgs<'_>, errors: &ErrorPrinter) -> u8 {
    let quiet = Global {
        decision_log: None,
        ..global.clone()
    };
    let (as_of, active) =
        match setup::as_of(args.as_of).and_then(|at| Ok((at, shadow_host(&quiet)?))) {
            Ok(loaded) => loaded,
            Err(e) => return errors.fail(&e),
        };
    let store = match setup::state_store(global) {
        Ok(store) => store,
        Err(message) => return errors.usage(&message),
    };
    let package = match &args.candidate {
        Candidate::Package(dir) => *dir,
        Candidate::Settings(overrides) => {
            let candidate = shadow_host(&quiet).and_then(|mut host| {
                let mut settings = host
                    .plugins()
                    .find(|p| p.description().id == args.plugin)
                    .map(|p| p.settings())
                    .and_then(|s| s.as_object().cloned())
                    .ok_or_else(|| Error::UnknownPlugin(args.plugin.to_owned()))?;
                settings.extend(overrides.clone());
                host.set_settings(args.plugin, &settings)?;
                Ok(host)
            });
            return match candidate {
                Ok(candidate) => compare(global, &active, &candidate, args, as_of, errors),
                Err(e) => errors.fail(&e),
            };
        }
    };
    let trusted = match setup::home(global)
        .and_then(|home| admin::trusted_keys(&home, &store).map_err(|e| e.to_string()))
    {
        Ok(trusted) => trusted,
        Err(message) => return errors.usage(&message),
    };
    let verified = match admin::verify_package(package, &trusted, args.allow_unsigned) {
        Ok(verified) => verified,
        Err(e) => return errors.usage(&format!("candidate refused: {e}")),
    };
    let limits = setup::limits(global).without_breaker();
    let candidate = Host::builder().limits(limits).build().and_then(|mut host| {
        let id = host.load_bytes(&verified.component, "candidate")?;
        if id != args.plugin {
            return Err(Error::plugin_load(
                "candidate",
                format!("it holds plugin {id}, not {}", args.plugin),
            ));
        }
        let state = store
            .load()
            .map_err(|e| Error::InvalidState(e.to_string()))?;
        host.apply_state(&state)?;
        Ok(host)
    });
    match candidate {
        Ok(candidate) => compare(global, &active, &candidate, args, as_of, errors),
        Err(e) => errors.fail(&e),
    }
}

/// The deployment's host without a breaker: a shadow run calls every case
/// on both sides, where a breaker would stop counting a side's failures
/// after a few.
fn shadow_host(global: &Global) -> Result<Host, Error> {
    let mut deployment = setup::deployment(global);
    deployment.limits = deployment.limits.without_breaker();
    deployment.build()
}

/// Runs the shadow comparison of `active` and `candidate` and prints it.
fn compare(
    global: &Global,
    active: &Host,
    candidate: &Host,
    args: &ShadowArgs<'_>,
    as_of: kinga_host::AsOf,
    errors: &ErrorPrinter,
) -> u8 {
    let profile = match super::convert::read_profile(global, args.read) {
        Ok(profile) => profile,
        Err(e) => return super::convert::report_refusal(errors, "", &e),
    };
    let lines = match super::convert::case_stream(profile.as_ref(), args.cases) {
        Ok(lines) => lines,
        Err(e) => return errors.fail(&e),
    };
    // A case that cannot be read is left out of both runs, and counted.
    let left_out = std::cell::Cell::new(0u64);
    let cases = lines.filter_map(|line| match line.map(|l| l.case) {
        Ok(Ok(case)) => Some(case),
        _ => {
            left_out.set(left_out.get() + 1);
            None
        }
    });
    let report = match kinga_host::devkit::shadow(active, candidate, args.plugin, cases, as_of) {
        Ok(report) => report,
        Err(e) => return errors.fail(&e),
    };
    let versions = (
        active
            .plugin(args.plugin)
            .map(|p| p.version.clone())
            .unwrap_or_default(),
        candidate
            .plugin(args.plugin)
            .map(|p| p.version.clone())
            .unwrap_or_default(),
    );
    let text = if args.json {
        serde_json::to_string_pretty(&serde_json::json!({
            "plugin": args.plugin, "active_version": versions.0, "candidate_version": versions.1,
            "candidate_settings": match &args.candidate {
                Candidate::Settings(overrides) => serde_json::Value::Object(overrides.clone()),
                Candidate::Package(_) => serde_json::Value::Null,
            },
            "report": report,
            "left_out": left_out.get(),
        }))
        .unwrap_or_default()
            + "\n"
    } else {
        let candidate = match &args.candidate {
            Candidate::Package(_) => versions.1.clone(),
            Candidate::Settings(overrides) => format!(
                "{} with {}",
                versions.1,
                overrides
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut text = format!(
            "shadow run of {} {} (in use) against {candidate} (candidate), as of {as_of}\n{} cases, {} would change, {} failed in either\n",
            args.plugin, versions.0, report.cases, report.changed_cases, report.failed_cases
        );
        for (side, failures) in [
            ("the version in use", &report.active_failures),
            ("the candidate", &report.candidate_failures),
        ] {
            if failures.count > 0 {
                let cases: Vec<String> = failures
                    .sample
                    .iter()
                    .map(|f| format!("{} ({})", f.case_id, f.error))
                    .collect();
                text.push_str(&format!(
                    "  {side} failed on {}: {}{}\n",
                    failures.count,
                    cases.join(", "),
                    if failures.count > cases.len() as u64 {
                        ", ..."
                    } else {
                        ""
                    }
                ));
            }
        }
        for (key, counts) in &report.by_key {
            text.push_str(&format!(
                "  {key:<58} +{:<5} -{:<5} ~{}\n",
                counts.added, counts.removed, counts.changed
            ));
        }
        if !report.sample.is_empty() {
            text.push_str("sample:\n");
        }
        for d in &report.sample {
            text.push_str(&format!(
                "  {} {} {}: {} -> {}\n",
                d.case_id, d.change, d.key, d.active, d.candidate
            ));
        }
        text
    };
    setup::emit(&text);
    if left_out.get() > 0 {
        eprintln!(
            "kinga: {} cases could not be read and were left out of both runs",
            left_out.get()
        );
    }
    EXIT_OK
}
