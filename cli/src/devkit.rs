//! The plugin developer's commands: `kinga check` (what the host would say
//! at install time) and `kinga test` (fixtures through the real host).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;
use kinga_host::devkit::{Fixture, Mismatch};
use kinga_host::{Error, Host, Limits};
use serde_json::{Value, json};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, Global};

/// Arguments of `kinga check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The component (`.wasm`), or a plugin crate to build first.
    pub plugin: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `kinga test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The component (`.wasm`), or a plugin crate to build first.
    pub plugin: PathBuf,
    /// The directory of fixtures (`*.json`; see `kinga_host::devkit::Fixture`).
    #[arg(long, value_name = "DIR")]
    pub fixtures: PathBuf,
    /// Rewrite the expectations of failing fixtures with what the plugin
    /// answered (review the diff first: this makes them pass).
    #[arg(long)]
    pub update: bool,
}

/// The component at `path`: the file itself, or the `.wasm` that building
/// the crate at `path` for `wasm32-wasip2` produces.
pub fn component(path: &Path, errors: &ErrorPrinter) -> Result<PathBuf, u8> {
    if path.is_file() {
        return Ok(path.to_owned());
    }
    let manifest = path.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(errors.usage(&format!(
            "{}: neither a .wasm file nor a crate directory",
            path.display()
        )));
    }
    build(&manifest).map_err(|message| errors.usage(&message))
}

/// Builds a plugin crate for `wasm32-wasip2` (release) and returns its
/// component, as cargo reports it.
pub fn build(manifest: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("kinga: building {} for wasm32-wasip2", manifest.display());
    let output = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(manifest)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("{}: the build failed", manifest.display()));
    }
    let manifest = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_owned());
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter(|m| m["manifest_path"].as_str().map(PathBuf::from) == Some(manifest.clone()))
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .ok_or_else(|| {
            format!(
                "{}: the build produced no .wasm (is the crate a cdylib?)",
                manifest.display()
            )
        })
}

/// A host of its own with only `component` loaded; returns it and the id.
fn host_with(global: &Global, component: &Path) -> Result<(Host, String), Error> {
    let mut builder = Host::builder();
    if let Some(dir) = setup::deployment(global).cache_dir {
        builder = builder.cache_dir(dir);
    }
    let mut host = builder.build()?;
    let bytes = kinga_host::read_regular_file(component, host.limits().component_bytes).map_err(
        |source| Error::Io {
            path: component.display().to_string(),
            cause: source,
        },
    )?;
    let id = host.load_bytes(&bytes, &component.display().to_string())?;
    Ok((host, id))
}

/// Reports a component the host refuses: its one problem, or every problem
/// found, one a line.
fn refused(path: &Path, problems: &[String], errors: &ErrorPrinter) -> u8 {
    match problems {
        [one] => errors.usage(&format!("{}: refused: {one}", path.display())),
        many => errors.usage_list(
            &format!("{}: refused, {} problems:", path.display(), many.len()),
            many,
        ),
    }
}

/// Runs `kinga check`.
pub fn check(global: &Global, args: &CheckArgs, errors: &ErrorPrinter) -> u8 {
    let path = match component(&args.plugin, errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let size = std::fs::metadata(&path)
        .map(|m| m.len())
        .unwrap_or_default();
    let (host, id) = match host_with(global, &path) {
        Ok(loaded) => loaded,
        Err(Error::PluginLoad { problems, .. }) if args.json => {
            let report = json!({"file": path.display().to_string(), "refused": problems});
            setup::emit(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"));
            return EXIT_BAD_INPUT;
        }
        Err(Error::PluginLoad { problems, .. }) => {
            return refused(&path, &problems, errors);
        }
        Err(other) => return errors.fail(&other),
    };
    let plugin = host
        .plugins()
        .find(|p| p.description().id == id)
        .expect("the plugin just loaded");
    let d = plugin.description();
    let limit = Limits::default().component_bytes;
    let smoked = kinga_host::read_regular_file(&path, limit)
        .map_err(|e| e.to_string())
        .and_then(|bytes| {
            kinga_host::admin::smoke::smoke(&bytes, &Default::default(), host.limits())
                .map_err(|e| e.to_string())
        });
    let failures = match smoked {
        Ok(failures) => failures,
        Err(message) => return errors.usage(&format!("{}: smoke run: {message}", path.display())),
    };
    let code = if failures.is_empty() {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    if args.json {
        let report = json!({
            "file": path.display().to_string(),
            "bytes": size,
            "limit_bytes": limit,
            "contract": d.contract,
            "checks_settings": plugin.checks_settings(),
            "case_version": plugin.case_version(),
            "world": format!("{}-plugin", d.kind.as_str()),
            "imports": plugin.imports(),
            "description": d,
            "smoke": {
                "cases": kinga_host::admin::smoke::SMOKE_CASES,
                "seed": kinga_host::admin::smoke::SMOKE_SEED,
                "failures": failures,
            },
        });
        setup::emit(&(serde_json::to_string_pretty(&report).unwrap_or_default() + "\n"));
        return code;
    }
    let mut text = format!(
        "{}\n  size       {} KiB (the limit is {} MiB)\n",
        path.display(),
        size.div_ceil(1024),
        limit >> 20
    );
    text.push_str(&format!(
        "  contract   {}, world {}-plugin\n",
        d.contract,
        d.kind.as_str()
    ));
    let (contract, inert): (Vec<&String>, Vec<&String>) = plugin
        .imports()
        .iter()
        .partition(|name| name.starts_with("kinga:"));
    let names = |list: Vec<&String>| {
        list.iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    text.push_str(&format!(
        "  imports    the contract: {}\n             WASI, linked inert (no files, network, clock or real randomness): {}\n",
        names(contract),
        if inert.is_empty() { "none".to_owned() } else { names(inert) }
    ));
    // Every word the plugin supplied is neutralised before the terminal.
    let shown = kinga_host::neutralise;
    text.push_str(&format!(
        "  describe   {} {}: {}\n             {}\n",
        shown(&d.id),
        shown(&d.version),
        shown(&d.name),
        shown(&d.purpose)
    ));
    for rule in &d.rules {
        let default = if rule.enabled_by_default { "on" } else { "off" };
        text.push_str(&format!(
            "             rule {} ({default} by default): {}\n",
            shown(&rule.id),
            shown(&rule.title)
        ));
    }
    for template in &d.templates {
        text.push_str(&format!(
            "             template {}: {}\n",
            shown(&template.id),
            shown(&template.title)
        ));
    }
    if plugin.checks_settings() {
        text.push_str(&format!(
            "  settings   the schema compiles; the defaults fit it and pass the plugin's own check ({} refusals declared)\n",
            d.settings_refusals.len()
        ));
    } else {
        text.push_str(&format!(
            "  settings   the schema compiles and the defaults fit it; built against {}, the plugin has no settings check of its own\n",
            d.contract
        ));
    }
    text.push_str(&format!(
        "  case       reads canonical case {} ({} fields, all in the case schema): {}\n",
        plugin.case_version(),
        d.case_fields.len(),
        d.case_fields.join(", ")
    ));
    let cases = kinga_host::admin::smoke::SMOKE_CASES;
    let seed = kinga_host::admin::smoke::SMOKE_SEED;
    if failures.is_empty() {
        text.push_str(&format!(
            "  smoke      {cases} synthetic cases (seed {seed}) with the default settings: no failure\n"
        ));
        text.push_str(&format!(
            "ok: the host would install it. Next: kinga plugins sign {} --key KEY --out DIR\n",
            path.display()
        ));
    } else {
        text.push_str(&format!(
            "  smoke      {cases} synthetic cases (seed {seed}) with the default settings: failed on {}\n",
            failures.len()
        ));
        for failure in failures.iter().take(10) {
            text.push_str(&format!(
                "             {} ({})\n",
                failure.input, failure.error
            ));
        }
        text.push_str(
            "refused: the host would not install it until it passes the smoke caseload\n",
        );
    }
    setup::emit(&text);
    code
}

/// Runs `kinga test`.
pub fn test(global: &Global, args: &TestArgs, errors: &ErrorPrinter) -> u8 {
    let path = match component(&args.plugin, errors) {
        Ok(path) => path,
        Err(code) => return code,
    };
    let fixtures = match Fixture::read_dir(&args.fixtures) {
        Ok(fixtures) => fixtures,
        Err(e) => return errors.usage(&e.to_string()),
    };
    if fixtures.is_empty() {
        return errors.usage(&format!("{}: no *.json fixtures", args.fixtures.display()));
    }
    // One host for every fixture (the component compiles once); each
    // fixture starts again from the plugin's defaults.
    let (mut host, id) = match host_with(global, &path) {
        Ok(loaded) => loaded,
        Err(Error::PluginLoad { problems, .. }) => {
            return refused(&path, &problems, errors);
        }
        Err(e) => return errors.fail(&e),
    };
    let (mut passed, mut failed, mut broken, mut updated) = (0, 0, 0, 0);
    let mut text = String::new();
    for fixture in &fixtures {
        let fixture = match fixture {
            Ok(fixture) => fixture,
            Err(e) => {
                broken += 1;
                text.push_str(&format!("ERROR {e}\n"));
                continue;
            }
        };
        let outcome = host
            .apply_state(&kinga_host::admin::AdminState::default())
            .and_then(|()| fixture.prepare(&mut host, &id))
            .and_then(|()| fixture.run_checking_reads(&host, &id));
        match outcome {
            Err(e) => {
                broken += 1;
                text.push_str(&format!(
                    "ERROR {}: {}\n",
                    fixture.name(),
                    setup::printable(&e.to_string())
                ));
            }
            Ok(outcome) if outcome.mismatches.is_empty() => {
                passed += 1;
                text.push_str(&format!("ok    {}\n", fixture.name()));
            }
            Ok(outcome) if args.update => match fixture.update(&outcome.actual) {
                Ok(()) => {
                    updated += 1;
                    text.push_str(&format!("updated {}\n", fixture.name()));
                    text.push_str(&diff(&outcome.mismatches));
                }
                Err(e) => return errors.usage(&format!("{}: {e}", fixture.path.display())),
            },
            Ok(outcome) => {
                failed += 1;
                text.push_str(&format!("FAIL  {}: {}\n", fixture.name(), fixture.about));
                text.push_str(&diff(&outcome.mismatches));
            }
        }
    }
    text.push_str(&format!(
        "\n{passed} passed, {failed} failed, {broken} could not run{}\n",
        if updated > 0 {
            format!(", {updated} updated")
        } else {
            String::new()
        }
    ));
    setup::emit(&text);
    if broken > 0 {
        EXIT_BAD_INPUT
    } else if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// A readable diff: where, what was expected, what came.
fn diff(mismatches: &[Mismatch]) -> String {
    let show = |v: &Value| {
        if v.is_null() {
            "(nothing)".to_owned()
        } else {
            setup::printable(&v.to_string())
        }
    };
    mismatches
        .iter()
        .map(|m| {
            format!(
                "      {}\n        - expected {}\n        + got      {}\n",
                m.pointer,
                show(&m.expected),
                show(&m.actual)
            )
        })
        .collect()
}
