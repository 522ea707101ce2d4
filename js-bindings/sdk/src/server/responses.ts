// How the facilitator's HTTP answers become results or errors, exactly as @x402/core 2.27's
// HTTPFacilitatorClient turns them (src/http/httpFacilitatorClient.ts), so that @x402/hono and
// @x402/express answer the same with either client: a non-2xx body with `isValid` / `success` is thrown
// as VerifyError / SettleError (the middlewares turn those into 402s with the reason), any other non-2xx
// answer as a plain Error, a 2xx body that is not the expected shape as FacilitatorResponseError (502).

import { FacilitatorResponseError, SettleError, VerifyError } from '@x402/core/types';
import type { SettleResponse, SupportedKind, SupportedResponse, VerifyResponse } from '@x402/core/types';

type Operation = 'verify' | 'settle' | 'supported';
type Json = Record<string, unknown>;

/** A compact excerpt of a response body for error messages (never more than `limit` characters). */
export function responseExcerpt(text: string, limit = 200): string {
  const compact = text.trim().replace(/\s+/g, ' ');
  if (!compact) return '<empty response>';
  return compact.length <= limit ? compact : `${compact.slice(0, limit - 3)}...`;
}

/** A non-2xx answer of /verify or /settle: the error @x402/core's client throws for it. */
export function failureError(operation: 'verify' | 'settle', status: number, text: string): Error {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return new Error(`Facilitator ${operation} failed (${status}): ${responseExcerpt(text)}`);
  }
  if (isObject(data) && operation === 'verify' && 'isValid' in data) {
    return new VerifyError(status, data as unknown as VerifyResponse);
  }
  if (isObject(data) && operation === 'settle' && 'success' in data) {
    return new SettleError(status, data as unknown as SettleResponse);
  }
  return new Error(`Facilitator ${operation} failed (${status}): ${responseExcerpt(JSON.stringify(data))}`);
}

/** A 2xx body, parsed and checked with `parse`; FacilitatorResponseError when it is not that shape. */
export function parseSuccess<T>(operation: Operation, text: string, parse: (data: unknown) => T | undefined): T {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new FacilitatorResponseError(`Facilitator ${operation} returned invalid JSON: ${responseExcerpt(text)}`);
  }
  const parsed = parse(data);
  if (parsed === undefined) {
    throw new FacilitatorResponseError(`Facilitator ${operation} returned invalid data: ${responseExcerpt(text)}`);
  }
  return parsed;
}

export function parseVerifyResponse(data: unknown): VerifyResponse | undefined {
  if (!isObject(data) || typeof data.isValid !== 'boolean') return undefined;
  const optional = optionalFields(data, ['invalidReason', 'invalidMessage', 'payer'], ['extensions', 'extra']);
  return optional && { isValid: data.isValid, ...optional };
}

export function parseSettleResponse(data: unknown): SettleResponse | undefined {
  if (!isObject(data) || typeof data.success !== 'boolean') return undefined;
  if (typeof data.transaction !== 'string' || typeof data.network !== 'string') return undefined;
  const optional = optionalFields(data, ['errorReason', 'errorMessage', 'payer', 'amount'], ['extensions', 'extra']);
  if (!optional) return undefined;
  return { success: data.success, transaction: data.transaction, network: data.network as SettleResponse['network'], ...optional };
}

export function parseSupportedResponse(data: unknown): SupportedResponse | undefined {
  if (!isObject(data) || !Array.isArray(data.kinds)) return undefined;
  const kinds = data.kinds.map(parseKind);
  if (kinds.some((k) => k === undefined)) return undefined;
  const extensions = data.extensions ?? [];
  if (!Array.isArray(extensions) || !extensions.every((e) => typeof e === 'string')) return undefined;
  const signers = data.signers ?? {};
  if (!isObject(signers) || !Object.values(signers).every(isStringArray)) return undefined;
  return { kinds: kinds as SupportedKind[], extensions: extensions as string[], signers: signers as Record<string, string[]> };
}

function parseKind(data: unknown): SupportedKind | undefined {
  if (!isObject(data) || typeof data.x402Version !== 'number') return undefined;
  if (typeof data.scheme !== 'string' || typeof data.network !== 'string') return undefined;
  const optional = optionalFields(data, [], ['extra']);
  return optional && { x402Version: data.x402Version, scheme: data.scheme, network: data.network as SupportedKind['network'], ...optional };
}

/**
 * The optional fields of `data` (null and absent both dropped, as @x402/core's schemas do), or
 * undefined when one has the wrong type.
 */
function optionalFields(data: Json, strings: string[], objects: string[]): Json | undefined {
  const out: Json = {};
  for (const key of [...strings, ...objects]) {
    const value = data[key];
    if (value === undefined || value === null) continue;
    const ok = strings.includes(key) ? typeof value === 'string' : isObject(value);
    if (!ok) return undefined;
    out[key] = value;
  }
  return out;
}

/**
 * The facilitator's `EXTENSION-RESPONSES` header (base64 JSON), attached as `extensionResponses` the
 * way @x402/core's client attaches it (a side channel; never merged into `extensions`).
 */
export function attachExtensionResponses<T extends { extensionResponses?: Record<string, unknown> }>(result: T, headers: Headers): T {
  const header = headers.get('EXTENSION-RESPONSES');
  if (!header) return result;
  try {
    const bytes = Uint8Array.from(atob(header), (c) => c.charCodeAt(0));
    const decoded: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (isObject(decoded)) result.extensionResponses = decoded;
  } catch {
    // A malformed header is ignored, as @x402/core does.
  }
  return result;
}

/** Whether an error (or one in its cause chain) is an AbortSignal's abort or timeout. */
export function isAbortOrTimeout(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 10 && current !== null && typeof current === 'object'; depth++) {
    const name = (current as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** The delay before retrying a 429 of GET /supported: Retry-After, else exponential; at most 30 s. */
export function retryDelay(retryAfter: string | null, attempt: number): number {
  let delay: number | null = null;
  if (retryAfter !== null) {
    const trimmed = retryAfter.trim();
    if (/^\d+$/.test(trimmed)) delay = Number(trimmed) * 1000;
    else if (!Number.isNaN(Date.parse(retryAfter))) delay = Date.parse(retryAfter) - Date.now();
  }
  if (delay === null || delay <= 0) delay = 1000 * 2 ** attempt;
  return Math.min(delay, 30_000);
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}
