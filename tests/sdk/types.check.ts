// Type-level test (tsc -p tests/sdk, after build-pkg.sh sdk): EdgeFacilitatorClient is @x402/core's
// FacilitatorClient and takes HTTPFacilitatorClient's place in @x402/hono and @x402/express; the README's
// shortest path compiles as written.
import { EdgeFacilitatorClient } from '@x402-edge/sdk/server';
import type { EdgeFacilitatorOptions, FacilitatorBinding } from '@x402-edge/sdk/server';
import type { FacilitatorClient } from '@x402/core/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { x402ResourceServer as ExpressResourceServer } from '@x402/express';
import { paymentMiddleware, x402ResourceServer } from '@x402/hono';
import { Hono } from 'hono';

/** What a Worker's `env.FACILITATOR` (a Fetcher) offers, without @cloudflare/workers-types. */
type Fetcher = { fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> };

export const asCore: FacilitatorClient = new EdgeFacilitatorClient({ url: 'http://127.0.0.1:8787' });
export const binding: FacilitatorBinding = { fetch: (request) => fetch(request) };
export const options: EdgeFacilitatorOptions = {
  binding,
  apiKey: 'key',
  rpcUrls: { 'base-sepolia': 'http://127.0.0.1:8545', 'eip155:8453': ['https://a.example', 'https://b.example'] },
  verify: 'remote',
  supportedTtlMs: 1000,
  timeoutMs: 5000,
  fetch,
};
export const express = new ExpressResourceServer(new EdgeFacilitatorClient(options));

// js-bindings/sdk/README.md, "Sell an API with @x402/hono on Workers":
const routes = { 'GET /weather': { accepts: { scheme: 'exact', network: 'eip155:8453', payTo: '0xYourAddress', price: '$0.01' } } } as const;
let pay: ReturnType<typeof paymentMiddleware> | undefined;
const app = new Hono<{ Bindings: { FACILITATOR: Fetcher } }>();
app.use((c, next) => (pay ??= paymentMiddleware(routes, new x402ResourceServer(new EdgeFacilitatorClient({ binding: c.env.FACILITATOR })).register('eip155:8453', new ExactEvmScheme())))(c, next));
app.get('/weather', (c) => c.json({ weather: 'sunny' }));
export default app;
