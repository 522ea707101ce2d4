#!/usr/bin/env bash
# `npm start`: install what is missing, build the worker if it is missing or stale, then run the local stack
# (anvil + TestUSDC + wrangler dev) in the foreground. Arguments go to scripts/start.mjs (--help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_npm_packages
ensure_rust_tools

# Builds the worker when build/index_bg.wasm is missing or older than its sources (else returns at once).
bash scripts/build-worker.sh

# node 22 from node_modules/.bin first: wrangler needs >= 22.12 (scripts/lib/stack.mjs also picks it explicitly).
export PATH="$PWD/node_modules/.bin:$PATH"
exec node scripts/start.mjs "$@"
