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

  /** One pass: index every target, then reconcile. */
  async run(targets: readonly IndexTarget[], now: number): Promise<IndexPass> {
    let logs = 0;
    const ranges: IndexPass['ranges'] = [];
    for (const target of dedupe(targets)) {
      const indexed = await this.index(target);
      logs += indexed.logs;
      ranges.push(indexed.range);
    }
    const findings = await this.reconcile(dedupe(targets), now);
    return { targets: ranges.length, logs, ranges, findings };
  }

  /** Reads the target's Transfer logs from its cursor to the head (less confirmations), chunk by chunk. */
  async index(target: IndexTarget): Promise<{ logs: number; range: [number, number] | null }> {
    const head = Number(BigInt(String(await this.rpc(target.rpcUrl, 'eth_blockNumber', []))));
    const to = head - (this.options.confirmations ?? 0);
    const [cursor] = await this.sql.all('SELECT last_block FROM x402_index_cursors WHERE network = ? AND asset = ? AND pay_to = ?', [target.network, target.asset, target.payTo]);
    const from = cursor ? Number(cursor.last_block) + 1 : Math.max(0, this.options.startBlock ?? to - (this.options.initialLookback ?? 10_000));
    if (from > to) return { logs: 0, range: null };
    const chunk = this.options.chunkBlocks ?? 2_000;
    let logs = 0;
    for (let start = from; start <= to; start += chunk) {
      const end = Math.min(to, start + chunk - 1);
      const found = (await this.rpc(target.rpcUrl, 'eth_getLogs', [
        { address: target.asset, topics: [TRANSFER_TOPIC, null, topicOf(target.payTo)], fromBlock: hex(start), toBlock: hex(end) },
      ])) as RpcLog[];
      for (const log of found) await this.store(target, log);
      logs += found.length;
      // The cursor moves after the chunk's logs are stored: a pass that stops half-way resumes there.
      await this.sql.run(
        'INSERT INTO x402_index_cursors (network, asset, pay_to, last_block) VALUES (?, ?, ?, CAST(? AS BIGINT)) ' +
          'ON CONFLICT (network, asset, pay_to) DO UPDATE SET last_block = excluded.last_block',
        [target.network, target.asset, target.payTo, end],
      );
    }
    return { logs, range: [from, to] };
  }

  /** Compares the indexed transfers with the settled tracking records of the targets; new findings are kept. */
  async reconcile(targets: readonly IndexTarget[], now: number): Promise<number> {
    const before = await this.count();
    const grace = now - (this.options.settleGraceMs ?? 120_000);
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
      // Settled records (old enough, inside the indexed range) and what their transaction moved to payTo.
      const records = await this.sql.all(
        'SELECT p.id, LOWER(p.tx) AS tx, p.amount, c.last_block FROM x402_payments p ' +
          'JOIN x402_index_cursors c ON c.network = p.network AND c.asset = p.asset AND c.pay_to = p.pay_to ' +
          "WHERE p.network = ? AND p.asset = ? AND p.pay_to = ? AND p.settle_outcome = 'settled' AND p.tx IS NOT NULL AND p.at_ms < ? " +
          "AND NOT EXISTS (SELECT 1 FROM x402_findings f WHERE f.record_id = p.id AND f.kind IN ('missing_transfer', 'amount_mismatch'))",
        [...scope, grace],
      );
      for (const r of records) {
        const moved = await this.sql.all('SELECT amount FROM x402_transfers WHERE network = ? AND tx = ? AND asset = ? AND to_address = ?', [t.network, String(r.tx), ...scope.slice(1)]);
        const actual = moved.reduce((sum, m) => sum + BigInt(String(m.amount)), 0n);
        const kind: FindingKind | null = moved.length === 0 ? 'missing_transfer' : actual.toString() !== String(r.amount) ? 'amount_mismatch' : null;
        if (!kind) continue;
        await this.sql.run(
          'INSERT INTO x402_findings (kind, network, tx, record_id, expected, actual, found_ms) VALUES (?, ?, ?, ?, ?, ?, CAST(? AS BIGINT)) ON CONFLICT DO NOTHING',
          [kind, t.network, String(r.tx), String(r.id), r.amount === null ? null : String(r.amount), moved.length ? actual.toString() : null, now],
        );
      }
    }
    return (await this.count()) - before;
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
