#!/usr/bin/env bash
# `npm start`: install what is missing, build the worker if it is missing or stale, then run the local stack
# (anvil + TestUSDC + wrangler dev) in the foreground. Arguments go to scripts/start.mjs (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_npm_packages
ensure_rust_tools

# Stale when any source file is newer than the built wasm.
worker_is_stale() {
  [ ! -f build/index_bg.wasm ] && return 0
  [ -n "$(find src Cargo.toml Cargo.lock -type f -newer build/index_bg.wasm -print -quit 2>/dev/null)" ]
}
if worker_is_stale; then
  log "building the worker (build/index_bg.wasm is missing or older than src/, Cargo.toml or Cargo.lock)"
  bash scripts/build-worker.sh
fi

# node 22 from node_modules/.bin first: wrangler needs >= 22.12 (scripts/lib/stack.mjs also picks it explicitly).
export PATH="$PWD/node_modules/.bin:$PATH"
exec node scripts/start.mjs "$@"
