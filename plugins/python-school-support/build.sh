#!/usr/bin/env bash
# Builds the Python plugin into a component:
#   plugins/python-school-support/build.sh [OUT.wasm]
# (default OUT: target/python/python-school-support.wasm).
#
# componentize-py comes from PyPI into a virtual environment under target/,
# pinned, on first use. --stub-wasi replaces the WASI imports CPython would
# otherwise bring (files, sockets, clocks) with trapping stubs, so that the
# component imports the contract and nothing else, as the host requires.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/target/python/python-school-support.wasm}"
version="0.25.1"
venv="$root/target/python/componentize-py-$version"
if [ ! -x "$venv/bin/componentize-py" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$version"
fi
mkdir -p "$(dirname "$out")"
cd "$here"
"$venv/bin/componentize-py" --wit-path "$root/wit" --world kinga:plugin/eligibility-plugin@0.2.2 \
    componentize app --stub-wasi --output "$out"
