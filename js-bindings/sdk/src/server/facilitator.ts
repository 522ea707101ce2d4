// EdgeFacilitatorClient: @x402/core's FacilitatorClient for the x402-edge facilitator. `verify` runs the
// facilitator's own Rust checks in-process (@x402-edge/verify, wasm): no network hop on the paid path.
// `settle` and `getSupported` go to the facilitator, over a Cloudflare Service Binding when there is one
// (no public hop) or its URL. Answers and errors are shaped as @x402/core's HTTPFacilitatorClient shapes
// them, so @x402/hono, @x402/express and @x402/next behave the same with either client.
//
// What local verify cannot see: the facilitator's settlement ledger. A payment that was already settled
// passes a local verify (unless `rpcUrls` lets it read the chain: an EIP-3009 nonce that was used is
// refused then), and is refused at settle instead (`duplicate_settlement`): the facilitator settles each
// payment exactly once whatever verify said. The official middlewares settle before they release the
// handler's response (@x402/express buffers res.write/res.end, @x402/hono holds c.res, until
// processSettlement succeeds), so a replayed header gets a 402, never the content; but the handler has
// run for it. Handlers with side effects that must not repeat for a replay should use `rpcUrls` (EVM)
// or `verify: 'remote'`. Likewise the facilitator's own policies (API keys, rate limits, asset and payTo
// allowlists) are not known here: they refuse at settle.

import { verifyPayment, X402Error } from '@x402-edge/verify';
import type { VerifyOptions, VerifyResult } from '@x402-edge/verify';
import { FacilitatorTimeoutError, VerifyError } from '@x402/core/types';
import type {
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  SupportedResponse,
  VerifyResponse,
} from '@x402/core/types';
import type { FacilitatorClient } from '@x402/core/server';

import { lookupNetwork } from '../networks.js';
import {
  attachExtensionResponses,
  failureError,
  isAbortOrTimeout,
  isObject,
  parseSettleResponse,
  parseSuccess,
  parseSupportedResponse,
  parseVerifyResponse,
  responseExcerpt,
  retryDelay,
} from './responses.js';

/** A Cloudflare Service Binding to the facilitator Worker (`env.FACILITATOR`). */
export interface FacilitatorBinding {
  fetch(request: Request): Promise<Response>;
}

export interface EdgeFacilitatorOptions {
  /** The facilitator's base URL (e.g. `http://127.0.0.1:8787`); used when there is no `binding`. */
  url?: string;
  /** `env.FACILITATOR`: settle and supported go through it (no public hop). Takes precedence over `url`. */
  binding?: FacilitatorBinding;
  /** Sent as `Authorization: Bearer <key>` (one of the facilitator's FACILITATOR_API_KEYS). */
  apiKey?: string;
  /**
   * Network (CAIP-2 id or v1 name) → JSON-RPC endpoint(s): local verify runs the chain checks too (EVM:
   * token, nonce, balance, simulation, contract wallets; Solana: a simulation).
   */
  rpcUrls?: Record<string, string | string[]>;
  /** `local` (default): in-process, the facilitator's /verify only for what the local verifier cannot judge. */
  verify?: 'local' | 'remote';
  /** How long GET /supported is cached, in ms (default 60 000). */
  supportedTtlMs?: number;
  /** Per facilitator request, in ms (default 30 000 for settle, 10 000 otherwise); also local verify's RPC timeout. */
  timeoutMs?: number;
  /** The fetch for the facilitator URL and the RPCs (default: the global fetch at call time). */
  fetch?: typeof fetch;
  /**
   * ERC-6492 factories through which a counterfactual wallet may be deployed, for local verify with
   * `rpcUrls` (the facilitator's EIP6492_ALLOWED_FACTORIES; default none).
   */
  allowedFactories?: string[];
}

const DEFAULT_SUPPORTED_TTL_MS = 60_000;
const DEFAULT_SETTLE_TIMEOUT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;
/** AbortSignal.timeout() takes an integer that fits Node's 32-bit timers. */
const MAX_TIMEOUT_MS = 2_147_483_647;
/** The facilitator's request body limit (src/api.rs MAX_BODY_BYTES): a larger payment is refused locally alike. */
const MAX_BODY_BYTES = 64 * 1024;
/** The host of Service Binding requests when no URL is given (a binding ignores it). */
const BINDING_BASE = 'https://facilitator.internal';
const SUPPORTED_RETRIES = 3;

/**
 * Local verify's errors that mean "not mine to judge" rather than "invalid": a scheme, payload type or
 * network the wasm package does not carry (Permit2, Starknet, …). The facilitator's /verify decides those.
 */
const NOT_LOCAL = new Set(['unsupported_scheme', 'unsupported_payload_type', 'invalid_network']);

