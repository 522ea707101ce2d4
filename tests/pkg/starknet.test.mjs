// @x402-edge/verify-starknet (built pkg-starknet/, `npm run build:pkg`) in every host: node's test runner,
// a page in headless Chromium, a JS Worker in workerd, and a scratch project that installs the packed
// tarball. Payments are signed with starknet.js (scripts/lib/starknet-client.mjs, independent of the Rust
// hashing); the chain checks ask real OpenZeppelin accounts on starknet-devnet 0.10.1.
// Run: node --test tests/pkg/starknet.test.mjs
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { typedData as starknetTypedData } from 'starknet';

import * as x402 from '../../pkg-starknet/dist/node.js';
import { ROOT } from '../../scripts/lib/chain.mjs';
import { createPayment, submitOutsideExecution } from '../../scripts/lib/starknet-client.mjs';
import { startDevnet } from '../../scripts/lib/starknet-devnet.mjs';
import { MAX_PACKAGE_GZIP_BYTES, PACKAGE_FILES, WORKER_DIR, WORKER_PACKAGES, openBrowserPage, packAndInstall, startJsWorker } from './hosts.mjs';

const NETWORK = 'starknet:SN_SEPOLIA'; // devnet's chain id is SN_SEPOLIA
const PKG = path.join(ROOT, 'pkg-starknet');
const SIGNATURE = 'invalid_exact_starknet_payload_signature';

let devnet, sponsor, payer, payee, stranger;

before(async () => {
  devnet = await startDevnet({});
  [sponsor, payer, payee, stranger] = devnet.accounts;
}, { timeout: 90_000 });

after(async () => {
  await devnet?.stop();
});

const requirements = (amount = '1000000', extra) => ({
  scheme: 'exact', network: NETWORK, amount, asset: devnet.strk, payTo: payee.address, maxTimeoutSeconds: 300, ...(extra && { extra }),
});
const pay = (options = {}) => {
  const req = options.requirements ?? requirements();
  return createPayment({ account: payer, requirements: req, ...options }).then((payload) => ({ payload, requirements: req }));
};
const offline = (p, options = {}) => x402.verifyPaymentOffline(p.payload, p.requirements, options);
const online = (p, options = {}) => x402.verifyPayment(p.payload, p.requirements, { rpcUrl: devnet.url, ...options });

/** What a payment that passed every pure check answers offline: only the account can judge the signature. */
function assertNeedsChain(result, p) {
  assert.equal(result.isValid, false, JSON.stringify(result));
  assert.equal(result.needsChain, true, JSON.stringify(result));
  assert.equal(result.invalidReason, SIGNATURE);
  assert.equal(result.chainChecked, false);
  assert.equal(BigInt(result.payer), BigInt(payer.address));
  assert.equal(BigInt(result.messageHash), BigInt(starknetTypedData.getMessageHash(p.payload.typedData, payer.address)));
}

