// The import graph of src/: one node per file, one edge per path a file names (in `use` items and inline:
// `crate::…`, `super::…`, `self::…`, or a child module's name) that resolves to another file's module. Declaring a child
// module (`mod x;`) is not an edge. Prints every cycle (strongly connected component of more than one
// file) and exits 1 when there is one, so `npm test` keeps the layering honest (README, Architecture).
//
// Usage: node scripts/import-cycles.mjs [--graph]   (--graph also prints every file's imports)

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'src');

/** Every .rs file under src/, as paths relative to src/. */
function rustFiles(dir = SRC) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return rustFiles(full);
    return entry.name.endsWith('.rs') ? [path.relative(SRC, full)] : [];
  });
}

/** The module path of a file: src/lib.rs → [], src/a/mod.rs → [a], src/a/b.rs → [a, b]. */
function modulePath(file) {
  const parts = file.replace(/\.rs$/, '').split(path.sep);
  if (parts.at(-1) === 'mod' || parts.at(-1) === 'lib') parts.pop();
  return parts;
}

/** Comments and string literals removed, so only code is scanned. */
function codeOf(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/r#*"[\s\S]*?"#*/g, '""')
    .replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

/** Inline modules (`mod name { … }`) as [start, end, name] spans of `code`. */
function inlineModules(code) {
  const spans = [];
  for (const match of code.matchAll(/\bmod\s+(\w+)\s*\{/g)) {
    let depth = 0;
    let end = code.length;
    for (let i = match.index + match[0].length - 1; i < code.length; i += 1) {
      if (code[i] === '{') depth += 1;
      if (code[i] === '}' && --depth === 0) {
        end = i;
        break;
      }
    }
    spans.push([match.index, end, match[1]]);
  }
  return spans;
}

/** The paths a file names with the module each is named in: `use a::{b, c::d}` gives a::b and a::c::d. */
function namedPaths(code, module) {
  const spans = inlineModules(code);
  const scope = (at) => [...module, ...spans.filter(([s, e]) => s < at && at < e).map(([, , name]) => name)];
  const paths = [];
  for (const m of code.matchAll(/\buse\s+([^;]+);/g)) {
    for (const p of expandUseTree(m[1].replace(/\s+/g, ''))) paths.push([p, scope(m.index)]);
  }
  for (const m of code.matchAll(/(?<![\w:])\w+(?:::\w+)+/g)) paths.push([m[0], scope(m.index)]);
  return paths;
}

function expandUseTree(tree) {
  const open = tree.indexOf('{');
  if (open < 0) return [tree.replace(/as\w+$/, '')];
  const prefix = tree.slice(0, open);
  const inner = tree.slice(open + 1, tree.lastIndexOf('}'));
  const parts = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i <= inner.length; i += 1) {
    const c = inner[i];
    if (c === '{') depth += 1;
    if (c === '}') depth -= 1;
    if ((c === ',' && depth === 0) || i === inner.length) {
      const part = inner.slice(start, i);
      if (part) parts.push(...expandUseTree(prefix + part));
      start = i + 1;
    }
  }
  return parts;
}

/** The file a path resolves to: the longest prefix naming a module that has a file. `self` is the module
 * the path is named in, `super` its parent. */
function resolve(segments, scope, modules) {
  const rest = [...segments];
  let base;
  if (rest[0] === 'crate') {
    base = [];
    rest.shift();
  } else if (rest[0] === 'super' || rest[0] === 'self') {
    base = [...scope];
    while (rest[0] === 'super' || rest[0] === 'self') {
      if (rest.shift() === 'super') base.pop();
    }
  } else if (modules.has([...scope, rest[0]].join('::'))) {
    base = [...scope]; // a child module, named relative to the module the path is in
  } else {
    return null;
  }
  for (let n = rest.length; n >= 0; n -= 1) {
    const file = modules.get([...base, ...rest.slice(0, n)].join('::'));
    if (file) return file;
  }
  return null;
}

function graph() {
  const files = rustFiles();
  const modules = new Map(files.map((f) => [modulePath(f).join('::'), f]));
  const edges = new Map();
  for (const file of files) {
    const code = codeOf(fs.readFileSync(path.join(SRC, file), 'utf8'));
    const targets = new Set();
    for (const [p, scope] of namedPaths(code, modulePath(file))) {
      const target = resolve(p.split('::').filter(Boolean), scope, modules);
      if (target && target !== file) targets.add(target);
    }
    edges.set(file, [...targets].sort());
  }
  return edges;
}

/** Tarjan's strongly connected components, larger than one file. */
function cycles(edges) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const visit = (v) => {
    state.set(v, { index, low: index, onStack: true });
    index += 1;
    stack.push(v);
    for (const w of edges.get(v) ?? []) {
      if (!state.has(w)) {
        visit(w);
        state.get(v).low = Math.min(state.get(v).low, state.get(w).low);
      } else if (state.get(w).onStack) {
        state.get(v).low = Math.min(state.get(v).low, state.get(w).index);
      }
    }
    if (state.get(v).low === state.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        state.get(w).onStack = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of edges.keys()) if (!state.has(v)) visit(v);
  return found;
}

const edges = graph();
if (process.argv.includes('--graph')) {
  for (const [file, targets] of edges) console.log(`${file} -> ${targets.join(', ')}`);
}
const found = cycles(edges);
const imports = [...edges.values()].reduce((n, t) => n + t.length, 0);
if (found.length === 0) {
  console.log(`import graph of src/: ${edges.size} files, ${imports} imports, no cycle`);
} else {
  for (const component of found) {
    console.log(`cycle of ${component.length} files:`);
    for (const file of component) {
      const inside = edges.get(file).filter((t) => component.includes(t));
      console.log(`  ${file} -> ${inside.join(', ')}`);
    }
  }
  console.log(`import graph of src/: ${edges.size} files, ${imports} imports, ${found.length} cycle(s)`);
  process.exitCode = 1;
}
