// `npm run bench:gateway` (a benchmark, not a test): a paid request end to end, through the x402-edge
// gateway (verify in the gateway in wasm with the chain reads over RPC_URLS, settle over a Service
// Binding, the origin behind a second binding) against @x402/hono + HTTPFacilitatorClient (verify and
// settle over HTTP) in front of the same facilitator on the same anvil. Each side's no-op cost (an unpaid
// free route through the same server) is measured too and subtracted: `wrangler dev` adds a local proxy
// hop to every request that a plain node server does not have. Prints p50/p95 and the ratios.
//
// Options: --requests N (paid requests per side, default 30), --warmup N (default 3), --url (the gateway
// settles over FACILITATOR_URL instead of the Service Binding).
import { once } from 'node:events';
import { parseArgs } from 'node:util';

import { serve } from '@hono/node-server';
import { x402Client, x402HTTPClient } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/hono';
import { Hono } from 'hono';
import { privateKeyToAccount } from 'viem/accounts';

import { demoGatewayRoutes, startGateway, startStack } from './lib/stack.mjs';

const { values: opts } = parseArgs({
  options: { requests: { type: 'string', default: '30' }, warmup: { type: 'string', default: '3' }, url: { type: 'boolean', default: false } },
});
const REQUESTS = Number(opts.requests);
const WARMUP = Number(opts.warmup);
const log = (m) => process.stderr.write(`[bench:gateway] ${m}\n`);

/** @x402/hono on node: the same route, price and payee as the gateway's demo `/premium`, and `/free`. */
async function startHono(stack) {
  const [pattern, route] = Object.entries(demoGatewayRoutes(stack))[0];
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: stack.facilitatorUrl })).register(
    route.network,
    new ExactEvmServerScheme(),
  );
  const app = new Hono();
  app.use(paymentMiddleware({ [pattern]: { accepts: { ...route, price: route.price }, description: route.description, mimeType: route.mimeType } }, server));
  app.get('/premium', (c) => c.json({ premium: true }));
  app.get('/free', (c) => c.json({ free: true }));
  const listener = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  if (!listener.listening) await once(listener, 'listening');
  return { url: `http://127.0.0.1:${listener.address().port}`, stop: () => new Promise((r) => listener.close(r)) };
}

/** `count` payment headers for `base`/premium, signed before any timing starts. */
async function presign(base, payer, token, count) {
  const signer = toClientEvmSigner(payer);
  const http = new x402HTTPClient(
    new x402Client().register('eip155:*', new ExactEvmScheme(signer)).setSpendControls({ allowedAssets: [{ network: 'eip155:84532', asset: token }] }),
  );
  const unpaid = await fetch(`${base}/premium`);
  const body = await unpaid.json().catch(() => undefined);
  const required = http.getPaymentRequiredResponse((name) => unpaid.headers.get(name), body);
  const headers = [];
  for (let i = 0; i < count; i++) headers.push(http.encodePaymentSignatureHeader(await http.createPaymentPayload(required)));
  return headers;
}

/** Sequential timings (ms) of GET `url` with each of `headerSets`; every answer must be 200. */
async function timeRequests(url, headerSets) {
  const times = [];
  for (const headers of headerSets) {
    const started = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} (${res.headers.get('payment-required') ?? ''})`);
  }
  return times;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

async function measure(name, base, payer, token) {
  const paidHeaders = await presign(base, payer, token, REQUESTS + WARMUP);
  await timeRequests(`${base}/free`, Array.from({ length: WARMUP }, () => ({})));
  const noop = await timeRequests(`${base}/free`, Array.from({ length: REQUESTS }, () => ({})));
  await timeRequests(`${base}/premium`, paidHeaders.slice(0, WARMUP));
  const paid = await timeRequests(`${base}/premium`, paidHeaders.slice(WARMUP));
  const row = { name, paidP50: quantile(paid, 0.5), paidP95: quantile(paid, 0.95), noopP50: quantile(noop, 0.5) };
  row.netP50 = row.paidP50 - row.noopP50;
  return row;
}

const stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0, log });
let gateway;
let hono;
try {
  // --url: the gateway settles over FACILITATOR_URL instead of the Service Binding (to tell the binding's
  // cost under wrangler dev, where it crosses processes through the dev registry, from the rest).
  const via = opts.url ? { bindFacilitator: false, vars: { FACILITATOR_URL: stack.facilitatorUrl } } : {};
  gateway = await startGateway({ stack, routes: demoGatewayRoutes(stack), demoOrigin: true, log, ...via });
  hono = await startHono(stack);
  const token = stack.token.address;
  // Two payers: neither side's payments wait on the other's nonces or balances.
  const [payerA, payerB] = [3, 4].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
  const rows = [await measure(`x402-edge gateway (wasm verify + ${opts.url ? 'URL' : 'Service Binding'})`, gateway.url, payerA, token)];
  rows.push(await measure('@x402/hono + HTTPFacilitatorClient', hono.url, payerB, token));
  const f = (x) => `${x.toFixed(1)} ms`.padStart(10);
  console.log(`\npaid GET /premium, ${REQUESTS} sequential requests per side (after ${WARMUP} warm-up), same facilitator and anvil:`);
  console.log(`${'side'.padEnd(52)}${'p50'.padStart(10)}${'p95'.padStart(10)}${'no-op p50'.padStart(12)}${'p50 - no-op'.padStart(14)}`);
  for (const r of rows) console.log(`${r.name.padEnd(52)}${f(r.paidP50)}${f(r.paidP95)}${f(r.noopP50).padStart(12)}${f(r.netP50).padStart(14)}`);
  const [edge, ref] = rows;
  console.log(`\nratio x402-edge / reference, p50: ${(edge.paidP50 / ref.paidP50).toFixed(2)}× raw, ${(edge.netP50 / ref.netP50).toFixed(2)}× with each side's no-op cost subtracted`);
} finally {
  await hono?.stop();
  await gateway?.stop();
  await stack.stop();
}
