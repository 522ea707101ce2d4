#!/usr/bin/env bash
# Builds the Worker (wasm + JS shim) into build/worker with worker-build, using only local tools:
# the pinned wasm-bindgen CLI, npm's binaryen wasm-opt and npm's esbuild (nothing is downloaded).
# Usage: scripts/build-worker.sh [--no-opt]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_rust_tools
ensure_npm_packages
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
worker-build --release "$@" --features worker
