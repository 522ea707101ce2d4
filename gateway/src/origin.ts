// Forwarding a request to the origin: the gateway's own headers stay behind, the payment header and
// X-Payment-Id too (unless FORWARD_PAYMENT_HEADER), and the origin gets ORIGIN_TIMEOUT_MS to answer before the gateway
// gives up with 504. A failed or timed-out origin call is never settled.

import type { GatewayConfig, GatewayEnv } from './config';
import { ENTITLEMENT_HEADER, PAYMENT_HEADERS } from './payment-header';
import { originFetch } from './seams';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the runtime sets itself. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length'];

export type OriginResult = { ok: true; response: Response } | { ok: false; status: 502 | 504; reason: string; message: string };

/** The origin URL of `request`: ORIGIN_URL's path, then the request's path and query. */
export function originUrlFor(config: GatewayConfig, request: Request): URL {
  const incoming = new URL(request.url);
  const target = new URL(config.originUrl.href);
  target.pathname = `${target.pathname.replace(/\/+$/, '')}${incoming.pathname}`;
  target.search = incoming.search;
  return target;
}

/** Sends `request` to the origin and waits at most ORIGIN_TIMEOUT_MS for its answer (headers). */
export async function callOrigin(env: GatewayEnv, config: GatewayConfig, request: Request): Promise<OriginResult> {
  const headers = new Headers(request.headers);
  for (const name of HOP_BY_HOP) headers.delete(name);
  if (!config.forwardPaymentHeader) for (const name of [...PAYMENT_HEADERS, ENTITLEMENT_HEADER]) headers.delete(name);
  headers.set('x-forwarded-host', new URL(request.url).host);
  const target = originUrlFor(config, request);
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
  // The deadline covers the origin's answer (status and headers), not the body streaming after it.
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), config.originTimeoutMs);
  const outgoing = new Request(target, { method: request.method, headers, body: hasBody ? request.body : undefined, redirect: 'manual', signal: deadline.signal });
  try {
    const response = await (env.ORIGIN ? env.ORIGIN.fetch(outgoing) : originFetch(outgoing));
    return { ok: true, response };
  } catch (e) {
    if (deadline.signal.aborted) {
      return { ok: false, status: 504, reason: 'origin_timeout', message: `the origin did not answer within ${config.originTimeoutMs} ms` };
    }
    return { ok: false, status: 502, reason: 'origin_unreachable', message: `the origin could not be reached: ${(e as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
