// `npm start` (scripts/start.mjs) passes the user's settings to the Worker (from the environment here; reading
// `.dev.vars` is tests/node/settings.test.mjs), while a stray chain variable cannot re-point the local chains the
// stack started itself.
//
// Run: node --test tests/e2e/start.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';

import { ROOT, freePort } from '../../scripts/lib/chain.mjs';
import { WORKER_SETTING } from '../../scripts/lib/stack.mjs';

const KEY = 'fac_start_test_key';

let child;
let exited;
let url;
let printed = '';

before(
  async () => {
    const [port, chainPort, svmPort, starknetPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // The caller's own worker settings stay out of this run; the ones under test go in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !WORKER_SETTING.test(k)));
    env.FACILITATOR_API_KEYS = KEY;
    env.EVM_NETWORKS = 'moon'; // stray: passed on, the worker would refuse to start
    child = spawn(
      process.execPath,
      ['scripts/start.mjs', '--port', `${port}`, '--chain-port', `${chainPort}`, '--svm-port', `${svmPort}`, '--starknet-port', `${starknetPort}`],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = new Promise((resolve) => child.on('exit', resolve));
    let errors = '';
    child.stderr.on('data', (c) => (errors = (errors + c).slice(-4000)));
    url = await new Promise((resolve, reject) => {
      child.stdout.on('data', (c) => {
        printed += c;
        const match = /Press Ctrl-C to stop/.test(printed) && printed.match(/Facilitator URL\s+(\S+)/);
        if (match) resolve(match[1]);
      });
      exited.then((code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${errors}`)));
    });
  },
  { timeout: 180_000 },
);

after(async () => {
  if (!child || child.exitCode !== null) return;
  child.kill('SIGTERM'); // start.mjs stops its stack and exits
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(killer);
});

const verify = (headers = {}) =>
  fetch(`${url}/verify`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });

test('npm start passes FACILITATOR_API_KEYS from the environment: /verify needs the key', async () => {
  const without = await verify();
  const refusal = await without.text();
  assert.equal(without.status, 401, refusal);
  assert.equal(JSON.parse(refusal).reason, 'unauthorized');
  const wrong = await verify({ authorization: 'Bearer not_the_key' });
  assert.equal(wrong.status, 401);
  const withKey = await verify({ authorization: `Bearer ${KEY}` });
  const body = await withKey.json();
  assert.equal(withKey.status, 400, JSON.stringify(body));
  assert.equal(body.reason, 'invalid_payload', 'past the key check, the empty body is refused');
  assert.match(printed, /Your settings\s+FACILITATOR_API_KEYS\b/);
});

test('a stray EVM_NETWORKS in the environment does not re-point the local chain', async () => {
  const supported = await (await fetch(`${url}/supported`)).json();
  assert.ok(
    supported.kinds.some((k) => k.network === 'eip155:84532'),
    `the local anvil chain is served: ${JSON.stringify(supported.kinds.map((k) => k.network))}`,
  );
  assert.match(printed, /Not passed\s+EVM_NETWORKS\b/);
});
