// The payment indexer: what reached each `payTo` on chain, reconciled with what tracking recorded.
// A pass reads the token's `Transfer` logs to each target since its cursor (one `eth_getLogs` per chunk
// of blocks), stores them, and compares: a transfer no record names (`unrecorded_transfer`, e.g. paid
// outside the facilitator), a settled record whose transaction moved nothing to its `payTo`
// (`missing_transfer`), and a record whose transfer moved another amount (`amount_mismatch`). Findings
// are kept once each. EVM only for now.

import type { SqlClient } from './sql.js';

/** A token and the address it pays, on one EVM network, read through `rpcUrl`. */
export interface IndexTarget {
  network: string;
  asset: string;
  payTo: string;
  rpcUrl: string;
}

export type FindingKind = 'unrecorded_transfer' | 'missing_transfer' | 'amount_mismatch';

export interface Finding {
  kind: FindingKind;
  network: string;
  transaction: string;
  /** The tracking record concerned (none for an unrecorded transfer). */
  recordId: string | null;
  /** What tracking says (a record's amount), and what the chain says (the transfers' sum). */
  expected: string | null;
  actual: string | null;
  foundMs: number;
}

export interface IndexPass {
  targets: number;
  logs: number;
  /** Blocks read per target: `[from, to]`, or null when it was up to date. */
  ranges: ([number, number] | null)[];
  findings: number;
}

export interface IndexerOptions {
  /** Blocks to leave behind the head (reorg safety); 0 on a local chain. */
  confirmations?: number;
  /** Blocks per `eth_getLogs` call. */
  chunkBlocks?: number;
  /**
   * Transfers stored per pass at most (one INSERT each): D1 allows 1,000 queries per Worker invocation
   * (50 on the free plan). Default 500.
   */
  maxLogsPerPass?: number;
  /** Where a target without a cursor starts (a block number); by default `head - initialLookback`. */
  startBlock?: number;
  initialLookback?: number;
  /** A settled record younger than this is not judged yet (its transfer may not be indexed). */
  settleGraceMs?: number;
  /** JSON-RPC over HTTP; `fetch` by default. */
  fetch?: typeof fetch;
}

const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

export class PaymentIndexer {
  private readonly fetch: typeof fetch;

  constructor(
    private readonly sql: SqlClient,
    private readonly options: IndexerOptions = {},
  ) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /**
   * One pass: index every target (at most `maxLogsPerPass` transfers in all: a Worker invocation may run
   * only so many queries; the next pass goes on from the cursors), then reconcile.
   */
  async run(targets: readonly IndexTarget[], now: number): Promise<IndexPass> {
    let logs = 0;
    const ranges: IndexPass['ranges'] = [];
    const all = dedupe(targets);
    for (const target of all) {
      const indexed = await this.index(target, now, (this.options.maxLogsPerPass ?? 500) - logs);
      logs += indexed.logs;
      ranges.push(indexed.range);
    }
    const findings = await this.reconcile(all, now);
    return { targets: ranges.length, logs, ranges, findings };
  }

  /**
   * Reads the target's Transfer logs from its cursor towards the head (less confirmations), chunk by chunk,
   * storing at most `budget` of them (a chunk with more is halved until it fits, down to one block). When
   * the cursor reaches the head, `synced_ms` says when: records older than that are judged.
   */
  async index(target: IndexTarget, now: number, budget: number): Promise<{ logs: number; range: [number, number] | null }> {
    if (budget <= 0) return { logs: 0, range: null };
    const head = Number(BigInt(String(await this.rpc(target.rpcUrl, 'eth_blockNumber', []))));
    const to = head - (this.options.confirmations ?? 0);
    const [cursor] = await this.sql.all('SELECT last_block FROM x402_index_cursors WHERE network = ? AND asset = ? AND pay_to = ?', [target.network, target.asset, target.payTo]);
    const from = cursor ? Number(cursor.last_block) + 1 : Math.max(0, this.options.startBlock ?? to - (this.options.initialLookback ?? 10_000));
    if (from > to) {
      await this.moveCursor(target, from - 1, now);
      return { logs: 0, range: null };
    }
    let logs = 0;
    let start = from;
    while (start <= to) {
      let end = Math.min(to, start + (this.options.chunkBlocks ?? 2_000) - 1);
      let found = await this.logs(target, start, end);
      while (found.length > budget - logs && end > start) {
        end = start + Math.floor((end - start) / 2);
        found = await this.logs(target, start, end);
      }
      if (found.length > budget - logs && logs > 0) break; // one block over the budget: the next pass
      for (const log of found) await this.store(target, log);
      logs += found.length;
      // The cursor moves after the chunk's logs are stored: a pass that stops half-way resumes there.
      await this.moveCursor(target, end, end === to ? now : null);
      start = end + 1;
      if (logs >= budget) break;
    }
    return { logs, range: start > from ? [from, start - 1] : null };
  }

