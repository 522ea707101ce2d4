// The Solana vectors the Rust tests check against (tests/vectors/svm-exact-v0.json) are derived by an
// independent JS generator; this test runs it again and requires the committed file to match, so the
// cross-check stays live rather than a snapshot.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('the committed Solana vectors are what the independent generator derives', () => {
  const generated = execFileSync(process.execPath, [path.join(ROOT, 'tests/vectors/svm-generate.cjs')], {
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    encoding: 'utf8',
  });
  const committed = readFileSync(path.join(ROOT, 'tests/vectors/svm-exact-v0.json'), 'utf8');
  assert.deepEqual(JSON.parse(generated), JSON.parse(committed));
});