describe('node', () => {
  test('a payment signed with starknet.js passes every pure check, with the hash starknet.js computes', async () => {
    const p = await pay();
    assertNeedsChain(offline(p), p);
    assert.equal(offline(p).sponsorChecked, false);
    // The header text is accepted as well as the object, and round-trips byte for byte.
    const header = x402.encodePaymentHeader(p.payload);
    assert.deepEqual(x402.decodePaymentHeader(header), p.payload);
    assertNeedsChain(x402.verifyPaymentOffline(header, p.requirements), p);
  });

  test('messageHash is starknet.js getMessageHash for SNIP-12 revision 1 and revision 0 typed data', async () => {
    for (const version of ['2', '1']) {
      const { payload } = await pay({ version });
      for (const account of [payer.address, stranger.address]) {
        assert.equal(BigInt(x402.messageHash(payload.typedData, account)), BigInt(starknetTypedData.getMessageHash(payload.typedData, account)), `SNIP-9 v${version}`);
      }
    }
    assert.throws(() => x402.messageHash({ types: {} }, payer.address), { name: 'X402Error', reason: 'invalid_payload' });
    assert.throws(() => x402.messageHash({}, 'not an address'), { name: 'X402Error', reason: 'invalid_payload' });
  });

  const refusals = [
    ['an authorization for another amount', 'invalid_exact_starknet_payload_authorization_value', () => pay({ authorization: { amount: '999' } })],
    ['a recipient the typed data changes', 'invalid_exact_starknet_payload_recipient_mismatch', () => pay({ transfer: { to: stranger.address } })],
    ['an amount the typed data changes', 'invalid_exact_starknet_payload_authorization_value', () => pay({ transfer: { amount: 10n ** 7n } })],
    ['a token the typed data changes', 'invalid_exact_starknet_payload_token_mismatch', () => pay({ transfer: { token: devnet.eth } })],
    ['an extra call', 'invalid_payload', () => pay({ extraCalls: [{ contractAddress: devnet.strk, entrypoint: 'transfer', calldata: [stranger.address, '1', '0'] }] })],
    ['an expired window', 'invalid_exact_starknet_payload_authorization_valid_until', () => pay({ validSeconds: -30 })],
    ['a window closing within 10 s', 'invalid_exact_starknet_payload_authorization_valid_until', () => pay({ validSeconds: 5 })],
    ['a window not yet open', 'invalid_exact_starknet_payload_authorization_not_yet_valid', () => pay({ executeAfter: Math.floor(Date.now() / 1000) + 60 })],
    ['a caller that is not the facilitator', 'invalid_payload', () => pay({ caller: stranger.address })],
    ['another chain', 'invalid_network', () => pay({ chainId: '0x534e5f4d41494e' })],
  ];
  for (const [name, code, build] of refusals) {
    test(`refused offline with its code: ${name}`, async () => {
      const result = offline(await build());
      assert.equal(result.isValid, false);
      assert.equal(result.invalidReason, code, JSON.stringify(result));
      assert.equal(result.needsChain, false);
      assert.equal(result.messageHash, undefined);
    });
  }

  test('the caller may be the sponsor the requirements name, or one of options.sponsors', async () => {
    const p = await pay({ caller: sponsor.address, requirements: requirements('1000000', { sponsorAddress: sponsor.address }) });
    assertNeedsChain(offline(p), p);
    const checked = offline(p, { sponsors: [sponsor.address] });
    assertNeedsChain(checked, p);
    assert.equal(checked.sponsorChecked, true);
    // The facilitator's sponsors are what count once given, whatever the requirements say.
    assert.equal(offline(p, { sponsors: [stranger.address] }).invalidReason, 'invalid_payload');
    assert.throws(() => offline(p, { sponsors: ['nope'] }), { name: 'X402Error', reason: 'invalid_payload' });
  });

  test('malformed input is an X402Error with the facilitator code; EVM payments are sent to the other package', async () => {
    const p = await pay();
    assert.throws(() => x402.verifyPaymentOffline(p.payload, { ...p.requirements, network: 'starknet:SN_NOPE' }), { name: 'X402Error', reason: 'invalid_network' });
    assert.throws(() => x402.verifyPaymentOffline({ ...p.payload, payload: { signature: 1 } }, p.requirements), { name: 'X402Error', reason: 'invalid_payload' });
    assert.throws(() => x402.verifyPaymentOffline('not base64 !', p.requirements), { name: 'X402Error', reason: 'invalid_payload' });
    assert.throws(() => x402.verifyPaymentOffline(p.payload, p.requirements, { now: -1 }), { name: 'X402Error', reason: 'invalid_payload' });
    const evmRequirements = { scheme: 'exact', network: 'eip155:84532', amount: '1', asset: '0x036CbD53842c5426634e7929541eC2318f3dCF7e', payTo: '0x' + '11'.repeat(20), maxTimeoutSeconds: 60 };
    const evm = { x402Version: 2, accepted: evmRequirements, payload: { signature: '0x' + '00'.repeat(65), authorization: { from: '0x' + '22'.repeat(20), to: evmRequirements.payTo, value: '1', validAfter: '0', validBefore: '9999999999', nonce: '0x' + '33'.repeat(32) } } };
    assert.throws(() => x402.verifyPaymentOffline(evm, evmRequirements), (e) => e.reason === 'unsupported_scheme' && /@x402-edge\/verify,/.test(e.message));
    // The registered spec's dialect is verified by the facilitator only, and the package says so.
    const spec = await pay({ spec: true, requirements: requirements('1000000', { feePayer: sponsor.address }) });
    assert.throws(() => offline(spec), (e) => e.reason === 'unsupported_scheme' && /registered spec's dialect.*not verified by this package/.test(e.message));
    // A typed data that is not an outside execution at all.
    const broken = await pay();
    broken.payload.typedData = { types: {}, primaryType: 'Nope', domain: {}, message: {} };
    assert.equal(offline(broken).invalidReason, 'invalid_payload');
    delete broken.payload.typedData;
    assert.equal(offline(broken).invalidReason, 'invalid_payload');
  });

  test('with rpcUrl the account judges its signature and the token the balance (devnet)', async () => {
    const p = await pay();
    const valid = await online(p);
    assert.deepEqual({ ...valid, messageHash: undefined }, { isValid: true, payer: valid.payer, sponsorChecked: false, needsChain: false, chainChecked: true, messageHash: undefined });
    assert.equal(BigInt(valid.payer), BigInt(payer.address));
    assert.equal((await online(await pay({ tamperSignature: true }))).invalidReason, SIGNATURE);
    const forged = await createPayment({ account: stranger, requirements: p.requirements });
    forged.payload.authorization.from = payer.address;
    assert.equal((await online({ payload: forged, requirements: p.requirements })).invalidReason, SIGNATURE);
    const rich = requirements(String(10n ** 30n));
    assert.equal((await online(await pay({ requirements: rich }))).invalidReason, 'insufficient_funds');
    // A pure refusal stays one: the chain is not asked to overrule it.
    assert.equal((await online(await pay({ validSeconds: -30 }))).invalidReason, 'invalid_exact_starknet_payload_authorization_valid_until');
  });

  test('with rpcUrl an executed outside execution is refused as a used nonce', async () => {
    const p = await pay({ requirements: requirements('4321') });
    assert.equal((await online(p)).isValid, true);
    await submitOutsideExecution({ relayer: sponsor, rpcUrl: devnet.url, payer: payer.address, typedData: p.payload.typedData, signature: p.payload.payload.signature });
    const again = await online(p);
    assert.equal(again.invalidReason, 'invalid_exact_starknet_payload_nonce_used', JSON.stringify(again));
  });

  test('an RPC that fails is unexpected_verify_error, never a pass; the next URL is tried first', async () => {
    const p = await pay();
    const dead = await online(p, { rpcUrl: 'http://127.0.0.1:9/rpc', timeoutMs: 2000 });
    assert.equal(dead.isValid, false);
    assert.equal(dead.invalidReason, 'unexpected_verify_error');
    assert.doesNotMatch(dead.invalidMessage, /127\.0\.0\.1/, 'messages never carry the RPC URL');
    assert.equal((await online(p, { rpcUrl: ['http://127.0.0.1:9/rpc', devnet.url], timeoutMs: 2000 })).isValid, true);
  });
});

describe('headless Chromium', () => {
  let browser;
  before(async () => {
    browser = await openBrowserPage(PKG);
  }, { timeout: 90_000 });
  after(async () => {
    await browser?.stop();
  });

  const inPage = (p, options) => browser.page.evaluate(async ({ payload, requirements, options }) => {
    const x402 = await import('/pkg/dist/browser.js');
    const roundTrip = JSON.stringify(x402.decodePaymentHeader(x402.encodePaymentHeader(payload))) === JSON.stringify(payload);
    return { result: await x402.verifyPayment(payload, requirements, options), roundTrip, userAgent: navigator.userAgent };
  }, { payload: p.payload, requirements: p.requirements, options });

  test('a page verifies a payment offline and asks the account over fetch', async () => {
    const p = await pay();
    const page = await inPage(p, {});
    assert.match(page.userAgent, /Chrome/);
    assert.equal(page.roundTrip, true);
    assertNeedsChain(page.result, p);
    assert.equal((await inPage(p, { rpcUrl: devnet.url })).result.isValid, true);
    assert.equal((await inPage(await pay({ tamperSignature: true }), { rpcUrl: devnet.url })).result.invalidReason, SIGNATURE);
    assert.deepEqual(browser.errors, []);
  });
});

describe('workerd', () => {
  let worker;
  before(async () => {
    worker = await startJsWorker(WORKER_DIR, WORKER_PACKAGES);
  }, { timeout: 150_000 });
  after(async () => {
    await worker?.stop();
  });

  const inWorker = (p, options) => worker.verify(p.payload, p.requirements, options, '/starknet');

  test('a JS Worker importing the package by name verifies a payment, offline and against devnet', async () => {
    const p = await pay();
    const { status, body } = await inWorker(p, {});
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.roundTrip, true);
    assertNeedsChain(body.result, p);
    assert.equal((await inWorker(p, { rpcUrl: devnet.url })).body.result.isValid, true);
    const refused = await inWorker(await pay({ tamperSignature: true }), { rpcUrl: devnet.url });
    assert.equal(refused.body.result.invalidReason, SIGNATURE);
    const malformed = await inWorker({ payload: p.payload, requirements: { ...p.requirements, network: 'starknet:SN_NOPE' } }, {});
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.reason, 'invalid_network');
  });
});

