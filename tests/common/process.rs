//! The `kinga` binary as a child process, shared by the integration tests
//! (`tests/all`), the scale test (`tests/scale`) and the benchmark
//! (`cli/benches/performance`). Each includes this file with `#[path]`, so
//! it uses nothing beyond `std` and `libc`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

/// The `kinga` binary Cargo built for this test or benchmark.
pub fn kinga_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kinga"))
}

/// `kinga` with no artifact cache and the administration directory `home`
/// (so no one's real state changes a run).
pub fn kinga_without_cache(home: &Path) -> Command {
    let mut command = Command::new(kinga_bin());
    command.arg("--no-cache").arg("--home").arg(home);
    command
}

/// `kinga` with the artifact cache `cache` and the administration
/// directory `cache/home`: for runs where compiling the plugins again each
/// time is not what is measured.
pub fn kinga_with_cache(cache: &Path) -> Command {
    let mut command = Command::new(kinga_bin());
    command
        .arg("--cache-dir")
        .arg(cache)
        .arg("--home")
        .arg(cache.join("home"));
    command
}

/// How a child process ended.
pub struct Ended {
    /// It exited with status 0.
    pub succeeded: bool,
    /// Its own peak resident memory, in bytes.
    pub peak_bytes: u64,
}

/// Waits for `child` and reads its peak resident memory with `wait4`.
///
/// The peak includes what the parent had resident when it forked (Linux
/// keeps the high-water mark across `exec`), so a parent that holds much
/// memory should start the measured process through a small one.
pub fn wait_with_peak(child: Child) -> Ended {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let mut status = 0;
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `pid` is our child, not yet reaped; the pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, usage.as_mut_ptr()) };
    assert_eq!(reaped, pid, "wait4");
    // SAFETY: wait4 succeeded and filled the struct.
    let usage = unsafe { usage.assume_init() };
    // Reaped already: dropping `child` must not wait for it again.
    std::mem::forget(child);
    Ended {
        succeeded: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        peak_bytes: u64::try_from(usage.ru_maxrss).unwrap_or_default() * 1024,
    }
}