export class EdgeFacilitatorClient implements FacilitatorClient {
  private readonly options: EdgeFacilitatorOptions;
  private readonly base: string;
  private readonly supportedTtlMs: number;
  private supportedCache: { expires: number; value: Promise<SupportedResponse> } | undefined;

  constructor(options: EdgeFacilitatorOptions) {
    if (!options?.binding && !options?.url) throw new TypeError('EdgeFacilitatorClient: pass `binding` or `url`');
    if (options.timeoutMs !== undefined) checkTimeout(options.timeoutMs);
    if (options.verify !== undefined && options.verify !== 'local' && options.verify !== 'remote') {
      throw new TypeError("EdgeFacilitatorClient: `verify` is 'local' or 'remote'");
    }
    this.options = { ...options };
    this.base = (options.url ?? BINDING_BASE).replace(/\/+$/, '');
    this.supportedTtlMs = options.supportedTtlMs ?? DEFAULT_SUPPORTED_TTL_MS;
  }

  /**
   * Verifies in-process (see the module comment for what that cannot see), falling back to the
   * facilitator's POST /verify for what the local verifier cannot judge; `verify: 'remote'` always asks it.
   */
  async verify(paymentPayload: PaymentPayload, paymentRequirements: PaymentRequirements): Promise<VerifyResponse> {
    const body = requestBody(paymentPayload, paymentRequirements);
    if (this.options.verify !== 'remote') {
      const local = await this.verifyLocally(paymentPayload, paymentRequirements, body);
      if (local) return local;
    }
    return this.verifyRemotely(body);
  }

  /** POST /settle: exact-once at the facilitator (its settlement ledger). */
  async settle(paymentPayload: PaymentPayload, paymentRequirements: PaymentRequirements): Promise<SettleResponse> {
    const body = requestBody(paymentPayload, paymentRequirements);
    return this.request('settle', DEFAULT_SETTLE_TIMEOUT_MS, { method: 'POST', body }, async (response) => {
      const text = await response.text();
      if (!response.ok) throw failureError('settle', response.status, text);
      return attachExtensionResponses(parseSuccess<SettleResponse>('settle', text, parseSettleResponse), response.headers);
    });
  }

  /** GET /supported, cached for `supportedTtlMs`; a failure is not cached. */
  getSupported(): Promise<SupportedResponse> {
    const now = Date.now();
    if (this.supportedCache && this.supportedCache.expires > now) return this.supportedCache.value;
    const value = this.fetchSupported();
    const entry = { expires: now + this.supportedTtlMs, value };
    this.supportedCache = entry;
    value.catch(() => {
      if (this.supportedCache === entry) this.supportedCache = undefined;
    });
    return value;
  }

  // ---------------------------------------------------------------------------------------------
  // verify

  /** The local verdict, or undefined when the facilitator must judge. */
  private async verifyLocally(payload: PaymentPayload, requirements: PaymentRequirements, body: string): Promise<VerifyResponse | undefined> {
    if (new TextEncoder().encode(body).length > MAX_BODY_BYTES) {
      // What the facilitator answers (413 with a VerifyResponse body), thrown as its client throws it.
      throw new VerifyError(413, { isValid: false, invalidReason: 'invalid_payload', invalidMessage: `request body exceeds ${MAX_BODY_BYTES} bytes` });
    }
    const rpcUrl = lookupNetwork(this.options.rpcUrls, requirements.network);
    let result: VerifyResult;
    try {
      result = await verifyPayment(payload, requirements, await this.verifyOptions(rpcUrl));
    } catch (error) {
      if (!(error instanceof X402Error)) return undefined; // e.g. the RPC failed: the facilitator decides
      if (NOT_LOCAL.has(error.reason)) return undefined;
      // The facilitator answers such a request 400 with this VerifyResponse; its client throws it so.
      throw new VerifyError(400, { isValid: false, invalidReason: error.reason, invalidMessage: error.message });
    }
    if (result.invalidReason === 'unsupported_payload_type' || (result.needsChain && rpcUrl === undefined)) return undefined;
    return toVerifyResponse(result);
  }

  private async verifyOptions(rpcUrl: string | string[] | undefined): Promise<VerifyOptions> {
    const supported = await this.getSupported();
    const options: VerifyOptions = { timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS };
    const spenders = facilitatorAddresses(supported, 'eip155', ['spender', 'facilitator']);
    const feePayers = facilitatorAddresses(supported, 'solana', ['feePayer']);
    if (spenders.length) options.spenders = spenders;
    if (feePayers.length) options.feePayers = feePayers;
    if (rpcUrl !== undefined) options.rpcUrl = rpcUrl;
    if (this.options.allowedFactories) options.allowedFactories = this.options.allowedFactories;
    if (this.options.fetch) options.fetch = this.options.fetch;
    return options;
  }

