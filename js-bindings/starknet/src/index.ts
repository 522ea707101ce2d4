// The API of `@x402-edge/verify-starknet`, shared by every entry point (node, browser, workerd); each
// entry instantiates this package's wasm before it re-exports this module. Built from the same sources
// as `@x402-edge/verify` (js-bindings/src) with this file as its index.

import * as wasm from '../wasm/x402_edge.js';
import { fetchTransport, json, nowSeconds, sleep, text, unwrap } from './internal.js';
import type { PaymentPayload, PaymentPayloadV1, PaymentRequirements, PaymentRequirementsV1, VerifyOptionsBase, VerifyResultBase } from './types.js';

export type * from './types.js';
export { X402Error } from './internal.js';
export * from './headers.js';

/**
 * An x402 Starknet `exact` payment payload as x402-starknet and daydreams clients send it: `payload`
 * holds `{signature: {r, s} | felts, authorization: {from, to, amount, token, nonce, validUntil}}`, and
 * the SNIP-12 typed data of the SNIP-9 outside execution the account signed sits beside it (or in it).
 */
export interface StarknetPaymentPayload extends PaymentPayload {
  typedData?: unknown;
  paymasterEndpoint?: string;
}

export interface StarknetVerifyOptions extends VerifyOptionsBase {
  /**
   * With it, the account itself is asked (`is_valid_signature`, `is_valid_outside_execution_nonce`)
   * and the token's `balance_of`, in one batched request, exactly as the facilitator asks them.
   */
  rpcUrl?: string | string[];
  /**
   * The facilitator's sponsor accounts (its `/supported` `signers["starknet:*"]`): an outside execution
   * whose `Caller` is not `ANY_CALLER` must name one of them. Without it, the requirements'
   * `extra.sponsorAddress` is taken as given (`sponsorChecked: false`).
   */
  sponsors?: string[];
}

/**
 * `needsChain` here: every check that needs no chain passed, and only the account can judge its
 * signature, so `isValid` is false (with `invalid_exact_starknet_payload_signature`) until `rpcUrl` is
 * given. Reason codes are x402-starknet's.
 */
export interface StarknetVerifyResult extends VerifyResultBase {
  /** Whether the outside execution's caller was checked against `options.sponsors`. */
  sponsorChecked: boolean;
  /** The SNIP-12 hash the account signed, once the pure checks passed. */
  messageHash?: `0x${string}`;
}

type Payload = StarknetPaymentPayload | PaymentPayloadV1 | string;
type Requirements = PaymentRequirements | PaymentRequirementsV1;

/** The checks that need no chain, synchronously. See {@link verifyPayment}. */
export function verifyPaymentOffline(
  payload: Payload,
  requirements: Requirements,
  options: Pick<StarknetVerifyOptions, 'now' | 'sponsors'> = {},
): StarknetVerifyResult {
  const sponsors = json(options.sponsors ?? null, 'sponsors');
  return unwrap(wasm.verifyStarknet(json(payload, 'payload'), json(requirements, 'requirements'), nowSeconds(options.now), sponsors));
}

/**
 * Verifies an x402 Starknet `exact` payment as the facilitator does, with the same reason codes.
 * `payload` is the payment payload object or its header text.
 *
 * Without `options.rpcUrl`, every check that needs no chain runs: the authorization against the
 * requirements (token, recipient, amount), then what actually executes: the signed typed data must be a
 * SNIP-9 outside execution for this network's chain id, with exactly one call, `transfer(payTo, amount)`
 * on `asset`, agreeing with the authorization's nonce and expiry, a caller that may submit it, and a
 * window that has not closed. Such a payment has `needsChain: true`. With `options.rpcUrl`, the account
 * judges its signature and nonce and the token the balance.
 *
 * Throws {@link X402Error} for input the facilitator would refuse with HTTP 400.
 */
export async function verifyPayment(
  payload: Payload,
  requirements: Requirements,
  options: StarknetVerifyOptions = {},
): Promise<StarknetVerifyResult> {
  if (options.rpcUrl === undefined) return verifyPaymentOffline(payload, requirements, options);
  const now = options.now === undefined ? Date.now() : nowSeconds(options.now) * 1000;
  const urls = Array.isArray(options.rpcUrl) ? options.rpcUrl : [options.rpcUrl];
  const post = fetchTransport(options.fetch ?? globalThis.fetch.bind(globalThis), options.timeoutMs ?? 10_000);
  const answer = await wasm.verifyStarknetOnline(
    json(payload, 'payload'),
    json(requirements, 'requirements'),
    now,
    json(urls, 'rpcUrl'),
    json(options.sponsors ?? null, 'sponsors'),
    post,
    sleep,
  );
  return unwrap(answer);
}

/** The SNIP-12 message hash (revision 0 or 1) of typed data for `account`: what the account signs. */
export function messageHash(typedData: unknown, account: string): `0x${string}` {
  return unwrap(wasm.starknetMessageHash(json(typedData, 'typedData'), text(account, 'account')));
}
