// The Permit2 vectors the Rust tests check against (tests/vectors/permit2.json) are derived with viem
// and @x402/evm 2.27's own types, ABI and addresses, independently of src/schemes/exact_permit2; this
// test runs the generator again and requires the committed file to match, so the cross-check stays
// live rather than a snapshot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the committed Permit2 vectors are what viem and @x402/evm derive', () => {
  const generated = execFileSync(process.execPath, [path.join(ROOT, 'tests/vectors/permit2-generate.mjs')], {
    encoding: 'utf8',
  });
  const committed = readFileSync(path.join(ROOT, 'tests/vectors/permit2.json'), 'utf8');
  assert.deepEqual(JSON.parse(generated), JSON.parse(committed));
});