  private verifyRemotely(body: string): Promise<VerifyResponse> {
    return this.request('verify', DEFAULT_TIMEOUT_MS, { method: 'POST', body }, async (response) => {
      const text = await response.text();
      if (!response.ok) throw failureError('verify', response.status, text);
      return attachExtensionResponses(parseSuccess<VerifyResponse>('verify', text, parseVerifyResponse), response.headers);
    });
  }

  // ---------------------------------------------------------------------------------------------
  // transport

  /** GET /supported, retried on 429 as @x402/core's client retries it. */
  private async fetchSupported(): Promise<SupportedResponse> {
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.request('supported', DEFAULT_TIMEOUT_MS, { method: 'GET' }, async (response) => {
        if (response.ok) return { ok: true as const, value: parseSuccess<SupportedResponse>('supported', await response.text(), parseSupportedResponse) };
        const text = await response.text().catch((cause: unknown) => {
          if (isAbortOrTimeout(cause)) throw cause;
          return response.statusText;
        });
        const error = new Error(`Facilitator getSupported failed (${response.status}): ${responseExcerpt(text)}`);
        return { ok: false as const, error, status: response.status, retryAfter: response.headers.get('Retry-After') };
      });
      if (outcome.ok) return outcome.value;
      if (outcome.status !== 429 || attempt + 1 >= SUPPORTED_RETRIES) throw outcome.error;
      await new Promise((resolve) => setTimeout(resolve, retryDelay(outcome.retryAfter, attempt)));
    }
  }

  /**
   * One request to the facilitator under a deadline that covers the body too (`read` runs under it);
   * an expired deadline is FacilitatorTimeoutError (a 502 in the middlewares; for settle an
   * indeterminate outcome: the facilitator may still settle, and a retry is answered from its ledger).
   */
  private async request<T>(
    operation: 'verify' | 'settle' | 'supported',
    defaultTimeoutMs: number,
    init: { method: 'GET' | 'POST'; body?: string },
    read: (response: Response) => Promise<T>,
  ): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? defaultTimeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const response = await this.send(`${this.base}/${operation}`, { ...init, headers: this.headers(), signal, redirect: 'follow' });
      return await read(response);
    } catch (error) {
      if (signal.aborted && isAbortOrTimeout(error)) throw new FacilitatorTimeoutError(operation, timeoutMs);
      throw error;
    }
  }

  private send(url: string, init: RequestInit): Promise<Response> {
    const binding = this.options.binding;
    if (binding) return binding.fetch(new Request(url, init));
    const fetchFn = this.options.fetch ?? globalThis.fetch;
    return fetchFn(url, init);
  }

  /** The API key goes in this header only: never in a URL or a message. */
  private headers(): Record<string, string> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (this.options.apiKey) headers.Authorization = `Bearer ${this.options.apiKey}`;
    return headers;
  }
}

function checkTimeout(timeoutMs: number): void {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new RangeError(`timeoutMs must be a positive integer number of milliseconds no greater than ${MAX_TIMEOUT_MS}`);
  }
}

/** The facilitator's request body, BigInts as decimal strings (as @x402/core sends them). */
function requestBody(paymentPayload: PaymentPayload, paymentRequirements: PaymentRequirements): string {
  const bigints = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);
  return JSON.stringify({ x402Version: paymentPayload.x402Version, paymentPayload, paymentRequirements }, bigints);
}

/** @x402/core's VerifyResponse: our extra fields (needsChain, chainChecked, sessionId, …) dropped. */
function toVerifyResponse(result: VerifyResult): VerifyResponse {
  const response: VerifyResponse = { isValid: result.isValid };
  if (result.invalidReason !== undefined) response.invalidReason = result.invalidReason;
  if (result.invalidMessage !== undefined) response.invalidMessage = result.invalidMessage;
  if (result.payer !== undefined) response.payer = result.payer;
  return response;
}

/**
 * The facilitator's addresses for a family (`eip155`, `solana`) from /supported: its signers for that
 * family and the given `extra` fields of its kinds there (the upto spender, the Solana fee payer).
 */
function facilitatorAddresses(supported: SupportedResponse, family: string, extraFields: string[]): string[] {
  const addresses = new Set<string>();
  for (const [pattern, signers] of Object.entries(supported.signers)) {
    if (pattern.split(':')[0] === family) signers.forEach((s) => addresses.add(s));
  }
  for (const kind of supported.kinds) {
    if (!kind.network.startsWith(`${family}:`) || !isObject(kind.extra)) continue;
    for (const field of extraFields) {
      const value = kind.extra[field];
      if (typeof value === 'string') addresses.add(value);
    }
  }
  return [...addresses];
}
