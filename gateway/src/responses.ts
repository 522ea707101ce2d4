// Responses the gateway's flows share: JSON answers, the facilitator's settle answer, and what is shown
// when the origin did not answer 2xx (nothing settled).

import { decodePaymentResponseHeader } from '@x402/core/http';
import { SETTLEMENT_OVERRIDES_HEADER } from '@x402/core/server';

/** A refusal with the route's 402 (its requirements, to pay instead) and `reason` as its error. */
export type Refuse = (reason: string, message: string) => Promise<Response>;

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}

/** The facilitator's settle answer in PAYMENT-RESPONSE, when the headers carry one that decodes. */
export function settleAnswer(headers: Record<string, string>): ReturnType<typeof decodePaymentResponseHeader> | null {
  const header = Object.entries(headers).find(([k]) => k.toLowerCase() === 'payment-response')?.[1];
  try {
    return header ? decodePaymentResponseHeader(header) : null;
  } catch {
    return null;
  }
}

/** Whether `response` carries a successful settlement (PAYMENT-RESPONSE with `success: true`). */
export function settledBy(response: Response): boolean {
  const receipt = response.headers.get('payment-response');
  return receipt !== null && settleAnswer({ 'payment-response': receipt })?.success === true;
}

/**
 * The origin did not answer 2xx: nothing is settled. A 5xx is the gateway's 502; a redirect or the caller's
 * own mistake (4xx) is shown as the origin gave it, and not charged.
 */
export async function unsettledOriginAnswer(response: Response): Promise<Response> {
  if (response.status >= 500) {
    await response.body?.cancel();
    return json(502, { error: 'origin_error', message: `the origin answered ${response.status}; nothing was charged`, originStatus: response.status });
  }
  return withoutSettlementOverrides(response);
}

export function withoutSettlementOverrides(response: Response): Response {
  const copy = new Response(response.body, response);
  copy.headers.delete(SETTLEMENT_OVERRIDES_HEADER);
  return copy;
}

/** Logs a failure by its name only: a driver's or fetch's text may carry a connection string or URL. */
export const logFailure = (what: string) => (e: unknown) => console.error(`x402-edge gateway: ${what}`, e instanceof Error ? e.name : typeof e);
