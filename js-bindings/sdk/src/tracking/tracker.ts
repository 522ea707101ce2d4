// Writing records without delaying the response: the write runs in `waitUntil`, is retried a few times,
// and a failure is reported (never thrown into the request).

import type { PaymentRecord } from './record.js';
import type { SqlTrackingStore } from './store.js';

/** The part of a Worker's `ExecutionContext` (or any host's) that keeps a promise alive after the response. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface TrackerOptions {
  /** Called once a record could not be written after every attempt; logs by default (no record contents). */
  onTrackingError?: (error: unknown, record: PaymentRecord) => void;
  /** Pauses between attempts, in ms; three attempts by default. */
  retryDelaysMs?: readonly number[];
  /** Creates the tables when missing; by default `store.migrate()` once per tracker (see `onceSchema`). */
  ensureSchema?: () => Promise<void>;
  /**
   * Where a record goes when every attempt failed, for a later write (a Cloudflare Queue: the gateway's
   * `TRACKING_QUEUE`, whose consumer calls `insert` again). Only if this fails too is the record reported lost.
   */
  fallback?: (record: PaymentRecord) => Promise<void>;
}

/**
 * `store.migrate()` once, shared by everything that uses the tables in this isolate; a failure is
 * retried on the next call.
 */
export function onceSchema(store: SqlTrackingStore): () => Promise<void> {
  let ready: Promise<void> | null = null;
  return () =>
    (ready ??= store.migrate().catch((e) => {
      ready = null;
      throw e;
    }));
}

export class PaymentTracker {
  private readonly schema: () => Promise<void>;
  private readonly retryDelaysMs: readonly number[];
  private readonly onTrackingError: (error: unknown, record: PaymentRecord) => void;
  private readonly fallback: ((record: PaymentRecord) => Promise<void>) | undefined;

  constructor(
    private readonly store: SqlTrackingStore,
    options: TrackerOptions = {},
  ) {
    this.retryDelaysMs = options.retryDelaysMs ?? [50, 250];
    this.schema = options.ensureSchema ?? onceSchema(store);
    this.fallback = options.fallback;
    this.onTrackingError =
      options.onTrackingError ??
      ((error, record) =>
        console.error(`x402-edge tracking: record ${record.id} (${record.settleOutcome}${record.transaction ? ` ${record.transaction}` : ''}) not written:`, error instanceof Error ? error.name : typeof error));
  }

  /** Queues `record`'s write beside the response. */
  track(ctx: WaitUntil, record: PaymentRecord): void {
    ctx.waitUntil(this.write(record));
  }

  /** Writes `record`, retrying; resolves either way (a failure goes to `onTrackingError`). */
  async write(record: PaymentRecord): Promise<void> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retryDelaysMs.length; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, this.retryDelaysMs[attempt - 1]));
      try {
        await this.schema();
        await this.store.insert(record);
        return;
      } catch (e) {
        lastError = e;
      }
    }
    if (this.fallback) {
      try {
        await this.fallback(record);
        console.warn(`x402-edge tracking: record ${record.id} queued for a later write`);
        return;
      } catch (e) {
        lastError = e;
      }
    }
    try {
      this.onTrackingError(lastError, record);
    } catch {
      // A failing error handler must not fail the request either.
    }
  }

  /** Writes a record taken from the fallback (a queue consumer); throws when the store still fails. */
  async retry(record: PaymentRecord): Promise<void> {
    await this.schema();
    await this.store.insert(record);
  }
}
