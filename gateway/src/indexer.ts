// The payment indexer in the gateway: on the cron trigger (and on POST /__x402/indexer/run), the token
// Transfer logs to each route's EVM `payTo` are read through RPC_URLS and reconciled with the tracking
// records (@x402-edge/sdk/tracking's PaymentIndexer). Needs a tracking store and RPC_URLS.

import type { Network } from '@x402/core/types';
import { type IndexPass, type IndexTarget, PaymentIndexer, type SqlClient } from '@x402-edge/sdk/tracking';

import type { GatewayConfig, GatewayEnv } from './config';
import { serverScheme } from './seams';

/** The (network, asset, payTo) of every EVM payment option with an RPC URL; USD prices resolve to the network's USDC. */
export async function indexTargets(config: GatewayConfig): Promise<IndexTarget[]> {
  const targets: IndexTarget[] = [];
  for (const option of config.routes.flatMap((r) => r.accepts)) {
    if (!option.network.startsWith('eip155:')) continue;
    const rpc = config.rpcUrls?.[option.network];
    const rpcUrl = Array.isArray(rpc) ? rpc[0] : rpc;
    if (!rpcUrl) continue;
    const price = option.price;
    const asset =
      typeof price === 'object' && price !== null && 'asset' in price
        ? price.asset
        : (await serverScheme(option.scheme, option.network as Network)?.parsePrice(price, option.network as Network))?.asset;
    if (asset) targets.push({ network: option.network, asset, payTo: option.payTo, rpcUrl });
  }
  return targets;
}

/**
 * INDEXER_CONFIRMATIONS (default 3), INDEXER_START_BLOCK (default: 10,000 blocks back),
 * INDEXER_SETTLE_GRACE_MS (default 120000: a younger settled record is judged on a later pass) and
 * INDEXER_MAX_LOGS_PER_PASS (default 500: D1's per-invocation query limit; the next pass goes on).
 */
export function indexerFor(env: GatewayEnv, sql: SqlClient): PaymentIndexer {
  const whole = (v: unknown) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v.trim()) : undefined);
  const startBlock = whole(env.INDEXER_START_BLOCK);
  const settleGraceMs = whole(env.INDEXER_SETTLE_GRACE_MS);
  const maxLogsPerPass = whole(env.INDEXER_MAX_LOGS_PER_PASS);
  return new PaymentIndexer(sql, {
    confirmations: whole(env.INDEXER_CONFIRMATIONS) ?? 3,
    ...(startBlock !== undefined ? { startBlock } : {}),
    ...(settleGraceMs !== undefined ? { settleGraceMs } : {}),
    ...(maxLogsPerPass !== undefined ? { maxLogsPerPass } : {}),
  });
}

/** One pass over the configured targets. */
export async function runIndexer(indexer: PaymentIndexer, config: GatewayConfig, ready: () => Promise<void>): Promise<IndexPass> {
  await ready();
  return indexer.run(await indexTargets(config), Date.now());
}
