// No free gas, end to end through `wrangler dev`: a contract posing as a token (exact and an upto batch) and
// ERC-6492 factory calls that do not deploy the payer, or deploy it only in simulation, get nothing from the
// facilitator: each attack is refused with its code, and the facilitator's nonce and ETH balance do not change.
//
// Run: node --test tests/e2e/free-gas.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';

import { encodeFunctionData, serializeErc6492Signature, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { TRANSFER_TYPES, clients, deployContract, loadArtifact, rpc } from '../../scripts/lib/chain.mjs';
import { startStack } from '../../scripts/lib/stack.mjs';
import { UptoClient } from '../../scripts/lib/upto-client.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const FIVE_BYTES = '0x5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b';

let stack, publicClient, payer, payee, owner;

before(
  async () => {
    // Any asset allowed: whatever the asset policy, a contract posing as a token gets no transaction
    // (no-free-gas.test.mjs shows the default policy refusing it first, as asset_not_allowed).
    stack = await startStack({
      local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, chainId: CHAIN_ID,
      env: { ALLOW_ANY_ASSET: 'true' },
    });
    ({ publicClient } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID }));
    [payer, payee, owner] = [1, 2, 3].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    // PUSH1 32 PUSH1 0 RETURN: one zero word for every call.
    await rpc(stack.rpcUrl, 'anvil_setCode', [FIVE_BYTES, '0x60206000f3']);
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

const now = () => Math.floor(Date.now() / 1000);

/** What the facilitator has to spend: its nonce and its ETH. */
async function funds() {
  const address = stack.facilitatorAddress;
  return [await publicClient.getTransactionCount({ address }), await publicClient.getBalance({ address })];
}

async function post(path, body) {
  const res = await fetch(`${stack.facilitatorUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text);
}

/** Verify and settle (twice) refuse `body` with `code`, and settle sends nothing. */
async function refusedEverywhere(body, code) {
  const verify = await post('/verify', body);
  assert.deepEqual([verify.isValid, verify.invalidReason], [false, code], JSON.stringify(verify));
  for (let i = 0; i < 2; i++) {
    const settle = await post('/settle', body);
    assert.deepEqual([settle.success, settle.errorReason, settle.transaction], [false, code, ''], JSON.stringify(settle));
  }
}

/** EIP-712 TransferWithAuthorization signature of `a` by `signer` under `asset`'s USDC domain. */
function signAuthorization(signer, asset, a) {
  return signer.signTypedData({
    domain: { name: 'USD Coin', version: '2', chainId: CHAIN_ID, verifyingContract: asset },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
  });
}

/** A v2 exact payment of `value` on `asset` from `from`, signed by `signer` (wrapped when `wrap` is given). */
async function exactPayment({ asset, from = payer.address, signer = payer, value = '1000', wrap }) {
  const requirements = {
    scheme: 'exact', network: NETWORK, amount: value, asset, payTo: payee.address, maxTimeoutSeconds: 300,
    extra: { name: 'USD Coin', version: '2' },
  };
  const authorization = {
    from, to: payee.address, value, validAfter: '0', validBefore: String(now() + 600), nonce: toHex(randomBytes(32)),
  };
  let signature = await signAuthorization(signer, asset, authorization);
  if (wrap) signature = serializeErc6492Signature({ address: wrap.factory, data: wrap.data, signature });
  return { x402Version: 2, paymentPayload: { x402Version: 2, accepted: requirements, payload: { authorization, signature } }, paymentRequirements: requirements };
}

test('exact: a contract posing as a token, and a 5-byte contract, get no transaction', async () => {
  const fake = (await deployContract({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, name: 'TestFakeToken', args: [0n] })).address;
  const before = await funds();
  for (const asset of [fake, FIVE_BYTES]) {
    await refusedEverywhere(await exactPayment({ asset }), 'invalid_exact_evm_transfer_event_mismatch');
  }
  assert.deepEqual(await funds(), before, 'no transaction, no gas');
});

test('ERC-6492: an allowed factory call that deploys another wallet is refused and deploys nothing', async () => {
  const { abi } = await loadArtifact('TestWalletFactory');
  const before = await funds();
  for (const salt of [1, 2]) {
    const args = [owner.address, toHex(salt, { size: 32 })];
    const data = encodeFunctionData({ abi, functionName: 'createWallet', args });
    const body = await exactPayment({ asset: stack.token.address, wrap: { factory: stack.walletFactory, data } });
    await refusedEverywhere(body, 'invalid_exact_evm_payload_undeployed_smart_wallet');
    const other = await publicClient.readContract({ address: stack.walletFactory, abi, functionName: 'walletAddress', args });
    assert.equal(await publicClient.getCode({ address: other }), undefined, 'the other wallet was not deployed');
  }
  assert.deepEqual(await funds(), before, 'no transaction, no gas');
});

test('ERC-6492: a deployment that fails on chain is not retried for the same payment', async () => {
  const { abi } = await loadArtifact('TestWalletFactory');
  const args = [owner.address, toHex(77, { size: 32 })];
  const wallet = await publicClient.readContract({ address: stack.walletFactory, abi, functionName: 'walletAddress', args });
  const { walletClient: minter } = clients({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID });
  const mint = await minter.writeContract({ address: stack.token.address, abi: stack.token.abi, functionName: 'mint', args: [wallet, 100_000n] });
  await publicClient.waitForTransactionReceipt({ hash: mint });
  const failing = encodeFunctionData({ abi, functionName: 'createWalletUnlessPriced', args });
  const body = await exactPayment({
    asset: stack.token.address, from: wallet, signer: owner, wrap: { factory: stack.walletFactory, data: failing },
  });
  assert.equal((await post('/verify', body)).isValid, true, 'the simulation passes');
  const [nonce] = await funds();
  const first = await post('/settle', body);
  assert.equal(first.errorReason, 'smart_wallet_deployment_failed', JSON.stringify(first));
  assert.equal((await funds())[0], nonce + 1, 'one deployment was sent, and reverted');

  // The same authorization re-wrapped with the factory call that would deploy it for real.
  const before = await funds();
  const sound = structuredClone(body);
  sound.paymentPayload.payload.signature = serializeErc6492Signature({
    address: stack.walletFactory,
    data: encodeFunctionData({ abi, functionName: 'createWallet', args }),
    signature: await signAuthorization(owner, stack.token.address, body.paymentPayload.payload.authorization),
  });
  for (const again of [body, sound]) {
    const settle = await post('/settle', again);
    assert.deepEqual([settle.success, settle.errorReason, settle.transaction], [false, 'smart_wallet_deployment_failed', ''], JSON.stringify(settle));
  }
  assert.deepEqual(await funds(), before, 'not retried: no transaction, no gas');
  assert.equal(await publicClient.getCode({ address: wallet }), undefined);
});

test('upto: a batch of a contract posing as a token sends neither the permit nor transferFrom', async () => {
  const before = await funds();
  for (const allowance of [0n, 2n ** 256n - 1n]) {
    const fake = (await deployContract({ rpcUrl: stack.rpcUrl, chainId: CHAIN_ID, name: 'TestFakeToken', args: [allowance] })).address;
    const client = new UptoClient({ facilitatorUrl: stack.facilitatorUrl, rpcUrl: stack.rpcUrl, account: payer, chainId: CHAIN_ID });
    const requirements = {
      scheme: 'upto', network: NETWORK, amount: '700', asset: fake, payTo: payee.address, maxTimeoutSeconds: 3600,
      extra: { name: 'USD Coin', version: '2', maxAmountRequired: '10000' },
    };
    const { status, reply } = await client.pay(requirements);
    assert.equal(status, 200, JSON.stringify(reply));
    const id = reply.extensions.upto.sessionId;
    const close = await fetch(`${stack.facilitatorUrl}/upto/sessions/${id}/close`, { method: 'POST', body: '{}' });
    const session = await (await fetch(`${stack.facilitatorUrl}/upto/sessions/${id}`)).json();
    assert.equal(session.lastSettlement?.error, 'invalid_exact_evm_transfer_event_mismatch', `${close.status} ${JSON.stringify(session)}`);
    assert.equal(session.pending, '700', 'the spend stays pending');
  }
  assert.deepEqual(await funds(), before, 'no transaction, no gas');
});
