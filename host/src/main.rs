//! The `kinga` command: evaluate, route and report on cases with the
//! plugins this workspace builds (or any plugin directory).

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
