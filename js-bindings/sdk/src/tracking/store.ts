// The tracking store: one SQL text for D1 and PostgreSQL (see sql.ts), written once per paid request,
// read by the admin API with filters, cursor paging and stats over a time range.

import { amountChunks, type PaymentRecord, type SettleOutcome, sumOfChunks, type VerifyOutcome } from './record.js';
import { TRACKING_SCHEMA } from './schema.js';
import type { Row, SqlClient, SqlValue } from './sql.js';

/** Filters and paging of `list`; `from` inclusive and `to` exclusive, in ms since the epoch. */
export interface PaymentQuery {
  from?: number;
  to?: number;
  network?: string;
  payer?: string;
  path?: string;
  verify?: VerifyOutcome;
  settle?: SettleOutcome;
  /** 1..MAX_PAGE. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface PaymentPage {
  records: PaymentRecord[];
  /** Present while older records remain. */
  nextCursor: string | null;
}

/** Revenue of one group: settled records only, the exact sum in the asset's base units. */
export interface Revenue {
  network: string | null;
  asset: string | null;
  count: number;
  amount: string;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
}

export interface PaymentStats {
  from: number;
  to: number;
  count: number;
  verified: number;
  handlerRan: number;
  settled: number;
  settleFailed: number;
  /** settled / count; null without records. */
  successRate: number | null;
  revenue: Revenue[];
  byResource: (Revenue & { resource: string })[];
  byPayer: (Revenue & { payer: string | null })[];
  latencyMs: { verify: Percentiles; settle: Percentiles; total: Percentiles };
}

/** One time bucket of `series`: volume, outcomes, mean latencies and revenue per (network, asset). */
export interface SeriesBucket {
  /** The bucket's first millisecond. */
  start: number;
  count: number;
  settled: number;
  /** settled / count; null for an empty bucket. */
  successRate: number | null;
  verifyMsAvg: number | null;
  settleMsAvg: number | null;
  revenue: { network: string | null; asset: string | null; amount: string }[];
}

export interface PaymentSeries {
  from: number;
  to: number;
  bucketMs: number;
  buckets: SeriesBucket[];
}

export const MAX_PAGE = 500;
/** Buckets of a series at most. */
export const MAX_BUCKETS = 500;
/** Groups per breakdown in stats (the largest by count). */
const TOP_GROUPS = 100;

const COLUMNS = [
  ['id', 'id'],
  ['atMs', 'at_ms'],
  ['method', 'method'],
  ['path', 'path'],
  ['resource', 'resource'],
  ['clientIp', 'client_ip'],
  ['userAgent', 'user_agent'],
  ['scheme', 'scheme'],
  ['network', 'network'],
  ['asset', 'asset'],
  ['payTo', 'pay_to'],
  ['amount', 'amount'],
  ['requirements', 'requirements'],
  ['payer', 'payer'],
  ['verifyOutcome', 'verify_outcome'],
  ['verifyReason', 'verify_reason'],
  ['handlerRan', 'handler_ran'],
  ['originStatus', 'origin_status'],
  ['settleOutcome', 'settle_outcome'],
  ['settleReason', 'settle_reason'],
  ['transaction', 'tx'],
  ['verifyMs', 'verify_ms'],
  ['handlerMs', 'handler_ms'],
  ['settleMs', 'settle_ms'],
  ['totalMs', 'total_ms'],
] as const satisfies readonly (readonly [keyof PaymentRecord, string])[];

const NUMERIC = new Set<keyof PaymentRecord>(['atMs', 'originStatus', 'verifyMs', 'handlerMs', 'settleMs', 'totalMs']);
const SELECT = `SELECT ${COLUMNS.map(([, c]) => c).join(', ')} FROM x402_payments`;
const INSERT =
  `INSERT INTO x402_payments (${COLUMNS.map(([, c]) => c).join(', ')}, amount_0, amount_1, amount_2, amount_3) ` +
  `VALUES (${Array(COLUMNS.length + 4).fill('?').join(', ')}) ON CONFLICT (id) DO NOTHING`;
const SUMS = 'CAST(SUM(amount_0) AS TEXT) AS s0, CAST(SUM(amount_1) AS TEXT) AS s1, CAST(SUM(amount_2) AS TEXT) AS s2, CAST(SUM(amount_3) AS TEXT) AS s3';

/** EVM addresses compare case-insensitively: stored and queried in lower case (Solana's are left as they are). */
export const normalizeAddress = (a: string | null): string | null => (a && /^0x[0-9a-fA-F]{40}$/.test(a) ? a.toLowerCase() : a);

export class SqlTrackingStore {
  constructor(private readonly sql: SqlClient) {}

  /** Creates the table and indexes when missing (D1 deployments may use the migration instead). */
  async migrate(): Promise<void> {
    for (const statement of TRACKING_SCHEMA) await this.sql.run(statement, []);
  }

