// The shortest path to sell an API on Workers with x402-edge (see js-bindings/sdk/README.md), plus what the
// test looks at: GET /calls lists the requests this Worker made to the facilitator through the binding.
import { EdgeFacilitatorClient } from '@x402-edge/sdk/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/hono';
import { Hono } from 'hono';

const NETWORK = 'eip155:84532';
/** Paths of the requests made through env.FACILITATOR, in order (one isolate in wrangler dev). */
const calls = [];
let app;

function build(env) {
  const binding = {
    fetch(request) {
      calls.push(new URL(request.url).pathname);
      return env.FACILITATOR.fetch(request);
    },
  };
  const server = new x402ResourceServer(new EdgeFacilitatorClient({ binding })).register(NETWORK, new ExactEvmScheme());
  const price = { amount: '10000', asset: env.ASSET, extra: { name: 'USD Coin', version: '2' } };
  const routes = { 'GET /paid': { accepts: { scheme: 'exact', network: NETWORK, payTo: env.PAY_TO, price, maxTimeoutSeconds: 300 } } };
  return new Hono()
    .get('/health', (c) => c.text('ok'))
    .get('/calls', (c) => c.json(calls))
    .use(paymentMiddleware(routes, server))
    .get('/paid', (c) => c.json({ content: 'the paid content' }));
}

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