  /**
   * Compares the indexed transfers with the settled tracking records of the targets, in three statements
   * per target; new findings are kept (each once). A record is judged once its target's cursor reached
   * the head at least `settleGraceMs` after the record.
   */
  async reconcile(targets: readonly IndexTarget[], now: number): Promise<number> {
    const before = await this.count();
    const grace = this.options.settleGraceMs ?? 120_000;
    for (const t of targets) {
      const scope = [t.network, t.asset, t.payTo];
      // Transfers no settled record names.
      await this.sql.run(
        'INSERT INTO x402_findings (kind, network, tx, record_id, expected, actual, found_ms) ' +
          "SELECT 'unrecorded_transfer', x.network, x.tx, '', NULL, x.amount, CAST(? AS BIGINT) FROM x402_transfers x " +
          'WHERE x.network = ? AND x.asset = ? AND x.to_address = ? ' +
          "AND NOT EXISTS (SELECT 1 FROM x402_payments p WHERE p.network = x.network AND LOWER(p.tx) = x.tx AND p.settle_outcome = 'settled') " +
          'ON CONFLICT DO NOTHING',
        [now, ...scope],
      );
      const judged =
        'FROM x402_payments p JOIN x402_index_cursors c ON c.network = p.network AND c.asset = p.asset AND c.pay_to = p.pay_to ' +
        "WHERE p.network = ? AND p.asset = ? AND p.pay_to = ? AND p.settle_outcome = 'settled' AND p.tx IS NOT NULL " +
        'AND c.synced_ms IS NOT NULL AND p.at_ms < c.synced_ms - CAST(? AS BIGINT)';
      // Settled records whose transaction moved nothing to payTo.
      await this.sql.run(
        'INSERT INTO x402_findings (kind, network, tx, record_id, expected, actual, found_ms) ' +
          `SELECT 'missing_transfer', p.network, LOWER(p.tx), p.id, p.amount, NULL, CAST(? AS BIGINT) ${judged} ` +
          'AND NOT EXISTS (SELECT 1 FROM x402_transfers x WHERE x.network = p.network AND x.tx = LOWER(p.tx) AND x.asset = p.asset AND x.to_address = p.pay_to) ' +
          'ON CONFLICT DO NOTHING',
        [now, ...scope, grace],
      );
      // Settled records whose transfer moved another amount.
      await this.sql.run(
        'INSERT INTO x402_findings (kind, network, tx, record_id, expected, actual, found_ms) ' +
          `SELECT 'amount_mismatch', p.network, LOWER(p.tx), p.id, p.amount, x.amount, CAST(? AS BIGINT) ${judged.replace('WHERE', 'JOIN x402_transfers x ON x.network = p.network AND x.tx = LOWER(p.tx) AND x.asset = p.asset AND x.to_address = p.pay_to WHERE')} ` +
          'AND x.amount <> p.amount ON CONFLICT DO NOTHING',
        [now, ...scope, grace],
      );
    }
    return (await this.count()) - before;
  }

