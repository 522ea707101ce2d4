// @x402-edge/sdk/paywall without a browser: what the page says for each kind of PaymentRequired, and the
// escaping that keeps a route's strings from becoming markup. (The page in Chromium, paying on the local
// chains: paywall.test.mjs.)  Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/paywall-render.test.mjs
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';

import { edgePaywall, escapeHtml, formatUnits, renderPaywall } from '@x402-edge/sdk/paywall';

const BASE_USDC = '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913';
const requirement = (over = {}) => ({
  scheme: 'exact',
  network: 'eip155:8453',
  asset: BASE_USDC,
  payTo: '0x209693Bc6afc0C5328bA36FaF03C514EF312287C',
  amount: '1234500',
  maxTimeoutSeconds: 60,
  extra: { name: 'USD Coin', version: '2' },
  ...over,
});
const required = (accepts, resource = { url: 'https://api.example/data', description: 'Data', mimeType: 'application/json' }) => ({
  x402Version: 2,
  error: 'Payment required',
  resource,
  accepts,
});

/** The page's data block, parsed back. */
const dataOf = (html) => JSON.parse(/<script type="application\/json" id="x402-paywall-data">([^<]*)<\/script>/.exec(html)[1]);
/** The text of the price cells, in order. */
const prices = (html) => [...html.matchAll(/<td class="amount">([^<]*)<\/td>/g)].map((m) => m[1]);

test('formatUnits: exact decimal strings from base units, null for what is not an amount', () => {
  assert.equal(formatUnits('10000', 6), '0.01');
  assert.equal(formatUnits('1234500', 6), '1.2345');
  assert.equal(formatUnits('1000000', 6), '1');
  assert.equal(formatUnits('0', 6), '0');
  assert.equal(formatUnits('1', 18), '0.000000000000000001');
  assert.equal(formatUnits('115792089237316195423570985008687907853269984665640564039457584007913129639935', 18), '115792089237316195423570985008687907853269984665640564039457.584007913129639935');
  assert.equal(formatUnits('42', 0), '42');
  for (const bad of ['', '-1', '1.5', '0x10', '1e6', ' 1']) assert.equal(formatUnits(bad, 6), null, bad);
  assert.equal(formatUnits('1', -1), null);
  assert.equal(formatUnits('1', 1.5), null);
});

test('escapeHtml: the five characters that make markup', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  assert.equal(escapeHtml(undefined), '');
});

test('prices in whole units: USDC known by address, configured assets, extra.decimals; base units otherwise; upto says "up to"', () => {
  const html = edgePaywall({ assets: [{ address: '0xAAaaAAaaAAaaAAaaAAaaAAaaAAaaAAaaAAaaAAaa', symbol: 'TEST', decimals: 2 }] }).generateHtml(
    required([
      requirement(),
      requirement({ asset: '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', amount: '250' }),
      requirement({ asset: '0x1111111111111111111111111111111111111111', amount: '5', extra: { decimals: 1, symbol: 'ONE' } }),
      requirement({ asset: '0x2222222222222222222222222222222222222222', amount: '777' }),
      requirement({ scheme: 'upto', amount: '5000000' }),
      requirement({ network: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', asset: '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU', payTo: 'So11111111111111111111111111111111111111112', amount: '10000', extra: {} }),
    ]),
  );
  assert.deepEqual(prices(html), ['1.2345 USDC', '2.5 TEST', '0.5 ONE', '777 base units', 'up to 5 USDC', '0.01 USDC']);
  assert.match(html, /<td>Base<div class="mono">eip155:8453<\/div><\/td>/);
  assert.match(html, /<td>Solana Devnet<div class="mono">solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1<\/div><\/td>/);
  // Only `exact` on EVM and Solana is paid from the page; the rest are listed, not payable here.
  assert.deepEqual(dataOf(html).payers, ['evm', 'evm', 'evm', 'evm', null, 'svm']);
  assert.deepEqual([...html.matchAll(/data-x402-option="(\d)" disabled>([^<]*)</g)].map((m) => m[2]), [...Array(4).fill('Pay with wallet'), 'Not payable here', 'Pay with wallet']);
});

test('a configured asset only matches its network', () => {
  const assets = [{ address: '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', network: 'eip155:1', symbol: 'TEST', decimals: 2 }];
  const html = renderPaywall(required([requirement({ asset: '0xaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', amount: '250' })]), { assets });
  assert.deepEqual(prices(html), ['250 base units']);
});

test('a hostile route description, URL, asset or payTo is text, and the data block cannot end its element', () => {
  const evil = '</script><script>alert(1)</script><!-- \u2028 "\'&';
  const html = renderPaywall(
    required([requirement({ asset: evil, payTo: `"><img src=x onerror=alert(1)>`, network: `eip155:1"><b>` })], { url: `https://x/?q=${evil}`, description: evil, mimeType: '' }),
    { appName: `<b>${evil}</b>` },
  );
  // Exactly the page's own elements: two scripts (data, code), one style, no img, no b.
  assert.equal((html.match(/<script/g) ?? []).length, 2);
  assert.equal((html.match(/<\/script>/g) ?? []).length, 2);
  assert.equal((html.match(/<style/g) ?? []).length, 1);
  assert.doesNotMatch(html, /<img|<b>|<!--/);
  assert.ok(html.includes(`<p class="description" id="x402-description">${escapeHtml(evil)}</p>`));
  // The data block reads back as the PaymentRequired it was given.
  const data = dataOf(html);
  assert.equal(data.paymentRequired.resource.description, evil);
  assert.equal(data.paymentRequired.accepts[0].payTo, `"><img src=x onerror=alert(1)>`);
});

test('the Content-Security-Policy pins the inline script and style by hash and allows fetches to the page itself and its Solana RPCs', () => {
  const html = renderPaywall(
    required([requirement(), requirement({ network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', asset: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', extra: {} })]),
    { solanaRpcUrls: { 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'https://rpc.example:8899/key/path' } },
  );
  const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)[1].replaceAll('&#39;', "'");
  const script = /<script>([^]*)<\/script>/.exec(html)[1];
  const style = /<style>([^]*)<\/style>/.exec(html)[1];
  const sha = (text) => createHash('sha256').update(text).digest('base64');
  assert.equal(
    csp,
    `default-src 'none'; script-src 'sha256-${sha(script)}'; style-src 'sha256-${sha(style)}'; connect-src 'self' https://rpc.example:8899; img-src blob: data:; base-uri 'none'; form-action 'none'`,
  );
  // Nothing is loaded from elsewhere: no src= or href= anywhere in the markup.
  const markup = html.replace(script, '');
  assert.doesNotMatch(markup, /\s(src|href)=/);
});

test('the middleware PaywallConfig names the page; without a resource the description of v1 requirements is shown', () => {
  const html = edgePaywall({ appName: 'Default' }).generateHtml(
    { x402Version: 1, error: 'X-PAYMENT header is required', accepts: [{ ...requirement({ network: 'base' }), amount: undefined, maxAmountRequired: '10000', description: 'v1 data' }] },
    { appName: 'Shop', testnet: true },
  );
  assert.match(html, /<title>Shop<\/title>/);
  assert.match(html, /<h1>Shop<span class="badge">testnet<\/span><\/h1>/);
  assert.match(html, /id="x402-description">v1 data</);
  assert.deepEqual(prices(html), ['0.01 USDC']);
  // v1 is listed; the page pays v2 only (the 2.27 middlewares answer v2).
  assert.deepEqual(dataOf(html).payers, [null]);
});
