// The packed package: `npm pack` of pkg/, installed into a scratch project in a temp dir, imported there by
// name in node (the `node` export) and type-checked there with tsc (the `types` export).
// Run: node --test tests/pkg/pack.test.mjs (after npm run build:pkg)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ROOT } from '../../scripts/lib/chain.mjs';
import { NOW, payer, stranger, v2Payment } from './payments.mjs';

/** The whole package, gzip (the tarball is a gzip of it): the budget of the issue. */
const MAX_PACKAGE_GZIP_BYTES = 250 * 1024;

let scratch, tarball, packed;
const npm = (args, cwd) => execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

before(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'x402-pack-'));
  [packed] = JSON.parse(npm(['pack', path.join(ROOT, 'pkg'), '--json', '--pack-destination', scratch], ROOT));
  tarball = path.join(scratch, packed.filename);
  const app = path.join(scratch, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  npm(['install', '--no-audit', '--no-fund', '--ignore-scripts', '--offline', tarball], app);
}, { timeout: 120_000 });

after(() => scratch && rmSync(scratch, { recursive: true, force: true }));

test('the tarball holds the entry points, the wasm, types and README, and fits the size budget', () => {
  const files = packed.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'dist/index.d.ts', 'dist/index.js', 'dist/node.js', 'dist/browser.js', 'dist/workerd.js', 'wasm/x402_edge.js', 'wasm/x402_edge_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is missing from ${files.join(', ')}`);
  }
  assert.equal(packed.name, '@x402-edge/verify');
  assert.match(packed.version, /^\d+\.\d+\.\d+/);
  const size = statSync(tarball).size;
  assert.ok(size <= MAX_PACKAGE_GZIP_BYTES, `the package is ${size} bytes gzip, above ${MAX_PACKAGE_GZIP_BYTES}`);
});

test('installed from the tarball, it is imported by name and verifies a payment', async () => {
  const app = path.join(scratch, 'app');
  const good = await v2Payment();
  const forged = await v2Payment({ signer: stranger });
  writeFileSync(path.join(app, 'check.mjs'), `
    import { verifyPayment, decodePaymentHeader, encodePaymentHeader } from '@x402-edge/verify';
    const [good, forged] = JSON.parse(process.argv[2]);
    const results = [];
    for (const p of [good, forged]) results.push(await verifyPayment(p.payload, p.requirements, { now: ${NOW} }));
    const roundTrip = JSON.stringify(decodePaymentHeader(encodePaymentHeader(good.payload))) === JSON.stringify(good.payload);
    console.log(JSON.stringify({ results, roundTrip }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ['check.mjs', JSON.stringify([good, forged])], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(out.results[0], { isValid: true, payer: payer.address, needsChain: false, chainChecked: false });
  assert.equal(out.results[1].invalidReason, 'invalid_exact_evm_signature');
  assert.equal(out.roundTrip, true);
});

test('its types resolve through the exports map (tsc, nodenext)', () => {
  const app = path.join(scratch, 'app');
  writeFileSync(path.join(app, 'use.ts'), `
    import { verifyPayment, type VerifyResult, type PaymentPayload, type PaymentRequirements } from '@x402-edge/verify';
    export async function check(p: PaymentPayload, r: PaymentRequirements): Promise<boolean> {
      const result: VerifyResult = await verifyPayment(p, r, { now: new Date() });
      return result.isValid;
    }
  `);
  writeFileSync(path.join(app, 'bad.ts'), `
    import { verifyPayment } from '@x402-edge/verify';
    export const wrong = verifyPayment({ x402Version: 2 }, { scheme: 'exact' });
  `);
  const tsc = (file) => execFileSync(process.execPath, [
    path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', file,
  ], { cwd: app, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  tsc('use.ts');
  // And the types do constrain: a payload without `accepted`/`payload` does not type-check.
  assert.throws(() => tsc('bad.ts'), (e) => /error TS2345/.test(e.stdout));
});
