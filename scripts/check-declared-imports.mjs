// Every package the repo's JavaScript imports is declared in package.json (or is a Node built-in, or one
// of the packages this repo builds and links into node_modules/@x402-edge): a transitive dependency that
// happens to be installed today is not one we can rely on tomorrow.
// Run: node scripts/check-declared-imports.mjs
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIRS = ['scripts', 'tests', 'js-bindings', 'gateway', 'examples'];
const SKIP = new Set(['node_modules', 'build', 'dist', 'target', '.wrangler']);
const EXTENSIONS = /\.(mjs|js|ts|mts|tsx)$/;

const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {})]);
const ours = new Set(['@x402-edge/verify', '@x402-edge/verify-starknet', '@x402-edge/sdk']);
const builtins = new Set(builtinModules);

function* files(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (EXTENSIONS.test(entry.name)) yield full;
  }
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or null for relative/built-in ones. */
function packageOf(specifier) {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtins.has(name) ? null : name;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;
const missing = new Map();
for (const dir of DIRS) {
  for (const file of files(path.join(ROOT, dir))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const name = packageOf(m[1] ?? m[2] ?? m[3]);
      if (name && !declared.has(name) && !ours.has(name)) {
        missing.set(name, [...(missing.get(name) ?? []), path.relative(ROOT, file)]);
      }
    }
  }
}
if (missing.size > 0) {
  for (const [name, where] of missing) console.error(`undeclared package ${name}, imported by ${[...new Set(where)].join(', ')}`);
  process.exit(1);
}
console.log('every imported package is declared in package.json');
