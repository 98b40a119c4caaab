//! Integration tests of the host, the CLI and the plugins, through real
//! components built from source by `kinga-artifacts`.

mod adapter_logs;
mod adapters;
mod admin;
mod breaker;
mod cache;
mod case_versions;
mod cli;
mod containment;
mod contract;
mod determinism;
mod devkit;
mod guide;
mod inputs;
mod isolation;
mod packages;
mod pipeline;
mod probe;
#[allow(dead_code, reason = "each includer uses part of it")]
#[path = "../common/process.rs"]
mod process;
mod profiles_admin;
mod records;
mod reference;
mod reload;
mod report_platforms;
mod serve;
mod settings_check;
mod shadow;
mod shuffle;
mod snapshots;
mod support;
mod twin;
mod validation;
mod wat;
mod write_back;
