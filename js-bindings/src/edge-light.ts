// Vercel Edge Functions and Next.js edge routes (the `edge-light` condition): the bundler hands over the
// wasm as a compiled module (`?module`). Next.js compiles it in another realm than the edge sandbox that
// runs this code: same internal slots, another prototype, so wasm-bindgen's `instanceof
// WebAssembly.Module` would refuse it; it gets this realm's prototype first.
import { initSync } from '../wasm/x402_edge.js';
import compiled from '../wasm/x402_edge_bg.wasm?module';

const module = compiled instanceof WebAssembly.Module ? compiled : Object.setPrototypeOf(compiled, WebAssembly.Module.prototype);
initSync({ module });

export * from './index.js';
