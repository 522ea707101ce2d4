#!/usr/bin/env bash
# Builds the Worker (wasm + JS shim) into build/worker with worker-build, using only local tools:
# the pinned wasm-bindgen CLI, npm's binaryen wasm-opt and npm's esbuild (nothing is downloaded).
# Usage: scripts/build-worker.sh [--no-opt]
# WORKER_CRATE=examples/paid-worker builds that Worker instead (into examples/paid-worker/build).
# Nothing is rebuilt when the build is newer than every source (FORCE=1 rebuilds anyway): wrangler runs
# this as the [build] command of wrangler.toml before `wrangler dev` and `wrangler deploy`.
# Size (issue 17): the graph is built at opt-level z (WORKER_OPT_LEVEL; Cargo.toml keeps the curve, hash
# and field crates at 3), and the wasm's names section is stripped afterwards (WORKER_KEEP_NAMES=1 keeps
# it, for stack traces with function names); with `url`'s ASCII-only IDNA (Cargo.toml), 1.04 MB gzip
# became 0.74 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${WORKER_CRATE:-.}/build/index_bg.wasm"
sources=(src Cargo.toml Cargo.lock crates ${WORKER_CRATE:+"$WORKER_CRATE/src" "$WORKER_CRATE/Cargo.toml"})
if [ -z "${FORCE:-}" ] && [ -f "$out" ] && [ -z "$(find "${sources[@]}" -type f -newer "$out" -print -quit 2>/dev/null)" ]; then
  echo "[x402-edge] $out is up to date" >&2
  exit 0
fi
source scripts/lib/ensure.sh
ensure_rust_tools
ensure_npm_packages
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/binaryen/bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${WORKER_OPT_LEVEL:-z}"
if [ -n "${WORKER_CRATE:-}" ]; then
  cd "$WORKER_CRATE"
  worker-build --release "$@"
else
  worker-build --release "$@" --features worker
fi
if [ -z "${WORKER_KEEP_NAMES:-}" ]; then
  # worker-build's own wasm-opt keeps the names (--debuginfo); the same feature set as it enables, so that
  # nothing newer than workerd supports is emitted.
  "$WASM_OPT_BIN" --strip-debug --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
    build/index_bg.wasm -o build/index_bg.wasm
fi
