#!/usr/bin/env bash
# Builds the Worker (wasm + JS shim) into build/worker with worker-build, using only local tools:
# the pinned wasm-bindgen CLI, npm's binaryen wasm-opt and npm's esbuild (nothing is downloaded).
# Usage: scripts/build-worker.sh [--no-opt]
# WORKER_CRATE=examples/paid-worker builds that Worker instead (into examples/paid-worker/build).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_rust_tools
ensure_npm_packages
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
if [ -n "${WORKER_CRATE:-}" ]; then
  cd "$WORKER_CRATE"
  worker-build --release "$@"
else
  worker-build --release "$@" --features worker
fi
