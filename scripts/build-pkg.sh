#!/usr/bin/env bash
# `npm run build:pkg`: builds the npm package `@x402-edge/verify` into pkg/ (a build output, gitignored):
# the wasm with the `js` feature, the pinned wasm-bindgen CLI (--target web: one module that node, browsers,
# bundlers and workerd all instantiate), npm binaryen's wasm-opt, and tsc for the TypeScript wrapper and
# its .d.ts. Nothing is downloaded. WASM_OPT_LEVEL=O3 trades a few KB for speed (default Oz, see README).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_wasm_bindgen
ensure_npm_packages
NODE="$PWD/node_modules/.bin/node"
STAGE=target/pkg-build
OUT="${PKG_OUT:-pkg}"
LEVEL="${WASM_OPT_LEVEL:-Oz}"

log "building the wasm (features: js only, no Starknet)"
cargo build --profile pkg --target wasm32-unknown-unknown --no-default-features --features js --lib

rm -rf "$STAGE" "$OUT"
mkdir -p "$STAGE" "$OUT/wasm"
wasm-bindgen --target web --out-dir "$STAGE/wasm" --out-name x402_edge \
  target/wasm32-unknown-unknown/pkg/x402_edge.wasm
log "wasm-opt -$LEVEL"
node_modules/binaryen/bin/wasm-opt "-$LEVEL" "$STAGE/wasm/x402_edge_bg.wasm" -o "$OUT/wasm/x402_edge_bg.wasm"
cp "$STAGE/wasm/x402_edge.js" "$OUT/wasm/"

log "compiling the TypeScript wrapper (tsc)"
cp -r js-bindings/src js-bindings/tsconfig.json "$STAGE/"
"$NODE" node_modules/typescript/bin/tsc -p "$STAGE"
mkdir -p "$OUT/dist"
cp "$STAGE"/dist/*.js "$STAGE"/dist/*.d.ts "$OUT/dist/"
# Types of the entry points: the same API as index.
for entry in node browser workerd; do cp "$OUT/dist/index.d.ts" "$OUT/dist/$entry.d.ts"; done
cp js-bindings/package.json js-bindings/README.md "$OUT/"

size() { printf '%-28s %8s bytes raw %8s bytes gzip\n' "$1" "$(wc -c < "$1")" "$(gzip -9 -c "$1" | wc -c)"; }
size "$OUT/wasm/x402_edge_bg.wasm" >&2
size "$OUT/wasm/x402_edge.js" >&2
size "$OUT/dist/index.js" >&2
log "built $OUT/ ($("$NODE" -p "require('./$OUT/package.json').name")@$("$NODE" -p "require('./$OUT/package.json').version"))"
