// The packed package: `npm pack` of pkg/, installed into a scratch project in a temp dir, imported there by
// name in node (the `node` export) and type-checked there with tsc (the `types` export).
// Run: node --test tests/pkg/pack.test.mjs (after npm run build:pkg)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT } from '../../scripts/lib/chain.mjs';
import { MAX_PACKAGE_GZIP_BYTES, PACKAGE_FILES, packAndInstall } from './hosts.mjs';
import { NOW, payer, stranger, v2Payment } from './payments.mjs';

let app;

before(() => {
  app = packAndInstall(path.join(ROOT, 'pkg'));
}, { timeout: 120_000 });

after(() => app?.remove());

test('the tarball holds the entry points, the wasm, types and README, and fits the size budget', () => {
  for (const f of PACKAGE_FILES) assert.ok(app.files.includes(f), `${f} is missing from ${app.files.join(', ')}`);
  assert.equal(app.packed.name, '@x402-edge/verify');
  assert.match(app.packed.version, /^\d+\.\d+\.\d+/);
  assert.ok(app.tarballBytes <= MAX_PACKAGE_GZIP_BYTES, `the package is ${app.tarballBytes} bytes gzip, above ${MAX_PACKAGE_GZIP_BYTES}`);
});

test('installed from the tarball, it is imported by name and verifies a payment', async () => {
  const good = await v2Payment();
  const forged = await v2Payment({ signer: stranger });
  const out = app.run('check.mjs', `
    import { verifyPayment, decodePaymentHeader, encodePaymentHeader } from '@x402-edge/verify';
    const [good, forged] = JSON.parse(process.argv[2]);
    const results = [];
    for (const p of [good, forged]) results.push(await verifyPayment(p.payload, p.requirements, { now: ${NOW} }));
    const roundTrip = JSON.stringify(decodePaymentHeader(encodePaymentHeader(good.payload))) === JSON.stringify(good.payload);
    console.log(JSON.stringify({ results, roundTrip }));
  `, [JSON.stringify([good, forged])]);
  assert.deepEqual(out.results[0], { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  assert.equal(out.results[1].invalidReason, 'invalid_exact_evm_signature');
  assert.equal(out.roundTrip, true);
});

test('its types resolve through the exports map (tsc, nodenext)', () => {
  app.tsc('use.ts', `
    import { verifyPayment, type VerifyResult, type PaymentPayload, type PaymentRequirements } from '@x402-edge/verify';
    export async function check(p: PaymentPayload, r: PaymentRequirements): Promise<boolean> {
      const result: VerifyResult = await verifyPayment(p, r, { now: new Date() });
      return result.isValid;
    }
  `);
  // And the types do constrain: a payload without `accepted`/`payload` does not type-check.
  assert.throws(() => app.tsc('bad.ts', `
    import { verifyPayment } from '@x402-edge/verify';
    export const wrong = verifyPayment({ x402Version: 2 }, { scheme: 'exact' });
  `), (e) => /error TS2345/.test(e.stdout));
});
