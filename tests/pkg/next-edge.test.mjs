// The packed @x402-edge/verify in a Next.js edge route (`runtime = 'edge'`, the `edge-light` condition that
// Vercel Edge Functions resolve too): a real `next build` (Turbopack) and `next start`, then the route
// verifies a signed payment and refuses a forged one and a malformed header with their codes.
// Next.js and React live in a scratch project of their own (node_modules/.cache/x402-edge/next-edge,
// installed once from the npm registry): the repo's own tree holds React 18 for the legacy x402 packages.
// Run: node --test tests/pkg/next-edge.test.mjs (after npm run build:pkg)
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { freePort, ROOT } from '../../scripts/lib/chain.mjs';
import { NOW, stranger, v2Payment } from './payments.mjs';

const NEXT = { next: '16.5.0', react: '19.3.1', 'react-dom': '19.3.1' };
const APP = path.join(ROOT, 'node_modules', '.cache', 'x402-edge', 'next-edge');
const npm = (args) => execFileSync('npm', args, { cwd: APP, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let server;
let url;

function installNext() {
  const installed = (name) => {
    const manifest = path.join(APP, 'node_modules', name, 'package.json');
    return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === NEXT[name];
  };
  if (Object.keys(NEXT).every(installed)) return;
  mkdirSync(APP, { recursive: true });
  writeFileSync(path.join(APP, 'package.json'), JSON.stringify({ name: 'next-edge', private: true, dependencies: NEXT }));
  npm(['install', '--no-audit', '--no-fund']);
}

function writeApp() {
  rmSync(path.join(APP, 'app'), { recursive: true, force: true });
  rmSync(path.join(APP, '.next'), { recursive: true, force: true });
  mkdirSync(path.join(APP, 'app', 'api', 'verify'), { recursive: true });
  // No JSX: Turbopack does not transform it under node_modules, where this scratch project lives.
  const h = "import { createElement as h } from 'react';\n";
  writeFileSync(path.join(APP, 'app', 'layout.js'), `${h}export default function Root({ children }) { return h('html', null, h('body', null, children)); }\n`);
  writeFileSync(path.join(APP, 'app', 'page.js'), `${h}export default function Page() { return h('p', null, 'edge'); }\n`);
  writeFileSync(
    path.join(APP, 'app', 'api', 'verify', 'route.js'),
    `import { decodePaymentHeader, verifyPaymentOffline, X402Error } from '@x402-edge/verify';
export const runtime = 'edge';
export async function POST(request) {
  const { payments, header } = await request.json();
  const results = payments.map((p) => verifyPaymentOffline(p.payload, p.requirements, { now: ${NOW} }));
  let headerReason = null;
  try { decodePaymentHeader(header); } catch (e) { headerReason = e instanceof X402Error ? e.reason : String(e); }
  return Response.json({ results, headerReason });
}
`,
  );
}

async function startNext() {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(APP, 'node_modules', 'next', 'dist', 'bin', 'next'), 'start', '-H', '127.0.0.1', '-p', String(port)], {
    cwd: APP,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    try {
      if ((await fetch(base)).ok) return { child, base, output: () => output };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGKILL');
  throw new Error(`next start did not come up: ${output}`);
}

before(async () => {
  installNext();
  const [packed] = JSON.parse(npm(['pack', path.join(ROOT, 'pkg'), '--json', '--pack-destination', APP]));
  npm(['install', '--no-audit', '--no-fund', '--no-save', '--offline', path.join(APP, packed.filename)]);
  writeApp();
  execFileSync(process.execPath, [path.join(APP, 'node_modules', 'next', 'dist', 'bin', 'next'), 'build'], {
    cwd: APP,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = await startNext();
  url = `${server.base}/api/verify`;
}, { timeout: 300_000 });

after(() => server?.child.kill('SIGKILL'));

test('a Next.js edge route verifies with the edge-light entry', async () => {
  const good = await v2Payment();
  const forged = await v2Payment({ signer: stranger });
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ payments: [good, forged], header: '%%% not base64' }) });
  const text = await res.text();
  assert.equal(res.status, 200, `${text}\n${server.output()}`);
  const out = JSON.parse(text);
  assert.equal(out.results[0].isValid, true, JSON.stringify(out.results[0]));
  assert.equal(out.results[1].invalidReason, 'invalid_exact_evm_signature');
  assert.equal(out.headerReason, 'invalid_payload');
});