  /** Writes `record` once: a retry of the same id changes nothing. */
  async insert(record: PaymentRecord): Promise<void> {
    const r: PaymentRecord = {
      ...record,
      payer: normalizeAddress(record.payer),
      asset: normalizeAddress(record.asset),
      payTo: normalizeAddress(record.payTo),
    };
    const values: SqlValue[] = COLUMNS.map(([key]) => {
      const v = r[key];
      return typeof v === 'boolean' ? (v ? 1 : 0) : v;
    });
    await this.sql.run(INSERT, [...values, ...amountChunks(r.amount)]);
  }

  async list(query: PaymentQuery): Promise<PaymentPage> {
    const where = new Where();
    if (query.from !== undefined) where.add('at_ms >= ?', query.from);
    if (query.to !== undefined) where.add('at_ms < ?', query.to);
    if (query.network) where.add('network = ?', query.network);
    if (query.payer) where.add('payer = ?', normalizeAddress(query.payer));
    if (query.path) where.add('path = ?', query.path);
    if (query.verify) where.add('verify_outcome = ?', query.verify);
    if (query.settle) where.add('settle_outcome = ?', query.settle);
    if (query.cursor) {
      const [atMs, id] = decodeCursor(query.cursor);
      where.add('(at_ms < ? OR (at_ms = ? AND id < ?))', atMs, atMs, id);
    }
    const limit = Math.min(Math.max(1, Math.trunc(query.limit)), MAX_PAGE);
    const rows = await this.sql.all(`${SELECT}${where.sql()} ORDER BY at_ms DESC, id DESC LIMIT ?`, [...where.params, limit + 1]);
    const records = rows.slice(0, limit).map(toRecord);
    const last = records[records.length - 1];
    return { records, nextCursor: rows.length > limit && last ? encodeCursor(last.atMs, last.id) : null };
  }

  /** Records by (verify outcome, settle outcome), all time (for metrics). */
  async outcomeCounts(): Promise<{ verify: string; settle: string; count: number }[]> {
    const rows = await this.sql.all('SELECT verify_outcome, settle_outcome, COUNT(*) AS n FROM x402_payments GROUP BY verify_outcome, settle_outcome ORDER BY verify_outcome, settle_outcome', []);
    return rows.map((r) => ({ verify: String(r.verify_outcome), settle: String(r.settle_outcome), count: num(r.n) }));
  }

  async stats(from: number, to: number): Promise<PaymentStats> {
    const range = new Where().add('at_ms >= ?', from).add('at_ms < ?', to);
    const settledOnly = new Where().add('at_ms >= ?', from).add('at_ms < ?', to).add("settle_outcome = 'settled'");
    const [totals] = await this.sql.all(
      'SELECT COUNT(*) AS n, ' +
        "SUM(CASE WHEN verify_outcome = 'valid' THEN 1 ELSE 0 END) AS verified, " +
        'SUM(handler_ran) AS handler_ran, ' +
        "SUM(CASE WHEN settle_outcome = 'settled' THEN 1 ELSE 0 END) AS settled, " +
        "SUM(CASE WHEN settle_outcome IN ('failed', 'error') THEN 1 ELSE 0 END) AS settle_failed, " +
        'COUNT(verify_ms) AS n_verify, COUNT(settle_ms) AS n_settle ' +
        `FROM x402_payments${range.sql()}`,
      range.params,
    );
    const count = num(totals?.n);
    const settled = num(totals?.settled);
    const grouped = (keys: string) =>
      this.sql.all(
        `SELECT ${keys}, COUNT(*) AS n, ${SUMS} FROM x402_payments${settledOnly.sql()} GROUP BY ${keys} ORDER BY n DESC, ${keys} LIMIT ?`,
        [...settledOnly.params, TOP_GROUPS],
      );
    const [revenue, byResource, byPayer] = await Promise.all([grouped('network, asset'), grouped('resource, network, asset'), grouped('payer, network, asset')]);
    return {
      from,
      to,
      count,
      verified: num(totals?.verified),
      handlerRan: num(totals?.handler_ran),
      settled,
      settleFailed: num(totals?.settle_failed),
      successRate: count ? settled / count : null,
      revenue: revenue.map(toRevenue),
      byResource: byResource.map((row) => ({ resource: String(row.resource), ...toRevenue(row) })),
      byPayer: byPayer.map((row) => ({ payer: (row.payer as string | null) ?? null, ...toRevenue(row) })),
      latencyMs: {
        verify: await this.percentiles('verify_ms', range, num(totals?.n_verify)),
        settle: await this.percentiles('settle_ms', range, num(totals?.n_settle)),
        total: await this.percentiles('total_ms', range, count),
      },
    };
  }

