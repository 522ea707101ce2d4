// The verify hot path (EIP-712 digest + signer recovery of an EIP-3009 authorization) in wasm, beside
// viem's verifyTypedData, in one node process. Prints ops/s and the ratio; not a test.
// Usage: node benches/wasm/verify.bench.mjs <dir of the wasm-bindgen nodejs build> [seconds]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { verifyTypedData } from 'viem';

const require = createRequire(import.meta.url);
const wasmDir = path.resolve(process.argv[2] ?? 'target/bench-wasm');
const seconds = Number(process.argv[3] ?? 2);
const wasm = require(path.join(wasmDir, 'x402_edge.js'));

const vector = JSON.parse(readFileSync(new URL('../../tests/vectors/exact-evm-eip3009-spec-example.json', import.meta.url)));
const a = vector.authorization;
const d = vector.domainCases[0].domain;

function viaWasm() {
  return wasm.recoverEip3009Signer(a.from, a.to, a.value, a.validAfter, a.validBefore, a.nonce, vector.signature,
    d.name, d.version, d.chainId, d.verifyingContract) === a.from;
}

const types = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' }, { name: 'to', type: 'address' }, { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' }, { name: 'validBefore', type: 'uint256' }, { name: 'nonce', type: 'bytes32' },
  ],
};
const message = { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) };
function viaViem() {
  return verifyTypedData({ address: a.from, domain: d, types, primaryType: 'TransferWithAuthorization', message, signature: vector.signature });
}

async function measure(name, fn) {
  if (!(await fn())) throw new Error(`${name} did not verify the spec vector`);
  const until = performance.now() + seconds * 1000;
  const cpuStart = process.cpuUsage();
  let n = 0;
  while (performance.now() < until) { await fn(); n++; }
  const cpu = process.cpuUsage(cpuStart);
  return { name, ops: n / ((cpu.user + cpu.system) / 1e6) };
}

const results = [await measure('wasm (x402-edge)', viaWasm), await measure('viem verifyTypedData', viaViem)];
for (const r of results) console.log(`${r.name.padEnd(24)} ${r.ops.toFixed(0).padStart(8)} verifies per CPU-second`);
console.log(`ratio wasm/viem: ${(results[0].ops / results[1].ops).toFixed(1)}x`);
console.log(JSON.stringify({ wasmOpsPerCpuSecond: results[0].ops, viemOpsPerCpuSecond: results[1].ops }));
