// Session budgets: an agent (an API key or a payer address) may spend at most `limit` of one asset on one
// network per time window. A payment reserves its price before any signature is checked; the
// reservation is given back when the payment does not settle. Each reservation is one conditional
// UPDATE, so concurrent payments never overspend. Same SQL on D1 and PostgreSQL.
//
// uint256 amounts in SQL integers: a spend is kept as hi·10^15 + lo (lo < 10^15, exact as a JS number;
// hi read as text), which covers totals up to about 9·10^33 base units with exact carries in both dialects.

import type { SqlClient, SqlValue } from './sql.js';

/** Who a budget limits: `payer:<address>` (EVM in lower case) or `key:<SHA-256 of the API key, hex>`. */
export type AgentId = string;

export interface Budget {
  agent: AgentId;
  network: string;
  asset: string;
  /** Base units per window (decimal string). */
  limit: string;
  windowSeconds: number;
  /** Spent (reserved or settled) in the current window (decimal string), and when that window started. */
  spent: string;
  windowStartMs: number;
}

/** What `reserve` took, to give back with `release` if the payment does not settle. */
export interface Reservation {
  amount: string;
  held: { agent: AgentId; network: string; asset: string; windowStartMs: number }[];
}

export type Reserve = { ok: true; reservation: Reservation } | { ok: false; agent: AgentId; budget: Budget };

/**
 * A bound integer. D1 (like SQLite's own bindings) binds a JS number as REAL, which would turn `/` into
 * float division; PostgreSQL needs the type to resolve. CAST makes it a 64-bit integer in both.
 */
const INT = 'CAST(? AS BIGINT)';

const BASE = 10n ** 15n;
const BASE_SQL = '1000000000000000';
const MAX_AMOUNT = 10n ** 33n;

/** hi and lo of an amount as bind values: hi as text (it may pass 2^53), lo as a number. */
function split(amount: bigint): [string, number] {
  return [(amount / BASE).toString(), Number(amount % BASE)];
}
const join = (hi: unknown, lo: unknown): bigint => BigInt(String(hi ?? 0)) * BASE + BigInt(String(lo ?? 0));

/** An amount a budget can hold: a decimal integer below 10^33. */
export function budgetAmount(value: string): bigint | null {
  if (!/^\d{1,34}$/.test(value)) return null;
  const n = BigInt(value);
  return n < MAX_AMOUNT ? n : null;
}

