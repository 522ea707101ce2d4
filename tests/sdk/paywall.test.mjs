// @x402-edge/sdk/paywall in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens a paid route of @x402/hono 2.27 (and of @x402/express 2.27) that uses
// `edgePaywall()` as its paywall, in front of the real facilitator (`wrangler dev` of build/) on anvil and
// the local Solana RPC. The page must render and list every accepted network with its price in whole
// units, show a hostile description as text, load nothing but itself, and pay: an injected EIP-1193
// wallet (window.ethereum) whose `eth_signTypedData_v4` is signed here by a viem account completes an
// EIP-3009 payment, and an injected Wallet Standard wallet whose `solana:signTransaction` is signed here
// by a kit signer completes a Solana one; the page shows the paid content and the tokens moved on chain.
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/paywall.test.mjs   (needs build/index_bg.wasm)
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { serve } from '@hono/node-server';
import { address, getTransactionDecoder, getTransactionEncoder } from '@solana/kit';
import { findAssociatedTokenPda, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { x402ResourceServer } from '@x402/core/server';
import { decodePaymentRequiredHeader, HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { paymentMiddleware as expressPaymentMiddleware } from '@x402/express';
import { paymentMiddleware as honoPaymentMiddleware } from '@x402/hono';
import { ExactSvmScheme as ExactSvmServerScheme } from '@x402/svm/exact/server';
import { edgePaywall, formatUnits } from '@x402-edge/sdk/paywall';
import express from 'express';
import { Hono } from 'hono';
import { chromium } from 'playwright-core';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const EVM_NETWORK = `eip155:${CHAIN_ID}`;
/** The price of the paid route, in base units of the 6-decimal test tokens: 0.01. */
const AMOUNT = 10_000n;
/** What the route serves once paid. */
const CONTENT = { content: 'the paid content', n: 42 };
/** A route description that would run script if the page interpolated it unescaped. */
const DESCRIPTION = `Premium data </script><script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & "quotes"`;
const TIMEOUT_MS = 90_000;

let stack, token, svm;
let payer, payee, stranger; // anvil accounts #1, #2, #3 (viem)
let svmPayer, svmPayee; // local Solana test wallets (kit signers)
let browser, userDataDir;
const servers = [];
const app = {}; // base URLs: hono, express
/** How the injected EVM test wallet signs: 'payer', or 'stranger' (a signature by someone else). */
let evmSigner = 'payer';

async function listen(server) {
  if (!server.listening) await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

/**
 * The loopback Solana RPC as a browser may call it: the same JSON-RPC, with CORS (as public Solana RPCs
 * answer). The page builds its Solana payment through this.
 */
function startCorsRpc(target) {
  const server = createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type, solana-client', 'access-control-allow-methods': 'POST' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
    res.writeHead(upstream.status, { ...cors, 'content-type': 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
  });
  return listen(server.listen(0, '127.0.0.1'));
}

/** The paid route's config: EIP-3009 on anvil's TestUSDC and SPL on the local Solana mint, 0.01 each. */
function paidRoute() {
  return {
    accepts: [
      { scheme: 'exact', network: EVM_NETWORK, payTo: payee.address, price: { amount: AMOUNT.toString(), asset: token.address, extra: { name: token.name, version: token.version } }, maxTimeoutSeconds: 300 },
      { scheme: 'exact', network: svm.caip2, payTo: svmPayee.address, price: { amount: AMOUNT.toString(), asset: svm.mint }, maxTimeoutSeconds: 300 },
    ],
    description: DESCRIPTION,
    mimeType: 'application/json',
  };
}

function resourceServer() {
  return new x402ResourceServer(new HTTPFacilitatorClient({ url: stack.facilitatorUrl }))
    .register(EVM_NETWORK, new ExactEvmServerScheme())
    .register(svm.caip2, new ExactSvmServerScheme({ rpcUrl: svm.rpcUrl }));
}

before(async () => {
  stack = await startStack({ local: true, localSvm: true, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
  token = stack.token;
  svm = stack.svm;
  [payer, payee, stranger] = [1, 2, 3].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  [svmPayer, svmPayee] = svm.payers.map((w) => w.signer);
  const paywall = edgePaywall({
    assets: [
      { address: token.address, network: EVM_NETWORK, symbol: 'TestUSDC', decimals: 6 },
      { address: svm.mint, network: svm.caip2, symbol: 'TestUSDC', decimals: 6 },
    ],
    solanaRpcUrls: { [svm.caip2]: await startCorsRpc(svm.rpcUrl) },
  });
  const hono = new Hono();
  hono.use(honoPaymentMiddleware({ 'GET /premium': paidRoute() }, resourceServer(), { appName: 'Paid API', testnet: true }, paywall));
  hono.get('/premium', (c) => c.json(CONTENT));
  app.hono = await listen(serve({ fetch: hono.fetch, hostname: '127.0.0.1', port: 0 }));
  const ex = express();
  ex.use(expressPaymentMiddleware({ 'GET /premium': paidRoute() }, resourceServer(), undefined, paywall));
  ex.get('/premium', (_req, res) => res.json(CONTENT));
  app.express = await listen(createServer(ex).listen(0, '127.0.0.1'));

  userDataDir = mkdtempSync(path.join(tmpdir(), 'x402-paywall-chromium-'));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await browser.exposeFunction('x402TestSignTypedData', (json) => {
    const { domain, types, primaryType, message } = JSON.parse(json);
    const { EIP712Domain, ...rest } = types;
    assert.ok(Array.isArray(EIP712Domain), 'the page lists EIP712Domain, as wallets require');
    const account = evmSigner === 'payer' ? payer : stranger;
    return account.signTypedData({ domain, types: rest, primaryType, message });
  });
  await browser.exposeFunction('x402TestSignSolana', async (base64) => {
    const tx = getTransactionDecoder().decode(Buffer.from(base64, 'base64'));
    const [signatures] = await svmPayer.signTransactions([tx]);
    return Buffer.from(getTransactionEncoder().encode({ ...tx, signatures: { ...tx.signatures, ...signatures } })).toString('base64');
  });
  await browser.addInitScript(injectWallets, { evmAddress: payer.address, chainId: CHAIN_ID, solanaAddress: svmPayer.address });
}, { timeout: 180_000 });

after(async () => {
  await browser?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  for (const server of servers) {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
  }
  await stack?.stop();
});

/**
 * Runs in the page before its scripts: a test EVM wallet at `window.ethereum` (EIP-1193) and a test
 * Solana wallet registered through the Wallet Standard; both sign through the functions exposed above.
 */
function injectWallets({ evmAddress, chainId, solanaAddress }) {
  window.x402TestCalls = [];
  window.x402TestChainId = chainId;
  window.ethereum = {
    async request({ method, params }) {
      window.x402TestCalls.push(method);
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [evmAddress];
      if (method === 'eth_chainId') return `0x${window.x402TestChainId.toString(16)}`;
      if (method === 'wallet_switchEthereumChain') {
        if (window.x402TestRefuseSwitch) throw Object.assign(new Error('User rejected the request.'), { code: 4001 });
        window.x402TestChainId = Number.parseInt(params[0].chainId, 16);
        return null;
      }
      if (method === 'eth_signTypedData_v4') {
        if (params[0].toLowerCase() !== evmAddress.toLowerCase()) throw new Error('unknown account');
        return window.x402TestSignTypedData(params[1]);
      }
      throw Object.assign(new Error(`unsupported: ${method}`), { code: 4200 });
    },
  };
  const b64 = { encode: (bytes) => btoa(String.fromCharCode(...bytes)), decode: (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)) };
  const account = { address: solanaAddress, publicKey: new Uint8Array(32), chains: ['solana:devnet'], features: ['solana:signTransaction'] };
  const wallet = {
    version: '1.0.0',
    name: 'Test Solana Wallet',
    icon: 'data:image/svg+xml;base64,PHN2Zy8+',
    chains: ['solana:devnet'],
    accounts: [account],
    features: {
      'standard:connect': { version: '1.0.0', connect: async () => ({ accounts: [account] }) },
      'solana:signTransaction': {
        version: '1.0.0',
        supportedTransactionVersions: ['legacy', 0],
        signTransaction: (...inputs) =>
          Promise.all(inputs.map(async ({ transaction, chain }) => {
            window.x402TestCalls.push(`solana:signTransaction ${chain}`);
            return { signedTransaction: b64.decode(await window.x402TestSignSolana(b64.encode(transaction))) };
          })),
      },
    },
  };
  const register = (api) => api.register(wallet);
  window.addEventListener('wallet-standard:app-ready', (event) => register(event.detail));
  window.dispatchEvent(new CustomEvent('wallet-standard:register-wallet', { detail: register }));
}

/**
 * A fresh tab on `url` (`setup`: a script run in it before the page's own, after the wallets'): the
 * navigation's response, the page, and every request, console line and page error.
 */
async function open(url, setup) {
  const page = await browser.newPage();
  if (setup) await page.addInitScript(setup);
  const requests = [];
  const console = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => errors.push(e.message));
  const response = await page.goto(url);
  await page.waitForSelector('html[data-x402-ready="true"]');
  return { page, response, requests, console, errors };
}

/** The options table as the visitor reads it: [network, price] per row. */
const rows = (page) =>
  page.$$eval('#x402-options tbody tr', (trs) => trs.map((tr) => [tr.cells[0].firstChild.textContent.trim(), tr.cells[1].textContent.trim()]));

const evmBalance = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token: token.address, owner });
const ata = async (owner) => (await findAssociatedTokenPda({ owner: address(owner), mint: address(svm.mint), tokenProgram: TOKEN_PROGRAM_ADDRESS }))[0];
const splBalance = async (owner) => BigInt((await rpc(svm.rpcUrl, 'getTokenAccountBalance', [await ata(owner)])).value.amount);

/** Clicks the pay button of option `index` and waits until the page reports success or failure. */
async function payWith(page, index) {
  await page.click(`button[data-x402-option="${index}"]`);
  await page.waitForSelector('#x402-status.ok, #x402-status.error', { timeout: TIMEOUT_MS });
  return page.textContent('#x402-status');
}

test('the paywall page: 402 HTML listing every network and price, the description as text, nothing loaded from elsewhere', { timeout: TIMEOUT_MS }, async () => {
  const { page, response, requests, console, errors } = await open(`${app.hono}/premium`);
  try {
    assert.equal(response.status(), 402);
    assert.match(response.headers()['content-type'], /^text\/html/);
    const required = decodePaymentRequiredHeader(response.headers()['payment-required']);
    assert.deepEqual(required.accepts.map((a) => a.network), [EVM_NETWORK, svm.caip2]);

    assert.equal(await page.title(), 'Paid API');
    assert.equal(await page.textContent('h1 .badge'), 'testnet');
    assert.deepEqual(await rows(page), [['Base Sepolia', '0.01 TestUSDC'], ['Solana Devnet', '0.01 TestUSDC']]);
    assert.equal(formatUnits(AMOUNT.toString(), 6), '0.01');
    // Both wallets were found: each option can be paid.
    assert.deepEqual(await page.$$eval('button[data-x402-option]', (bs) => bs.map((b) => [b.textContent, b.disabled])), [
      ['Pay with wallet', false],
      ['Pay with Test Solana Wallet', false],
    ]);

    // The hostile description is shown as the text it is, and none of it ran.
    assert.equal(await page.textContent('#x402-description'), DESCRIPTION);
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    assert.equal(await page.$$eval('script', (s) => s.length), 2, 'the data block and the page script only');
    assert.equal(await page.$$eval('img', (i) => i.length), 0);

    // Self-contained: the page requested nothing but itself, and its CSP refused nothing.
    assert.deepEqual(requests, [`${app.hono}/premium`]);
    assert.deepEqual(errors, []);
    assert.deepEqual(console.filter((l) => /Content Security Policy|Refused/i.test(l)), []);
  } finally {
    await page.close();
  }
});

test('a client that does not ask for HTML gets the JSON 402, not the page', async () => {
  const res = await fetch(`${app.hono}/premium`, { headers: { accept: 'application/json' } });
  assert.equal(res.status, 402);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.ok(res.headers.get('payment-required'));
});

test('@x402/express serves the same page', { timeout: TIMEOUT_MS }, async () => {
  const { page, response, errors } = await open(`${app.express}/premium`);
  try {
    assert.equal(response.status(), 402);
    assert.equal(await page.title(), 'Payment required');
    assert.deepEqual(await rows(page), [['Base Sepolia', '0.01 TestUSDC'], ['Solana Devnet', '0.01 TestUSDC']]);
    assert.equal(await page.textContent('#x402-description'), DESCRIPTION);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('an injected EVM wallet pays with EIP-3009: the page shows the paid content and the TestUSDC moved on anvil', { timeout: TIMEOUT_MS }, async () => {
  const before = { payer: await evmBalance(payer.address), payee: await evmBalance(payee.address) };
  const { page, errors } = await open(`${app.hono}/premium`);
  try {
    evmSigner = 'payer';
    const status = await payWith(page, 0);
    const hash = /Transaction (0x[0-9a-f]{64}) on eip155:84532\./.exec(status)?.[1];
    assert.ok(hash, `the page reports the transaction: ${status}`);
    assert.deepEqual(JSON.parse(await page.textContent('#x402-content pre')), CONTENT);
    assert.equal(await page.isVisible('#x402-options'), false);
    assert.deepEqual(await page.evaluate(() => window.x402TestCalls), ['eth_requestAccounts', 'eth_chainId', 'eth_signTypedData_v4']);

    const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [hash]);
    assert.equal(receipt?.status, '0x1');
    assert.equal(receipt.from.toLowerCase(), stack.facilitatorAddress.toLowerCase());
    assert.equal(await evmBalance(payer.address), before.payer - AMOUNT);
    assert.equal(await evmBalance(payee.address), before.payee + AMOUNT);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a wallet that only announces itself through EIP-6963 (no window.ethereum) pays too', { timeout: TIMEOUT_MS }, async () => {
  const before = await evmBalance(payee.address);
  const { page, errors } = await open(`${app.hono}/premium`, () => {
    const provider = window.ethereum;
    delete window.ethereum;
    const info = { uuid: '00000000-0000-4000-8000-000000000000', name: 'Test EVM Wallet', icon: 'data:image/svg+xml;base64,PHN2Zy8+', rdns: 'org.example.test' };
    window.addEventListener('eip6963:requestProvider', () => window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) })));
  });
  try {
    assert.equal(await page.evaluate(() => window.ethereum), undefined);
    const status = await payWith(page, 0);
    assert.match(status, /^Paid\. Transaction 0x[0-9a-f]{64} on eip155:84532\.$/);
    assert.deepEqual(JSON.parse(await page.textContent('#x402-content pre')), CONTENT);
    assert.equal(await evmBalance(payee.address), before + AMOUNT);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a wallet on another chain is asked to switch first; one that refuses pays nothing', { timeout: TIMEOUT_MS }, async () => {
  const before = await evmBalance(payee.address);
  const refused = await open(`${app.hono}/premium`, () => {
    window.x402TestChainId = 1;
    window.x402TestRefuseSwitch = true;
  });
  try {
    assert.equal(await payWith(refused.page, 0), 'Payment failed: User rejected the request.');
    assert.deepEqual(await refused.page.evaluate(() => window.x402TestCalls), ['eth_requestAccounts', 'eth_chainId', 'wallet_switchEthereumChain']);
    // The button is usable again.
    assert.equal(await refused.page.isEnabled('button[data-x402-option="0"]'), true);
    assert.equal(await evmBalance(payee.address), before);
  } finally {
    await refused.page.close();
  }
  const { page } = await open(`${app.hono}/premium`, () => {
    window.x402TestChainId = 1;
  });
  try {
    assert.match(await payWith(page, 0), /^Paid\. Transaction 0x[0-9a-f]{64} on eip155:84532\.$/);
    assert.deepEqual(await page.evaluate(() => [window.x402TestChainId, window.x402TestCalls]), [CHAIN_ID, ['eth_requestAccounts', 'eth_chainId', 'wallet_switchEthereumChain', 'eth_signTypedData_v4']]);
    assert.equal(await evmBalance(payee.address), before + AMOUNT);
  } finally {
    await page.close();
  }
});

test('a signature by another key is refused: the page says why, and no token moves', { timeout: TIMEOUT_MS }, async () => {
  const before = await evmBalance(payer.address);
  const { page } = await open(`${app.hono}/premium`);
  try {
    evmSigner = 'stranger';
    const status = await payWith(page, 0);
    assert.equal(status, 'Payment refused (402): invalid_exact_evm_signature');
    assert.equal(await page.isVisible('#x402-result'), false);
    assert.equal(await evmBalance(payer.address), before);
  } finally {
    evmSigner = 'payer';
    await page.close();
  }
});

test('a Wallet Standard Solana wallet pays: the page shows the paid content and the SPL tokens moved', { timeout: TIMEOUT_MS }, async () => {
  const before = { payer: await splBalance(svmPayer.address), payee: await splBalance(svmPayee.address) };
  const { page, errors } = await open(`${app.hono}/premium`);
  try {
    const status = await payWith(page, 1);
    assert.match(status, new RegExp(`^Paid\\. Transaction [1-9A-HJ-NP-Za-km-z]{64,88} on ${svm.caip2}\\.$`));
    assert.deepEqual(JSON.parse(await page.textContent('#x402-content pre')), CONTENT);
    assert.deepEqual(await page.evaluate(() => window.x402TestCalls), ['solana:signTransaction solana:devnet']);
    assert.equal(await splBalance(svmPayer.address), before.payer - AMOUNT);
    assert.equal(await splBalance(svmPayee.address), before.payee + AMOUNT);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
