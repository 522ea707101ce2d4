// Cloudflare Workers (workerd) entry: wrangler bundles the `.wasm` import as a compiled module.
import { initSync } from '../wasm/x402_edge.js';
import wasmModule from '../wasm/x402_edge_bg.wasm';

initSync({ module: wasmModule });

export * from './index.js';
