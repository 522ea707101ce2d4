// `@x402-edge/sdk/server` outside node: the built entry imports nothing from `node:`, bundles for browsers
// with esbuild (platform browser, the `browser` condition: @x402-edge/verify's browser entry), and the
// bundle runs in headless Chromium: EdgeFacilitatorClient verifies a payment signed here with viem in
// the page's wasm, with its facilitator behind a binding (an object with `fetch`, as a Service Binding)
// that the page answers /supported from. (workerd is tests/sdk/hono-workerd.test.mjs.)
//
// Run: bash scripts/build-pkg.sh sdk && node --test tests/sdk/browser.test.mjs

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { build } from 'esbuild';

import { ROOT } from '../../scripts/lib/chain.mjs';
import { openBrowserPage } from '../pkg/hosts.mjs';
import { authorization, payer, sign, stranger, v2Requirements } from '../pkg/payments.mjs';

const SDK_DIST = path.join(ROOT, 'pkg-sdk', 'dist');
let dir, browser;

/** Every .js file under `d`. */
const jsFiles = (d) => fs.readdirSync(d, { recursive: true }).filter((f) => f.endsWith('.js')).map((f) => path.join(d, f));

before(
  async () => {
    // The bundle in <dir>/dist/, @x402-edge/verify's wasm where its `new URL('../wasm/…', import.meta.url)` looks.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-sdk-browser-'));
    fs.mkdirSync(path.join(dir, 'wasm'));
    fs.copyFileSync(path.join(ROOT, 'pkg', 'wasm', 'x402_edge_bg.wasm'), path.join(dir, 'wasm', 'x402_edge_bg.wasm'));
    const result = await build({
      stdin: { contents: "export * from '@x402-edge/sdk/server';", resolveDir: ROOT, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      outfile: path.join(dir, 'dist', 'sdk.js'),
      logLevel: 'silent',
    });
    assert.deepEqual(result.errors, []);
    browser = await openBrowserPage(dir);
  },
  { timeout: 90_000 },
);

after(async () => {
  await browser?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the built SDK imports nothing from node:', () => {
  for (const file of jsFiles(SDK_DIST)) {
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /from\s+['"]node:|import\(['"]node:|require\(['"]node:/, file);
  }
  assert.doesNotMatch(fs.readFileSync(path.join(dir, 'dist', 'sdk.js'), 'utf8'), /['"]node:/, 'nor does its browser bundle');
});

test('in headless Chromium: local verify of a signed payment, a foreign signature refused, /supported through the binding', async () => {
  const now = Math.floor(Date.now() / 1000);
  const requirements = v2Requirements();
  const payment = async (signer) => {
    const auth = authorization({ validAfter: String(now - 60), validBefore: String(now + 600) });
    const signature = await sign(payer, auth, { asset: requirements.asset });
    // The stranger signs the payer's authorization: recovers to someone else.
    const foreign = signer === stranger ? await sign(stranger, auth, { asset: requirements.asset }) : signature;
    return { x402Version: 2, accepted: requirements, payload: { signature: foreign, authorization: auth } };
  };
  const supported = { kinds: [{ x402Version: 2, scheme: 'exact', network: requirements.network }], extensions: [], signers: { 'eip155:*': [stranger.address] } };
  const result = await browser.page.evaluate(
    async ({ good, forged, requirements, supported }) => {
      const { EdgeFacilitatorClient } = await import('/pkg/dist/sdk.js');
      const seen = [];
      const binding = {
        async fetch(request) {
          seen.push([request.method, new URL(request.url).pathname]);
          return new Response(JSON.stringify(supported), { headers: { 'content-type': 'application/json' } });
        },
      };
      const client = new EdgeFacilitatorClient({ binding });
      return {
        good: await client.verify(good, requirements),
        supported: await client.getSupported(),
        seen: seen.slice(),
        forged: await client.verify(forged, requirements).catch((e) => ({ error: e.message })),
        seenAfter: seen.length,
      };
    },
    { good: await payment(payer), forged: await payment(stranger), requirements, supported },
  );
  assert.deepEqual(result.good, { isValid: true, payer: payer.address });
  assert.deepEqual(result.supported, supported);
  assert.deepEqual(result.seen, [['GET', '/supported']], 'one /supported (cached), no /verify');
  // A foreign signature needs the chain (a contract wallet could accept it): the facilitator's /verify
  // decides, here the page's binding, which answers it with /supported's body: not a VerifyResponse.
  assert.match(result.forged.error, /^Facilitator verify returned invalid data: /);
  assert.equal(result.seenAfter, 2);
  assert.deepEqual(browser.errors, []);
});
