#!/usr/bin/env node
// Benchmark (not a test): the latency of an `upto` capture on a known session through `wrangler dev`,
// and the JSON-RPC calls it makes (counted by a proxy between the worker and anvil). Loopback only,
// bounded: `--count N` sequential captures (default 300) after 20 warm-ups.
// Usage: node scripts/bench-upto.mjs [--count N]   (needs a built worker: npm run build:worker)

import { privateKeyToAccount } from 'viem/accounts';

import { startStackBehindProxy } from './lib/rpc-proxy.mjs';
import { UptoClient } from './lib/upto-client.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const count = Math.min(arg('--count', 300), 5000);
const CHAIN_ID = 84532;

const { stack, proxy } = await startStackBehindProxy();
try {
  const account = privateKeyToAccount(stack.accounts[1].privateKey);
  const client = new UptoClient({ facilitatorUrl: stack.facilitatorUrl, rpcUrl: stack.rpcUrl, account, chainId: CHAIN_ID });
  const requirements = {
    scheme: 'upto', network: `eip155:${CHAIN_ID}`, amount: '1', asset: stack.token.address,
    payTo: stack.accounts[2].address, maxTimeoutSeconds: 3600,
    extra: { name: 'USD Coin', version: '2', maxAmountRequired: '1000000000' },
  };
  for (let i = 0; i < 20; i++) await client.pay(requirements);
  proxy.reset();
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const { status } = await client.pay(requirements);
    latencies.push(performance.now() - started);
    if (status !== 200) throw new Error(`capture ${i} answered HTTP ${status}`);
  }
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  console.log(`upto captures on a known session through wrangler dev: ${count}`);
  console.log(`  latency p50 ${at(50).toFixed(1)} ms, p95 ${at(95).toFixed(1)} ms, max ${at(100).toFixed(1)} ms`);
  console.log(`  JSON-RPC calls made by the facilitator: ${proxy.total()}`);
  console.log(JSON.stringify({ count, p50Ms: at(50), p95Ms: at(95), rpcCalls: proxy.total() }));
} finally {
  await stack.stop();
}
