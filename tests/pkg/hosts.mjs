// The hosts the npm packages are tested in, shared by the packages' tests: a loopback static server and
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core), a JS Worker in `wrangler dev`
// (real workerd) that imports a package by name, and a scratch project that installs a package from its
// `npm pack` tarball.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ROOT, freePort } from '../../scripts/lib/chain.mjs';
import { findNode22 } from '../../scripts/lib/stack.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>x402-edge verify</title><p id="status">loading</p>';

/** Serves `dir` under /pkg/ and an empty page at /, on 127.0.0.1 only. */
function serve(dir) {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = path.normalize(path.join(dir, url.pathname.replace(/^\/pkg\//, '/')));
    if (!url.pathname.startsWith('/pkg/') || !file.startsWith(dir + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * A page in headless Chromium that can `import('/pkg/dist/browser.js')` of the built package in `pkgDir`.
 * `page.errors` collects uncaught page errors; `stop()` closes everything.
 */
export async function openBrowserPage(pkgDir) {
  const server = await serve(pkgDir);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'x402-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  const stop = async () => {
    await context.close();
    server.close();
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { page, errors, stop };
}

/**
 * `wrangler dev` of the JS Worker in `dir` (its wrangler.toml) on a free loopback port, with
 * node_modules/<name> linked to each built package of `packages` ({name: pkgDir}) so wrangler resolves
 * them by name through their exports maps (the `workerd` condition), as for a user. Resolves once
 * GET /health answers.
 */
export async function startJsWorker(dir, packages) {
  for (const [name, pkgDir] of Object.entries(packages)) {
    assertBuilt(pkgDir);
    const link = path.join(dir, 'node_modules', name);
    mkdirSync(path.dirname(link), { recursive: true });
    if (!existsSync(link)) symlinkSync(pkgDir, link, 'dir');
  }
  const port = await freePort();
  const stateDir = mkdtempSync(path.join(tmpdir(), 'x402-workerd-'));
  const node = findNode22();
  const wrangler = spawn(node, [
    path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev',
    '--config', path.join(dir, 'wrangler.toml'),
    '--ip', '127.0.0.1', '--port', String(port),
    '--persist-to', stateDir,
    '--show-interactive-dev-session=false',
  ], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_LOG_PATH: stateDir,
      NO_COLOR: '1',
    },
  });
  let output = '';
  const keep = (chunk) => { output = (output + chunk).slice(-8000); };
  wrangler.stdout.on('data', keep);
  wrangler.stderr.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (wrangler.exitCode === null) {
      try { process.kill(-wrangler.pid, 'SIGTERM'); } catch { /* gone */ }
      await Promise.race([new Promise((r) => wrangler.once('exit', r)), sleep(5000)]);
      try { process.kill(-wrangler.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not come up:\n${output}`);
    }
    await sleep(250);
  }
  /** POST <route> {payload, requirements, options} → {status, body}. */
  const verify = async (payload, requirements, options, route = '/') => {
    const res = await fetch(`${url}${route}`, { method: 'POST', body: JSON.stringify({ payload, requirements, options }) });
    return { status: res.status, body: await res.json() };
  };
  return { url, verify, stop };
}

const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * `npm pack` of the built package `pkgDir` into a temp dir, installed (offline) into a scratch ESM project
 * there. `run(source, args)` runs a module in that project and parses the JSON it prints; `tsc(file)` type-
 * checks one of its files (strict, nodenext), throwing with tsc's output on an error.
 */
export function packAndInstall(pkgDir) {
  assertBuilt(pkgDir);
  const scratch = mkdtempSync(path.join(tmpdir(), 'x402-pack-'));
  const [packed] = JSON.parse(npm(['pack', pkgDir, '--json', '--pack-destination', scratch], ROOT));
  const tarball = path.join(scratch, packed.filename);
  const app = path.join(scratch, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', tarball], app);
  const run = (file, source, args = []) => {
    writeFileSync(path.join(app, file), source);
    return JSON.parse(execFileSync(process.execPath, [file, ...args], { cwd: app, encoding: 'utf8' }));
  };
  const tsc = (file, source) => {
    writeFileSync(path.join(app, file), source);
    return execFileSync(process.execPath, [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', file,
    ], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  };
  return {
    packed,
    files: packed.files.map((f) => f.path).sort(),
    tarballBytes: statSync(tarball).size,
    run,
    tsc,
    remove: () => rmSync(scratch, { recursive: true, force: true }),
  };
}

function assertBuilt(pkgDir) {
  if (!existsSync(path.join(pkgDir, 'package.json'))) throw new Error(`build the packages first: npm run build:pkg (${pkgDir} is missing)`);
}

/** The JS Worker of tests/pkg/workerd and the packages it imports (`/` verifies with one, `/starknet` the other). */
export const WORKER_DIR = path.join(ROOT, 'tests', 'pkg', 'workerd');
export const WORKER_PACKAGES = {
  '@x402-edge/verify': path.join(ROOT, 'pkg'),
  '@x402-edge/verify-starknet': path.join(ROOT, 'pkg-starknet'),
};

/** The whole package, gzip (the tarball is a gzip of it): the budget of each package. 256 KiB since the
 * 2.27 reason codes (Permit2, upto, Solana) joined the shared reason table, which every package carries
 * (the EVM package measured 258,140 bytes); issue 17's one lean package is where it comes back to 250 KB. */
export const MAX_PACKAGE_GZIP_BYTES = 256 * 1024;
/** What every package's tarball holds. */
export const PACKAGE_FILES = ['package.json', 'README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/node.js', 'dist/browser.js', 'dist/workerd.js', 'dist/edge-light.js', 'wasm/x402_edge.js', 'wasm/x402_edge_bg.wasm'];
