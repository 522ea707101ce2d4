#!/usr/bin/env bash
# `npm run build:pkg`: builds the npm packages (build outputs, gitignored) from one crate and one set of
# TypeScript sources:
#   pkg/           @x402-edge/verify           EVM and Solana (cargo feature `js`)
#   pkg-starknet/  @x402-edge/verify-starknet  Starknet       (cargo feature `js-starknet`)
#   pkg-sdk/       @x402-edge/sdk              the resource-server and client side (TypeScript only, over
#                                              @x402-edge/verify and the official @x402/core)
# Each is its wasm, the pinned wasm-bindgen CLI's glue (--target web: one module that node, browsers,
# bundlers and workerd all instantiate), npm binaryen's wasm-opt, and tsc for the wrapper and its .d.ts
# (js-bindings/src, with the package's own index.ts). Nothing is downloaded. WASM_OPT_LEVEL=O3 trades a
# few KB for speed (default Oz, see js-bindings/README.md). `build-pkg.sh verify` or `… verify-starknet`
# builds one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_wasm_bindgen
ensure_npm_packages
NODE="$PWD/node_modules/.bin/node"
LEVEL="${WASM_OPT_LEVEL:-Oz}"

size() { printf '%-36s %8s bytes raw %8s bytes gzip\n' "$1" "$(wc -c < "$1")" "$(gzip -9 -c "$1" | wc -c)"; }

# build_package FEATURES PACKAGE_DIR OUT: PACKAGE_DIR holds package.json, README.md and (for a package
# other than the main one) src/index.ts over js-bindings/src/index.ts.
build_package() {
  local features=$1 package_dir=$2 out=$3 stage="target/pkg-build/$(basename "$3")"
  log "building the wasm of $out (features: $features)"
  cargo build --profile pkg --target wasm32-unknown-unknown --no-default-features --features "$features" --lib
  rm -rf "$stage" "$out"
  mkdir -p "$stage" "$out/wasm" "$out/dist"
  wasm-bindgen --target web --out-dir "$stage/wasm" --out-name x402_edge \
    target/wasm32-unknown-unknown/pkg/x402_edge.wasm
  log "wasm-opt -$LEVEL"
  node_modules/binaryen/bin/wasm-opt "-$LEVEL" "$stage/wasm/x402_edge_bg.wasm" -o "$out/wasm/x402_edge_bg.wasm"
  cp "$stage/wasm/x402_edge.js" "$out/wasm/"

  log "compiling the TypeScript wrapper (tsc)"
  cp -r js-bindings/src js-bindings/tsconfig.json "$stage/"
  if [ -d "$package_dir/src" ]; then cp "$package_dir"/src/*.ts "$stage/src/"; fi
  "$NODE" node_modules/typescript/bin/tsc -p "$stage"
  cp "$stage"/dist/*.js "$stage"/dist/*.d.ts "$out/dist/"
  # Types of the entry points: the same API as index.
  for entry in node browser workerd edge-light; do cp "$out/dist/index.d.ts" "$out/dist/$entry.d.ts"; done
  cp "$package_dir/package.json" "$package_dir/README.md" "$out/"

  size "$out/wasm/x402_edge_bg.wasm" >&2
  size "$out/wasm/x402_edge.js" >&2
  size "$out/dist/index.js" >&2
  log "built $out/ ($("$NODE" -p "require('./$out/package.json').name")@$("$NODE" -p "require('./$out/package.json').version"))"
}

# The SDK is TypeScript over @x402-edge/verify: tsc in a staging copy, then the built packages are linked
# into node_modules/@x402-edge/ so the repo's tests, the gateway and the demo import them by name.
build_sdk() {
  local out=${PKG_SDK_OUT:-pkg-sdk} stage="target/pkg-build/sdk"
  link_packages
  if [ -z "$(find js-bindings/sdk/src -name '*.ts' -print -quit)" ]; then return; fi
  log "compiling $out (tsc)"
  rm -rf "$stage" "$out"
  mkdir -p "$stage" "$out"
  cp -r js-bindings/sdk/src js-bindings/sdk/tsconfig.json "$stage/"
  "$NODE" node_modules/typescript/bin/tsc -p "$stage"
  # The paywall page's script: the official @x402 client schemes bundled (esbuild) into a string module.
  if [ -d js-bindings/sdk/src/paywall/page ]; then "$NODE" js-bindings/sdk/build-paywall.mjs "$stage/dist"; fi
  cp -r "$stage/dist" "$out/dist"
  cp js-bindings/sdk/package.json js-bindings/sdk/README.md "$out/"
  link_packages
  log "built $out/ (@x402-edge/sdk)"
}


which=${1:-all}
case "$which" in
  all | verify | verify-starknet | sdk) ;;
  *) echo "build-pkg.sh: unknown package $which (verify, verify-starknet, sdk)" >&2; exit 2 ;;
esac
if [ "$which" = all ] || [ "$which" = verify ]; then build_package js js-bindings "${PKG_OUT:-pkg}"; fi
if [ "$which" = all ] || [ "$which" = verify-starknet ]; then
  build_package js-starknet js-bindings/starknet "${PKG_STARKNET_OUT:-pkg-starknet}"
fi
if [ "$which" = all ] || [ "$which" = sdk ]; then build_sdk; else link_packages; fi
