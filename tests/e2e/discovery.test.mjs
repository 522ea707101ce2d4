// Discovery (the bazaar extension, issue 16): a resource server built with the official SDK declares a
// discoverable route (@x402/extensions' declareDiscoveryExtension + bazaarResourceServerExtension, in
// @x402/express), a client pays it with @x402/fetch, the facilitator (wrangler dev, its DISCOVERY_DB in
// local D1) catalogues what it settled, and @x402/extensions' bazaar client (withBazaar) lists and
// searches the catalog.
//
// Run: node --test tests/e2e/discovery.test.mjs   (needs build/; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';

import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import { ExactEvmScheme, toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme as ExactEvmServerScheme } from '@x402/evm/exact/server';
import { paymentMiddleware, x402ResourceServer } from '@x402/express';
import { bazaarResourceServerExtension, declareDiscoveryExtension, withBazaar } from '@x402/extensions/bazaar';
import { wrapFetchWithPayment } from '@x402/fetch';
import express from 'express';
import { privateKeyToAccount } from 'viem/accounts';

import { startStack } from '../../scripts/lib/stack.mjs';

const NETWORK = 'eip155:84532';
let stack;
let server;
let resourceUrl;
let payer, payee;

before(
  async () => {
    stack = await startStack({ local: true, localSvm: false, localStarknet: false, chainPort: 0, workerPort: 0 });
    [payer, payee] = [1, 2].map((i) => privateKeyToAccount(stack.accounts[i].privateKey));
    const price = (amount) => ({ amount, asset: stack.token.address, extra: { name: stack.token.name, version: stack.token.version } });
    const option = (amount) => ({ scheme: 'exact', network: NETWORK, payTo: payee.address, price: price(amount) });
    const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: stack.facilitatorUrl }))
      .register(NETWORK, new ExactEvmServerScheme())
      .registerExtension(bazaarResourceServerExtension);
    const routes = {
      'GET /weather': {
        accepts: option('10000'),
        description: 'Weather forecast by city',
        mimeType: 'application/json',
        extensions: declareDiscoveryExtension({ input: { city: 'Paris' }, output: { example: { city: 'Paris', forecast: 'sunny' } } }),
      },
      'GET /quote': {
        accepts: option('250000'),
        description: 'Stock quote',
        mimeType: 'application/json',
        extensions: declareDiscoveryExtension({ input: { symbol: 'NET' }, output: { example: { price: 1 } } }),
      },
      // Paid, but not declared discoverable: never catalogued.
      'GET /private': { accepts: option('10000'), description: 'Not listed' },
    };
    const app = express();
    app.use(paymentMiddleware(routes, resourceServer));
    app.get('/weather', (_req, res) => res.json({ city: 'Paris', forecast: 'sunny' }));
    app.get('/quote', (_req, res) => res.json({ price: 1 }));
    app.get('/private', (_req, res) => res.json({ secret: true }));
    server = createServer(app).listen(0, '127.0.0.1');
    await once(server, 'listening');
    resourceUrl = `http://127.0.0.1:${server.address().port}`;
  },
  { timeout: 180_000 },
);

after(async () => {
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await stack?.stop();
});

const bazaar = () => withBazaar(new HTTPFacilitatorClient({ url: stack.facilitatorUrl })).extensions.bazaar;

function payingFetch() {
  const client = new x402Client().register('eip155:*', new ExactEvmScheme(toClientEvmSigner(payer))).setSpendControls({ allowedAssets: [{ network: NETWORK, asset: stack.token.address }] });
  return wrapFetchWithPayment(fetch, client);
}

/** The catalog once `n` resources are in it (entries are written beside the settle's answer). */
async function listed(n, params = {}) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const page = await bazaar().listResources(params);
    if (page.items.length >= n || Date.now() > deadline) return page;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('/supported advertises the bazaar extension; the catalog starts empty', async () => {
  const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
  assert.ok(supported.extensions.includes('bazaar'), JSON.stringify(supported.extensions));
  assert.deepEqual(await bazaar().listResources(), { x402Version: 2, items: [], pagination: { limit: 20, offset: 0, total: 0 } });
});

