// Entitlements in the gateway (RelayCore's `X-Payment-Id`): a route with `entitlement` terms declares
// them to clients as the `entitlement` extension of its 402, grants an id with the settled payment, and
// serves a later request that presents the id (instead of paying) while the terms last. The store is
// the tracking database's (`@x402-edge/sdk/tracking`).

import type { Entitlement, EntitlementRefusal, EntitlementTerms } from '@x402-edge/sdk/tracking';

/** The request header that presents an entitlement, and the response header that grants one. */
export const ENTITLEMENT_HEADER = 'X-Payment-Id';
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