  /**
   * The records of [from, to) in `buckets` equal time buckets (every bucket present, empty ones too), for
   * charts over time. Integer arithmetic is cast, so D1's REAL-bound numbers divide as integers.
   */
  async series(from: number, to: number, buckets: number): Promise<PaymentSeries> {
    const bucketMs = Math.max(1, Math.ceil((to - from) / Math.min(Math.max(1, Math.trunc(buckets)), MAX_BUCKETS)));
    const bucket = '((at_ms - CAST(? AS BIGINT)) / CAST(? AS BIGINT))';
    const range = [from, bucketMs, from, to];
    const [totals, revenue] = await Promise.all([
      this.sql.all(
        `SELECT ${bucket} AS b, COUNT(*) AS n, SUM(CASE WHEN settle_outcome = 'settled' THEN 1 ELSE 0 END) AS settled, ` +
          'AVG(verify_ms) AS verify_avg, AVG(settle_ms) AS settle_avg FROM x402_payments WHERE at_ms >= ? AND at_ms < ? GROUP BY b ORDER BY b',
        range,
      ),
      this.sql.all(
        `SELECT ${bucket} AS b, network, asset, ${SUMS} FROM x402_payments WHERE at_ms >= ? AND at_ms < ? AND settle_outcome = 'settled' ` +
          'GROUP BY b, network, asset ORDER BY b, network, asset',
        range,
      ),
    ]);
    const count = Math.ceil((to - from) / bucketMs);
    const out: SeriesBucket[] = Array.from({ length: count }, (_, i) => ({
      start: from + i * bucketMs,
      count: 0,
      settled: 0,
      successRate: null,
      verifyMsAvg: null,
      settleMsAvg: null,
      revenue: [],
    }));
    const at = (row: Row) => out[num(row.b)];
    const avg = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
    for (const row of totals) {
      const b = at(row);
      if (!b) continue;
      Object.assign(b, { count: num(row.n), settled: num(row.settled), verifyMsAvg: avg(row.verify_avg), settleMsAvg: avg(row.settle_avg) });
      b.successRate = b.count ? b.settled / b.count : null;
    }
    for (const row of revenue) {
      const { network, asset, amount } = toRevenue(row);
      at(row)?.revenue.push({ network, asset, amount });
    }
    return { from, to, bucketMs, buckets: out };
  }

  /** Nearest-rank p50 and p95 of `column` over `range` (`n` non-null values), in both dialects' plain SQL. */
  private async percentiles(column: 'verify_ms' | 'settle_ms' | 'total_ms', range: Where, n: number): Promise<Percentiles> {
    const at = async (q: number) => {
      if (n === 0) return null;
      const offset = Math.max(0, Math.ceil(q * n) - 1);
      const where = range.sql() ? `${range.sql()} AND ${column} IS NOT NULL` : ` WHERE ${column} IS NOT NULL`;
      const [row] = await this.sql.all(`SELECT ${column} AS v FROM x402_payments${where} ORDER BY ${column} LIMIT 1 OFFSET ?`, [...range.params, offset]);
      return row ? num(row.v) : null;
    };
    return { p50: await at(0.5), p95: await at(0.95) };
  }
}

/** A WHERE clause built from fixed fragments and bound values (no input is ever spliced into SQL). */
class Where {
  private readonly parts: string[] = [];
  readonly params: SqlValue[] = [];
  add(fragment: string, ...values: SqlValue[]): this {
    this.parts.push(fragment);
    this.params.push(...values);
    return this;
  }
  sql(): string {
    return this.parts.length ? ` WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/** Drivers give BIGINT and aggregates as numbers (D1) or strings (pg). */
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

function toRecord(row: Row): PaymentRecord {
  const record: Record<string, unknown> = {};
  for (const [key, column] of COLUMNS) {
    const v = row[column];
    record[key] = key === 'handlerRan' ? num(v) === 1 : NUMERIC.has(key) ? (v === null || v === undefined ? null : Number(v)) : (v ?? null);
  }
  return record as unknown as PaymentRecord;
}

function toRevenue(row: Row): Revenue {
  return {
    network: (row.network as string | null) ?? null,
    asset: (row.asset as string | null) ?? null,
    count: num(row.n),
    amount: sumOfChunks([row.s0, row.s1, row.s2, row.s3] as (string | null)[]).toString(),
  };
}

/** Base64url of `[atMs, id]`: safe in a query string as it is. */
const encodeCursor = (atMs: number, id: string): string =>
  btoa(JSON.stringify([atMs, id])).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');

/** The cursor `list` gave; anything else is refused (`InvalidQuery`). */
export function decodeCursor(cursor: string): [number, string] {
  try {
    const padded = cursor.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (cursor.length % 4)) % 4);
    const value: unknown = JSON.parse(atob(padded));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return [value[0], value[1]];
    }
  } catch {
    // refused below
  }
  throw new InvalidQuery('cursor', 'not a cursor this API gave');
}

/** A filter or paging parameter the store refuses: the admin API answers 400 with it. */
export class InvalidQuery extends Error {
  constructor(
    readonly parameter: string,
    reason: string,
  ) {
    super(`${parameter}: ${reason}`);
    this.name = 'InvalidQuery';
  }
}
