// The npm package in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): a page
// served from a loopback static server imports pkg/dist/browser.js (the `browser` export) and verifies
// payments signed here with viem, offline and against anvil. Run: node --test tests/pkg/browser.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT, deployTestToken, installMulticall3, startAnvil } from '../../scripts/lib/chain.mjs';
import { openBrowserPage } from './hosts.mjs';
import { CHAIN_ID, NOW, payer, stranger, v2Payment } from './payments.mjs';

let browser, page, anvil, token;

before(async () => {
  browser = await openBrowserPage(path.join(ROOT, 'pkg'));
  page = browser.page;
  anvil = await startAnvil({ chainId: CHAIN_ID });
  token = await deployTestToken({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
  await installMulticall3({ rpcUrl: anvil.rpcUrl, chainId: CHAIN_ID });
}, { timeout: 90_000 });

after(async () => {
  await browser?.stop();
  await anvil?.stop();
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
  assert.deepEqual(browser.errors, []);
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
