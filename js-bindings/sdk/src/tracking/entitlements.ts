// Entitlements (RelayCore's `X-Payment-Id`): a settled payment on a route that grants one yields an id
// bound to the resource it bought and to its terms (a number of further uses, a time window, or both).
// The client presents the id instead of paying again; each use is one atomic UPDATE, so two concurrent
// uses of the last one serve once. Same SQL on D1 and PostgreSQL (UPDATE … RETURNING is in both).

import type { SqlClient } from './sql.js';

/** What a payment grants: `uses` further requests, within `windowSeconds` of the payment; at least one. */
export interface EntitlementTerms {
  uses?: number;
  windowSeconds?: number;
}

export interface Entitlement {
  id: string;
  /** `METHOD /path`: the one resource it opens. */
  resource: string;
  /** Uses left; null when only the window limits it. */
  usesLeft: number | null;
  /** When it expires (ms since the epoch); null when only the uses limit it. */
  expiresMs: number | null;
}

export type EntitlementRefusal = 'entitlement_not_found' | 'entitlement_wrong_resource' | 'entitlement_expired' | 'entitlement_used_up';

export type Use = { ok: true; entitlement: Entitlement } | { ok: false; reason: EntitlementRefusal };

/** An id as the gateway makes them (and what a header may carry): 32 hex characters of randomness. */
export const ENTITLEMENT_ID = /^[0-9a-f]{32}$/;

export class EntitlementStore {
  constructor(private readonly sql: SqlClient) {}

  /** Records a new entitlement for a settled payment and returns it (its id is unguessable). */
  async grant(grant: { resource: string; terms: EntitlementTerms; payer: string | null; network: string | null; transaction: string | null; now: number }): Promise<Entitlement> {
    const id = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    const usesLeft = grant.terms.uses ?? null;
    const expiresMs = grant.terms.windowSeconds === undefined ? null : grant.now + grant.terms.windowSeconds * 1000;
    await this.sql.run(
      'INSERT INTO x402_entitlements (id, resource, payer, network, tx, created_ms, expires_ms, uses_left) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [id, grant.resource, grant.payer, grant.network, grant.transaction, grant.now, expiresMs, usesLeft],
    );
    return { id, resource: grant.resource, usesLeft, expiresMs };
  }

  /** Takes one use of `id` for `resource` at `now`, or says why not. Atomic: one UPDATE decides. */
  async use(id: string, resource: string, now: number): Promise<Use> {
    const [row] = await this.sql.all(
      'UPDATE x402_entitlements SET uses_left = uses_left - 1 ' +
        'WHERE id = ? AND resource = ? AND (expires_ms IS NULL OR expires_ms > ?) AND (uses_left IS NULL OR uses_left > 0) ' +
        'RETURNING uses_left, expires_ms',
      [id, resource, now],
    );
    if (row) return { ok: true, entitlement: { id, resource, usesLeft: nullableNumber(row.uses_left), expiresMs: nullableNumber(row.expires_ms) } };
    const [held] = await this.sql.all('SELECT resource, expires_ms, uses_left FROM x402_entitlements WHERE id = ?', [id]);
    if (!held) return { ok: false, reason: 'entitlement_not_found' };
    if (held.resource !== resource) return { ok: false, reason: 'entitlement_wrong_resource' };
    const expires = nullableNumber(held.expires_ms);
    if (expires !== null && expires <= now) return { ok: false, reason: 'entitlement_expired' };
    return { ok: false, reason: 'entitlement_used_up' };
  }

  /** Gives back a use taken for a request the origin failed (nothing is charged for a failed call). */
  async giveBack(id: string): Promise<void> {
    await this.sql.run('UPDATE x402_entitlements SET uses_left = uses_left + 1 WHERE id = ? AND uses_left IS NOT NULL', [id]);
  }
}

const nullableNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
