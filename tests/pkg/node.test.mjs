// The npm package (built pkg/, `npm run build:pkg`) under node's test runner: payments signed with viem,
// every offline reason code, header round trips, typed errors, and the chain checks against a real anvil
// with the test token. Run: node --test tests/pkg/node.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { encodeFunctionData, hashTypedData, parseSignature, serializeErc6492Signature, serializeSignature, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import * as x402 from '../../pkg/dist/node.js';
import {
  ANVIL_ACCOUNTS,
  TRANSFER_TYPES,
  clients,
  deployContract,
  deployTestToken,
  freePort,
  installMulticall3,
  loadArtifact,
  startAnvil,
} from '../../scripts/lib/chain.mjs';
import {
  BASE_SEPOLIA_USDC,
  CHAIN_ID,
  DOMAIN,
  NOW,
  authorization,
  cronosPayment,
  nonce32,
  payee,
  payer,
  sign,
  stranger,
  v1Payment,
  v2Payment,
} from './payments.mjs';

const vectors = (name) => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url)));
const offline = (p, options = { now: NOW }) => x402.verifyPayment(p.payload, p.requirements, options);

/** Asserts an X402Error with this reason. */
async function rejects(fn, reason) {
  await assert.rejects(fn, (e) => {
    assert.ok(e instanceof x402.X402Error, `not an X402Error: ${e}`);
    assert.equal(e.name, 'X402Error');
    assert.equal(e.reason, reason, e.message);
    return true;
  });
}

async function refused(p, reason, { needsChain = false, options } = {}) {
  const r = await offline(p, options);
  assert.equal(r.isValid, false, JSON.stringify(r));
  assert.equal(r.invalidReason, reason, r.invalidMessage);
  assert.equal(r.needsChain, needsChain, r.invalidMessage);
  assert.equal(typeof r.invalidMessage, 'string');
  return r;
}