describe('the packed tarball', () => {
  let app;
  before(() => {
    app = packAndInstall(PKG);
  }, { timeout: 120_000 });
  after(() => app?.remove());

  test('holds the entry points, the wasm, types and README, and fits the size budget', () => {
    for (const f of PACKAGE_FILES) assert.ok(app.files.includes(f), `${f} is missing from ${app.files.join(', ')}`);
    assert.equal(app.packed.name, '@x402-edge/verify-starknet');
    assert.ok(app.tarballBytes <= MAX_PACKAGE_GZIP_BYTES, `the package is ${app.tarballBytes} bytes gzip, above ${MAX_PACKAGE_GZIP_BYTES}`);
  });

  test('installed from it, the package is imported by name, verifies against devnet, and type-checks', async () => {
    const p = await pay();
    const out = app.run('check.mjs', `
      import { verifyPayment, messageHash } from '@x402-edge/verify-starknet';
      const { payload, requirements, rpcUrl, account } = JSON.parse(process.argv[2]);
      const result = await verifyPayment(payload, requirements, { rpcUrl });
      console.log(JSON.stringify({ result, hash: messageHash(payload.typedData, account) }));
    `, [JSON.stringify({ ...p, rpcUrl: devnet.url, account: payer.address })]);
    assert.equal(out.result.isValid, true, JSON.stringify(out.result));
    assert.equal(out.hash, out.result.messageHash);
    app.tsc('use.ts', `
      import { verifyPayment, type StarknetPaymentPayload, type StarknetVerifyResult, type PaymentRequirements } from '@x402-edge/verify-starknet';
      export async function check(p: StarknetPaymentPayload, r: PaymentRequirements): Promise<boolean> {
        const result: StarknetVerifyResult = await verifyPayment(p, r, { now: new Date(), sponsors: ['0x1'] });
        return result.isValid && !result.needsChain;
      }
    `);
    assert.throws(() => app.tsc('bad.ts', `
      import { verifyPayment } from '@x402-edge/verify-starknet';
      export const wrong = verifyPayment({ x402Version: 2 }, { scheme: 'exact' });
    `), (e) => /error TS2345/.test(e.stdout));
  });
});
