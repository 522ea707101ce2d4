// The x402 headers, through the core codec (the same in every package).

import * as wasm from '../wasm/x402_edge.js';
import { json, text, unwrap } from './internal.js';
import type { PaymentPayload, PaymentPayloadV1, PaymentRequired, SettleResponse } from './types.js';

/** The x402 HTTP header names, by protocol version. */
export const HEADERS = Object.freeze({
  v1: Object.freeze({ payment: 'X-PAYMENT', response: 'X-PAYMENT-RESPONSE' }),
  v2: Object.freeze({ payment: 'PAYMENT-SIGNATURE', required: 'PAYMENT-REQUIRED', response: 'PAYMENT-RESPONSE' }),
});

// Standard base64 of compact JSON, checked against the header's schema.

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
