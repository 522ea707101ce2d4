// End-to-end tests of the built worker over HTTP: one local stack (anvil + TestUSDC + `wrangler dev` on free
// ports) for the whole file. Payments are made with the official x402 SDK (@x402/core + @x402/evm), by hand
// in the Crypto.com/Cronos dialect, and signed directly with viem for the negative cases. Every settlement
// is checked against on-chain balances.
//
// Run: node --test tests/e2e/facilitator.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)
// E2E_BLOCK_TIME=2 runs it against a chain that mines every 2 s instead of per transaction.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmSchemeV1 } from '@x402/evm/v1';
import { encodeFunctionData, getAddress, serializeErc6492Signature, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import { TRANSFER_TYPES, balanceOf, clients, deployContract, loadArtifact } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';

const CHAIN_ID = 84532;
const V2_NETWORK = `eip155:${CHAIN_ID}`;
const V1_NETWORK = 'base-sepolia';
const DOMAIN_NAME = 'USD Coin';
const DOMAIN_VERSION = '2';


/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let token; // address
let publicClient;
let payer, payee, other; // anvil accounts #1, #2, #3 as viem accounts
/** x-request-id of every response seen, to check the worker's per-request log lines. */
const requestIds = [];

before(
  async () => {
    // E2E_BLOCK_TIME=<s> mines on an interval instead of per transaction (settle then waits for blocks).
    const blockTime = process.env.E2E_BLOCK_TIME ? Number(process.env.E2E_BLOCK_TIME) : undefined;
    stack = await startStack({ local: true, chainPort: 0, workerPort: 0, chainId: CHAIN_ID, blockTime });
    token = stack.token.address;
    ({ publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID }));
    [payer, payee, other] = [1, 2, 3].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------------
// helpers

const now = () => Math.floor(Date.now() / 1000);
const nonce32 = () => toHex(randomBytes(32));
const bal = (owner) => balanceOf({ rpcUrl: stack.rpcUrl, token, owner });

/** Balances of several addresses at once, as an array of bigints. */
const balances = (...owners) => Promise.all(owners.map((o) => bal(o)));

/** A repeated settle of a settled payment: refused with `reason`, naming the first one's transaction. */
function assertUsed(replay, settled, reason) {
  assert.equal(replay.success, false, JSON.stringify(replay));
  assert.equal(replay.errorReason, reason, JSON.stringify(replay));
  assert.equal(replay.transaction, settled.transaction, JSON.stringify(replay));
}

/** HTTP call to the worker; every response must carry x-request-id. */
async function call(method, path, { body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    init.headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${stack.facilitatorUrl}${path}`, init);
  const text = await res.text();
  const id = res.headers.get('x-request-id');
  assert.ok(id, `${method} ${path} (HTTP ${res.status}) has no x-request-id header`);
  requestIds.push(id);
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const post = (path, body, opts) => call('POST', path, { ...opts, body });

function v2Requirements(overrides = {}) {
  return {
    scheme: 'exact',
    network: V2_NETWORK,
    amount: '1000',
    asset: token,
    payTo: payee.address,
    maxTimeoutSeconds: 300,
    extra: { name: DOMAIN_NAME, version: DOMAIN_VERSION },
    ...overrides,
  };
}

/** EIP-712 TransferWithAuthorization signature by `signer` under the given domain. */
function signAuthorization(signer, auth, { name = DOMAIN_NAME, version = DOMAIN_VERSION } = {}) {
  return signer.signTypedData({
    domain: { name, version, chainId: CHAIN_ID, verifyingContract: token },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      from: auth.from,
      to: auth.to,
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
      nonce: auth.nonce,
    },
  });
}

/**
 * A v2 exact payload signed with viem. `auth` overrides authorization fields (strings), `signer` signs
 * (default: the account of `from`), `domain` overrides the signing domain's name/version.
 */
async function v2Payment({ requirements = v2Requirements(), auth = {}, signer = payer, domain } = {}) {
  const authorization = {
    from: signer.address,
    to: requirements.payTo,
    value: requirements.amount,
    validAfter: '0',
    validBefore: String(now() + 600),
    nonce: nonce32(),
    ...auth,
  };
  const signature = await signAuthorization(signer, authorization, domain);
  const paymentPayload = {
    x402Version: 2,
    resource: { url: 'http://resource.test/e2e', description: 'e2e', mimeType: 'application/json' },
    accepted: requirements,
    payload: { authorization, signature },
  };
  return { x402Version: 2, paymentPayload, paymentRequirements: requirements };
}

function v1Requirements(overrides = {}) {
  return {
    scheme: 'exact',
    network: V1_NETWORK,
    maxAmountRequired: '1000',
    resource: 'http://resource.test/v1',
    description: 'e2e v1',
    mimeType: 'application/json',
    payTo: payee.address,
    maxTimeoutSeconds: 300,
    asset: token,
    extra: { name: DOMAIN_NAME, version: DOMAIN_VERSION },
    ...overrides,
  };
}

/** A v1 exact payload signed with viem; the options are those of v2Payment. */
async function v1Payment({ requirements = v1Requirements(), auth = {}, signer = payer } = {}) {
  const authorization = {
    from: signer.address,
    to: requirements.payTo,
    value: requirements.maxAmountRequired,
    validAfter: String(now() - 600),
    validBefore: String(now() + 600),
    nonce: nonce32(),
    ...auth,
  };
  const signature = await signAuthorization(signer, authorization);
  const paymentPayload = { x402Version: 1, scheme: 'exact', network: V1_NETWORK, payload: { authorization, signature } };
  return { x402Version: 1, paymentPayload, paymentRequirements: requirements };
}

/**
 * Verify and settle `body` over HTTP, expecting HTTP 200 with the scheme failure `code` from both, and no
 * token moving between the authorization's parties.
 */
async function expectRejected(body, code) {
  const { from, to } = body.paymentPayload.payload.authorization;
  const before = await balances(from, to);

  const v = await post('/verify', body);
  assert.equal(v.status, 200, `verify HTTP status (body ${v.text})`);
  assert.equal(v.json.isValid, false, v.text);
  assert.equal(v.json.invalidReason, code, `verify invalidReason (body ${v.text})`);

  const s = await post('/settle', body);
  assert.equal(s.status, 200, `settle HTTP status (body ${s.text})`);
  assert.equal(s.json.success, false, s.text);
  assert.equal(s.json.errorReason, code, `settle errorReason (body ${s.text})`);
  assert.equal(s.json.transaction, '', `a failed settle has transaction "" (body ${s.text})`);
  assert.equal(s.json.network, body.paymentRequirements.network, s.text);

  assert.deepEqual(await balances(from, to), before, 'balances must not move on a rejected payment');
}

/** verify + settle must both answer HTTP 400 with `reason` (and the failure fields of their shape). */
async function expectBadRequest(body, reason, { raw = false } = {}) {
  const v = await post('/verify', body, { raw });
  assert.equal(v.status, 400, `verify HTTP status (body ${v.text})`);
  assert.equal(typeof v.json?.error, 'string', `verify 400 body has error (body ${v.text})`);
  assert.equal(v.json.reason, reason, `verify reason (body ${v.text})`);
  assert.equal(v.json.isValid, false, v.text);
  assert.equal(v.json.invalidReason, reason, v.text);

  const s = await post('/settle', body, { raw });
  assert.equal(s.status, 400, `settle HTTP status (body ${s.text})`);
  assert.equal(typeof s.json?.error, 'string', `settle 400 body has error (body ${s.text})`);
  assert.equal(s.json.reason, reason, `settle reason (body ${s.text})`);
  assert.equal(s.json.success, false, s.text);
  assert.equal(s.json.errorReason, reason, s.text);
  assert.equal(s.json.transaction, '', s.text);
  assert.equal(typeof s.json.network, 'string', `settle 400 body has network (body ${s.text})`);
}

/** The receipt of a settlement: mined successfully, sent by the facilitator to the token contract. */
async function assertSettlementTx(hash) {
  assert.match(hash, /^0x[0-9a-f]{64}$/i, 'transaction hash');
  const receipt = await publicClient.getTransactionReceipt({ hash });
  assert.equal(receipt.status, 'success');
  assert.equal(getAddress(receipt.from), stack.facilitatorAddress, 'the facilitator signer sent the tx');
  assert.equal(getAddress(receipt.to), token, 'the tx calls the token');
  return receipt;
}

/** An x402Client that may pay with our (non-default) test token: the SDK's spend controls otherwise refuse it. */
function sdkClient() {
  const signer = toClientEvmSigner(payer);
  return new x402Client()
    .register('eip155:*', new ExactEvmScheme(signer))
    .registerV1(V1_NETWORK, new ExactEvmSchemeV1(signer))
    .setSpendControls({
      allowedAssets: [
        { network: V2_NETWORK, asset: token },
        { network: V1_NETWORK, asset: token },
      ],
    });
}

// ---------------------------------------------------------------------------------------------------

describe('official SDK (@x402/core HTTPFacilitatorClient + @x402/evm)', () => {
  test('/supported lists v2 and v1 exact kinds and the facilitator signer', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const supported = await facilitator.getSupported();
    const kinds = supported.kinds.map(({ x402Version, scheme, network }) => ({ x402Version, scheme, network }));
    assert.deepEqual(
      kinds.filter((k) => k.x402Version === 2 && k.scheme === 'exact' && k.network === V2_NETWORK),
      [{ x402Version: 2, scheme: 'exact', network: V2_NETWORK }],
      JSON.stringify(supported),
    );
    assert.deepEqual(
      kinds.filter((k) => k.x402Version === 1 && k.scheme === 'exact' && k.network === V1_NETWORK),
      [{ x402Version: 1, scheme: 'exact', network: V1_NETWORK }],
      JSON.stringify(supported),
    );
    assert.ok(Array.isArray(supported.extensions));
    assert.deepEqual(supported.signers['eip155:*'], [stack.facilitatorAddress]);
  });

  test('v2 exact: verify, settle moves the amount exactly once, replay is refused', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = v2Requirements({ amount: '1234567' });
    const paymentPayload = await sdkClient().createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://resource.test/v2', description: 'e2e v2', mimeType: 'application/json' },
      accepts: [requirements],
    });
    assert.equal(paymentPayload.x402Version, 2);
    assert.equal(paymentPayload.payload.authorization.from, payer.address);

    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(verified.invalidReason, undefined);
    assert.equal(getAddress(verified.payer), payer.address);

    const [payer0, payee0] = await balances(payer.address, payee.address);
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, V2_NETWORK);
    assert.equal(getAddress(settled.payer), payer.address);
    await assertSettlementTx(settled.transaction);
    const [payer1, payee1] = await balances(payer.address, payee.address);
    assert.equal(payee1 - payee0, 1_234_567n, 'payTo received exactly the amount');
    assert.equal(payer0 - payer1, 1_234_567n, 'payer paid exactly the amount');

    // Exactly one settle answers success: a retry is refused as a fresh check would, names the
    // transaction, and sends nothing.
    const replay = await facilitator.settle(paymentPayload, requirements);
    assertUsed(replay, settled, 'invalid_exact_evm_nonce_already_used');
    assert.deepEqual(await balances(payer.address, payee.address), [payer1, payee1], 'funds moved exactly once');

    const reverify = await facilitator.verify(paymentPayload, requirements);
    assert.equal(reverify.isValid, false, JSON.stringify(reverify));
    assert.equal(reverify.invalidReason, 'invalid_exact_evm_nonce_already_used', JSON.stringify(reverify));
  });

  test('v1 exact (base-sepolia): verify, settle moves the amount exactly once, replay is refused', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = {
      scheme: 'exact',
      network: V1_NETWORK,
      maxAmountRequired: '250000',
      resource: 'http://resource.test/v1',
      description: 'e2e v1',
      mimeType: 'application/json',
      outputSchema: null,
      payTo: payee.address,
      maxTimeoutSeconds: 300,
      asset: token,
      extra: { name: DOMAIN_NAME, version: DOMAIN_VERSION },
    };
    const paymentPayload = await sdkClient().createPaymentPayload({
      x402Version: 1,
      error: 'X-PAYMENT header is required',
      accepts: [requirements],
    });
    assert.deepEqual(
      { x402Version: paymentPayload.x402Version, scheme: paymentPayload.scheme, network: paymentPayload.network },
      { x402Version: 1, scheme: 'exact', network: V1_NETWORK },
    );

    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(getAddress(verified.payer), payer.address);

    const [payer0, payee0] = await balances(payer.address, payee.address);
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, V1_NETWORK);
    assert.equal(getAddress(settled.payer), payer.address);
    await assertSettlementTx(settled.transaction);
    const [payer1, payee1] = await balances(payer.address, payee.address);
    assert.equal(payee1 - payee0, 250_000n);
    assert.equal(payer0 - payer1, 250_000n);

    const replay = await facilitator.settle(paymentPayload, requirements);
    assertUsed(replay, settled, 'invalid_transaction_state');
    assert.deepEqual(await balances(payer.address, payee.address), [payer1, payee1], 'funds moved exactly once');
    const reverify = await facilitator.verify(paymentPayload, requirements);
    assert.equal(reverify.invalidReason, 'invalid_transaction_state', JSON.stringify(reverify));
  });
});

describe('Crypto.com / Cronos dialect (/v2/x402/*), built as @crypto.com/facilitator-client builds it', () => {
  /** The SDK's generateCronosPaymentHeader: flat payload, numeric time bounds, asset included, base64 JSON. */
  async function cronosHeader({ value, to, validAfter = 0, validBefore = now() + 3600 }) {
    const nonce = nonce32();
    const signature = await payer.signTypedData({
      domain: { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: CHAIN_ID, verifyingContract: token },
      types: TRANSFER_TYPES,
      primaryType: 'TransferWithAuthorization',
      message: { from: payer.address, to, value: BigInt(value), validAfter: BigInt(validAfter), validBefore: BigInt(validBefore), nonce },
    });
    const header = {
      x402Version: 1,
      scheme: 'exact',
      network: V1_NETWORK,
      payload: { from: payer.address, to, value, validAfter, validBefore, nonce, signature, asset: token },
    };
    return Buffer.from(JSON.stringify(header), 'utf8').toString('base64');
  }

  const cronosPost = (path, body) => post(path, body, { headers: { 'X402-Version': '1' } });

  test('GET /healthcheck and /v2/x402/supported', async () => {
    const h = await call('GET', '/healthcheck');
    assert.equal(h.status, 200, h.text);
    const s = await call('GET', '/v2/x402/supported');
    assert.equal(s.status, 200, s.text);
    assert.ok(
      s.json.kinds.some((k) => k.x402Version === 1 && k.scheme === 'exact' && k.network === V1_NETWORK),
      s.text,
    );
  });

  test('verify, settle (payment.settled, balances), a retry is refused ("Authorization already used"), and so is re-verify', async () => {
    const value = '777000';
    const body = {
      x402Version: 1,
      paymentHeader: await cronosHeader({ value, to: payee.address }),
      // No `extra`: the facilitator must read the EIP-712 domain from the token.
      paymentRequirements: {
        scheme: 'exact',
        network: V1_NETWORK,
        payTo: payee.address,
        asset: token,
        description: 'e2e cronos',
        mimeType: 'application/json',
        maxAmountRequired: value,
        maxTimeoutSeconds: 300,
      },
    };

    const v = await cronosPost('/v2/x402/verify', body);
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.json, { isValid: true, invalidReason: null });

    const [payer0, payee0] = await balances(payer.address, payee.address);
    const s = await cronosPost('/v2/x402/settle', body);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.x402Version, 1, s.text);
    assert.equal(s.json.event, 'payment.settled', s.text);
    assert.equal(s.json.error, undefined, s.text);
    assert.equal(getAddress(s.json.from), payer.address);
    assert.equal(getAddress(s.json.to), payee.address);
    assert.equal(s.json.value, value);
    assert.equal(s.json.network, V1_NETWORK);
    assert.match(s.json.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'ISO 8601 timestamp');
    assert.ok(Math.abs(Date.parse(s.json.timestamp) - Date.now()) < 120_000, `timestamp ${s.json.timestamp} is now`);
    const receipt = await assertSettlementTx(s.json.txHash);
    assert.equal(s.json.blockNumber, Number(receipt.blockNumber), 'blockNumber is the receipt block');
    const [payer1, payee1] = await balances(payer.address, payee.address);
    assert.equal(payee1 - payee0, 777_000n);
    assert.equal(payer0 - payer1, 777_000n);

    const replay = await cronosPost('/v2/x402/settle', body);
    assert.equal(replay.status, 200, replay.text);
    assert.equal(replay.json.event, 'payment.failed', replay.text);
    assert.equal(replay.json.error, 'Authorization already used', replay.text);
    assert.equal(replay.json.txHash, s.json.txHash, 'a retry names the first transaction');
    assert.deepEqual(await balances(payer.address, payee.address), [payer1, payee1], 'funds moved exactly once');
    const reverify = await cronosPost('/v2/x402/verify', body);
    assert.deepEqual(reverify.json, { isValid: false, invalidReason: 'Authorization already used' }, reverify.text);
  });

  test('a recipient mismatch: isValid false with a reason text; settle is payment.failed and moves nothing', async () => {
    const body = {
      x402Version: 1,
      paymentHeader: await cronosHeader({ value: '5000', to: other.address }),
      paymentRequirements: {
        scheme: 'exact',
        network: V1_NETWORK,
        payTo: payee.address,
        asset: token,
        description: 'e2e cronos',
        mimeType: 'application/json',
        maxAmountRequired: '5000',
        maxTimeoutSeconds: 300,
      },
    };
    const v = await cronosPost('/v2/x402/verify', body);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.isValid, false, v.text);
    assert.equal(typeof v.json.invalidReason, 'string', v.text);
    assert.ok(v.json.invalidReason.length > 0, v.text);

    const before = await balances(payer.address, payee.address, other.address);
    const s = await cronosPost('/v2/x402/settle', body);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.json.event, 'payment.failed', s.text);
    assert.equal(typeof s.json.error, 'string', s.text);
    assert.equal(s.json.txHash, undefined, s.text);
    assert.deepEqual(await balances(payer.address, payee.address, other.address), before);
  });
});

describe('scheme failures: HTTP 200 with the exact v2 reason, nothing settles', () => {
  test('signature by someone other than `from` -> invalid_exact_evm_signature', async () => {
    // `from` is the payer but the signature is the other account's.
    const body = await v2Payment({ auth: { from: payer.address }, signer: other });
    await expectRejected(body, 'invalid_exact_evm_signature');
  });

  test('authorization.to differs from payTo -> invalid_exact_evm_recipient_mismatch', async () => {
    const body = await v2Payment({ auth: { to: other.address } });
    await expectRejected(body, 'invalid_exact_evm_recipient_mismatch');
  });

  test('validBefore in the past -> invalid_exact_evm_payload_authorization_valid_before', async () => {
    const body = await v2Payment({ auth: { validBefore: String(now() - 60) } });
    await expectRejected(body, 'invalid_exact_evm_payload_authorization_valid_before');
  });

  test('validAfter in the future -> invalid_exact_evm_payload_authorization_valid_after', async () => {
    const body = await v2Payment({ auth: { validAfter: String(now() + 3600), validBefore: String(now() + 7200) } });
    await expectRejected(body, 'invalid_exact_evm_payload_authorization_valid_after');
  });

  test('authorized value differs from the amount -> invalid_exact_evm_authorization_value', async () => {
    const body = await v2Payment({ auth: { value: '999' } });
    await expectRejected(body, 'invalid_exact_evm_authorization_value');
  });

  test('payer without tokens -> invalid_exact_evm_insufficient_balance', async () => {
    const pauper = privateKeyToAccount(generatePrivateKey());
    assert.equal(await bal(pauper.address), 0n);
    const body = await v2Payment({ signer: pauper });
    await expectRejected(body, 'invalid_exact_evm_insufficient_balance');
  });

  test('extra.name "USDC" (signed under that wrong domain) -> invalid_exact_evm_token_name_mismatch', async () => {
    // The signature recovers to the payer under the domain the requirements claim, so the off-chain check
    // passes; the token's real domain ("USD Coin") makes the on-chain simulation fail, and the diagnosis
    // finds the name mismatch.
    const requirements = v2Requirements({ extra: { name: 'USDC', version: DOMAIN_VERSION } });
    const body = await v2Payment({ requirements, domain: { name: 'USDC' } });
    await expectRejected(body, 'invalid_exact_evm_token_name_mismatch');
  });
});

describe('scheme failures in v1: the legacy reason codes', () => {
  test('signature by someone other than `from` -> invalid_exact_evm_payload_signature', async () => {
    const body = await v1Payment({ auth: { from: payer.address }, signer: other });
    await expectRejected(body, 'invalid_exact_evm_payload_signature');
  });

  test('authorization.to differs from payTo -> invalid_exact_evm_payload_recipient_mismatch', async () => {
    const body = await v1Payment({ auth: { to: other.address } });
    await expectRejected(body, 'invalid_exact_evm_payload_recipient_mismatch');
  });

  test('authorized value below maxAmountRequired -> invalid_exact_evm_payload_authorization_value', async () => {
    const body = await v1Payment({ auth: { value: '999' } });
    await expectRejected(body, 'invalid_exact_evm_payload_authorization_value');
  });

  test('validBefore in the past -> invalid_exact_evm_payload_authorization_valid_before', async () => {
    const body = await v1Payment({ auth: { validBefore: String(now() - 60) } });
    await expectRejected(body, 'invalid_exact_evm_payload_authorization_valid_before');
  });

  test('payer without tokens -> insufficient_funds', async () => {
    const body = await v1Payment({ signer: privateKeyToAccount(generatePrivateKey()) });
    await expectRejected(body, 'insufficient_funds');
  });
});

describe('malformed and unsupported requests: HTTP 400 with the reason', () => {
  test('malformed JSON -> invalid_payload', async () => {
    await expectBadRequest('{"x402Version": 2, "paymentPayload": ', 'invalid_payload', { raw: true });
  });

  test('x402Version 3 -> invalid_x402_version', async () => {
    const body = await v2Payment();
    body.x402Version = 3;
    body.paymentPayload.x402Version = 3;
    await expectBadRequest(body, 'invalid_x402_version');
  });

  test('unknown network -> invalid_network', async () => {
    const requirements = v2Requirements({ network: 'eip155:4242424242' });
    const body = await v2Payment({ requirements });
    await expectBadRequest(body, 'invalid_network');
  });

  test('scheme "flexible" -> unsupported_scheme', async () => {
    const requirements = v2Requirements({ scheme: 'flexible' });
    const body = await v2Payment({ requirements });
    await expectBadRequest(body, 'unsupported_scheme');
  });

  test('an EIP-3009 payload under scheme "upto" -> invalid_upto_evm_payload', async () => {
    const requirements = v2Requirements({ scheme: 'upto' });
    const body = await v2Payment({ requirements });
    await expectBadRequest(body, 'invalid_upto_evm_payload');
  });

  test('body over 64 KiB -> 413', async () => {
    const body = await v2Payment();
    body.paymentPayload.resource.description = 'x'.repeat(70 * 1024);
    const v = await post('/verify', body);
    assert.equal(v.status, 413, v.text);
    assert.equal(v.json.isValid, false);
    assert.equal(v.json.invalidReason, 'invalid_payload');
    const s = await post('/settle', body);
    assert.equal(s.status, 413, s.text);
    assert.equal(s.json.success, false);
    assert.equal(s.json.errorReason, 'invalid_payload');
    assert.equal(s.json.transaction, '');
  });

  test('GET /nope -> 404', async () => {
    const r = await call('GET', '/nope');
    assert.equal(r.status, 404, r.text);
  });

  test('OPTIONS preflight -> 204 with CORS headers', async () => {
    const r = await call('OPTIONS', '/verify', {
      headers: {
        origin: 'http://app.test',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), '*');
    assert.match(r.headers.get('access-control-allow-methods') ?? '', /POST/);
  });
});

describe('settlement ledger and signer (Durable Objects)', () => {
  test('20 concurrent settles of one payment: one transfer, exactly one success, the others refused', async () => {
    const body = await v2Payment({ requirements: v2Requirements({ amount: '4242' }) });
    const sentBefore = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    const [payee0] = await balances(payee.address);
    const replies = await Promise.all(Array.from({ length: 20 }, () => post('/settle', body)));
    for (const r of replies) assert.equal(r.status, 200, r.text);
    const successes = replies.filter((r) => r.json.success);
    assert.equal(successes.length, 1, `exactly one success: ${replies.map((r) => r.text).join('\n')}`);
    for (const r of replies.filter((r) => !r.json.success)) {
      assert.ok(['duplicate_settlement', 'invalid_exact_evm_nonce_already_used'].includes(r.json.errorReason), r.text);
    }
    const hashes = new Set(replies.map((r) => r.json.transaction).filter(Boolean));
    assert.equal(hashes.size, 1, `one transaction, got ${[...hashes].join(', ')}`);
    await assertSettlementTx([...hashes][0]);
    const [payee1] = await balances(payee.address);
    assert.equal(payee1 - payee0, 4242n, 'the amount moved exactly once');
    const sentAfter = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    assert.equal(sentAfter - sentBefore, 1, 'the facilitator sent one transaction');
  });

  test('30 concurrent settles of distinct payments from one signer: all settle, no nonce collides', async () => {
    const n = 30;
    const bodies = await Promise.all(
      Array.from({ length: n }, () => v2Payment({ requirements: v2Requirements({ amount: '1001' }) })),
    );
    const sentBefore = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    const [payee0] = await balances(payee.address);
    const replies = await Promise.all(bodies.map((body) => post('/settle', body)));
    const failed = replies.filter((r) => r.json?.success !== true).map((r) => r.text);
    assert.deepEqual(failed, [], 'every settle succeeds');
    assert.equal(new Set(replies.map((r) => r.json.transaction)).size, n, 'one transaction each');
    const [payee1] = await balances(payee.address);
    assert.equal(payee1 - payee0, 1001n * BigInt(n));
    const sentAfter = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    assert.equal(sentAfter - sentBefore, n, 'consecutive nonces, no gaps, no replacements');
  });

  test('a counterfactual (ERC-6492) wallet is deployed through the allowed factory, then pays; another factory is refused', async () => {
    const { abi } = await loadArtifact('TestWalletFactory');
    const owner = other;
    const { walletClient: deployer } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID });
    const counterfactual = async (factory, salt) => {
      const args = [owner.address, salt];
      const wallet = await publicClient.readContract({ address: factory, abi, functionName: 'walletAddress', args });
      const mint = await deployer.writeContract({ address: token, abi: stack.token.abi, functionName: 'mint', args: [wallet, 100_000n] });
      await publicClient.waitForTransactionReceipt({ hash: mint });
      const data = encodeFunctionData({ abi, functionName: 'createWallet', args });
      const payment = async (amount) => {
        const requirements = v2Requirements({ amount });
        const authorization = {
          from: wallet, to: payee.address, value: amount, validAfter: '0', validBefore: String(now() + 600), nonce: nonce32(),
        };
        const signature = serializeErc6492Signature({ address: factory, data, signature: await signAuthorization(owner, authorization) });
        const paymentPayload = { x402Version: 2, accepted: requirements, payload: { authorization, signature } };
        return { x402Version: 2, paymentPayload, paymentRequirements: requirements };
      };
      return { wallet, payment };
    };

    const stranger = (await deployContract({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, name: 'TestWalletFactory' })).address;
    const refused = await counterfactual(stranger, toHex(1, { size: 32 }));
    await expectRejected(await refused.payment('700'), 'invalid_exact_evm_payload_undeployed_smart_wallet');
    assert.equal(await publicClient.getCode({ address: refused.wallet }), undefined, 'nothing was deployed');

    const { wallet, payment } = await counterfactual(stack.walletFactory, toHex(2, { size: 32 }));
    const body = await payment('700');
    const v = await post('/verify', body);
    assert.deepEqual(v.json, { isValid: true, payer: getAddress(wallet) }, v.text);
    const sentBefore = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    const [payee0] = await balances(payee.address);
    const s = await post('/settle', body);
    assert.equal(s.json.success, true, s.text);
    await assertSettlementTx(s.json.transaction);
    assert.ok((await publicClient.getCode({ address: wallet }))?.length > 2, 'the wallet is deployed');
    const [payee1] = await balances(payee.address);
    assert.equal(payee1 - payee0, 700n, 'the amount moved exactly once');
    const sentAfter = await publicClient.getTransactionCount({ address: stack.facilitatorAddress });
    assert.equal(sentAfter - sentBefore, 2, 'a deployment and a transfer');
    assertUsed((await post('/settle', body)).json, s.json, 'invalid_exact_evm_nonce_already_used');
  });

  test('a settle refused before sending releases its claim: the corrected payment settles', async () => {
    const requirements = v2Requirements({ amount: '5000' });
    const body = await v2Payment({ requirements });
    const wrong = structuredClone(body);
    wrong.paymentRequirements.amount = '5001';
    const refused = await post('/settle', wrong);
    assert.equal(refused.json.errorReason, 'invalid_exact_evm_authorization_value', refused.text);
    const settled = await post('/settle', body);
    assert.equal(settled.json.success, true, settled.text);
  });
});

describe('operational', () => {
  test('GET /health and /openapi.json', async () => {
    const h = await call('GET', '/health');
    assert.equal(h.status, 200, h.text);
    const o = await call('GET', '/openapi.json');
    assert.equal(o.status, 200, o.text.slice(0, 300));
    assert.equal(typeof o.json?.openapi, 'string', 'an OpenAPI document');
    assert.equal(o.headers.get('access-control-allow-origin'), '*');
  });

  test('the worker logs one JSON line per request, with its request id', async () => {
    // Some requests of its own, so that the test also stands alone (--test-name-pattern).
    for (const path of ['/health', '/supported', '/nope']) await call('GET', path);
    await post('/verify', '{', { raw: true });
    const deadline = Date.now() + 5000;
    let missing;
    for (;;) {
      const logged = new Map();
      for (const line of stack.lines()) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line);
          if (entry.request_id) logged.set(entry.request_id, (logged.get(entry.request_id) ?? 0) + 1);
        } catch {
          /* not a worker log line */
        }
      }
      missing = requestIds.filter((id) => logged.get(id) !== 1);
      if (missing.length === 0 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(missing, [], 'request ids without exactly one JSON log line');
  });
});
