// Benchmark, not a test: the Worker's cold start, in fresh node processes (V8, the engine workerd
// embeds): compiling its wasm, the bundle's import (compile + instantiate + start), the first request
// (GET /supported: configuration from env, the signer's address from its key, the lazily compiled
// functions on the way) and a warm one. Medians of `runs` processes.
// Usage: node benches/wasm/worker-cold.bench.mjs [build/index.js] [runs]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { median } from './measure.mjs';

const bundle = path.resolve(process.argv[2] ?? 'build/index.js');
const runs = Number(process.argv[3] ?? 7);
// anvil's first public test key.
const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const runner = fileURLToPath(new URL('./worker-cold/run.mjs', import.meta.url));

const samples = [];
for (let i = 0; i < runs; i++) {
  const out = execFileSync(process.execPath, [runner, pathToFileURL(bundle).href, KEY], { encoding: 'utf8' });
  samples.push(JSON.parse(out.trim().split('\n').pop()));
}
const m = (key) => median(samples.map((s) => s[key]));
const wasm = readFileSync(path.join(path.dirname(bundle), 'index_bg.wasm'));
console.log(`Worker cold start (medians of ${runs} fresh node ${process.version} processes; wasm ${wasm.length} bytes, ` +
  `${gzipSync(wasm, { level: 9 }).length} gzip):`);
console.log(`  compile ${m('compileMs').toFixed(1)} ms, import (compile + instantiate + start) ${m('importMs').toFixed(1)} ms, ` +
  `first GET /supported ${m('firstRequestMs').toFixed(1)} ms, then ${m('warmRequestMs').toFixed(2)} ms warm`);
console.log(JSON.stringify({ compileMs: m('compileMs'), importMs: m('importMs'), firstRequestMs: m('firstRequestMs'), warmRequestMs: m('warmRequestMs') }));
