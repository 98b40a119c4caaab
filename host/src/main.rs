//! The `kinga` command: evaluate, route and report on cases with the
//! plugins this workspace builds (or any plugin directory).

mod cli;

fn main() -> std::process::ExitCode {
    no_core_dumps();
    cli::run()
}

/// A core dump would hold whatever case data was in memory: never write one.
fn no_core_dumps() {
    #[cfg(unix)]
    {
        let zero = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid, initialised rlimit has no other
        // effect than lowering this process's core size limit.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &zero);
        }
    }
}
