//! Where the workspace's plugins are, once built.
//!
//! The build script of this crate builds every guest crate (the reference
//! plugins under `plugins/` and the test plugins under `tests/plugins/`) for
//! `wasm32-wasip2`, so that `cargo run` and `cargo test` build the plugins
//! they need from source and no `.wasm` file is ever committed. This crate
//! only exposes the resulting paths as constants.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
