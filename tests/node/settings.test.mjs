// The user's worker settings as `npm start` passes them (scripts/lib/stack.mjs `userSettings`): `.dev.vars`, the
// environment's variables named like a setting, and `.dev.vars.example` in step with the README.
//
// Run: node --test tests/node/settings.test.mjs

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { ROOT } from '../../scripts/lib/chain.mjs';
import { WORKER_SETTING, userSettings } from '../../scripts/lib/stack.mjs';

test('userSettings reads .dev.vars, lets the environment win, and takes only worker settings from it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-dev-vars-'));
  try {
    const devVars = path.join(dir, '.dev.vars');
    fs.writeFileSync(
      devVars,
      '# a comment\nFACILITATOR_API_KEYS="from_file"\nUPTO_SETTLE_MODE=immediate\nCUSTOM_THING=kept\nRATE_LIMIT_PER_MINUTE=\n',
    );
    const env = {
      FACILITATOR_API_KEYS: 'from_env',
      ALLOW_ANY_ASSET: 'true',
      MIN_AMOUNT_BASE: '1',
      HOME: '/root',
      PATH: '/bin',
      STARKNET_DEVNET_BIN: '/usr/bin/starknet-devnet', // the tooling's, not the worker's
    };
    assert.deepEqual(userSettings({ env, devVars }), {
      FACILITATOR_API_KEYS: 'from_env',
      UPTO_SETTLE_MODE: 'immediate',
      CUSTOM_THING: 'kept',
      ALLOW_ANY_ASSET: 'true',
      MIN_AMOUNT_BASE: '1',
    });
    assert.deepEqual(userSettings({ env: {}, devVars: path.join(dir, 'absent') }), {});
    const example = path.join(ROOT, '.dev.vars.example');
    assert.deepEqual(userSettings({ env: {}, devVars: example }), {}, 'the example sets nothing until uncommented');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('.dev.vars.example names every variable the README configuration table documents', () => {
  const example = fs.readFileSync(path.join(ROOT, '.dev.vars.example'), 'utf8');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('## HTTP API'));
  const documented = [...table.matchAll(/^\| `([A-Z0-9_]+)/gm)].map((m) => m[1]);
  assert.ok(documented.length > 20, `found ${documented.length} documented variables`);
  for (const name of documented) {
    const line = new RegExp(`^# ${name}${name.endsWith('_') ? '' : '[=_]'}`, 'm');
    assert.ok(line.test(example), `${name} is missing from .dev.vars.example`);
    // A `<NAME>` family (`ASSET_ALLOWLIST_<NAME>`) is read up to its underscore: check one member of it.
    const member = name.endsWith('_') ? `${name}BASE` : name;
    assert.ok(WORKER_SETTING.test(member), `${name} would not pass through npm start`);
  }
});
