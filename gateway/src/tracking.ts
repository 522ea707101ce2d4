// Tracking in the gateway: which store (D1 `TRACKING_DB`, else PostgreSQL through Hyperdrive
// `TRACKING_HYPERDRIVE`, else none), which client details a record keeps, the admin API's key, and the
// payer a payment names. Records are written beside the response (`ctx.waitUntil`), never in its way.

import type { PaymentPayload } from '@x402/core/types';
import {
  type ClientFields,
  type D1Like,
  BudgetStore,
  d1Client,
  EntitlementStore,
  ADMIN_PATHS,
  handleTrackingAdmin,
  onceSchema,
  PaymentTracker,
  type PaymentIndexer,
  type PaymentRecord,
  type PgLike,
  postgresClient,
  type SqlClient,
  SqlTrackingStore,
} from '@x402-edge/sdk/tracking';

import type { GatewayConfig, GatewayEnv } from './config';
import { indexerFor, runIndexer } from './indexer';
import { json, logFailure } from './responses';

export interface Tracking {
  store: SqlTrackingStore;
  tracker: PaymentTracker;
  fields: ClientFields;
  entitlements: EntitlementStore;
  budgets: BudgetStore;
  indexer: PaymentIndexer;
  /** Creates the tables when missing, once per isolate (the tracker and the entitlements share it). */
  ready: () => Promise<void>;
}

/** The Hyperdrive binding's part the gateway uses: a connection string to the pooled PostgreSQL. */
interface HyperdriveLike {
  connectionString: string;
}

/** Tracking for this env, or null when no store is bound. Built once per env (the caller caches it). */
export function trackingFor(env: GatewayEnv): Tracking | null {
  const sql = sqlFor(env);
  if (!sql) return null;
  const store = new SqlTrackingStore(sql);
  const ready = onceSchema(store);
  const queue = queueOf(env.TRACKING_QUEUE);
  return {
    store,
    tracker: new PaymentTracker(store, { ensureSchema: ready, ...(queue ? { fallback: async (record) => void (await queue.send(record)) } : {}) }),
    fields: clientFields(env.TRACKING_CLIENT_FIELDS),
    entitlements: new EntitlementStore(sql),
    budgets: new BudgetStore(sql),
    indexer: indexerFor(env, sql),
    ready,
  };
}

/** The part of a Cloudflare Queue producer binding the tracker uses. */
interface QueueLike {
  send(body: unknown): Promise<unknown>;
}

const queueOf = (value: unknown): QueueLike | null =>
  typeof value === 'object' && value !== null && typeof (value as QueueLike).send === 'function' ? (value as QueueLike) : null;

/** The queue consumer's side: each message is a record whose write failed; written again, or retried later. */
export interface TrackingMessage {
  body: unknown;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** Writes the queued records; one that still fails is retried by the queue after `delaySeconds`. */
export async function writeQueued(tracking: Tracking, messages: readonly TrackingMessage[], delaySeconds: number): Promise<void> {
  for (const message of messages) {
    try {
      await tracking.tracker.retry(message.body as PaymentRecord);
      message.ack();
    } catch (e) {
      logFailure('a queued tracking record is still not written; retried later')(e);
      message.retry({ delaySeconds });
    }
  }
}

function sqlFor(env: GatewayEnv): SqlClient | null {
  const d1 = env.TRACKING_DB as D1Like | undefined;
  if (d1 && typeof d1.prepare === 'function') return d1Client(d1);
  const hyperdrive = env.TRACKING_HYPERDRIVE as HyperdriveLike | undefined;
  if (hyperdrive && typeof hyperdrive.connectionString === 'string') return postgresClient(perQueryConnection(hyperdrive.connectionString));
  return null;
}

/**
 * One `pg` connection per query: in Workers a socket cannot outlive its request, and Hyperdrive pools the
 * connections to the database itself, so connecting is cheap. `pg` loads on first use only.
 */
function perQueryConnection(connectionString: string): PgLike {
  return {
    async query(text, values) {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString });
      await client.connect();
      try {
        return await client.query(text, values as unknown[]);
      } finally {
        client.end().catch(() => {});
      }
    },
  };
}

/** TRACKING_CLIENT_FIELDS: a comma list of `ip`, `user-agent` (default `user-agent`; `none` for neither). */
export function clientFields(value: unknown): ClientFields {
  const names = typeof value === 'string' ? value.split(',').map((s) => s.trim().toLowerCase()) : ['user-agent'];
  return { clientIp: names.includes('ip'), userAgent: names.includes('user-agent') };
}

/** The admin API's answer for its paths (404 while tracking is off), else null. */
export async function trackingAdmin(request: Request, env: GatewayEnv, config: GatewayConfig, tracking: Tracking | null): Promise<Response | null> {
  const path = new URL(request.url).pathname;
  if (!ADMIN_PATHS.includes(path)) return null;
  if (!tracking) return json(404, { error: 'tracking_off', message: 'tracking is off: bind a D1 database as TRACKING_DB or Hyperdrive as TRACKING_HYPERDRIVE' });
  const adminKey = typeof env.ADMIN_API_KEY === 'string' && env.ADMIN_API_KEY !== '' ? env.ADMIN_API_KEY : undefined;
  const indexer = {
    run: () => runIndexer(tracking.indexer, config, tracking.ready),
    findings: async (limit: number) => (await tracking.ready(), tracking.indexer.findings(limit)),
    findingCounts: async () => (await tracking.ready(), tracking.indexer.findingCounts()),
  };
  return handleTrackingAdmin(request, { store: tracking.store, adminKey, indexer, ...(config.budgets ? { budgets: tracking.budgets } : {}) });
}

/** The payer an EVM payment names (EIP-3009 and upto `authorization`, Permit2) before the settle says; else null. */
export function payerOf(payload: PaymentPayload | undefined): string | null {
  const p = payload?.payload as Record<string, Record<string, unknown> | undefined> | undefined;
  const from = p?.authorization?.from ?? p?.permit2Authorization?.from;
  return typeof from === 'string' ? from : null;
}
