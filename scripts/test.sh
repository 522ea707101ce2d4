#!/usr/bin/env bash
# `npm test`: the whole suite, from a fresh clone. Installs what it needs (idempotently), then runs
# the Rust unit, property and anvil integration tests, builds the Worker, and runs the node tests:
# the test token on anvil, and end to end through `wrangler dev` (workerd) with the official x402 SDK;
# then the npm packages (pkg/, pkg-starknet/): their types against @x402/core's, node tests, a page in
# headless Chromium, signer recovery against viem on random keys and signatures, a JS Worker in
# workerd, and the packed tarballs installed into a scratch project.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_npm_packages
ensure_rust_tools
ensure_chromium
NODE="$PWD/node_modules/.bin/node"

log "the import graph of src/ has no cycle (scripts/import-cycles.mjs)"
"$NODE" scripts/import-cycles.mjs

log "compiling the test contracts (solc-js)"
"$NODE" scripts/compile-contracts.mjs

log "starknet-devnet 0.10.1 (PATH, else the prebuilt in ../shared/tools, else cargo install: about an hour)"
STARKNET_DEVNET_BIN="$("$NODE" --input-type=module -e "import { findDevnet } from './scripts/lib/starknet-devnet.mjs'; console.log(findDevnet())")"
export STARKNET_DEVNET_BIN

log "Rust tests (unit, property, anvil, litesvm and starknet-devnet integration)"
cargo test --workspace --all-targets

log "building the Worker"
bash scripts/build-worker.sh

log "node tests (chain tooling, end to end through wrangler dev)"
"$NODE" --test --test-concurrency=1 tests/node/*.test.mjs tests/e2e/*.test.mjs

log "building the npm packages (pkg/, pkg-starknet/)"
bash scripts/build-pkg.sh

log "npm packages: types against @x402/core (tsc), node tests, headless Chromium, a JS Worker in workerd, the packed tarballs"
"$NODE" node_modules/typescript/bin/tsc -p tests/pkg
"$NODE" --test --test-concurrency=1 tests/pkg/node.test.mjs tests/pkg/svm.test.mjs tests/pkg/recover.test.mjs \
  tests/pkg/browser.test.mjs tests/pkg/workerd.test.mjs \
  tests/pkg/pack.test.mjs tests/pkg/starknet.test.mjs

log "@x402-edge/sdk: upto sessions and the unified client behind @x402/express, through wrangler dev"
bash scripts/build-pkg.sh sdk
"$NODE" node_modules/typescript/bin/tsc -p tests/sdk/types
"$NODE" --test --test-concurrency=1 tests/sdk/unified-client.test.mjs
