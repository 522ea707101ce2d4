// One cold start of the built Worker in this (fresh) node process: import the bundle (compile the wasm,
// instantiate it, run its start), then the first GET /supported and a second one. Prints one JSON line.
// V8 is the engine workerd embeds; what is measured is our module's own cost, not workerd's or the network's.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
globalThis.addEventListener ??= () => {};
const [entry, key] = process.argv.slice(2);
// The Worker logs one JSON line per request; keep stdout for the result.
console.log = () => {};

// Node loads its fetch classes (undici) on first use; workerd has them built in: load them untimed.
await new Response(new Request('http://127.0.0.1/').url).text();

const t0 = performance.now();
const worker = await import(entry);
const t1 = performance.now();
const env = { EVM_NETWORKS: 'base-sepolia', EVM_PRIVATE_KEY: key };
const instance = new worker.default({ waitUntil() {}, passThroughOnException() {} }, env);
const supported = async () => {
  const response = await instance.fetch(new Request('http://127.0.0.1/supported'));
  const body = await response.json();
  if (response.status !== 200 || !body.kinds?.length) throw new Error(`GET /supported: ${response.status}`);
};
await supported();
const t2 = performance.now();
await supported();
const t3 = performance.now();
process.stdout.write(`${JSON.stringify({ compileMs: globalThis.__compileMs, importMs: t1 - t0, firstRequestMs: t2 - t1, warmRequestMs: t3 - t2 })}\n`);
