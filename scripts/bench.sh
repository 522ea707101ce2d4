#!/usr/bin/env bash
# Benchmarks (not tests): the verify hot path natively (criterion), the npm package (wasm) beside viem
# and @noble/curves in node, cold import times, the package's and the worker's sizes. Reports ratios;
# absolute numbers vary with the machine.
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
native_svm_ops=$(python3 -c "print(1e9/$(ns svm_verify_exact))")

log "the npm package (pkg/, wasm) beside viem and @noble/curves, and cold imports"
bash scripts/build-pkg.sh
out=$("$NODE" benches/wasm/verify.bench.mjs pkg "${BENCH_SECONDS:-1}" "${BENCH_COLD_RUNS:-7}" "${BENCH_ROUNDS:-7}")
echo "$out" | grep -v '^{'
json=$(echo "$out" | grep '^{')

python3 - "$native_ops" "$json" "$native_svm_ops" <<'PY'
import json, sys
native = float(sys.argv[1]); r = json.loads(sys.argv[2]); native_svm = float(sys.argv[3])
wasm, viem = r["wasmOpsPerCpuSecond"], r["viemOpsPerCpuSecond"]
package = r["packageVerifyOpsPerCpuSecond"]
print(f"\nverify (EIP-712 digest + recovery), ops per CPU-second on this machine:")
print(f"  native {native:8.0f}   wasm {wasm:8.0f}   viem {viem:8.0f}")
print(f"  native/wasm {native/wasm:.2f}x   wasm/viem {wasm/viem:.1f}x   package verifyPayment/viem {package/viem:.1f}x (target >= 10x)")
svm, noble_ed = r["packageSvmVerifyOpsPerCpuSecond"], r["nobleEd25519OpsPerCpuSecond"]
print(f"Solana exact verify (decode + every pure check + ed25519), ops per CPU-second:")
print(f"  native {native_svm:8.0f}   package (wasm) {svm:8.0f}   @noble ed25519 alone {noble_ed:8.0f}")
print(f"  native/wasm {native_svm/svm:.2f}x   package/noble {svm/noble_ed:.1f}x")
PY
log "@x402-edge/verify-starknet (pkg-starknet/, wasm) beside starknet.js"
out=$("$NODE" benches/wasm/starknet.bench.mjs pkg-starknet "${BENCH_SECONDS:-1}" "${BENCH_COLD_RUNS:-7}" "${BENCH_ROUNDS:-7}")
echo "$out" | grep -v '^{'
python3 - "$(ns starknet_message_hash)" "$(echo "$out" | grep '^{')" <<'PY'
import json, sys
native = 1e9 / float(sys.argv[1]); r = json.loads(sys.argv[2])
print(f"SNIP-12 hash of the SNIP-9 v2 vector: native {native:.0f} ops/s, package {r['packageVectorHashOpsPerCpuSecond']:.0f} (native/wasm {native / r['packageVectorHashOpsPerCpuSecond']:.2f}x)")
PY
bash scripts/build-worker.sh
printf 'worker wasm: %s bytes raw, %s bytes gzip (the Workers limit is 3 MB gzip on the free plan, 10 MB paid)\n' \
  "$(wc -c < build/index_bg.wasm)" "$(gzip -9 -c build/index_bg.wasm | wc -c)"
"$NODE" benches/wasm/worker-cold.bench.mjs build/index.js "${BENCH_COLD_RUNS:-7}" | grep -v '^{'
WORKER_FEATURES= WORKER_OUT_DIR=target/worker-evm-solana bash scripts/build-worker.sh
printf 'worker wasm without Starknet and Permit2 (WORKER_FEATURES=""): %s bytes raw, %s bytes gzip (issue 17: 600 KB)\n' \
  "$(wc -c < target/worker-evm-solana/index_bg.wasm)" "$(gzip -9 -c target/worker-evm-solana/index_bg.wasm | wc -c)"
"$NODE" benches/wasm/worker-cold.bench.mjs target/worker-evm-solana/index.js "${BENCH_COLD_RUNS:-7}" | grep -v '^{'
for dir in pkg pkg-starknet; do
  printf '%s: wasm %s bytes raw, %s gzip; JS %s bytes raw, %s gzip\n' "$("$NODE" -p "require('./$dir/package.json').name")" \
    "$(wc -c < $dir/wasm/x402_edge_bg.wasm)" "$(gzip -9 -c $dir/wasm/x402_edge_bg.wasm | wc -c)" \
    "$(cat $dir/wasm/x402_edge.js $dir/dist/*.js | wc -c)" "$(cat $dir/wasm/x402_edge.js $dir/dist/*.js | gzip -9 | wc -c)"
done

log "the JS boundary: JSON text (shipped) against serde-wasm-bindgen (cargo feature js-boundary-bench, built alike)"
cargo build --profile pkg --target wasm32-unknown-unknown --no-default-features --features js-boundary-bench --lib
boundary=target/pkg-build/boundary
rm -rf "$boundary" && mkdir -p "$boundary"
wasm-bindgen --target web --out-dir "$boundary" --out-name x402_edge target/wasm32-unknown-unknown/pkg/x402_edge.wasm
node_modules/binaryen/bin/wasm-opt -Oz "$boundary/x402_edge_bg.wasm" -o "$boundary/x402_edge_bg.wasm"
"$NODE" benches/wasm/boundary.bench.mjs "$boundary" pkg/wasm/x402_edge_bg.wasm "${BENCH_SECONDS:-1}" "${BENCH_ROUNDS:-7}" | grep -v '^{'

log "settle against the reference facilitator"
"$NODE" scripts/bench-settle.mjs

log "settle throughput by signer keys"
"$NODE" scripts/bench-signers.mjs

log "settle throughput per network"
"$NODE" scripts/bench-networks.mjs

log "tracking overhead through the gateway and the payment indexer's throughput"
"$NODE" scripts/bench-tracking.mjs
