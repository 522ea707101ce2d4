// The API, shared by every entry point (node, browser, workerd); each entry instantiates the wasm
// before it re-exports this module. Every wasm export answers a JSON envelope (see src/js/mod.rs):
// `{ok: true, value}` or `{ok: false, reason, message}`, which becomes a value or an X402Error here.

import * as wasm from '../wasm/x402_edge.js';
import type {
  Eip3009Authorization,
  Eip712Domain,
  PaymentPayload,
  PaymentPayloadV1,
  PaymentRequired,
  PaymentRequirements,
  PaymentRequirementsV1,
  SettleResponse,
  VerifyOptions,
  VerifyResult,
} from './types.js';

export type * from './types.js';

/** Malformed input: `reason` is the facilitator's reason code (`invalid_payload`, `invalid_network`, …). */
export class X402Error extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'X402Error';
    this.reason = reason;
  }
}

type Envelope<T> = { ok: true; value: T } | { ok: false; reason: string; message: string };

function unwrap<T>(text: string): T {
  const envelope = JSON.parse(text) as Envelope<T>;
  if (envelope.ok) return envelope.value;
  throw new X402Error(envelope.reason, envelope.message);
}

/** JSON text of a value, or an X402Error (undefined, a BigInt, a cycle). */
function json(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new X402Error('invalid_payload', `${what} cannot be sent as JSON: ${(e as Error).message}`);
  }
  if (text === undefined) throw new X402Error('invalid_payload', `${what} is missing`);
  return text;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new X402Error('invalid_payload', `${what} must be a string`);
  return value;
}

/** The x402 HTTP header names, by protocol version. */
export const HEADERS = Object.freeze({
  v1: Object.freeze({ payment: 'X-PAYMENT', response: 'X-PAYMENT-RESPONSE' }),
  v2: Object.freeze({ payment: 'PAYMENT-SIGNATURE', required: 'PAYMENT-REQUIRED', response: 'PAYMENT-RESPONSE' }),
});

// ------------------------------------------------------------------------------------------------
// headers: standard base64 of compact JSON, checked against the header's schema

/** Decodes `X-PAYMENT` (v1), `PAYMENT-SIGNATURE` (v2) or a Cronos `paymentHeader`. */
export function decodePaymentHeader(header: string): PaymentPayload | PaymentPayloadV1 {
  return unwrap(wasm.decodeHeader('payment', text(header, 'header')));
}

/** Encodes a payment payload for `X-PAYMENT` (v1) or `PAYMENT-SIGNATURE` (v2). */
export function encodePaymentHeader(payload: PaymentPayload | PaymentPayloadV1): string {
  return unwrap(wasm.encodeHeader('payment', json(payload, 'payload')));
}

/** Decodes `PAYMENT-REQUIRED` (v2). */
export function decodePaymentRequiredHeader(header: string): PaymentRequired {
  return unwrap(wasm.decodeHeader('required', text(header, 'header')));
}

export function encodePaymentRequiredHeader(required: PaymentRequired): string {
  return unwrap(wasm.encodeHeader('required', json(required, 'paymentRequired')));
}

/** Decodes `PAYMENT-RESPONSE` (v2) or `X-PAYMENT-RESPONSE` (v1). */
export function decodePaymentResponseHeader(header: string): SettleResponse {
  return unwrap(wasm.decodeHeader('response', text(header, 'header')));
}

export function encodePaymentResponseHeader(response: SettleResponse): string {
  return unwrap(wasm.encodeHeader('response', json(response, 'settleResponse')));
}

/** Any x402 header (`EXTENSION-RESPONSES`, say) without a schema check. */
export function decodeHeader(header: string): unknown {
  return unwrap(wasm.decodeHeader('any', text(header, 'header')));
}

export function encodeHeader(value: unknown): string {
  return unwrap(wasm.encodeHeader('any', json(value, 'value')));
}

// ------------------------------------------------------------------------------------------------
// verify

function nowSeconds(now: VerifyOptions['now']): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === 'number' && Number.isFinite(now) && now >= 0) return Math.floor(now);
  throw new X402Error('invalid_payload', 'options.now must be unix seconds or a Date');
}

/**
 * `(url, body, headers) => Promise<string>` over fetch (`headers`: JSON of extra headers); rejects with
 * the HTTP status, 'timeout', or a short text.
 */
function fetchTransport(fetchFn: typeof globalThis.fetch, timeoutMs: number) {
  return async (url: string, body: string, headers = '{}'): Promise<string> => {
    let response: Response;
    try {
      response = await fetchFn(url, {
        method: 'POST',
        headers: { ...(JSON.parse(headers) as Record<string, string>), 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        throw response.status;
      }
      return await response.text();
    } catch (e) {
      if (typeof e === 'number') throw e;
      const name = (e as { name?: string } | null)?.name;
      // Never the error's own text: it may hold the URL, and RPC URLs carry API keys.
      throw name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'fetch failed';
    }
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
