// Module hooks for worker-cold.bench.mjs: the built Worker's bundle (build/index.js) imports
// `cloudflare:workers` (here a stub of WorkerEntrypoint that keeps ctx and env, as workerd's does) and its
// wasm as a compiled module (here compiled from the file, timed).
export async function resolve(specifier, context, next) {
  if (specifier === 'cloudflare:workers') return { url: 'x402-stub:workers', shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url === 'x402-stub:workers') {
    return { format: 'module', shortCircuit: true,
      source: 'export class WorkerEntrypoint { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }' };
  }
  if (url.endsWith('.wasm')) {
    const path = new URL(url).pathname;
    return { format: 'module', shortCircuit: true,
      source: `import { readFileSync } from 'node:fs'; const t = performance.now(); const m = new WebAssembly.Module(readFileSync(${JSON.stringify(path)})); globalThis.__compileMs = performance.now() - t; export default m;` };
  }
  return next(url, context);
}
