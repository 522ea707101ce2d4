// Benchmark, not a test: the JS boundary. The same EIP-3009 `verifyOffline` (parse, every check, digest,
// recovery) with its inputs crossing into the wasm as JSON text (what @x402-edge/verify ships:
// JSON.stringify in JS, one parse in Rust) and as JS objects read by serde-wasm-bindgen (the build of
// cargo feature `js-boundary-bench`, never shipped), in one node process, and the two wasm sizes.
// Both answer the same JSON envelope, parsed in JS, so only the way in differs.
// Usage: node benches/wasm/boundary.bench.mjs <wasm-bindgen out dir of the js-boundary-bench build>
//          <the package's wasm> [seconds per sample] [rounds]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { opsPerCpuSecond } from './measure.mjs';

const [dir, packageWasm] = process.argv.slice(2, 4).map((p) => path.resolve(p));
const seconds = Number(process.argv[4] ?? 1);
const rounds = Number(process.argv[5] ?? 5);

const glue = await import(pathToFileURL(path.join(dir, 'x402_edge.js')).href);
const benchWasm = readFileSync(path.join(dir, 'x402_edge_bg.wasm'));
glue.initSync({ module: benchWasm });

const examples = JSON.parse(readFileSync(new URL('../../tests/vectors/api-examples.json', import.meta.url)));
const { paymentPayload, paymentRequirements } = examples.coinbase_v2['POST /verify request'];
const SPEC_NOW = 1740672100;

const valid = (envelope) => {
  const answer = JSON.parse(envelope);
  if (!answer.ok) throw new Error(`verify refused its input: ${answer.message}`);
  return answer.value.isValid;
};
const viaText = () =>
  valid(glue.verifyOffline(JSON.stringify(paymentPayload), JSON.stringify(paymentRequirements), SPEC_NOW));
const viaObjects = () => valid(glue.verifyOfflineFromObjects(paymentPayload, paymentRequirements, SPEC_NOW));
if (viaText() !== true || viaObjects() !== true) throw new Error('the spec example must verify both ways');

const ops = await opsPerCpuSecond(
  [['JSON text', viaText], ['serde-wasm-bindgen', viaObjects]],
  { seconds, rounds },
);
const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
const shipped = readFileSync(packageWasm);
console.log('EIP-3009 verifyOffline, ops per CPU-second (medians of interleaved rounds):');
console.log(`  JSON text ${ops['JSON text'].toFixed(0)}   serde-wasm-bindgen ${ops['serde-wasm-bindgen'].toFixed(0)}` +
  `   serde-wasm-bindgen/JSON ${(ops['serde-wasm-bindgen'] / ops['JSON text']).toFixed(2)}x`);
console.log(`wasm gzip: the package ${gz(shipped)} B; with the serde-wasm-bindgen export ${gz(benchWasm)} B` +
  ` (+${gz(benchWasm) - gz(shipped)} B; both built alike: cargo profile pkg, wasm-opt -Oz)`);
console.log(JSON.stringify({ jsonTextOps: ops['JSON text'], serdeWasmBindgenOps: ops['serde-wasm-bindgen'],
  packageWasmGzip: gz(shipped), boundaryWasmGzip: gz(benchWasm) }));
