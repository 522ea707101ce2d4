// EdgeFacilitatorClient inside @x402/hono on workerd, over a Cloudflare Service Binding to the facilitator:
// the Hono Worker of tests/sdk/hono-worker/ in its own `wrangler dev`, bound (`[[services]]`, FACILITATOR)
// to the facilitator's `wrangler dev` of build/ (startStack). The two sessions find each other through
// wrangler's dev registry, the stack's own (stack.registryPath, private to this stack), so other
// wrangler sessions on the machine cannot answer for `x402-edge`.
//
// Checked: unpaid → 402 with PAYMENT-REQUIRED; paid once with the official client → 200 with
// PAYMENT-RESPONSE and the transfer on anvil; the same header again → 402 (the facilitator refuses the
// settle); the Worker's requests through the binding are /supported and /settle only (verify ran
// in-process, in wasm, inside workerd).
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/hono-workerd.test.mjs   (needs build/index_bg.wasm)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';

import { ROOT, balanceOf, freePort, rpc } from '../../scripts/lib/chain.mjs';
import { deathSignalPrefix, killGroup, trackGroup, untrackGroup } from '../../scripts/lib/processes.mjs';
import { findNode22, startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const AMOUNT = 10_000n;
const WORKER_DIR = path.join(ROOT, 'tests', 'sdk', 'hono-worker');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let stack, worker;
let token, payer, payee;

/**
 * `wrangler dev` of the Hono Worker on a free loopback port, with `vars`; resolves once GET /paid answers
 * 402, i.e. the Worker is up and its binding reaches the facilitator (the 402 needs its /supported).
 */
async function startHonoWorker(vars) {
  const port = await freePort();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-sdk-hono-'));
  const node = findNode22();
  const argv = [path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js'), 'dev', '--config', path.join(WORKER_DIR, 'wrangler.toml')];
  argv.push('--ip', '127.0.0.1', '--port', String(port), '--persist-to', stateDir, '--show-interactive-dev-session=false');
  for (const [k, v] of Object.entries(vars)) argv.push('--var', `${k}:${v}`);
  const [cmd, ...args] = [...deathSignalPrefix(), node, ...argv];
  const child = spawn(cmd, args, {
    cwd: WORKER_DIR,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_LOG_PATH: stateDir,
      WRANGLER_REGISTRY_PATH: stack.registryPath,
      NO_COLOR: '1',
    },
  });
  trackGroup(child);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, 'SIGTERM');
      await Promise.race([exited, sleep(5000)]);
    }
    killGroup(child, 'SIGKILL');
    untrackGroup(child);
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let last = 'no answer yet';
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/paid`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
      if (res.status === 402) return { url, stop, output: () => output };
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Hono Worker did not answer GET /paid with 402 (last: ${last}):\n${output}`);
    }
    await sleep(500);
  }
}

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    worker = await startHonoWorker({ PAY_TO: payee.address, ASSET: token });
  },
  { timeout: 240_000 },
);

after(async () => {
  await worker?.stop();
  await stack?.stop();
});

async function get(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

const bal = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });
const calls = async () => (await get(`${worker.url}/calls`)).json;

test('@x402/hono on workerd with EdgeFacilitatorClient over a Service Binding: paid once → 200, replay → 402', { timeout: 120_000 }, async () => {
  const url = `${worker.url}/paid`;
  const unpaid = await get(url);
  assert.equal(unpaid.status, 402, unpaid.text);
  const required = decodePaymentRequiredHeader(unpaid.headers.get('payment-required'));
  assert.equal(required.error, 'Payment required');
  assert.deepEqual(required.accepts.map((a) => [a.network, a.asset, a.amount, a.payTo]), [[NETWORK, token, AMOUNT.toString(), payee.address]]);

  const client = new x402HTTPClient(
    new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] }),
  );
  const payload = await client.createPaymentPayload(client.getPaymentRequiredResponse((n) => unpaid.headers.get(n), unpaid.json));
  const headers = client.encodePaymentSignatureHeader(payload);

  const before = { payer: await bal(payer.address), payee: await bal(payee.address) };
  const callsBefore = (await calls()).length;
  const paid = await get(url, headers);
  assert.equal(paid.status, 200, `${paid.status} ${paid.text}\n${worker.output()}`);
  assert.deepEqual(paid.json, { content: 'the paid content' });
  const receipt = decodePaymentResponseHeader(paid.headers.get('payment-response'));
  assert.equal(receipt.success, true);
  assert.equal(receipt.payer, payer.address);
  const tx = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [receipt.transaction]);
  assert.equal(tx?.status, '0x1');
  assert.equal(tx.from.toLowerCase(), stack.facilitatorAddress.toLowerCase(), 'the facilitator sent the transfer');
  const settled = { payer: await bal(payer.address), payee: await bal(payee.address) };
  assert.equal(settled.payee - before.payee, AMOUNT);
  assert.equal(before.payer - settled.payer, AMOUNT);
  assert.deepEqual((await calls()).slice(callsBefore), ['/settle'], 'verify ran in-process; settle went through the binding');

  const replay = await get(url, headers);
  assert.equal(replay.status, 402, replay.text);
  const refusal = decodePaymentResponseHeader(replay.headers.get('payment-response'));
  assert.equal(refusal.success, false);
  assert.equal(refusal.errorReason, 'invalid_exact_evm_nonce_already_used');
  assert.notDeepEqual(replay.json, { content: 'the paid content' });
  assert.deepEqual({ payer: await bal(payer.address), payee: await bal(payee.address) }, settled, 'the replay moved nothing');
  const all = await calls();
  assert.deepEqual(all.slice(callsBefore), ['/settle', '/settle']);
  assert.ok(!all.includes('/verify'), `no /verify through the binding: ${all}`);
});