  /** How many findings there are of each kind (for metrics). */
  async findingCounts(): Promise<Partial<Record<FindingKind, number>>> {
    const rows = await this.sql.all('SELECT kind, COUNT(*) AS n FROM x402_findings GROUP BY kind', []);
    return Object.fromEntries(rows.map((r) => [String(r.kind), Number(r.n)]));
  }

  /** The findings, newest first. */
  async findings(limit = 100): Promise<Finding[]> {
    const rows = await this.sql.all('SELECT kind, network, tx, record_id, expected, actual, found_ms FROM x402_findings ORDER BY found_ms DESC, tx LIMIT ?', [limit]);
    return rows.map((r) => ({
      kind: r.kind as FindingKind,
      network: String(r.network),
      transaction: String(r.tx),
      recordId: r.record_id ? String(r.record_id) : null,
      expected: r.expected === null || r.expected === undefined ? null : String(r.expected),
      actual: r.actual === null || r.actual === undefined ? null : String(r.actual),
      foundMs: Number(r.found_ms),
    }));
  }

  private async count(): Promise<number> {
    const [row] = await this.sql.all('SELECT COUNT(*) AS n FROM x402_findings', []);
    return Number(row?.n ?? 0);
  }

  private async logs(target: IndexTarget, start: number, end: number): Promise<RpcLog[]> {
    return (await this.rpc(target.rpcUrl, 'eth_getLogs', [
      { address: target.asset, topics: [TRANSFER_TOPIC, null, topicOf(target.payTo)], fromBlock: hex(start), toBlock: hex(end) },
    ])) as RpcLog[];
  }

  /** Moves the target's cursor to `block`; `syncedMs` (when it reached the head) is kept unless given. */
  private async moveCursor(target: IndexTarget, block: number, syncedMs: number | null): Promise<void> {
    await this.sql.run(
      'INSERT INTO x402_index_cursors (network, asset, pay_to, last_block, synced_ms) VALUES (?, ?, ?, CAST(? AS BIGINT), CAST(? AS BIGINT)) ' +
        'ON CONFLICT (network, asset, pay_to) DO UPDATE SET last_block = excluded.last_block, synced_ms = COALESCE(excluded.synced_ms, x402_index_cursors.synced_ms)',
      [target.network, target.asset, target.payTo, block, syncedMs],
    );
  }

  private async store(target: IndexTarget, log: RpcLog): Promise<void> {
    const from = `0x${log.topics[1]?.slice(26) ?? ''}`;
    await this.sql.run(
      'INSERT INTO x402_transfers (network, tx, log_index, asset, from_address, to_address, amount, block) VALUES (?, ?, CAST(? AS BIGINT), ?, ?, ?, ?, CAST(? AS BIGINT)) ON CONFLICT DO NOTHING',
      [target.network, log.transactionHash.toLowerCase(), Number(BigInt(log.logIndex)), target.asset, from.toLowerCase(), target.payTo, BigInt(log.data === '0x' ? 0 : log.data).toString(), Number(BigInt(log.blockNumber))],
    );
  }

  private async rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
    // Errors never carry the URL: it may hold an RPC provider's key.
    const res = await this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) }).catch(() => {
      throw new Error(`${method}: the RPC endpoint could not be reached`);
    });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status}`);
    const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message ?? 'error'}`);
    return body.result;
  }
}

interface RpcLog {
  transactionHash: string;
  logIndex: string;
  blockNumber: string;
  data: string;
  topics: string[];
}

const hex = (n: number) => `0x${n.toString(16)}`;
const topicOf = (address: string) => `0x${address.toLowerCase().replace(/^0x/, '').padStart(64, '0')}`;

/** EVM addresses in lower case (as tracking stores them), each target once. */
function dedupe(targets: readonly IndexTarget[]): IndexTarget[] {
  const seen = new Map<string, IndexTarget>();
  for (const t of targets) {
    const n = { ...t, asset: t.asset.toLowerCase(), payTo: t.payTo.toLowerCase() };
    seen.set(`${n.network} ${n.asset} ${n.payTo}`, n);
  }
  return [...seen.values()];
}
