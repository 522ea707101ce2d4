// The payment header is untrusted input read before anything else: its size is bounded and its shape
// checked here, so that a malformed or oversized one is a 402 with a reason (never a 500, never silently
// treated as "no payment").

import { decodePaymentSignatureHeader } from '@x402/core/http';
import type { PaymentPayload } from '@x402/core/types';

export type HeaderCheck =
  | { kind: 'none' }
  | { kind: 'payment'; header: string; payload: PaymentPayload }
  | { kind: 'refused'; reason: string; message: string };

/** The request header that presents an entitlement, and the response header that grants one. */
export const ENTITLEMENT_HEADER = 'X-Payment-Id';

/** The v2 header, and the v1 one (`X-PAYMENT`) that this gateway does not settle. */
export const PAYMENT_HEADERS = ['payment-signature', 'x-payment'] as const;

/** Checks the request's payment header: absent, a well-formed v2 payment, or refused with a reason. */
export function checkPaymentHeader(headers: Headers, maxBytes: number): HeaderCheck {
  const v2 = headers.get('payment-signature');
  const v1 = headers.get('x-payment');
  if (v2 === null && v1 === null) return { kind: 'none' };
  const header = v2 ?? v1 ?? '';
  const bytes = new TextEncoder().encode(header).length;
  if (bytes > maxBytes) {
    return { kind: 'refused', reason: 'payment_header_too_large', message: `the payment header is ${bytes} bytes; at most ${maxBytes} are accepted` };
  }
  if (v2 === null) {
    return {
      kind: 'refused',
      reason: 'unsupported_x402_version',
      message: 'X-PAYMENT (x402 v1) is served on routes priced on a Cronos network only (the Crypto.com dialect): pay with PAYMENT-SIGNATURE (x402 v2) against the PAYMENT-REQUIRED header',
    };
  }
  let payload: unknown;
  try {
    payload = decodePaymentSignatureHeader(header.trim());
  } catch (e) {
    return { kind: 'refused', reason: 'invalid_payment_header', message: `PAYMENT-SIGNATURE is not base64-encoded JSON: ${(e as Error).message}` };
  }
  const problem = shapeProblem(payload);
  if (problem) return { kind: 'refused', reason: 'invalid_payment_header', message: `PAYMENT-SIGNATURE ${problem}` };
  return { kind: 'payment', header: header.trim(), payload: payload as PaymentPayload };
}

/** What is wrong with a decoded v2 payment payload's outline, or null. The scheme checks the rest. */
function shapeProblem(p: unknown): string | null {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) return 'is not a JSON object';
  const o = p as Record<string, unknown>;
  if (o.x402Version !== 2) return `has x402Version ${JSON.stringify(o.x402Version)}; this gateway serves x402 v2`;
  const accepted = o.accepted as Record<string, unknown> | undefined;
  if (typeof accepted !== 'object' || accepted === null || Array.isArray(accepted)) return 'has no `accepted` requirements';
  if (typeof accepted.scheme !== 'string' || typeof accepted.network !== 'string') return '`accepted` has no scheme or network';
  if (typeof o.payload !== 'object' || o.payload === null || Array.isArray(o.payload)) return 'has no `payload` object';
  return null;
}
