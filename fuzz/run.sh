#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, installing what it
# needs first: the nightly toolchain (rustup) and cargo-fuzz (the package registry).
# Findings land in fuzz/artifacts/<target>/; turn each into a regression test.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# Seed the case fuzzer with real-shaped cases: the sample and synthetic ones.
mkdir -p corpus/case_validation
cp ../samples/case.json corpus/case_validation/sample.json
(cd .. && cargo run --release -q -- synth --count 64 --seed 99) | split -l 1 - corpus/case_validation/synth-
for target in $(cargo +nightly fuzz list); do
  echo "== $target (${seconds}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=4096
done