describe('valid payments, offline', () => {
  test('a v2 payment signed with viem is valid, and names its payer', async () => {
    const r = await offline(await v2Payment());
    assert.deepEqual(r, { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  });

  test('a v1 payment is valid', async () => {
    const r = await offline(await v1Payment());
    assert.equal(r.isValid, true, r.invalidMessage);
  });

  test('a v1 payment without extra uses the default asset domain of the network', async () => {
    const p = await v1Payment({ requirements: { extra: undefined } });
    assert.equal((await offline(p)).isValid, true);
  });

  test('a Cronos payment is valid as an object and as its paymentHeader', async () => {
    const p = await cronosPayment();
    assert.equal((await offline(p)).isValid, true);
    const header = x402.encodePaymentHeader(p.payload);
    const r = await x402.verifyPayment(header, p.requirements, { now: NOW });
    assert.equal(r.isValid, true, r.invalidMessage);
  });

  test('the header text of a v2 payment verifies like the object', async () => {
    const p = await v2Payment();
    const r = await x402.verifyPayment(x402.encodePaymentHeader(p.payload), p.requirements, { now: NOW });
    assert.equal(r.isValid, true);
  });

  test('the sync offline verify agrees, and now may be a Date', async () => {
    const p = await v2Payment();
    assert.equal(x402.verifyPaymentOffline(p.payload, p.requirements, { now: new Date(NOW * 1000) }).isValid, true);
  });

  test('the time window: validBefore needs 6 s of margin, validAfter is inclusive', async () => {
    const p = await v2Payment();
    const before = Number(p.payload.payload.authorization.validBefore);
    const afterT = Number(p.payload.payload.authorization.validAfter);
    assert.equal((await offline(p, { now: before - 6 })).isValid, true);
    await refused(p, 'invalid_exact_evm_payload_authorization_valid_before', { options: { now: before - 5 } });
    assert.equal((await offline(p, { now: afterT })).isValid, true);
    await refused(p, 'invalid_exact_evm_payload_authorization_valid_after', { options: { now: afterT - 1 } });
  });
});

describe('every offline reason code, v2 and v1', () => {
  test('scheme', async () => {
    const p = await v2Payment();
    p.payload.accepted = { ...p.payload.accepted, scheme: 'upto' };
    await refused(p, 'invalid_exact_evm_scheme');
    const q = await v1Payment();
    q.payload.scheme = 'upto';
    await refused(q, 'unsupported_scheme');
  });

  test('EIP-712 domain: v2 requires it; v1 with an unknown token needs the chain to read it', async () => {
    await refused(await v2Payment({ requirements: { extra: {} } }), 'invalid_exact_evm_missing_eip712_domain');
    const q = await v1Payment({ requirements: { asset: stranger.address, extra: undefined } });
    await refused(q, 'invalid_payment_requirements', { needsChain: true });
  });

  test('network', async () => {
    const p = await v2Payment();
    p.payload.accepted = { ...p.payload.accepted, network: 'eip155:8453' };
    await refused(p, 'invalid_exact_evm_network_mismatch');
    const q = await v1Payment();
    q.payload.network = 'base';
    await refused(q, 'invalid_network');
  });

  test('signature by someone else: refused, and only the chain could prove a contract wallet', async () => {
    await refused(await v2Payment({ signer: stranger }), 'invalid_exact_evm_signature', { needsChain: true });
    await refused(await v1Payment({ signer: stranger }), 'invalid_exact_evm_payload_signature', { needsChain: true });
    // Signed under another domain (the token's name differs): recovers to someone else.
    const p = await v2Payment({ sigOpts: { name: 'USD Coin' } });
    await refused(p, 'invalid_exact_evm_signature', { needsChain: true });
  });

  test('a malleable (high-s) twin of a good signature is refused', async () => {
    const p = await v2Payment();
    const { r, s, yParity } = parseSignature(p.payload.payload.signature);
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const twin = serializeSignature({ r, s: `0x${(n - BigInt(s)).toString(16).padStart(64, '0')}`, yParity: 1 - yParity });
    p.payload.payload.signature = twin;
    await refused(p, 'invalid_exact_evm_signature', { needsChain: true });
  });

  test('an empty signature is refused outright', async () => {
    const p = await v2Payment();
    p.payload.payload.signature = '0x';
    await refused(p, 'invalid_exact_evm_signature');
  });

  test('a contract-wallet (long) signature is never valid offline: it needs the chain', async () => {
    const p = await v2Payment();
    p.payload.payload.signature = `0x${'ab'.repeat(97)}`;
    const r = await refused(p, 'invalid_exact_evm_payload_undeployed_smart_wallet', { needsChain: true });
    assert.match(r.invalidMessage, /rpcUrl/);
  });

  test('a counterfactual (ERC-6492) wallet signature is never valid offline: it needs the chain', async () => {
    const p = await v2Payment();
    const inner = p.payload.payload.signature;
    p.payload.payload.signature = serializeErc6492Signature({ address: stranger.address, data: '0x1234', signature: inner });
    await refused(p, 'invalid_exact_evm_payload_undeployed_smart_wallet', { needsChain: true });
  });

  test('recipient', async () => {
    await refused(await v2Payment({ auth: { to: stranger.address } }), 'invalid_exact_evm_recipient_mismatch');
    await refused(await v1Payment({ auth: { to: stranger.address } }), 'invalid_exact_evm_payload_recipient_mismatch');
  });

  test('expired and not yet valid (same codes in v1)', async () => {
    const expired = { validBefore: String(NOW + 5) };
    await refused(await v2Payment({ auth: expired }), 'invalid_exact_evm_payload_authorization_valid_before');
    await refused(await v1Payment({ auth: expired }), 'invalid_exact_evm_payload_authorization_valid_before');
    const early = { validAfter: String(NOW + 1) };
    await refused(await v2Payment({ auth: early }), 'invalid_exact_evm_payload_authorization_valid_after');
    await refused(await v1Payment({ auth: early }), 'invalid_exact_evm_payload_authorization_valid_after');
  });

  test('amount must equal the requirement', async () => {
    await refused(await v2Payment({ auth: { value: '9999' } }), 'invalid_exact_evm_authorization_value');
    await refused(await v2Payment({ auth: { value: '10001' } }), 'invalid_exact_evm_authorization_value');
    await refused(await v1Payment({ auth: { value: '9999' } }), 'invalid_exact_evm_payload_authorization_value');
  });

  test('a zero amount and a payment to oneself are refused before any scheme rule, as the facilitator does', async () => {
    const zero = { auth: { value: '0' }, requirements: { amount: '0' } };
    await refused(await v2Payment(zero), 'amount_below_minimum');
    await refused(await v1Payment({ auth: { value: '0' }, requirements: { maxAmountRequired: '0' } }), 'invalid_payment_requirements');
    const self = { auth: { to: payer.address }, requirements: { payTo: payer.address.toLowerCase() } };
    await refused(await v2Payment(self), 'self_payment');
    // Before the signature rule: a stranger's signature of a self-payment is still a self-payment.
    await refused(await v2Payment({ ...self, signer: stranger }), 'self_payment');
  });

  test('a requirement whose asset or payTo is not an address', async () => {
    const p = await v2Payment();
    await refused({ ...p, requirements: { ...p.requirements, payTo: 'nobody' } }, 'invalid_payment_requirements');
    p.requirements = { ...p.requirements, asset: '0x1234' };
    p.payload.accepted = p.requirements;
    await refused(p, 'invalid_payment_requirements');
  });

  test('a later rule outranks a signature only the chain can judge (as in the facilitator)', async () => {
    const p = await v2Payment({ signer: stranger, auth: { value: '1' } });
    await refused(p, 'invalid_exact_evm_authorization_value');
  });
});

describe('malformed input is a typed error', () => {
  test('request-level refusals carry the facilitator reason', async () => {
    const p = await v2Payment();
    await rejects(() => x402.verifyPayment({ ...p.payload, x402Version: 3 }, p.requirements), 'invalid_x402_version');
    await rejects(() => x402.verifyPayment(p.payload, { ...p.requirements, network: 'eip155:999999' }), 'invalid_network');
    await rejects(() => x402.verifyPayment(p.payload, { ...p.requirements, scheme: 'streaming' }), 'unsupported_scheme');
    // An EIP-3009 payload under upto requirements is not an upto payload (the facilitator's own answer).
    await rejects(() => x402.verifyPayment(p.payload, { ...p.requirements, scheme: 'upto' }), 'invalid_upto_evm_payload');
    await rejects(() => x402.verifyPayment(p.payload, { ...p.requirements, amount: '-5' }), 'invalid_payment_requirements');
    await rejects(() => x402.verifyPayment(p.payload, { ...p.requirements, amount: undefined }), 'invalid_payment_requirements');
    const badNonce = structuredClone(p.payload);
    badNonce.payload.authorization.nonce = '0x1234';
    await rejects(() => x402.verifyPayment(badNonce, p.requirements), 'invalid_payload');
    const permit2 = { ...p.payload, payload: { permit2Authorization: {}, signature: '0x' } };
    await rejects(() => x402.verifyPayment(permit2, p.requirements), 'unsupported_payload_type');
    const v1onV2only = await v1Payment({ requirements: { network: 'optimism' } });
    await rejects(() => offline(v1onV2only), 'invalid_network');
  });

  test('an upto (EIP-2612 session) payment: the facilitator checks and codes, and its session id', async () => {
    const vector = vectors('generated-evm-signatures.json').eip2612PermitForDaydreamsUpto;
    const upto = vector.v2PaymentPayload;
    const spender = upto.payload.authorization.to;
    const valid = await x402.verifyPayment(upto, upto.accepted, { now: NOW, spenders: [spender] });
    assert.deepEqual(valid, {
      isValid: true, payer: upto.payload.authorization.from, sessionId: vector.sessionId,
      spenderChecked: true, needsChain: false, chainChecked: false,
    });
    // The same with an rpcUrl: upto verify makes no chain call (nothing listens on port 1).
    const online = await x402.verifyPayment(upto, upto.accepted, { now: NOW, rpcUrl: 'http://127.0.0.1:1' });
    assert.equal(online.isValid, true);
    assert.equal(online.spenderChecked, false);
    assert.equal(x402.uptoSessionId(upto), vector.sessionId);

    const wrongSpender = await x402.verifyPayment(upto, upto.accepted, { now: NOW, spenders: [stranger.address] });
    assert.equal(wrongSpender.invalidReason, 'spender_not_facilitator');
    const tooMuch = await x402.verifyPayment(upto, { ...upto.accepted, amount: '1000001' }, { now: NOW });
    assert.equal(tooMuch.invalidReason, 'cap_too_low');
    const expired = await x402.verifyPayment(upto, upto.accepted, { now: 4_102_444_795 });
    assert.equal(expired.invalidReason, 'authorization_expired');
    const forged = structuredClone(upto);
    forged.payload.authorization.value = '2000000';
    const forgedReply = await x402.verifyPayment(forged, upto.accepted, { now: NOW });
    assert.equal(forgedReply.invalidReason, 'invalid_permit_signature');
    assert.notEqual(forgedReply.sessionId, vector.sessionId, 'another permit, another session');
    await rejects(() => x402.verifyPayment(upto, upto.accepted, { spenders: ['0x12'] }), 'invalid_payload');
  });

  test('values that are not JSON, missing or of the wrong type', async () => {
    const p = await v2Payment();
    await rejects(() => x402.verifyPayment(undefined, p.requirements), 'invalid_payload');
    await rejects(() => x402.verifyPayment(p.payload, undefined), 'invalid_payload');
    const big = structuredClone(p.payload);
    big.payload.authorization.value = 10000n;
    await rejects(() => x402.verifyPayment(big, p.requirements), 'invalid_payload');
    await rejects(() => x402.verifyPayment(42, p.requirements), 'invalid_payload');
    await rejects(() => x402.verifyPayment('***not base64***', p.requirements), 'invalid_payload');
    await rejects(() => x402.verifyPayment(p.payload, p.requirements, { now: -1 }), 'invalid_payload');
    await rejects(() => x402.verifyPayment(p.payload, p.requirements, { now: 'soon' }), 'invalid_payload');
    await rejects(() => x402.verifyPayment(p.payload, p.requirements, { rpcUrl: 'ftp://127.0.0.1' }), 'invalid_payload');
    await rejects(() => x402.verifyPayment(p.payload, p.requirements, { rpcUrl: [] }), 'invalid_payload');
  });

  test('headers that are not base64, not JSON, or not the header they claim', () => {
    const throws = (fn, reason) => assert.throws(fn, (e) => e instanceof x402.X402Error && e.reason === reason);
    throws(() => x402.decodePaymentHeader('***'), 'invalid_payload');
    throws(() => x402.decodePaymentHeader(btoa('not json')), 'invalid_payload');
    throws(() => x402.decodePaymentHeader(btoa('{"x402Version":7}')), 'invalid_x402_version');
    throws(() => x402.decodePaymentHeader(btoa('{"x402Version":2,"payload":{}}')), 'invalid_payload');
    throws(() => x402.decodePaymentRequiredHeader(btoa('{"x402Version":2,"accepts":[{}]}')), 'invalid_payment_requirements');
    throws(() => x402.decodePaymentResponseHeader(btoa('{"success":"yes"}')), 'invalid_payload');
    throws(() => x402.decodePaymentHeader(42), 'invalid_payload');
    throws(() => x402.decodeHeader('A'.repeat(70 * 1024)), 'invalid_payload');
    throws(() => x402.encodePaymentHeader({ x402Version: 2 }), 'invalid_payload');
    throws(() => x402.authorizationDigest({ ...authorization(), from: '0xnope' }, { ...DOMAIN, chainId: CHAIN_ID, verifyingContract: BASE_SEPOLIA_USDC }), 'invalid_payload');
    throws(() => x402.recoverAuthorizationSigner(authorization(), '0x12', { ...DOMAIN, chainId: CHAIN_ID, verifyingContract: BASE_SEPOLIA_USDC }), 'invalid_exact_evm_signature');
  });
});

describe('headers', () => {
  const decoders = {
    'X-PAYMENT': [x402.decodePaymentHeader, x402.encodePaymentHeader],
    'PAYMENT-SIGNATURE': [x402.decodePaymentHeader, x402.encodePaymentHeader],
    'PAYMENT-REQUIRED': [x402.decodePaymentRequiredHeader, x402.encodePaymentRequiredHeader],
    'PAYMENT-RESPONSE': [x402.decodePaymentResponseHeader, x402.encodePaymentResponseHeader],
    'X-PAYMENT-RESPONSE': [x402.decodePaymentResponseHeader, x402.encodePaymentResponseHeader],
    'EXTENSION-RESPONSES': [x402.decodeHeader, x402.encodeHeader],
  };

  test('every spec header vector round-trips byte for byte through its typed codec', () => {
    const all = vectors('x402-spec-http-headers.json').vectors;
    assert.ok(all.length >= 9);
    for (const v of all) {
      const [decode, encode] = decoders[v.header];
      assert.ok(decode, `no codec for ${v.header}`);
      const decoded = decode(v.base64);
      assert.deepEqual(decoded, v.decoded, v.header);
      assert.equal(encode(decoded), v.base64, v.header);
    }
  });

  test('header names by version', () => {
    assert.equal(x402.HEADERS.v1.payment, 'X-PAYMENT');
    assert.equal(x402.HEADERS.v2.payment, 'PAYMENT-SIGNATURE');
    assert.equal(x402.HEADERS.v2.required, 'PAYMENT-REQUIRED');
    assert.equal(x402.HEADERS.v2.response, 'PAYMENT-RESPONSE');
    assert.equal(x402.HEADERS.v1.response, 'X-PAYMENT-RESPONSE');
  });

  test('a fresh payment encodes like btoa(JSON.stringify()) and decodes back', async () => {
    const { payload } = await v2Payment();
    const header = x402.encodePaymentHeader(payload);
    assert.equal(header, btoa(JSON.stringify(payload)));
    assert.deepEqual(x402.decodePaymentHeader(header), payload);
  });

  test('the spec vector verifies as a header (its own expiry as the clock)', async () => {
    const header = vectors('x402-spec-http-headers.json').vectors.find((v) => v.header === 'X-PAYMENT');
    const requirements = vectors('api-examples.json').coinbase_v1['POST /verify request'].paymentRequirements;
    assert.equal((await x402.verifyPayment(header.base64, requirements, { now: 1740672100 })).isValid, true);
    const late = await x402.verifyPayment(header.base64, requirements, { now: 1740672149 });
    assert.equal(late.invalidReason, 'invalid_exact_evm_payload_authorization_valid_before');
  });
});

describe('EVM helpers', () => {
  test('the digest is viem hashTypedData, and recovery finds the signer', async () => {
    const a = authorization();
    const domain = { ...DOMAIN, chainId: CHAIN_ID, verifyingContract: BASE_SEPOLIA_USDC };
    const message = { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) };
    const expected = hashTypedData({ domain, types: TRANSFER_TYPES, primaryType: 'TransferWithAuthorization', message });
    assert.equal(x402.authorizationDigest(a, domain), expected);
    const signature = await sign(payer, a);
    assert.equal(x402.recoverAuthorizationSigner(a, signature, domain), payer.address);
    assert.equal(x402.recoverAuthorizationSigner(a, await sign(stranger, a), domain), stranger.address);
  });
});

describe('chain checks against anvil (rpcUrl)', () => {
  let node, token, publicClient, rpcUrl;
  const onChain = (p, options = {}) => x402.verifyPayment(p.payload, p.requirements, { rpcUrl, now: Math.floor(Date.now() / 1000), ...options });
  const live = (over = {}) => ({ validAfter: '0', validBefore: String(Math.floor(Date.now() / 1000) + 3600), ...over });
  const req = (over = {}) => ({ asset: token.address, extra: { name: token.name, version: token.version }, ...over });
  const sigFor = (over = {}) => ({ name: token.name, version: token.version, ...over });

  before(async () => {
    node = await startAnvil({ chainId: CHAIN_ID });
    rpcUrl = node.rpcUrl;
    token = await deployTestToken({ rpcUrl, chainId: CHAIN_ID });
    // Verify proves the value moves by simulating through Multicall3, as on public chains.
    await installMulticall3({ rpcUrl, chainId: CHAIN_ID });
    ({ publicClient } = clients({ rpcUrl, chainId: CHAIN_ID }));
  }, { timeout: 60_000 });
  after(() => node?.stop());

  test('a valid payment passes every chain check in one batched JSON-RPC request', async () => {
    const p = await v2Payment({ auth: live(), requirements: req(), sigOpts: sigFor() });
    const posts = [];
    const counting = (url, init) => { posts.push(JSON.parse(init.body)); return fetch(url, init); };
    const r = await onChain(p, { fetch: counting });
    assert.deepEqual(r, { isValid: true, payer: payer.address, needsChain: false, chainChecked: true });
    assert.equal(posts.length, 1);
    assert.ok(Array.isArray(posts[0]) && posts[0].length >= 5, JSON.stringify(posts[0]));
  });

  test('v1 and Cronos-style v1 without extra read the domain from the token', async () => {
    const p = await v1Payment({ auth: live(), requirements: req({ extra: undefined }), sigOpts: sigFor() });
    assert.equal((await onChain(p)).isValid, true);
  });

  test('a used nonce: invalid_exact_evm_nonce_already_used (v1: invalid_transaction_state)', async () => {
    const p = await v2Payment({ auth: live(), requirements: req(), sigOpts: sigFor() });
    const a = p.payload.payload.authorization;
    const { r, s, v } = parseSignature(p.payload.payload.signature);
    const { walletClient } = clients({ rpcUrl, chainId: CHAIN_ID, privateKey: ANVIL_ACCOUNTS[4].privateKey });
    const hash = await walletClient.writeContract({
      address: token.address,
      abi: token.abi,
      functionName: 'transferWithAuthorization',
      args: [a.from, a.to, BigInt(a.value), BigInt(a.validAfter), BigInt(a.validBefore), a.nonce, Number(v), r, s],
    });
    assert.equal((await publicClient.waitForTransactionReceipt({ hash })).status, 'success');
    const used = await onChain(p);
    assert.equal(used.invalidReason, 'invalid_exact_evm_nonce_already_used', used.invalidMessage);
    // Offline the same payment still looks fine: only the chain knows.
    assert.equal((await x402.verifyPayment(p.payload, p.requirements)).isValid, true);
    const q = await v1Payment({ auth: live(), requirements: req(), sigOpts: sigFor() });
    q.payload.payload = p.payload.payload;
    assert.equal((await onChain(q)).invalidReason, 'invalid_transaction_state');
  });

  test('insufficient balance', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    const p = await v2Payment({ signer: poor, auth: live({ from: poor.address }), requirements: req(), sigOpts: sigFor() });
    const r = await onChain(p);
    assert.equal(r.invalidReason, 'invalid_exact_evm_insufficient_balance', r.invalidMessage);
  });

  test('token name and version mismatch', async () => {
    const name = await onChain(await v2Payment({ auth: live(), requirements: req({ extra: { name: 'USDC', version: '2' } }), sigOpts: sigFor({ name: 'USDC' }) }));
    assert.equal(name.invalidReason, 'invalid_exact_evm_token_name_mismatch', name.invalidMessage);
    const version = await onChain(await v2Payment({ auth: live(), requirements: req({ extra: { name: token.name, version: '1' } }), sigOpts: sigFor({ version: '1' }) }));
    assert.equal(version.invalidReason, 'invalid_exact_evm_token_version_mismatch', version.invalidMessage);
  });

  test('an asset without EIP-3009', async () => {
    const r = await onChain(await v2Payment({ auth: live(), requirements: req({ asset: stranger.address }), sigOpts: sigFor() }));
    assert.equal(r.invalidReason, 'invalid_exact_evm_eip3009_not_supported', r.invalidMessage);
  });

  test('a signature by someone else from an EOA is refused for sure once the chain was read', async () => {
    const r = await onChain(await v2Payment({ signer: stranger, auth: live(), requirements: req(), sigOpts: sigFor() }));
    assert.equal(r.invalidReason, 'invalid_exact_evm_signature');
    assert.equal(r.needsChain, false);
  });

  test('a contract wallet (ERC-1271): needs the chain offline, valid with it', async () => {
    const owner = privateKeyToAccount(ANVIL_ACCOUNTS[5].privateKey);
    const wallet = await deployContract({ rpcUrl, chainId: CHAIN_ID, name: 'TestERC1271Wallet', args: [owner.address] });
    const minter = clients({ rpcUrl, chainId: CHAIN_ID, privateKey: token.deployer.privateKey }).walletClient;
    const hash = await minter.writeContract({ address: token.address, abi: token.abi, functionName: 'mint', args: [wallet.address, 10_000_000n] });
    await publicClient.waitForTransactionReceipt({ hash });
    const p = await v2Payment({ signer: owner, auth: live({ from: wallet.address }), requirements: req(), sigOpts: sigFor() });
    const off = await x402.verifyPayment(p.payload, p.requirements);
    assert.equal(off.isValid, false);
    assert.equal(off.needsChain, true);
    const on = await onChain(p);
    assert.deepEqual(on, { isValid: true, payer: wallet.address, needsChain: false, chainChecked: true });
    // Signed by someone who is not the owner: the wallet refuses it.
    const bad = await v2Payment({ signer: stranger, auth: live({ from: wallet.address }), requirements: req(), sigOpts: sigFor() });
    assert.equal((await onChain(bad)).invalidReason, 'invalid_exact_evm_signature');
  });

  test('a counterfactual (ERC-6492) wallet: valid through an allowed factory, refused otherwise', async () => {
    const { abi } = await loadArtifact('TestWalletFactory');
    const factory = (await deployContract({ rpcUrl, chainId: CHAIN_ID, name: 'TestWalletFactory' })).address;
    const owner = privateKeyToAccount(ANVIL_ACCOUNTS[6].privateKey);
    const args = [owner.address, toHex(7, { size: 32 })];
    const wallet = await publicClient.readContract({ address: factory, abi, functionName: 'walletAddress', args });
    const minter = clients({ rpcUrl, chainId: CHAIN_ID, privateKey: token.deployer.privateKey }).walletClient;
    await publicClient.waitForTransactionReceipt({ hash: await minter.writeContract({ address: token.address, abi: token.abi, functionName: 'mint', args: [wallet, 10_000_000n] }) });
    const p = await v2Payment({ signer: owner, auth: live({ from: wallet }), requirements: req(), sigOpts: sigFor() });
    const data = encodeFunctionData({ abi, functionName: 'createWallet', args });
    p.payload.payload.signature = serializeErc6492Signature({ address: factory, data, signature: p.payload.payload.signature });
    const off = await x402.verifyPayment(p.payload, p.requirements);
    assert.equal(off.needsChain, true);
    assert.equal(off.isValid, false);
    const allowed = await onChain(p, { allowedFactories: [factory] });
    assert.deepEqual(allowed, { isValid: true, payer: wallet, needsChain: false, chainChecked: true });
    const notAllowed = await onChain(p);
    assert.equal(notAllowed.invalidReason, 'invalid_exact_evm_payload_undeployed_smart_wallet', notAllowed.invalidMessage);
    assert.equal(await publicClient.getCode({ address: wallet }), undefined, 'verify deploys nothing');
    await rejects(() => onChain(p, { allowedFactories: ['not an address'] }), 'invalid_payload');
  });

  test('an RPC of another chain, or none answering, is unexpected_verify_error, never valid', async () => {
    const p = await v2Payment({ auth: live(), requirements: req({ network: 'eip155:8453' }), sigOpts: sigFor({ chainId: 8453 }) });
    p.payload.accepted = p.requirements;
    const wrongChain = await onChain(p);
    assert.equal(wrongChain.invalidReason, 'unexpected_verify_error');
    assert.match(wrongChain.invalidMessage, /chain 84532/);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const q = await v2Payment({ auth: live(), requirements: req(), sigOpts: sigFor() });
    const down = await onChain(q, { rpcUrl: closed });
    assert.equal(down.isValid, false);
    assert.equal(down.invalidReason, 'unexpected_verify_error');
    assert.ok(!down.invalidMessage.includes(closed), 'the RPC URL must not leak into messages');
  });

  test('a failing endpoint fails over to the next one', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const p = await v2Payment({ auth: live(), requirements: req(), sigOpts: sigFor() });
    assert.equal((await onChain(p, { rpcUrl: [closed, rpcUrl] })).isValid, true);
  });
});
