// Node entry: instantiates the wasm synchronously from the file next to this package's glue.
import { readFileSync } from 'node:fs';
import { initSync } from '../wasm/x402_edge.js';

initSync({ module: readFileSync(new URL('../wasm/x402_edge_bg.wasm', import.meta.url)) });

export * from './index.js';
