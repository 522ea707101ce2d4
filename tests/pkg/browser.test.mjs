// The npm package in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): a page
// served from a loopback static server imports pkg/dist/browser.js (the `browser` export) and verifies
// payments signed here with viem, offline and against anvil. Run: node --test tests/pkg/browser.test.mjs
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { ROOT, deployTestToken, startAnvil } from '../../scripts/lib/chain.mjs';
import { CHAIN_ID, NOW, payer, stranger, v2Payment } from './payments.mjs';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const PAGE = '<!doctype html><meta charset="utf-8"><title>x402-edge verify</title><p id="status">loading</p>';

/** Serves pkg/ under /pkg/ and an empty page at /, on 127.0.0.1 only. */
function serve() {
  const pkg = path.join(ROOT, 'pkg');
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
      return;
    }
    const file = path.normalize(path.join(pkg, url.pathname.replace(/^\/pkg\//, '/')));
    if (!url.pathname.startsWith('/pkg/') || !file.startsWith(pkg + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server, context, page, anvil, token, userDataDir;
const pageErrors = [];

before(async () => {
  server = await serve();
  anvil = await startAnvil({ chainId: CHAIN_ID });
  token = await deployTestToken({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
  userDataDir = mkdtempSync(path.join(tmpdir(), 'x402-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
}, { timeout: 90_000 });

after(async () => {
  await context?.close();
  server?.close();
  await anvil?.stop();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/** Runs the package in the page: `verifyPayment(payload, requirements, options)` plus a header round trip. */
function inPage(p, options) {
  return page.evaluate(async ({ payload, requirements, options }) => {
    const x402 = await import('/pkg/dist/browser.js');
    const header = x402.encodePaymentHeader(payload);
    const roundTrip = JSON.stringify(x402.decodePaymentHeader(header)) === JSON.stringify(payload);
    const result = await x402.verifyPayment(payload, requirements, options);
    let error;
    try {
      x402.decodePaymentHeader('***');
    } catch (e) {
      error = { isX402Error: e instanceof x402.X402Error, reason: e.reason };
    }
    return { result, roundTrip, error, userAgent: navigator.userAgent };
  }, { payload: p.payload, requirements: p.requirements, options });
}

test('a payment signed with viem is valid in Chromium, and a forged one is not', async () => {
  const good = await inPage(await v2Payment(), { now: NOW });
  assert.match(good.userAgent, /Chrome/);
  assert.deepEqual(good.result, { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  assert.equal(good.roundTrip, true);
  assert.deepEqual(good.error, { isX402Error: true, reason: 'invalid_payload' });
  const forged = await inPage(await v2Payment({ signer: stranger }), { now: NOW });
  assert.equal(forged.result.isValid, false);
  assert.equal(forged.result.invalidReason, 'invalid_exact_evm_signature');
  const late = await inPage(await v2Payment(), { now: NOW + 595 });
  assert.equal(late.result.invalidReason, 'invalid_exact_evm_payload_authorization_valid_before');
  assert.deepEqual(pageErrors, []);
});

test('the chain checks run from the browser over fetch against anvil', async () => {
  const nowS = Math.floor(Date.now() / 1000);
  const p = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600) },
    requirements: { asset: token.address, extra: { name: token.name, version: token.version } },
    sigOpts: { name: token.name, version: token.version },
  });
  const { result } = await inPage(p, { rpcUrl: anvil.rpcUrl });
  assert.equal(result.isValid, true, result.invalidMessage);
  assert.equal(result.chainChecked, true);
  const poor = await v2Payment({
    auth: { validAfter: '0', validBefore: String(nowS + 3600), value: '10000' },
    requirements: { asset: token.address, extra: { name: token.name, version: token.version }, amount: '10000' },
    sigOpts: { name: 'USDC', version: token.version },
  });
  poor.requirements.extra = { name: 'USDC', version: token.version };
  poor.payload.accepted = poor.requirements;
  const { result: mismatch } = await inPage(poor, { rpcUrl: anvil.rpcUrl });
  assert.equal(mismatch.invalidReason, 'invalid_exact_evm_token_name_mismatch', mismatch.invalidMessage);
});
