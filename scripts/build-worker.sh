#!/usr/bin/env bash
# Builds the Worker (wasm + JS shim) into build/worker with worker-build, using only local tools:
# the pinned wasm-bindgen CLI, npm's binaryen wasm-opt and npm's esbuild (nothing is downloaded).
# Usage: scripts/build-worker.sh [--no-opt]
# WORKER_CRATE=examples/paid-worker builds that Worker instead (into examples/paid-worker/build).
# WORKER_FEATURES picks what the facilitator carries beyond EVM `exact` (EIP-3009), `upto` sessions and
# Solana: cargo features, comma-separated (default "starknet,permit2", everything; "" for the smallest
# Worker). WORKER_OUT_DIR builds into another directory than build/ (its wrangler.toml `main` then
# points there). The same wrangler.toml serves every build: a build without Starknet still exports its
# Durable Object class, and answers a Starknet configuration with a clear 503.
# Nothing is rebuilt when the build is newer than every source (FORCE=1 rebuilds anyway): wrangler runs
# this as the [build] command of wrangler.toml before `wrangler dev` and `wrangler deploy`.
# Size (issue 17): the graph is built at opt-level z (WORKER_OPT_LEVEL; Cargo.toml keeps the curve, hash
# and field crates at 3), and the wasm's names section is stripped afterwards (WORKER_KEEP_NAMES=1 keeps
# it, for stack traces with function names); with `url`'s ASCII-only IDNA (Cargo.toml), 1.04 MB gzip
# became 0.74 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir="${WORKER_OUT_DIR:-build}"
out="${WORKER_CRATE:-.}/$out_dir/index_bg.wasm"
features="${WORKER_FEATURES-starknet,permit2}"
# What the build in $out_dir was built with: another feature set rebuilds it.
stamp="${WORKER_CRATE:-.}/$out_dir/.x402-edge-features"
sources=(src Cargo.toml Cargo.lock crates ${WORKER_CRATE:+"$WORKER_CRATE/src" "$WORKER_CRATE/Cargo.toml"})
if [ -z "${FORCE:-}" ] && [ -f "$out" ] && { [ -n "${WORKER_CRATE:-}" ] || [ "$(cat "$stamp" 2>/dev/null)" = "$features" ]; } &&
  [ -z "$(find "${sources[@]}" -type f -newer "$out" -print -quit 2>/dev/null)" ]; then
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
  worker-build --release --out-dir "$out_dir" "$@"
else
  echo "[x402-edge] building the Worker into $out_dir with features: worker${features:+,$features}" >&2
  worker-build --release --out-dir "$out_dir" "$@" --no-default-features --features "worker${features:+,$features}"
fi
if [ -z "${WORKER_KEEP_NAMES:-}" ]; then
  # worker-build's own wasm-opt keeps the names (--debuginfo); the same feature set as it enables, so that
  # nothing newer than workerd supports is emitted.
  "$WASM_OPT_BIN" --strip-debug --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
    "$out_dir/index_bg.wasm" -o "$out_dir/index_bg.wasm"
fi
if [ -z "${WORKER_CRATE:-}" ]; then echo "$features" > "$stamp"; fi
