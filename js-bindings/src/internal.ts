// What every package's API is built from: the envelope every wasm export answers (see src/js/mod.rs),
// the one error type, JSON in, the clock option, and the JSON-RPC transport over fetch.

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

export function unwrap<T>(text: string): T {
  const envelope = JSON.parse(text) as Envelope<T>;
  if (envelope.ok) return envelope.value;
  throw new X402Error(envelope.reason, envelope.message);
}

/** JSON text of a value, or an X402Error (undefined, a BigInt, a cycle). */
export function json(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new X402Error('invalid_payload', `${what} cannot be sent as JSON: ${(e as Error).message}`);
  }
  if (text === undefined) throw new X402Error('invalid_payload', `${what} is missing`);
  return text;
}

export function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new X402Error('invalid_payload', `${what} must be a string`);
  return value;
}

/** `options.now` in unix seconds (default: now). */
export function nowSeconds(now: number | Date | undefined): number {
  if (now === undefined) return Math.floor(Date.now() / 1000);
  if (now instanceof Date) return Math.floor(now.getTime() / 1000);
  if (typeof now === 'number' && Number.isFinite(now) && now >= 0) return Math.floor(now);
  throw new X402Error('invalid_payload', 'options.now must be unix seconds or a Date');
}

/**
 * `(url, body, headers) => Promise<string>` over fetch (`headers`: JSON of extra headers); rejects with
 * the HTTP status, 'timeout', or a short text.
 */
export function fetchTransport(fetchFn: typeof globalThis.fetch, timeoutMs: number) {
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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
