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

# The gateway imports @x402-edge/verify and @x402-edge/sdk: built when missing or older than their sources.
packages_are_stale() {
  [ ! -f pkg/wasm/x402_edge_bg.wasm ] || [ ! -f pkg-sdk/dist/server/index.js ] && return 0
  [ -n "$(find src js-bindings Cargo.toml Cargo.lock -type f -newer pkg-sdk/dist/server/index.js -print -quit 2>/dev/null)" ]
}
if packages_are_stale; then
  log "building the npm packages the gateway imports (pkg/, pkg-sdk/)"
  bash scripts/build-pkg.sh verify
  bash scripts/build-pkg.sh sdk
fi
link_packages

# node 22 from node_modules/.bin first: wrangler needs >= 22.12 (scripts/lib/stack.mjs also picks it explicitly).
export PATH="$PWD/node_modules/.bin:$PATH"
exec node scripts/start.mjs "$@"
