#!/usr/bin/env bash
# Benchmarks (not tests): the verify hot path natively (criterion), the same functions in wasm beside
# viem in node, and the worker's size. Reports ratios; absolute numbers vary with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure.sh
ensure_rust_tools
ensure_npm_packages
NODE="$PWD/node_modules/.bin/node"

log "native (criterion)"
cargo bench --bench verify -- --noplot 2>&1 | grep -E '^[a-z_]+ +time:|^[a-z_]+$|time:' || true
ns() { python3 -c "import json,sys; print(json.load(open('target/criterion/$1/new/estimates.json'))['mean']['point_estimate'])"; }
native_ops=$(python3 -c "print(1e9/$(ns verify_signature))")

log "wasm (wasm-bindgen, nodejs) beside viem"
cargo build --release --target wasm32-unknown-unknown --features js --lib
wasm-bindgen --target nodejs --out-dir target/bench-wasm target/wasm32-unknown-unknown/release/x402_edge.wasm
echo '{"type":"commonjs"}' > target/bench-wasm/package.json
# As worker-build does for the Worker.
node_modules/binaryen/bin/wasm-opt -O3 target/bench-wasm/x402_edge_bg.wasm -o target/bench-wasm/x402_edge_bg.wasm
out=$("$NODE" benches/wasm/verify.bench.mjs target/bench-wasm "${BENCH_SECONDS:-3}")
echo "$out" | grep -v '^{'
json=$(echo "$out" | grep '^{')

python3 - "$native_ops" "$json" <<'PY'
import json, sys
native = float(sys.argv[1]); r = json.loads(sys.argv[2])
wasm, viem = r["wasmOpsPerCpuSecond"], r["viemOpsPerCpuSecond"]
print(f"\nverify (EIP-712 digest + recovery), ops per CPU-second on this machine:")
print(f"  native {native:8.0f}   wasm {wasm:8.0f}   viem {viem:8.0f}")
print(f"  native/wasm {native/wasm:.2f}x   wasm/viem {wasm/viem:.1f}x (target >= 10x)")
PY
if [ -f build/index_bg.wasm ]; then
  printf 'worker wasm: %s bytes raw, %s bytes gzip (limit 1 MB gzip)\n' \
    "$(wc -c < build/index_bg.wasm)" "$(gzip -9 -c build/index_bg.wasm | wc -c)"
fi
