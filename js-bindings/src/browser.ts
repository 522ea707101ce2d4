// Browser and bundler entry: fetches and instantiates the wasm next to this module (bundlers that
// understand `new URL(…, import.meta.url)` copy it as an asset), before any export is used.
import init from '../wasm/x402_edge.js';

await init({ module_or_path: new URL('../wasm/x402_edge_bg.wasm', import.meta.url) });

export * from './index.js';
