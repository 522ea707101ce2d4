// The API of `@x402-edge/verify` (EVM and Solana), shared by every entry point (node, browser,
// workerd); each entry instantiates the wasm before it re-exports this module.

import * as wasm from '../wasm/x402_edge.js';
import { fetchTransport, json, nowSeconds, sleep, text, unwrap } from './internal.js';
import type {
  Eip3009Authorization,
  Eip712Domain,
  PaymentPayload,
  PaymentPayloadV1,
  PaymentRequirements,
  PaymentRequirementsV1,
  VerifyOptions,
  VerifyResult,
} from './types.js';

export type * from './types.js';
export { X402Error } from './internal.js';
export * from './headers.js';

// ------------------------------------------------------------------------------------------------
// verify

/** The checks that need no chain, synchronously. See {@link verifyPayment}. */
export function verifyPaymentOffline(
  payload: PaymentPayload | PaymentPayloadV1 | string,
  requirements: PaymentRequirements | PaymentRequirementsV1,
  options: Pick<VerifyOptions, 'now' | 'spenders' | 'feePayers'> = {},
): VerifyResult {
  const now = nowSeconds(options.now);
  if (isUpto(requirements)) return verifyUpto(payload, requirements, now, options.spenders);
  if (isSolana(requirements)) {
    return unwrap(wasm.verifySvm(json(payload, 'payload'), json(requirements, 'requirements'), json(options.feePayers ?? null, 'feePayers')));
  }
  return unwrap(wasm.verifyOffline(json(payload, 'payload'), json(requirements, 'requirements'), now));
}

function isUpto(requirements: unknown): boolean {
  return (requirements as { scheme?: unknown } | null)?.scheme === 'upto';
}

/** Solana networks: v1 names (`solana`, `solana-devnet`, …) and CAIP-2 ids (`solana:…`). */
function isSolana(requirements: unknown): boolean {
  const network = (requirements as { network?: unknown } | null)?.network;
  return typeof network === 'string' && network.startsWith('solana');
}

/**
 * `upto` (the daydreams EIP-2612 scheme): the facilitator's own checks of the permit (scheme, network,
 * EIP-712 domain, spender, cap, deadline, signature). They need no chain, as in the facilitator; the
 * session's headroom is the facilitator's to judge.
 */
function verifyUpto(payload: unknown, requirements: unknown, now: number, spenders: string[] | undefined): VerifyResult {
  const spendersJson = json(spenders ?? null, 'spenders');
  return unwrap(wasm.verifyUpto(json(payload, 'payload'), json(requirements, 'requirements'), now, spendersJson));
}

/** The session id an `upto` payment payload (v2) opens, as the facilitator and daydreams clients derive it. */
export function uptoSessionId(payload: PaymentPayload): string {
  return unwrap(wasm.uptoSessionId(json(payload, 'payload')));
}

/**
 * Verifies an x402 payment as the facilitator does, with the same reason codes. `payload` is the
 * payment payload object (v1, v2, or a decoded Cronos header) or its header text. Covers `exact` on
 * EVM (EIP-3009), `upto` (EIP-2612 permits) and `exact` on Solana (the client's partially signed
 * transaction: layout, fee-payer rules, mint, destination, amount, memo and its signatures).
 *
 * Without `options.rpcUrl`, every check that needs no chain runs: scheme, EIP-712 domain, network,
 * signature, recipient, time window, amount. A signature that only the chain can judge (a contract
 * wallet's, ERC-1271, or a counterfactual one's, ERC-6492) is never reported valid: the result has
 * `needsChain: true`. With `options.rpcUrl`, the
 * chain checks run as well, in one batched JSON-RPC request.
 *
 * Throws {@link X402Error} for input the facilitator would refuse with HTTP 400 (malformed JSON, an
 * unknown network or scheme, …).
 */
export async function verifyPayment(
  payload: PaymentPayload | PaymentPayloadV1 | string,
  requirements: PaymentRequirements | PaymentRequirementsV1,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (options.rpcUrl === undefined || isUpto(requirements)) return verifyPaymentOffline(payload, requirements, options);
  const now = options.now === undefined ? Date.now() : nowSeconds(options.now) * 1000;
  const urls = Array.isArray(options.rpcUrl) ? options.rpcUrl : [options.rpcUrl];
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const post = fetchTransport(fetchFn, options.timeoutMs ?? 10_000);
  if (isSolana(requirements)) {
    const feePayers = json(options.feePayers ?? null, 'feePayers');
    return unwrap(await wasm.verifySvmOnline(json(payload, 'payload'), json(requirements, 'requirements'), now, json(urls, 'rpcUrl'), feePayers, post, sleep));
  }
  const answer = await wasm.verifyOnline(
    json(payload, 'payload'),
    json(requirements, 'requirements'),
    now,
    json(urls, 'rpcUrl'),
    json(options.allowedFactories ?? [], 'allowedFactories'),
    post,
    sleep,
  );
  return unwrap(answer);
}

// ------------------------------------------------------------------------------------------------
// EVM helpers

/** The EIP-712 digest a payer signs for an EIP-3009 `TransferWithAuthorization`. */
export function authorizationDigest(authorization: Eip3009Authorization, domain: Eip712Domain): `0x${string}` {
  return unwrap(wasm.authorizationDigest(json(authorization, 'authorization'), json(domain, 'domain')));
}

/** The checksummed address an EOA signature of the authorization recovers to. */
export function recoverAuthorizationSigner(
  authorization: Eip3009Authorization,
  signature: string,
  domain: Eip712Domain,
): `0x${string}` {
  return unwrap(
    wasm.recoverAuthorizationSigner(
      json(authorization, 'authorization'),
      text(signature, 'signature'),
      json(domain, 'domain'),
    ),
  );
}
