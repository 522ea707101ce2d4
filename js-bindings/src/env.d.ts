// What the entry points use of their hosts, declared here so the build needs no @types packages.
declare module 'node:fs' {
  export function readFileSync(path: URL): Uint8Array;
}
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
declare module '*.wasm?module' {
  const module: WebAssembly.Module;
  export default module;
}