test('paid discoverable routes are catalogued from their settles and found by the official bazaar client; an undeclared one is not', { timeout: 120_000 }, async () => {
  const pay = payingFetch();
  for (const path of ['/weather?city=Paris', '/quote?symbol=NET', '/private']) {
    const res = await pay(`${resourceUrl}${path}`);
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
  }
  const page = await listed(2);
  assert.equal(page.pagination.total, 2, JSON.stringify(page));
  const weather = page.items.find((i) => i.resource === `${resourceUrl}/weather`);
  assert.ok(weather, JSON.stringify(page.items.map((i) => i.resource)));
  assert.deepEqual(
    [weather.type, weather.x402Version, weather.description, weather.mimeType, weather.accepts[0].payTo, weather.accepts[0].amount, weather.accepts[0].network],
    ['http', 2, 'Weather forecast by city', 'application/json', payee.address, '10000', NETWORK],
  );
  assert.equal(weather.extensions.bazaar.info.input.type, 'http');
  assert.equal(weather.extensions.bazaar.info.input.method, 'GET', 'the method the resource server enriched');
  assert.ok(!Number.isNaN(Date.parse(weather.lastUpdated)));
  assert.ok(!page.items.some((i) => i.resource.endsWith('/private')), 'an undeclared route is not catalogued');

  const found = await bazaar().search({ query: 'forecast' });
  assert.deepEqual(found.resources.map((r) => r.resource), [`${resourceUrl}/weather`]);
  assert.deepEqual([found.partialResults, found.pagination], [false, { limit: 20, cursor: null }]);
  assert.deepEqual((await bazaar().search({ query: 'no such thing' })).resources, []);

  // Filters: network, payTo, extension key, and the price range (base units).
  assert.equal((await bazaar().listResources({ network: NETWORK, payTo: payee.address, extensions: 'bazaar', type: 'http' })).items.length, 2);
  assert.equal((await bazaar().listResources({ network: 'eip155:1' })).items.length, 0);
  const cheap = await (await fetch(`${stack.facilitatorUrl}/discovery/resources?maxAmount=100000`)).json();
  assert.deepEqual(cheap.items.map((i) => i.resource), [`${resourceUrl}/weather`]);
  const paged = await bazaar().search({ query: '127.0.0.1', limit: 1 });
  assert.equal(paged.resources.length, 1);
  assert.equal(paged.pagination.cursor, '1');
  const rest = await bazaar().search({ query: '127.0.0.1', limit: 1, cursor: paged.pagination.cursor });
  assert.deepEqual([rest.resources.length, rest.pagination.cursor], [1, null]);
  assert.notEqual(rest.resources[0].resource, paged.resources[0].resource);
});

test('metrics: each verify and settle is a point, summed locally as Prometheus text (GET /__x402/metrics)', async () => {
  const text = await (await fetch(`${stack.facilitatorUrl}/__x402/metrics`)).text();
  const value = (series) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)$`, 'm').exec(text)?.[1]);
  const labels = (operation, outcome) => `{operation="${operation}",outcome="${outcome}",reason="",scheme="exact",network="${NETWORK}"}`;
  assert.equal(value(`x402_operations_total${labels('settle', 'settled')}`), 3, text);
  assert.equal(value(`x402_operations_total${labels('verify', 'valid')}`), 3, text);
  assert.ok(value(`x402_operation_duration_ms_sum${labels('settle', 'settled')}`) >= 0, text);
  assert.match(text, /# TYPE x402_operations_total counter/);
});

test('malformed discovery queries are a 400 naming the parameter; other methods a 405', async () => {
  for (const [query, parameter] of [
    ['/discovery/resources?limit=0', 'limit'],
    ['/discovery/resources?offset=x', 'offset'],
    ['/discovery/resources?minAmount=1.5', 'minAmount'],
    ['/discovery/search?limit=5', 'query'],
  ]) {
    const res = await fetch(`${stack.facilitatorUrl}${query}`);
    assert.equal(res.status, 400, query);
    assert.equal((await res.json()).parameter, parameter, query);
  }
  assert.equal((await fetch(`${stack.facilitatorUrl}/discovery/resources`, { method: 'POST' })).status, 405);
});
