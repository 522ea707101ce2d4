// One cold start of the built Worker in this (fresh) node process: import the bundle (compile the wasm,
// instantiate it, run its start), then the first GET /supported and the median of WARM_REQUESTS more,
// with a signer key for each chain family the build carries (as `npm start` has). Prints one JSON line.
// V8 is the engine workerd embeds; what is measured is our module's own cost, not workerd's or the network's.
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { builtWith } from '../../../scripts/lib/worker-build.mjs';

register('./hooks.mjs', import.meta.url);
globalThis.addEventListener ??= () => {};
const [entry, key] = process.argv.slice(2);
const WARM_REQUESTS = 25;
// The Worker logs one JSON line per request; keep stdout for the result.
console.log = () => {};

// Node loads its fetch classes (undici) on first use; workerd has them built in: load them untimed.
await new Response(new Request('http://127.0.0.1/').url).text();

const t0 = performance.now();
const worker = await import(entry);
const t1 = performance.now();
// Public test keys only: anvil's (given), a Solana seed of sevens, a small Stark key. Starknet only for
// a build that carries it (scripts/build-worker.sh's stamp of its WORKER_FEATURES).
const starknet = builtWith(path.dirname(fileURLToPath(entry)), 'starknet');
const env = {
  EVM_NETWORKS: 'base-sepolia',
  EVM_PRIVATE_KEY: key,
  SVM_NETWORKS: 'solana-devnet',
  SVM_PRIVATE_KEY: 'US517G5965aydkZ46HS38QLi7UQiSojurfbQfKCELFx', // the seed 7, 7, …, 7 in base58
  ...(starknet && {
    STARKNET_NETWORKS: 'starknet-sepolia',
    STARKNET_SPONSOR_ADDRESS: '0x64b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691',
    STARKNET_SPONSOR_PRIVATE_KEY: '0x71d7bb07b9a64f6f78ac4c816aff4da9',
  }),
};
const instance = new worker.default({ waitUntil() {}, passThroughOnException() {} }, env);
const supported = async () => {
  const response = await instance.fetch(new Request('http://127.0.0.1/supported'));
  const body = await response.json();
  if (response.status !== 200 || !body.kinds?.length) throw new Error(`GET /supported: ${response.status} ${JSON.stringify(body)}`);
};
await supported();
const t2 = performance.now();
const warm = [];
for (let i = 0; i < WARM_REQUESTS; i++) {
  const started = performance.now();
  await supported();
  warm.push(performance.now() - started);
}
warm.sort((a, b) => a - b);
const warmRequestMs = warm[Math.floor(warm.length / 2)];
process.stdout.write(`${JSON.stringify({ compileMs: globalThis.__compileMs, importMs: t1 - t0, firstRequestMs: t2 - t1, warmRequestMs })}\n`);
