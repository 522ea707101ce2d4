#!/usr/bin/env bash
# `npm test`: the whole suite, from a fresh clone. Installs what it needs (idempotently), then runs
# the Rust unit, property and anvil integration tests, builds the Worker, and runs the node tests:
# the test token on anvil, and end to end through `wrangler dev` (workerd) with the official x402 SDK;
# the gateway Worker (gateway/) in front of an origin, bound to the facilitator by Service Binding, and
# its tracking on D1 and PostgreSQL;
# then the npm packages (pkg/, pkg-starknet/): their types against @x402/core's, node tests, a page in
# headless Chromium, signer recovery against viem on random keys and signatures, a JS Worker in
# workerd, and the packed tarballs installed into a scratch project; then the SDK (pkg-sdk/): its
# FacilitatorClient in @x402/express on node and in @x402/hono on workerd over a Service Binding.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_npm_packages
ensure_rust_tools
ensure_chromium
NODE="$PWD/node_modules/.bin/node"

log "the import graph of src/ has no cycle (scripts/import-cycles.mjs); every imported npm package is declared"
"$NODE" scripts/import-cycles.mjs
"$NODE" scripts/check-declared-imports.mjs

log "compiling the test contracts (solc-js)"
"$NODE" scripts/compile-contracts.mjs

log "starknet-devnet 0.10.1 (PATH, else the prebuilt in ../shared/tools, else cargo install: about an hour)"
STARKNET_DEVNET_BIN="$("$NODE" --input-type=module -e "import { findDevnet } from './scripts/lib/starknet-devnet.mjs'; console.log(findDevnet())")"
export STARKNET_DEVNET_BIN

log "Rust tests (unit, property, anvil, litesvm and starknet-devnet integration)"
cargo test --workspace --all-targets
log "Rust unit tests of the smallest build (no Starknet, no Permit2: WORKER_FEATURES=\"\")"
cargo test --lib --no-default-features

log "building the Worker, and the example Rust Worker that sells its routes (examples/paid-worker)"
bash scripts/build-worker.sh
WORKER_CRATE=examples/paid-worker bash scripts/build-worker.sh
log "building the Worker without Starknet and Permit2 (WORKER_FEATURES=\"\"), for tests/e2e/worker-features.test.mjs"
WORKER_FEATURES= WORKER_OUT_DIR=target/worker-evm-solana bash scripts/build-worker.sh

log "building the npm packages (pkg/, pkg-starknet/, pkg-sdk/): the gateway and npm start import them"
bash scripts/build-pkg.sh

log "node tests (chain tooling, end to end through wrangler dev)"
"$NODE" --test --test-concurrency=1 tests/node/*.test.mjs tests/e2e/*.test.mjs

log "the gateway (gateway/): types (tsc), then in wrangler dev against the facilitator on anvil; tracking on D1 and on PostgreSQL (a real server from npm), the store's suite on both"
"$NODE" node_modules/typescript/bin/tsc -p gateway
"$NODE" --test --test-concurrency=1 tests/gateway/*.test.mjs tests/tracking/*.test.mjs

log "npm packages: types against @x402/core (tsc), node tests, headless Chromium, a JS Worker in workerd, the packed tarballs"
"$NODE" node_modules/typescript/bin/tsc -p tests/pkg
"$NODE" --test --test-concurrency=1 tests/pkg/node.test.mjs tests/pkg/svm.test.mjs tests/pkg/recover.test.mjs \
  tests/pkg/browser.test.mjs tests/pkg/workerd.test.mjs \
  tests/pkg/pack.test.mjs tests/pkg/starknet.test.mjs tests/pkg/next-edge.test.mjs

log "the SDK (@x402-edge/sdk, pkg-sdk/): its types against @x402/core's (tsc), EdgeFacilitatorClient against HTTPFacilitatorClient, in @x402/express on node and @x402/hono on workerd over a Service Binding; the paywall rendered and paying in headless Chromium; upto sessions and the unified client"
"$NODE" node_modules/typescript/bin/tsc -p tests/sdk
"$NODE" node_modules/typescript/bin/tsc -p tests/sdk/types
"$NODE" --test --test-concurrency=1 tests/sdk/*.test.mjs
