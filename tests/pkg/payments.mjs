// Payments signed with viem by the public anvil test keys, for the tests of the npm package
// (node, Chromium, workerd, the packed tarball). Every signature is made fresh; nothing is hard-coded.

import { randomBytes } from 'node:crypto';

import { toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { ANVIL_ACCOUNTS, TRANSFER_TYPES } from '../../scripts/lib/chain.mjs';

export const CHAIN_ID = 84532;
export const V2_NETWORK = `eip155:${CHAIN_ID}`;
export const V1_NETWORK = 'base-sepolia';
/** Base Sepolia USDC, the network's default asset (its domain is known without `extra`). */
export const BASE_SEPOLIA_USDC = '0x036CbD53842c5426634e7929541eC2318f3dCF7e';
export const DOMAIN = { name: 'USDC', version: '2' };
export const NOW = 1_800_000_000;

export const payer = privateKeyToAccount(ANVIL_ACCOUNTS[1].privateKey);
export const payee = privateKeyToAccount(ANVIL_ACCOUNTS[2].privateKey);
export const stranger = privateKeyToAccount(ANVIL_ACCOUNTS[3].privateKey);

export const nonce32 = () => toHex(randomBytes(32));

/** An authorization valid around NOW. */
export function authorization(overrides = {}) {
  return {
    from: payer.address,
    to: payee.address,
    value: '10000',
    validAfter: String(NOW - 60),
    validBefore: String(NOW + 600),
    nonce: nonce32(),
    ...overrides,
  };
}

/** EIP-712 TransferWithAuthorization signature of `auth` by `signer`. */
export function sign(signer, auth, { asset = BASE_SEPOLIA_USDC, chainId = CHAIN_ID, name = DOMAIN.name, version = DOMAIN.version } = {}) {
  return signer.signTypedData({
    domain: { name, version, chainId, verifyingContract: asset },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: {
      ...auth,
      value: BigInt(auth.value),
      validAfter: BigInt(auth.validAfter),
      validBefore: BigInt(auth.validBefore),
    },
  });
}

export function v2Requirements(overrides = {}) {
  return {
    scheme: 'exact',
    network: V2_NETWORK,
    amount: '10000',
    asset: BASE_SEPOLIA_USDC,
    payTo: payee.address,
    maxTimeoutSeconds: 60,
    extra: { ...DOMAIN },
    ...overrides,
  };
}

export function v1Requirements(overrides = {}) {
  return {
    scheme: 'exact',
    network: V1_NETWORK,
    maxAmountRequired: '10000',
    resource: 'https://example.test/resource',
    description: 'a test resource',
    mimeType: 'application/json',
    payTo: payee.address,
    maxTimeoutSeconds: 60,
    asset: BASE_SEPOLIA_USDC,
    extra: { ...DOMAIN },
    ...overrides,
  };
}

/** A signed v2 payment: {payload, requirements}. `sigOpts` override the signing domain. */
export async function v2Payment({ auth = {}, requirements = {}, signer, sigOpts = {} } = {}) {
  const req = v2Requirements(requirements);
  const a = authorization(auth);
  const signature = await sign(signer ?? payer, a, { asset: req.asset, ...sigOpts });
  return { payload: { x402Version: 2, accepted: req, payload: { signature, authorization: a } }, requirements: req };
}

/** A signed v1 payment. */
export async function v1Payment({ auth = {}, requirements = {}, signer, sigOpts = {} } = {}) {
  const req = v1Requirements(requirements);
  const a = authorization(auth);
  const signature = await sign(signer ?? payer, a, { asset: req.asset, ...sigOpts });
  return {
    payload: { x402Version: 1, scheme: 'exact', network: req.network, payload: { signature, authorization: a } },
    requirements: req,
  };
}

/** A signed payment in the Crypto.com/Cronos dialect (flat payload, numeric time bounds) on Cronos testnet. */
export async function cronosPayment() {
  const asset = '0xc01efAaF7C5C61bEbFAeb358E1161b537b8bC0e0';
  const a = authorization();
  const domain = { name: 'Bridged USDC (Stargate)', version: '1' };
  const signature = await sign(payer, a, { asset, chainId: 338, ...domain });
  const payload = {
    x402Version: 1,
    scheme: 'exact',
    network: 'cronos-testnet',
    payload: { ...a, validAfter: Number(a.validAfter), validBefore: Number(a.validBefore), signature, asset },
  };
  const requirements = v1Requirements({ network: 'cronos-testnet', asset, extra: domain });
  return { payload, requirements };
}
