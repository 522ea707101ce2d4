// `npm run demo`: pays the demo gateway of `npm start` from the command line with @x402-edge/sdk's unified
// client: `GET /premium` (exact, EIP-3009) once and `GET /metered` (an upto session) a few times under one
// permit, then closes the session so its batch settles now, and prints every transaction.
//
// Options: --gateway URL (default http://127.0.0.1:8788), --facilitator URL (default http://127.0.0.1:8787:
// its /supported names the permit spender the client trusts), --rpc URL (default http://127.0.0.1:8545),
// --key HEX (default anvil account #1, a public test key), --count N (metered requests, default 3),
// --no-close (leave the session to the facilitator's sweeper).
// Needs the SDK built: bash scripts/build-pkg.sh sdk.

import { parseArgs } from 'node:util';

import { decodePaymentResponseHeader } from '@x402/core/http';
import { privateKeyToAccount } from 'viem/accounts';

import { createUnifiedClient, paymentFailureReason } from '@x402-edge/sdk/client';

import { ANVIL_ACCOUNTS } from './lib/chain.mjs';

const { values: opts } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'http://127.0.0.1:8788' },
    facilitator: { type: 'string', default: 'http://127.0.0.1:8787' },
    rpc: { type: 'string', default: 'http://127.0.0.1:8545' },
    key: { type: 'string', default: ANVIL_ACCOUNTS[1].privateKey },
    count: { type: 'string', default: '3' },
    'no-close': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  console.log('usage: npm run demo -- [--gateway URL] [--facilitator URL] [--rpc URL] [--key HEX] [--count N] [--no-close]');
  process.exit(0);
}
const gateway = opts.gateway.replace(/\/+$/, '');
const facilitator = opts.facilitator.replace(/\/+$/, '');
const count = Number(opts.count);
if (!Number.isSafeInteger(count) || count < 1 || count > 100) fail(`--count must be 1..100, got ${opts.count}`);

const account = privateKeyToAccount(opts.key.startsWith('0x') ? opts.key : `0x${opts.key}`);
const chainId = await jsonRpc(opts.rpc, 'eth_chainId').then(Number, (e) => fail(`the chain RPC ${opts.rpc} does not answer (${e.message}): is \`npm start\` running?`));
const trusted = await fetch(`${facilitator}/supported`).then((r) => r.ok, () => false);

const { fetch: pay, upto } = createUnifiedClient({
  evm: account,
  rpcUrls: { [`eip155:${chainId}`]: opts.rpc },
  // With the facilitator reachable, the permit is signed for its signer only; else for the spender the gateway names.
  upto: trusted ? { facilitatorUrl: facilitator } : {},
  // The local test token is no default asset of the official client's spend controls.
  spendControls: { allowedAssets: true },
});

console.log(`payer ${account.address} on eip155:${chainId}; gateway ${gateway}`);
if (!trusted) console.log(`(the facilitator ${facilitator} does not answer: trusting the spender the gateway names)`);

console.log('\nGET /premium (exact):');
const premium = await paid('/premium');
console.log(`  transaction ${premium.receipt.transaction} (${premium.receipt.network})`);

console.log(`\nGET /metered x${count} (upto session):`);
let sessionId;
for (let i = 1; i <= count; i++) {
  const { receipt } = await paid('/metered');
  const session = receipt.extensions?.upto;
  sessionId = session?.sessionId ?? sessionId;
  const state = session ? `pending ${session.pending} of cap ${session.cap}, session ${session.sessionId.slice(0, 16)}…` : 'captured';
  console.log(`  #${i} captured (transaction "${receipt.transaction}"): ${state}`);
}
console.log(`  permits signed: ${upto?.permitsSigned ?? 0}`);

if (sessionId && !opts['no-close'] && trusted) {
  const res = await fetch(`${facilitator}/upto/sessions/${sessionId}/close`, { method: 'POST' });
  const closed = await res.json().catch(() => ({}));
  if (res.ok && closed.transaction) console.log(`  session closed: batch transaction ${closed.transaction} moved ${closed.settled ?? '?'} in total`);
  else console.log(`  the session was not closed here (${res.status} ${closed.error ?? closed.status ?? ''}): the facilitator's sweeper settles it`);
} else if (sessionId) {
  console.log("  the facilitator's sweeper settles the session's sum in one batch on its next pass");
}

/** Pays `path` on the gateway; exits with the reason when it is not served. */
async function paid(path) {
  let res;
  try {
    res = await pay(`${gateway}${path}`, { signal: AbortSignal.timeout(60_000) });
  } catch (e) {
    fail(`${gateway}${path}: ${e.cause?.code ?? e.message} (is \`npm start\` serving the gateway?)`);
  }
  if (!res.ok) fail(`${path}: ${res.status} ${(await paymentFailureReason(res)) ?? ''} ${(await res.text()).slice(0, 300)}`);
  const header = res.headers.get('payment-response');
  if (!header) fail(`${path}: served without PAYMENT-RESPONSE`);
  const body = await res.text();
  console.log(`  ${res.status} ${body.length > 120 ? `${body.slice(0, 120)}…` : body}`);
  return { receipt: decodePaymentResponseHeader(header) };
}

async function jsonRpc(url, method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const reply = await res.json();
  if (reply.error) throw new Error(reply.error.message);
  return reply.result;
}

function fail(message) {
  console.error(`demo: ${message}`);
  process.exit(1);
}
