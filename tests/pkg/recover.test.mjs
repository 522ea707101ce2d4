// Signer recovery in the npm package (the wasm32 build: k256's 10x26 field backend under the
// variable-time recovery of src/chains/evm/recover_vartime.rs) against viem (@noble/curves underneath):
// random keys and authorizations, both recovery ids, and random signature bytes.
// Run after `npm run build:pkg`: node --test tests/pkg/recover.test.mjs
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import { recoverTypedDataAddress, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

import * as x402 from '../../pkg/dist/node.js';
import { BASE_SEPOLIA_USDC, CHAIN_ID, DOMAIN, authorization } from './payments.mjs';
import { TRANSFER_TYPES } from '../../scripts/lib/chain.mjs';

const domain = { ...DOMAIN, chainId: CHAIN_ID, verifyingContract: BASE_SEPOLIA_USDC };
const typed = (a) => ({
  domain,
  types: TRANSFER_TYPES,
  primaryType: 'TransferWithAuthorization',
  message: { ...a, value: BigInt(a.value), validAfter: BigInt(a.validAfter), validBefore: BigInt(a.validBefore) },
});
const HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** viem's answer (an address or null), then the package's (an address or null). */
async function both(a, signature) {
  let expected = null;
  try {
    expected = await recoverTypedDataAddress({ ...typed(a), signature });
  } catch {
    expected = null;
  }
  let got = null;
  try {
    got = x402.recoverAuthorizationSigner(a, signature, domain);
  } catch (e) {
    assert.ok(e instanceof x402.X402Error, `not an X402Error: ${e}`);
  }
  return { expected, got };
}

test('random keys: the signer is recovered, and with the other recovery id the same key as viem', async () => {
  for (let i = 0; i < 1000; i++) {
    const account = privateKeyToAccount(generatePrivateKey());
    const a = authorization({ from: account.address, value: String(1 + i) });
    const signature = await account.signTypedData(typed(a));
    assert.equal(x402.recoverAuthorizationSigner(a, signature, domain), account.address);
    const v = parseInt(signature.slice(130), 16);
    const flipped = signature.slice(0, 130) + (v === 27 ? '1c' : '1b');
    const { expected, got } = await both(a, flipped);
    assert.notEqual(got, account.address);
    assert.equal(got, expected, flipped);
  }
});

test('random signature bytes (low s): refused, or recovered exactly as viem does', async () => {
  const a = authorization();
  let recovered = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = randomBytes(65);
    bytes[32] &= 0x7f; // low s (the package refuses high s; viem does not)
    bytes[64] = 27 + (bytes[64] & 1);
    const s = BigInt(toHex(bytes.subarray(32, 64)));
    const signature = toHex(bytes);
    const { expected, got } = await both(a, signature);
    if (s === 0n || s > HALF_N) continue;
    assert.equal(got, expected, signature);
    if (got) recovered++;
  }
  assert.ok(recovered > 500, `${recovered} recovered`);
});
