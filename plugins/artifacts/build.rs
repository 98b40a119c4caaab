//! Builds every guest crate of the workspace for `wasm32-wasip2` and writes
//! their paths into `$OUT_DIR/artifacts.rs`.
//!
//! Guests are the crates under `plugins/` (the reference plugins, apart from
//! the SDK and this crate) and under `tests/plugins/` (plugins that exist to
//! test the host). They are built in one nested `cargo build` with the
//! `guest` profile, into their own target directory (`target/wasm-guests`):
//! the outer cargo holds the lock on its own build directory, so a nested
//! build there would wait for ever. The nested build is incremental, so this
//! costs a fraction of a second when nothing changed.
//!
//! If the `wasm32-wasip2` target is missing, it is installed with `rustup`
//! first, so that a fresh clone needs nothing but Rust.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-wasip2";
const GUEST_PROFILE: &str = "guest";
/// Crates under `plugins/` that are not plugins.
const NOT_PLUGINS: &[&str] = &["sdk", "artifacts"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("plugins/artifacts sits two levels below the workspace root")
        .to_path_buf();
    for watched in [
        "wit",
        "plugins",
        "tests/plugins",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");

    let reference = guest_crates(&workspace.join("plugins"), NOT_PLUGINS);
    let tests = guest_crates(&workspace.join("tests/plugins"), &[]);
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("wasm-guests");

    ensure_guest_target();
    build_guests(&workspace, &target_dir, reference.iter().chain(&tests));

    let built = target_dir.join(GUEST_TARGET).join(GUEST_PROFILE);
    let bundled = target_dir.join("plugins");
    refresh_bundled_dir(&bundled, &built, &reference);

    let mut out = String::new();
    writeln!(
        out,
        "/// The directory holding the reference plugins, built from `plugins/`."
    )
    .unwrap();
    writeln!(
        out,
        "pub const REFERENCE_PLUGINS_DIR: &str = {:?};",
        bundled.display().to_string()
    )
    .unwrap();
    for name in reference.iter().chain(&tests) {
        let path = wasm_path(&built, name);
        writeln!(out, "/// The component built from the `{name}` crate.").unwrap();
        writeln!(
            out,
            "pub const {}: &str = {:?};",
            const_name(name),
            path.display().to_string()
        )
        .unwrap();
    }
    writeln!(out, "/// Every guest crate and the path of its component.").unwrap();
    writeln!(out, "pub const ALL: &[(&str, &str)] = &[").unwrap();
    for name in reference.iter().chain(&tests) {
        writeln!(out, "    ({name:?}, {}),", const_name(name)).unwrap();
    }
    writeln!(out, "];").unwrap();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out_dir.join("artifacts.rs"), out).expect("write artifacts.rs");
}

/// The crate directories directly under `dir` (each named like its package).
fn guest_crates(dir: &Path, skip: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|name| !skip.contains(&name.as_str()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn ensure_guest_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot.is_some_and(|s| s.join("lib/rustlib").join(GUEST_TARGET).is_dir());
    if installed {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", GUEST_TARGET])
        .status();
    match status {
        // Cargo repeats a build script's warnings on later builds until the
        // script runs again, so this is said in the past tense.
        Ok(s) if s.success() => {
            println!(
                "cargo:warning=the {GUEST_TARGET} target was missing and has been installed with rustup"
            );
        }
        other => panic!(
            "the {GUEST_TARGET} target is missing and `rustup target add {GUEST_TARGET}` failed ({other:?}); \
             install it by hand and build again"
        ),
    }
}

fn build_guests<'a>(workspace: &Path, target_dir: &Path, crates: impl Iterator<Item = &'a String>) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args([
            "build",
            "--target",
            GUEST_TARGET,
            "--profile",
            GUEST_PROFILE,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    for name in crates {
        cmd.args(["-p", name]);
    }
    // The outer build's settings are for the host, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output().expect("run cargo to build the guests");
    if !output.status.success() {
        panic!(
            "building the guest plugins for {GUEST_TARGET} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Makes `bundled` hold exactly the reference plugins' components.
fn refresh_bundled_dir(bundled: &Path, built: &Path, reference: &[String]) {
    fs::create_dir_all(bundled).expect("create the bundled plugins directory");
    for entry in fs::read_dir(bundled)
        .expect("read the bundled plugins directory")
        .flatten()
    {
        let _ = fs::remove_file(entry.path());
    }
    for name in reference {
        let from = wasm_path(built, name);
        let to = bundled.join(format!("{name}.wasm"));
        fs::copy(&from, &to)
            .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
    }
}

fn wasm_path(built: &Path, name: &str) -> PathBuf {
    built.join(format!("{}.wasm", name.replace('-', "_")))
}

fn const_name(name: &str) -> String {
    name.replace('-', "_").to_uppercase()
}