/** The API key's agent id: its SHA-256, so that the key itself is never stored. */
export async function keyAgent(apiKey: string): Promise<AgentId> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(apiKey)));
  return `key:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export const payerAgent = (payer: string): AgentId => `payer:${/^0x[0-9a-fA-F]{40}$/.test(payer) ? payer.toLowerCase() : payer}`;

const COLUMNS =
  'agent, network, asset, CAST(limit_hi AS TEXT) AS limit_hi, limit_lo, window_ms, window_start_ms, CAST(spent_hi AS TEXT) AS spent_hi, spent_lo';

export class BudgetStore {
  constructor(private readonly sql: SqlClient) {}

  /** Creates or changes a budget; what was spent in its current window stays. */
  async set(b: { agent: AgentId; network: string; asset: string; limit: bigint; windowSeconds: number; now: number }): Promise<void> {
    const [hi, lo] = split(b.limit);
    await this.sql.run(
      'INSERT INTO x402_budgets (agent, network, asset, limit_hi, limit_lo, window_ms, window_start_ms, spent_hi, spent_lo) ' +
        `VALUES (?, ?, ?, ${INT}, ${INT}, ${INT}, ${INT}, 0, 0) ` +
        'ON CONFLICT (agent, network, asset) DO UPDATE SET limit_hi = excluded.limit_hi, limit_lo = excluded.limit_lo, window_ms = excluded.window_ms',
      [b.agent, b.network, normalize(b.asset), hi, lo, b.windowSeconds * 1000, b.now],
    );
  }

  async remove(agent: AgentId, network: string, asset: string): Promise<boolean> {
    const rows = await this.sql.all('DELETE FROM x402_budgets WHERE agent = ? AND network = ? AND asset = ? RETURNING agent', [agent, network, normalize(asset)]);
    return rows.length > 0;
  }

  /** Every budget (of `agent` when given), with its spend in the current window as of `now`. */
  async list(now: number, agent?: AgentId): Promise<Budget[]> {
    const where = agent === undefined ? '' : ' WHERE agent = ?';
    const rows = await this.sql.all(`SELECT ${COLUMNS} FROM x402_budgets${where} ORDER BY agent, network, asset LIMIT 1000`, agent === undefined ? [] : [agent]);
    return rows.map((row) => toBudget(row, now));
  }

  /**
   * Reserves `amount` of (`network`, `asset`) under each agent's budget there (an agent without one is not
   * limited). All or nothing: a refusal gives back what this call already took and names the agent refused.
   */
  async reserve(agents: readonly AgentId[], network: string, asset: string, amount: bigint, now: number): Promise<Reserve> {
    const reservation: Reservation = { amount: amount.toString(), held: [] };
    for (const agent of new Set(agents)) {
      const taken = await this.take(agent, network, normalize(asset), amount, now);
      if (taken === 'unlimited') continue;
      if (taken === 'refused') {
        await this.release(reservation);
        const [budget] = (await this.list(now, agent)).filter((b) => b.network === network && b.asset === normalize(asset));
        if (!budget) continue; // removed meanwhile: not limited any more
        return { ok: false, agent, budget };
      }
      reservation.held.push({ agent, network, asset: normalize(asset), windowStartMs: taken });
    }
    return { ok: true, reservation };
  }

  /** Gives back what `reserve` took, in the windows it took it from (a window that has rolled over is left alone). */
  async release(reservation: Reservation): Promise<void> {
    const [hi, lo] = split(BigInt(reservation.amount));
    for (const h of reservation.held) {
      await this.sql.run(
        'UPDATE x402_budgets SET ' +
          `spent_lo = (spent_lo - ${INT} + ${BASE_SQL}) % ${BASE_SQL}, ` +
          `spent_hi = spent_hi - ${INT} - (CASE WHEN spent_lo < ${INT} THEN 1 ELSE 0 END) ` +
          `WHERE agent = ? AND network = ? AND asset = ? AND window_start_ms = ${INT}`,
        [lo, hi, lo, h.agent, h.network, h.asset, h.windowStartMs],
      );
    }
  }

  /** One conditional UPDATE: rolls the window over when it ended, adds `amount` if it stays within the limit. */
  private async take(agent: AgentId, network: string, asset: string, amount: bigint, now: number): Promise<number | 'unlimited' | 'refused'> {
    const [hi, lo] = split(amount);
    const ended = `(${INT} >= window_start_ms + window_ms)`;
    const baseLo = `(CASE WHEN ${ended} THEN 0 ELSE spent_lo END)`;
    const baseHi = `(CASE WHEN ${ended} THEN 0 ELSE spent_hi END)`;
    const newLo = `((${baseLo} + ${INT}) % ${BASE_SQL})`;
    const newHi = `(${baseHi} + ${INT} + (${baseLo} + ${INT}) / ${BASE_SQL})`;
    // Parameters in the order the placeholders appear.
    const loParams: SqlValue[] = [now, lo];
    const hiParams: SqlValue[] = [now, hi, now, lo];
    const rows = await this.sql.all(
      `UPDATE x402_budgets SET window_start_ms = CASE WHEN ${ended} THEN ${INT} ELSE window_start_ms END, spent_lo = ${newLo}, spent_hi = ${newHi} ` +
        `WHERE agent = ? AND network = ? AND asset = ? AND (${newHi} < limit_hi OR (${newHi} = limit_hi AND ${newLo} <= limit_lo)) ` +
        'RETURNING window_start_ms',
      [now, now, ...loParams, ...hiParams, agent, network, asset, ...hiParams, ...hiParams, ...loParams],
    );
    if (rows[0]) return Number(rows[0].window_start_ms);
    const exists = await this.sql.all('SELECT agent FROM x402_budgets WHERE agent = ? AND network = ? AND asset = ?', [agent, network, asset]);
    return exists.length ? 'refused' : 'unlimited';
  }
}

const normalize = (asset: string): string => (/^0x[0-9a-fA-F]{40}$/.test(asset) ? asset.toLowerCase() : asset);

function toBudget(row: Record<string, unknown>, now: number): Budget {
  const windowMs = Number(row.window_ms);
  const windowStartMs = Number(row.window_start_ms);
  const ended = now >= windowStartMs + windowMs;
  return {
    agent: String(row.agent),
    network: String(row.network),
    asset: String(row.asset),
    limit: join(row.limit_hi, row.limit_lo).toString(),
    windowSeconds: windowMs / 1000,
    spent: ended ? '0' : join(row.spent_hi, row.spent_lo).toString(),
    windowStartMs: ended ? now : windowStartMs,
  };
}
