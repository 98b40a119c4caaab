//! Section 4, reports: the `kinga` binary streams `baf-quarterly` over a
//! JSON Lines file of 100,000 and of 1,000,000 cases; each run is its own
//! process, so its peak resident memory is read exactly (`wait4`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use super::table::{Row, Table};

/// The peak resident memory (bytes) and the time (seconds) of `kinga
/// report` over `file`.
///
/// A child's peak as `wait4` reports it includes what its parent had
/// resident when it forked (Linux keeps the high-water mark across exec),
/// and this benchmark holds large data sets. So the report is started by a
/// fresh, small process: this binary re-executed with `--measure-peak`.
fn peak_of(cache: &Path, file: &Path) -> (u64, f64) {
    let out = Command::new(std::env::current_exe().expect("the benchmark's path"))
        .arg(MEASURE_PEAK)
        .arg(env!("CARGO_BIN_EXE_kinga"))
        .arg("--cache-dir")
        .arg(cache)
        .arg("--home")
        .arg(cache.join("home"))
        .args([
            "report",
            "baf-quarterly",
            "--param",
            "period=2026-Q3",
            "--format",
            "json",
            "--cases",
        ])
        .arg(file)
        .output()
        .expect("the benchmark re-executes itself");
    let printed = String::from_utf8_lossy(&out.stdout);
    let mut figures = printed.split_whitespace();
    let peak = figures
        .next()
        .and_then(|f| f.parse().ok())
        .expect("the peak in bytes");
    let seconds = figures
        .next()
        .and_then(|f| f.parse().ok())
        .expect("the time in seconds");
    (peak, seconds)
}

/// The argument that makes this binary run a command and print its peak
/// resident memory.
pub const MEASURE_PEAK: &str = "--measure-peak";

/// `--measure-peak PROGRAM ARGS...`: runs it (output discarded) and prints
/// its peak resident memory in bytes and its time in seconds.
pub fn measure_peak(mut args: impl Iterator<Item = String>) -> ! {
    let program = args.next().expect("a program");
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .expect("the program starts");
    let ended = crate::process::wait_with_peak(child);
    assert!(ended.succeeded, "the report failed");
    let peak = ended.peak_bytes;
    println!("{peak} {}", started.elapsed().as_secs_f64());
    std::process::exit(0)
}

/// Runs both sizes and adds their rows.
pub fn run(cache: &Path, sizes: &[u64; 2], table: &mut Table) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut peaks = Vec::new();
    for &count in sizes {
        let file = dir.path().join(format!("cases-{count}.jsonl"));
        let made = crate::process::kinga_with_cache(cache)
            .args(["synth", "--count", &count.to_string(), "--seed", "3"])
            .args(["--as-of", super::AS_OF, "--out"])
            .arg(&file)
            .status()
            .expect("kinga synth runs");
        assert!(made.success(), "kinga synth");
        let (peak, seconds) = peak_of(cache, &file);
        let _ = std::fs::remove_file(&file);
        table.push(Row::value(
            "4 reports",
            &format!("baf-quarterly over {count} cases, streamed (kinga report)"),
            count as f64 / seconds,
            "cases/s",
        ));
        table.push(Row::value(
            "4 reports",
            &format!("peak resident memory, {count} cases"),
            peak as f64 / f64::from(1 << 20),
            "MiB",
        ));
        peaks.push(peak);
    }
    table.push(Row::target(
        "4 reports",
        &format!("peak memory {} cases / {} cases", sizes[1], sizes[0]),
        peaks[1] as f64 / peaks[0] as f64,
        1.2,
        "x",
    ));
}
