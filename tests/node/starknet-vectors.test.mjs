// The Starknet vectors the Rust tests check against (tests/vectors/starknet.json) are derived with
// starknet.js, an implementation independent of src/chains/starknet; this test runs the generator
// again and requires the committed file to match, so the cross-check stays live rather than a snapshot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the committed Starknet vectors are what starknet.js derives', () => {
  const generated = execFileSync(process.execPath, [path.join(ROOT, 'tests/vectors/starknet-generate.mjs')], {
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const committed = readFileSync(path.join(ROOT, 'tests/vectors/starknet.json'), 'utf8');
  assert.deepEqual(JSON.parse(generated), JSON.parse(committed));
});
