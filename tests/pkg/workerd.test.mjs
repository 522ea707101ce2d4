// The npm package in workerd: a JS Worker (tests/pkg/workerd/) that imports `@x402-edge/verify` by name,
// served by `wrangler dev` on a free loopback port, verifies payments signed here with viem, offline and
// against anvil. Run: node --test tests/pkg/workerd.test.mjs (after npm run build:pkg)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, deployTestToken, freePort, startAnvil } from '../../scripts/lib/chain.mjs';
import { findNode22 } from '../../scripts/lib/stack.mjs';
import { CHAIN_ID, NOW, payer, stranger, v2Payment } from './payments.mjs';

const DIR = path.join(ROOT, 'tests', 'pkg', 'workerd');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** node_modules/@x402-edge/verify → pkg/, so wrangler resolves the package by name (gitignored). */
function linkPackage() {
  const scope = path.join(DIR, 'node_modules', '@x402-edge');
  const link = path.join(scope, 'verify');
  mkdirSync(scope, { recursive: true });
  if (!existsSync(link)) symlinkSync(path.join(ROOT, 'pkg'), link, 'dir');
}

let wrangler, url, anvil, token, stateDir, output = '';

before(async () => {
  assert.ok(existsSync(path.join(ROOT, 'pkg', 'package.json')), 'build the package first: npm run build:pkg');
  linkPackage();
  anvil = await startAnvil({ chainId: CHAIN_ID });
  token = await deployTestToken({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
  const port = await freePort();
  stateDir = mkdtempSync(path.join(tmpdir(), 'x402-workerd-'));
  const node = findNode22();
  wrangler = spawn(node, [
    path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev',
    '--config', path.join(DIR, 'wrangler.toml'),
    '--ip', '127.0.0.1', '--port', String(port),
    '--persist-to', stateDir,
    '--show-interactive-dev-session=false',
  ], {
    cwd: DIR,
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
  const keep = (chunk) => { output = (output + chunk).slice(-8000); };
  wrangler.stdout.on('data', keep);
  wrangler.stderr.on('data', keep);
  url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited (${wrangler.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not come up:\n${output}`);
    await sleep(250);
  }
}, { timeout: 150_000 });

after(async () => {
  if (wrangler && wrangler.exitCode === null) {
    try { process.kill(-wrangler.pid, 'SIGTERM'); } catch { /* gone */ }
    await Promise.race([new Promise((r) => wrangler.once('exit', r)), sleep(5000)]);
    try { process.kill(-wrangler.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  await anvil?.stop();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

async function inWorker(p, options) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ payload: p.payload, requirements: p.requirements, options }) });
  return { status: res.status, body: await res.json() };
}

test('a Worker importing the package verifies a payment signed with viem', async () => {
  const { status, body } = await inWorker(await v2Payment(), { now: NOW });
  assert.equal(status, 200, JSON.stringify(body));
  assert.deepEqual(body.result, { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  assert.equal(body.roundTrip, true);
  const forged = await inWorker(await v2Payment({ signer: stranger }), { now: NOW });
  assert.equal(forged.body.result.invalidReason, 'invalid_exact_evm_signature');
});

test('malformed input is an X402Error in the Worker too', async () => {
  const p = await v2Payment();
  const { status, body } = await inWorker({ payload: p.payload, requirements: { ...p.requirements, network: 'eip155:999999' } }, { now: NOW });
  assert.equal(status, 400);
  assert.equal(body.error.reason, 'invalid_network');
});

test('the chain checks run from workerd over fetch against anvil', async () => {
  const nowS = Math.floor(Date.now() / 1000);
  const p = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600) },
    requirements: { asset: token.address, extra: { name: token.name, version: token.version } },
    sigOpts: { name: token.name, version: token.version },
  });
  const { body } = await inWorker(p, { rpcUrl: anvil.rpcUrl });
  assert.deepEqual(body.result, { isValid: true, payer: payer.address, needsChain: false, chainChecked: true });
  const poor = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600), value: String(10n ** 15n) },
    requirements: { asset: token.address, amount: String(10n ** 15n), extra: { name: token.name, version: token.version } },
    sigOpts: { name: token.name, version: token.version },
  });
  const { body: refused } = await inWorker(poor, { rpcUrl: anvil.rpcUrl });
  assert.equal(refused.result.invalidReason, 'invalid_exact_evm_insufficient_balance', refused.result.invalidMessage);
});
