// Benchmark, not a test: Starknet `exact` verify with @x402-edge/verify-starknet (built in pkg-starknet/)
// beside starknet.js computing the SNIP-12 message hash alone (the least a JS verifier does before it asks
// the account), in this node process; then cold imports of the package and of starknet.js. The payment is
// signed with starknet.js for a fixed account, clock and nonce. Prints a table, then one JSON line for
// scripts/bench.sh.
// Usage: node benches/wasm/starknet.bench.mjs [pkg dir] [seconds per sample] [cold runs] [rounds]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { typedData } from 'starknet';

import { createPayment } from '../../scripts/lib/starknet-client.mjs';
import { coldImportMs, opsPerCpuSecond } from './measure.mjs';

const pkgDir = path.resolve(process.argv[2] ?? 'pkg-starknet');
const seconds = Number(process.argv[3] ?? 2);
const coldRuns = Number(process.argv[4] ?? 7);
const rounds = Number(process.argv[5] ?? 5);
const entry = pathToFileURL(path.join(pkgDir, 'dist', 'node.js')).href;
const x402 = await import(entry);

const NOW = 1_800_000_000;
// starknet-devnet's seed-0 account #1 (public test key) pays devnet's STRK to account #2.
const account = { address: '0x78662e7352d062084b0010068b99288486c2d8b914f6e2a55ce945f8792c8b1', privateKey: '0xe1406455b7d66b1690803be066cbe5e' };
const requirements = {
  scheme: 'exact', network: 'starknet:SN_SEPOLIA', amount: '1000000',
  asset: '0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d',
  payTo: '0x49dfb8ce986e21d354ac93ea65e6a11f639c1934ea253e5ff14ca62eca0f38e', maxTimeoutSeconds: 300,
};
const payload = await createPayment({ account, requirements, nonce: '0x1234', now: () => NOW });

// starknet.js's SNIP-9 v2 vector (tests/vectors/starknet.json), which the native bench hashes too.
const vector = JSON.parse(readFileSync(new URL('../../tests/vectors/starknet.json', import.meta.url))).outsideExecutions[2];

const cases = [
  ['package verifyPayment (offline: parse + every check + hash)', () => x402.verifyPaymentOffline(payload, requirements, { now: NOW }).needsChain],
  ['package messageHash (SNIP-12 revision 1)', () => x402.messageHash(payload.typedData, account.address)],
  ['starknet.js typedData.getMessageHash', () => typedData.getMessageHash(payload.typedData, account.address)],
  ['package messageHash (the native bench\'s vector)', () => x402.messageHash(vector.typedData, vector.account) === vector.messageHash],
];
const ops = await opsPerCpuSecond(cases, { seconds, rounds });
const js = ops['starknet.js typedData.getMessageHash'];
console.log(`\nStarknet exact verify, operations per CPU-second, median of ${rounds} interleaved rounds of ${seconds} s (node ${process.version}):`);
console.log(`${'case'.padEnd(62)} ${'ops/s'.padStart(9)} ${'vs starknet.js hash'.padStart(20)}`);
for (const [name, n] of Object.entries(ops)) console.log(`${name.padEnd(62)} ${n.toFixed(0).padStart(9)} ${(n / js).toFixed(1).padStart(19)}x`);

const coldPkg = coldImportMs(entry, coldRuns);
const coldStarknet = coldImportMs('starknet', coldRuns);
console.log(`\ncold import, median of ${coldRuns} fresh node processes:`);
console.log(`  @x402-edge/verify-starknet (node entry)  ${coldPkg.toFixed(1).padStart(7)} ms`);
console.log(`  starknet.js                              ${coldStarknet.toFixed(1).padStart(7)} ms   (${(coldStarknet / coldPkg).toFixed(1)}x the package)`);
console.log(JSON.stringify({
  packageVerifyOpsPerCpuSecond: ops[cases[0][0]],
  packageHashOpsPerCpuSecond: ops[cases[1][0]],
  starknetJsHashOpsPerCpuSecond: js,
  packageVectorHashOpsPerCpuSecond: ops[cases[3][0]],
  coldImportMs: { package: coldPkg, starknet: coldStarknet },
}));
