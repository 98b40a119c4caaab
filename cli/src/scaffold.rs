//! `kinga new`: a plugin crate that builds for `wasm32-wasip2` at once,
//! with one example rule, its native unit tests, a fixture and a README
//! saying what to do next. The templates are in `host/templates/`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::setup::{self, ErrorPrinter};
use super::{EXIT_OK, Global};

/// The kinds of plugin `kinga new` makes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum NewKind {
    /// Decides which programme tracks a case is eligible for.
    Eligibility,
    /// Decides which services a case must be referred to.
    Referral,
    /// Builds a report from a stream of cases.
    Report,
}

/// Arguments of `kinga new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The kind of plugin.
    #[arg(value_enum)]
    pub kind: NewKind,
    /// Its id and crate name: lowercase words joined by hyphens
    /// (`county-school-support`).
    pub name: String,
    /// The directory to create it in (default: the current one).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub path: PathBuf,
    /// The plugin SDK to depend on. Default: the SDK of the Kinga source
    /// tree this `kinga` was built from.
    #[arg(long, value_name = "DIR", env = "KINGA_SDK")]
    pub sdk: Option<PathBuf>,
}

const CARGO_TOML: &str = include_str!("../templates/Cargo.toml.tmpl");
const README: &str = include_str!("../templates/README.md.tmpl");
const GITIGNORE: &str = include_str!("../templates/gitignore");
const LOCK: &str = include_str!("../../Cargo.lock");
const WIT: &[(&str, &str)] = &[
    ("worlds.wit", include_str!("../../wit/worlds.wit")),
    ("types.wit", include_str!("../../wit/types.wit")),
    ("log.wit", include_str!("../../wit/log.wit")),
    ("eligibility.wit", include_str!("../../wit/eligibility.wit")),
    ("referral.wit", include_str!("../../wit/referral.wit")),
    ("reporting.wit", include_str!("../../wit/reporting.wit")),
    ("settings.wit", include_str!("../../wit/settings.wit")),
];

impl NewKind {
    /// `(lib.rs, settings schema, fixture)` of the kind.
    fn templates(self) -> (&'static str, &'static str, &'static str) {
        match self {
            NewKind::Eligibility => (
                include_str!("../templates/eligibility.rs.tmpl"),
                include_str!("../templates/eligibility.settings.json"),
                include_str!("../templates/eligibility.fixture.json"),
            ),
            NewKind::Referral => (
                include_str!("../templates/referral.rs.tmpl"),
                include_str!("../templates/referral.settings.json"),
                include_str!("../templates/referral.fixture.json"),
            ),
            NewKind::Report => (
                include_str!("../templates/report.rs.tmpl"),
                include_str!("../templates/report.settings.json"),
                include_str!("../templates/report.fixture.json"),
            ),
        }
    }

    fn arg(self) -> &'static str {
        match self {
            NewKind::Eligibility => "eligibility",
            NewKind::Referral => "referral",
            NewKind::Report => "report",
        }
    }

    fn title(self) -> &'static str {
        match self {
            NewKind::Eligibility => "An eligibility",
            NewKind::Referral => "A referral",
            NewKind::Report => "A reporting",
        }
    }
}

/// Whether `name` can be a plugin id and a crate name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (key, value)| {
            text.replace(&format!("{{{{{key}}}}}"), value)
        })
}

/// The SDK this binary's source tree holds.
fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/sdk")
}

/// Runs `kinga new`.
pub fn run(_global: &Global, args: &NewArgs, errors: &ErrorPrinter) -> u8 {
    if !valid_name(&args.name) {
        return errors.usage(&format!(
            "{}: a plugin name is lowercase words joined by single hyphens, at most 64 characters (county-school-support)",
            setup::printable(&args.name)
        ));
    }
    let sdk = args.sdk.clone().unwrap_or_else(default_sdk);
    let Ok(sdk) = std::fs::canonicalize(&sdk) else {
        return errors.usage(&format!(
            "{}: no plugin SDK there; give --sdk DIR (the plugins/sdk directory of a Kinga source tree)",
            sdk.display()
        ));
    };
    let dir = args.path.join(&args.name);
    if dir.exists() && std::fs::read_dir(&dir).map_or(true, |mut d| d.next().is_some()) {
        return errors.usage(&format!(
            "{}: already exists and is not empty",
            dir.display()
        ));
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return errors.usage(&format!("{}: {e}", dir.display()));
    }
    // Relative, so the crate keeps working when the tree it sits in is
    // moved, copied or committed (no one's home directory in Cargo.toml).
    let sdk_path = match std::fs::canonicalize(&dir)
        .ok()
        .and_then(|crate_dir| pathdiff::diff_paths(&sdk, crate_dir))
    {
        Some(relative) => relative.display().to_string(),
        None => {
            return errors.usage(&format!(
                "{}: no relative path from the new crate to the SDK; give --sdk DIR",
                sdk.display()
            ));
        }
    };
    let crate_name = args.name.replace('-', "_");
    let type_name = kinga_host::devkit::pascal_case(&args.name);
    let values = [
        ("name", args.name.as_str()),
        ("crate_name", crate_name.as_str()),
        ("type_name", type_name.as_str()),
        ("kind", args.kind.arg()),
        ("kind_arg", args.kind.arg()),
        ("kind_title", args.kind.title()),
        ("sdk_path", sdk_path.as_str()),
        ("contract", kinga_host::CONTRACT),
    ];
    let (lib, settings, fixture) = args.kind.templates();
    let mut files: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), fill(CARGO_TOML, &values)),
        ("Cargo.lock".into(), LOCK.to_owned()),
        ("README.md".into(), fill(README, &values)),
        (".gitignore".into(), GITIGNORE.to_owned()),
        ("src/lib.rs".into(), fill(lib, &values)),
        ("src/settings.schema.json".into(), settings.to_owned()),
        ("fixtures/example.json".into(), fixture.to_owned()),
    ];
    files.extend(
        WIT.iter()
            .map(|(name, text)| (PathBuf::from("wit").join(name), (*text).to_owned())),
    );
    for (relative, text) in &files {
        let path = dir.join(relative);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            return errors.usage(&format!("{}: {e}", path.display()));
        }
    }
    setup::emit(&format!(
        "created {} ({} plugin {})\n\nnext:\n  cd {}\n  cargo test                          # the example rule's unit tests\n  kinga test . --fixtures fixtures    # build for wasm32-wasip2 and run the fixtures in the real host\n  kinga check .                       # what install will say\n",
        dir.display(),
        args.kind.arg(),
        args.name,
        dir.display()
    ));
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new crate gets the whole contract: a `.wit` file added to `wit/`
    /// and not copied would leave every new plugin unbuildable.
    #[test]
    fn every_file_of_the_contract_is_copied() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../wit");
        let mut contract: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".wit"))
            .collect();
        contract.sort();
        let mut copied: Vec<String> = WIT.iter().map(|(name, _)| (*name).to_owned()).collect();
        copied.sort();
        assert_eq!(copied, contract);
    }

    #[test]
    fn names_are_kebab_case_ids() {
        assert!(valid_name("county-school-support"));
        assert!(valid_name("a1"));
        for bad in [
            "",
            "Upper",
            "-lead",
            "trail-",
            "two--hyphens",
            "under_score",
            "1st",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(
            kinga_host::devkit::pascal_case("county-school-support"),
            "CountySchoolSupport"
        );
    }
}
