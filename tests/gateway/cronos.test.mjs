// The gateway's Cronos flavour: a route priced on cronos-testnet (eip155:338, the local anvil run with that
// chain id) is paid RelayCore's way, with `X-PAYMENT` built as the Crypto.com SDK builds it (x402 v1, a
// flat EIP-3009 payload), verified and settled through the facilitator's Cronos endpoints over the Service
// Binding, after the origin answered 2xx. The same route also takes an x402 v2 payment.
//
// Run: node --test tests/gateway/cronos.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { x402Client, x402HTTPClient } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { privateKeyToAccount } from 'viem/accounts';

import { balanceOf, rpc } from '../../scripts/lib/chain.mjs';
import { startGateway, startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 338;
const NETWORK = `eip155:${CHAIN_ID}`;
const AMOUNT = 10_000n;
const TEST_TIMEOUT_MS = 120_000;

let stack, gateway, origin, payer, payee, token;
const originPaths = [];

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID });
    token = stack.token.address;
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    origin = createServer((req, res) => {
      originPaths.push(req.url);
      res.writeHead(req.url === '/api/fail' ? 500 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ quote: 'BTC-USD', headers: req.headers }));
    }).listen(0, '127.0.0.1');
    await once(origin, 'listening');
    const route = (description) => ({
      scheme: 'exact',
      network: NETWORK,
      payTo: payee.address,
      price: { amount: AMOUNT.toString(), asset: token, extra: { name: stack.token.name, version: stack.token.version } },
      description,
      mimeType: 'application/json',
    });
    gateway = await startGateway({
      stack,
      routes: { 'GET /api/quote': route('a quote'), 'GET /api/fail': route('fails') },
      vars: { ORIGIN_URL: `http://127.0.0.1:${origin.address().port}` },
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  await gateway?.stop();
  origin?.closeAllConnections();
  origin?.close();
  await stack?.stop();
});

/** X-PAYMENT as @crypto.com/facilitator-client's generateCronosPaymentHeader builds it. */
async function cronosHeader({ value = AMOUNT, to = payee.address } = {}) {
  const nonce = `0x${randomBytes(32).toString('hex')}`;
  const validBefore = Math.floor(Date.now() / 1000) + 3600;
  const signature = await payer.signTypedData({
    domain: { name: stack.token.name, version: stack.token.version, chainId: CHAIN_ID, verifyingContract: token },
    types: {
      TransferWithAuthorization: [
        { name: 'from', type: 'address' },
        { name: 'to', type: 'address' },
        { name: 'value', type: 'uint256' },
        { name: 'validAfter', type: 'uint256' },
        { name: 'validBefore', type: 'uint256' },
        { name: 'nonce', type: 'bytes32' },
      ],
    },
    primaryType: 'TransferWithAuthorization',
    message: { from: payer.address, to, value, validAfter: 0n, validBefore: BigInt(validBefore), nonce },
  });
  const header = { x402Version: 1, scheme: 'exact', network: 'cronos-testnet', payload: { from: payer.address, to, value: value.toString(), validAfter: 0, validBefore, nonce, signature, asset: token } };
  return Buffer.from(JSON.stringify(header)).toString('base64');
}

async function get(path, headers = {}) {
  const res = await fetch(`${gateway.url}${path}`, { headers, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}

const money = async () => ({
  payer: await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payer.address }),
  payee: await balanceOf({ rpcUrl: stack.rpcUrl, token, owner: payee.address }),
  nonce: BigInt(await rpc(stack.rpcUrl, 'eth_getTransactionCount', [stack.facilitatorAddress, 'latest'])),
});

test("the 402 of a Cronos route names RelayCore's paymentRequirements (v1, cronos-testnet, maxAmountRequired)", async () => {
  const r = await get('/api/quote');
  assert.equal(r.status, 402);
  assert.deepEqual(r.json.paymentRequirements, {
    scheme: 'exact',
    network: 'cronos-testnet',
    payTo: payee.address,
    asset: token,
    maxAmountRequired: AMOUNT.toString(),
    maxTimeoutSeconds: 300,
    resource: r.json.resource.url,
    description: 'a quote',
    mimeType: 'application/json',
    extra: { name: 'USD Coin', version: '2' },
  });
  assert.equal(decodePaymentRequiredHeader(r.headers.get('payment-required')).accepts[0].network, NETWORK);
});

test('X-PAYMENT (Crypto.com SDK): served, X-PAYMENT-RESPONSE payment.settled, one transfer, not forwarded; a replay is refused', { timeout: TEST_TIMEOUT_MS }, async () => {
  const header = await cronosHeader();
  const before = await money();
  const r = await get('/api/quote', { 'x-payment': header });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.quote, 'BTC-USD');
  assert.equal(r.json.headers['x-payment'], undefined, 'the origin does not see X-PAYMENT');
  const settled = JSON.parse(Buffer.from(r.headers.get('x-payment-response'), 'base64').toString());
  assert.equal(settled.event, 'payment.settled', JSON.stringify(settled));
  assert.equal(settled.network, 'cronos-testnet');
  assert.equal(settled.value, AMOUNT.toString());
  const receipt = await rpc(stack.rpcUrl, 'eth_getTransactionReceipt', [settled.txHash]);
  assert.equal(receipt.status, '0x1');
  const after = await money();
  assert.equal(after.payee - before.payee, AMOUNT);
  assert.equal(before.payer - after.payer, AMOUNT);
  assert.equal(after.nonce - before.nonce, 1n);

  const replay = await get('/api/quote', { 'x-payment': header });
  assert.equal(replay.status, 402, replay.text);
  assert.equal(replay.json.error, 'Authorization already used');
  assert.deepEqual(await money(), after);
});

test('X-PAYMENT and an origin 500: 502, nothing settled, the payment is served later', { timeout: TEST_TIMEOUT_MS }, async () => {
  const header = await cronosHeader();
  const before = await money();
  const r = await get('/api/fail', { 'x-payment': header });
  assert.equal(r.status, 502, r.text);
  assert.equal(r.json.error, 'origin_error');
  assert.deepEqual(await money(), before);
  const later = await get('/api/quote', { 'x-payment': header });
  assert.equal(later.status, 200, later.text);
  assert.equal((await money()).payee - before.payee, AMOUNT);
});

test('X-PAYMENT to the wrong recipient: 402 with the facilitator reason, nothing reaches the origin', { timeout: TEST_TIMEOUT_MS }, async () => {
  const calls = originPaths.length;
  const r = await get('/api/quote', { 'x-payment': await cronosHeader({ to: payer.address }) });
  assert.equal(r.status, 402, r.text);
  assert.equal(r.json.error, 'Recipient does not match payTo address', "the Cronos dialect's reason text");
  assert.equal(r.json.paymentRequirements.payTo, payee.address);
  assert.equal(originPaths.length, calls);
  const bad = await get('/api/quote', { 'x-payment': 'not base64!' });
  assert.equal(bad.status, 402);
  assert.equal(bad.json.error, 'invalid_payment_header');
});

test('the same Cronos route takes an x402 v2 payment (eip155:338)', { timeout: TEST_TIMEOUT_MS }, async () => {
  const unpaid = await get('/api/quote');
  const client = new x402HTTPClient(new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: token }] }));
  const headers = client.encodePaymentSignatureHeader(await client.createPaymentPayload(client.getPaymentRequiredResponse((n) => unpaid.headers.get(n), unpaid.json)));
  const r = await get('/api/quote', headers);
  assert.equal(r.status, 200, r.text);
  assert.equal(decodePaymentResponseHeader(r.headers.get('payment-response')).success, true);
});
