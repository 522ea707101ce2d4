// Entitlements in the gateway (RelayCore's `X-Payment-Id`): a route with `entitlement` terms declares
// them to clients as the `entitlement` extension of its 402, grants an id with the settled payment, and
// serves a later request that presents the id (instead of paying) while the terms last. The store is
// the tracking database's (`@x402-edge/sdk/tracking`).

import { withPrivateCacheControl } from '@x402/core/server';
import { ENTITLEMENT_ID, type Entitlement, type EntitlementRefusal, type EntitlementTerms } from '@x402-edge/sdk/tracking';

import type { GatewayConfig, GatewayEnv } from './config';
import { callOrigin } from './origin';
import { ENTITLEMENT_HEADER } from './payment-header';
import { json, logFailure, type Refuse, type settleAnswer, unsettledOriginAnswer, withoutSettlementOverrides } from './responses';
import type { Tracking } from './tracking';

const EXTENSION_KEY = 'entitlement';

/** The route's declared extension: what paying grants, so that a client knows to keep the id. */
export function entitlementExtension(terms: EntitlementTerms): Record<string, unknown> {
  return { [EXTENSION_KEY]: { info: { ...terms, header: ENTITLEMENT_HEADER } } };
}

/** The terms a verified payment's route declared, or null when it grants nothing. */
export function declaredTerms(declaredExtensions: Record<string, unknown> | undefined): EntitlementTerms | null {
  const info = (declaredExtensions?.[EXTENSION_KEY] as { info?: EntitlementTerms } | undefined)?.info;
  if (!info || (info.uses === undefined && info.windowSeconds === undefined)) return null;
  return { ...(info.uses !== undefined ? { uses: info.uses } : {}), ...(info.windowSeconds !== undefined ? { windowSeconds: info.windowSeconds } : {}) };
}

/** `METHOD /path`: the one resource an entitlement opens (the query is not part of it). */
export const resourceOf = (request: Request): string => `${request.method.toUpperCase()} ${new URL(request.url).pathname}`;

/** The entitlement's id and what is left of it, on the response that granted or used it. */
export function setEntitlementHeaders(headers: Headers, entitlement: Entitlement): void {
  headers.set(ENTITLEMENT_HEADER, entitlement.id);
  if (entitlement.usesLeft !== null) headers.set('X-Payment-Id-Uses-Left', String(entitlement.usesLeft));
  if (entitlement.expiresMs !== null) headers.set('X-Payment-Id-Expires', new Date(entitlement.expiresMs).toISOString());
}

export const REFUSALS: Record<EntitlementRefusal | 'invalid_payment_id', string> = {
  invalid_payment_id: 'X-Payment-Id is not an id this gateway gives (32 hex characters)',
  entitlement_not_found: 'no entitlement has this X-Payment-Id: pay for the resource',
  entitlement_wrong_resource: 'this X-Payment-Id was granted for another resource',
  entitlement_expired: "this X-Payment-Id's time window is over: pay again",
  entitlement_used_up: 'this X-Payment-Id has no uses left: pay again',
};

/**
 * The entitlement a settled payment on a route with terms grants, or null. It is written before the
 * response so the id works at once; if the write fails the paid request is still served (its content
 * was paid for), without an id.
 */
export async function grantEntitlement(
  tracking: Tracking | null,
  request: Request,
  terms: EntitlementTerms | null,
  answer: ReturnType<typeof settleAnswer>,
): Promise<Entitlement | null> {
  if (!terms || !tracking) return null;
  try {
    await tracking.ready();
    return await tracking.entitlements.grant({
      resource: resourceOf(request),
      terms,
      payer: answer?.payer ?? null,
      network: answer?.network ?? null,
      transaction: answer?.transaction || null,
      now: Date.now(),
    });
  } catch (e) {
    logFailure('the entitlement of a settled payment was not written')(e);
    return null;
  }
}

/**
 * A request that presents an entitlement instead of a payment: one use is taken (atomically), the origin
 * is called, and the use is given back when the origin fails. A refused id is the route's 402 with why.
 */
export async function useEntitlement(env: GatewayEnv, config: GatewayConfig, tracking: Tracking | null, request: Request, id: string, refuse: Refuse): Promise<Response> {
  if (!ENTITLEMENT_ID.test(id)) return refuse('invalid_payment_id', REFUSALS.invalid_payment_id);
  if (!tracking) return refuse('entitlement_not_found', REFUSALS.entitlement_not_found);
  let use: Awaited<ReturnType<Tracking['entitlements']['use']>>;
  try {
    await tracking.ready();
    use = await tracking.entitlements.use(id, resourceOf(request), Date.now());
  } catch (e) {
    logFailure('the entitlement store failed')(e);
    return json(503, { error: 'entitlements_unavailable', message: 'the entitlement could not be checked; try again or pay' });
  }
  if (!use.ok) return refuse(use.reason, REFUSALS[use.reason]);

  const origin = await callOrigin(env, config, request);
  if (!origin.ok || origin.response.status < 200 || origin.response.status >= 300) {
    await tracking.entitlements.giveBack(id).catch(logFailure('a use was not given back'));
    if (!origin.ok) return json(origin.status, { error: origin.reason, message: origin.message });
    return unsettledOriginAnswer(origin.response);
  }
  const served = withoutSettlementOverrides(origin.response);
  setEntitlementHeaders(served.headers, use.entitlement);
  served.headers.set('Cache-Control', withPrivateCacheControl(origin.response.headers.get('Cache-Control')));
  return served;
}
