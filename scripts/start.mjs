// `npm start`: the local stack in the foreground (anvil + TestUSDC, the local Solana RPC + a test mint,
// `wrangler dev` serving build/), with
// everything needed to try it printed. Ctrl-C stops it all. Run through scripts/start.sh, which installs
// missing tools and builds the worker when it is missing or older than its sources.
//
// Then the gateway (gateway/) on 127.0.0.1:8788 in front of the demo origin (gateway/origin), both in one more
// `wrangler dev`, bound to the facilitator by Service Binding (through the stack's dev registry), selling
// GET /premium (exact) and GET /metered (upto sessions) in the local TestUSDC; it needs the local anvil chain, so it is not started on your own RPCs.
//
// Options: --port N (worker, default 8787), --gateway-port N (default 8788), --chain-port N (anvil, default 8545), --svm-port N (the local
// Solana RPC, default 8899), --starknet-port N (starknet-devnet, default 5050), --block-time S,
// --persist-to DIR (wrangler state; default: a temp dir), --verbose (echo wrangler's output as it comes).
// With EVM_RPC_URL_* set in the environment no chain is started and the EVM_* variables configure the worker;
// likewise SVM_RPC_URL_* for the local Solana RPC (litesvm) and the SVM_* variables, and STARKNET_RPC_URL_*
// for the local starknet-devnet and the STARKNET_* variables.
// Every other worker setting (FACILITATOR_API_KEYS, RATE_LIMIT_PER_MINUTE, UPTO_*, …; `.dev.vars.example` lists
// them) is passed to the worker from `.dev.vars` at the repository root and from the environment (which wins),
// except the network, RPC and key variables of a chain the stack started itself.

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import { DEMO_PAY_TO_INDEX, FACILITATOR_ACCOUNT, demoGatewayRoutes, startGateway, startStack, userSettings } from './lib/stack.mjs';
import { builtWith } from './lib/worker-build.mjs';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    'gateway-port': { type: 'string', default: '8788' },
    'chain-port': { type: 'string', default: '8545' },
    'svm-port': { type: 'string', default: '8899' },
    'starknet-port': { type: 'string', default: '5050' },
    'block-time': { type: 'string' },
    'persist-to': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opts.help) {
  console.log(
    'usage: npm start -- [--port 8787] [--gateway-port 8788] [--chain-port 8545] [--svm-port 8899] [--starknet-port 5050] [--block-time S] [--persist-to DIR] [--verbose]',
  );
  process.exit(0);
}

const log = (m) => process.stderr.write(`[x402-edge] ${m}\n`);

let stack = null;
let gateway = null;
let stopping = false;
let settings = {};
/** The demo gateway's tracking admin key: random per run, local only. */
const adminKey = randomBytes(16).toString('hex');
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  if (stack) {
    log('stopping…');
    await gateway?.stop();
    await stack.stop();
  }
  process.exit(code);
}
// Registered before anything starts, so that a Ctrl-C during start-up also stops what is running.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => shutdown(sig === 'SIGINT' ? 0 : 143));

try {
  settings = userSettings();
  stack = await startStack({
    settings,
    workerPort: Number(opts.port),
    chainPort: Number(opts['chain-port']),
    svmPort: Number(opts['svm-port']),
    starknetPort: Number(opts['starknet-port']),
    blockTime: opts['block-time'] === undefined ? undefined : Number(opts['block-time']),
    persistDir: opts['persist-to'],
    echo: opts.verbose,
    log,
  });
  if (stack.local && !stopping) {
    // The facilitator's API key, when the user set keys: the gateway's secret (an env file, never argv).
    const key = settings.FACILITATOR_API_KEYS?.split(',')[0]?.trim();
    gateway = await startGateway({
      stack,
      port: Number(opts['gateway-port']),
      routes: demoGatewayRoutes(stack),
      demoOrigin: true,
      // Tracking in a local D1 database; the admin API's key is made for this run and shown in the banner.
      tracking: { d1: true },
      secrets: { ADMIN_API_KEY: adminKey, ...(key ? { FACILITATOR_API_KEY: key } : {}) },
      echo: opts.verbose,
      log,
    });
  }
} catch (e) {
  log(`could not start: ${e.message}`);
  await shutdown(1);
}
if (stopping) await new Promise(() => {}); // a signal arrived during start-up; shutdown() exits

const url = stack.facilitatorUrl;
const out = [];
const line = (s = '') => out.push(s);
const kv = (label, value) => line(`${label.padEnd(20)}${value}`);
line();
line('x402-edge facilitator is running');
line('================================');
kv('Facilitator URL', url);
kv('Your settings', stack.settings.length ? `${stack.settings.join(', ')}   (from .dev.vars and the environment)` : 'none (see .dev.vars.example)');
const ignored = Object.keys(settings).filter((name) => !stack.settings.includes(name));
if (ignored.length) kv('Not passed', `${ignored.join(', ')}   (the local chains' network, RPC and keys are the stack's own)`);
if (stack.local) {
  const t = stack.token;
  kv('Chain RPC', `${stack.rpcUrl}   (anvil, chain id ${stack.chainId})`);
  kv('Networks', `${stack.network} (v1), eip155:${stack.chainId} (v2)`);
  kv('Token', `${t.address}   ${t.symbol}, 6 decimals, EIP-3009 + EIP-2612`);
  kv('EIP-712 domain', JSON.stringify({ name: t.name, version: t.version, chainId: stack.chainId, verifyingContract: t.address }));
  kv('Facilitator signer', `${stack.facilitatorAddress}   (anvil account #9, pays the gas)`);
  if (stack.permit2) {
    kv('Permit2', `${stack.permit2.permit2}   (Uniswap Permit2; x402 proxies: exact ${stack.permit2.exactProxy}, upto ${stack.permit2.uptoProxy})`);
  }
  kv('Wallet factory', `${stack.walletFactory}   (TestWalletFactory: ERC-6492 deployments allowed; Multicall3 at its usual address)`);
  line();
  line('Test accounts (public anvil keys; each holds 1,000,000 test USDC and 10,000 ETH; never use them for real funds):');
  stack.accounts.forEach((a, i) => {
    const note = a.address === FACILITATOR_ACCOUNT.address ? '  <- facilitator' : '';
    line(`  #${i}  ${a.address}  ${a.privateKey}${note}`);
  });
  line();
  line('Payment requirements to sign against (v2):');
  line(
    `  ${JSON.stringify({ scheme: 'exact', network: `eip155:${stack.chainId}`, amount: '10000', asset: t.address, payTo: stack.accounts[2].address, maxTimeoutSeconds: 300, extra: { name: t.name, version: t.version } })}`,
  );
} else {
  kv('Chain', 'none started: EVM_RPC_URL_* is set, so the worker runs on your EVM_* configuration');
  if (stack.facilitatorAddress) kv('Facilitator signer', stack.facilitatorAddress);
}
line();
if (stack.svm) {
  const s = stack.svm;
  kv('Solana RPC', `${s.rpcUrl}   (litesvm with the real SPL Token and Token-2022 programs, served as ${s.network})`);
  kv('Solana networks', `${s.network} (v1), ${s.caip2} (v2)`);
  kv('Solana test mint', `${s.mint}   6 decimals, SPL Token`);
  kv('Solana 2022 mint', `${s.mint2022}   6 decimals, Token-2022 (no extensions)`);
  kv('Solana fee payer', `${s.feePayer}   (the facilitator's; extra.feePayer)`);
  line('Solana test wallets (public local keys; each holds 1,000,000 of each test token and 10 SOL):');
  s.payers.forEach((w, i) => line(`  #${i}  ${w.address}  ${w.secret}`));
  line('Solana payment requirements (v2):');
  line(`  ${JSON.stringify({ scheme: 'exact', network: s.caip2, amount: '10000', asset: s.mint, payTo: s.payers[1].address, maxTimeoutSeconds: 60, extra: { feePayer: s.feePayer } })}`);
} else {
  kv('Solana', 'no local RPC started: SVM_RPC_URL_* is set, so the worker runs on your SVM_* configuration');
}
line();
if (stack.starknet) {
  const k = stack.starknet;
  kv('Starknet RPC', `${k.rpcUrl}   (starknet-devnet 0.10.1, served as ${k.network})`);
  kv('Starknet networks', `${k.network} (v1), ${k.caip2} (v2)`);
  kv('Starknet token', `${k.token}   STRK, 18 decimals`);
  kv('Starknet sponsor', `${k.sponsor}   (devnet account #0: submits outside executions and pays their fees)`);
  line('Starknet test accounts (public devnet keys, seed 0):');
  k.payers.slice(0, 3).forEach((a, i) => line(`  #${i + 1}  ${a.address}  ${a.privateKey}`));
  line('Starknet payment requirements (v2); the payer signs a SNIP-9 v2 outside execution of transfer(payTo, amount):');
  line(`  ${JSON.stringify({ scheme: 'exact', network: k.caip2, amount: '1000000000000000', asset: k.token, payTo: k.payers[1].address, maxTimeoutSeconds: 300 })}`);
} else if (!builtWith('build', 'starknet')) {
  kv('Starknet', 'none: this Worker was built without it (WORKER_FEATURES)');
} else {
  kv('Starknet', 'no devnet started: STARKNET_RPC_URL_* is set, so the worker runs on your STARKNET_* configuration');
}
line();
if (gateway) {
  const routes = demoGatewayRoutes(stack);
  kv('Gateway URL', `${gateway.url}   (gateway/ in front of the demo origin gateway/origin; settles through the facilitator by Service Binding)`);
  for (const [pattern, route] of Object.entries(routes)) {
    kv(`  ${pattern}`, `${route.scheme} ${route.price.amount} TestUSDC base units (${Number(route.price.amount) / 1e6} USDC) on ${route.network}, paid to #${DEMO_PAY_TO_INDEX} ${route.payTo}`);
  }
  kv('  other paths', 'passed through to the demo origin unpaid (GET / lists them)');
} else {
  kv('Gateway', 'not started: it sells routes in the local TestUSDC, and no local chain runs');
}
line();
line('Try it:');
line(`  curl -s ${url}/supported`);
line(`  curl -s ${url}/health`);
if (gateway) {
  line(`  curl -si ${gateway.url}/premium               # 402 + PAYMENT-REQUIRED; a browser gets the paywall page`);
  line(`  npm run demo                                   # pays /premium (exact) and /metered (an upto session) with the unified client`);
  line(`  curl -s -H 'Authorization: Bearer ${adminKey}' ${gateway.url}/__x402/payments   # the tracked payments (also /__x402/stats)`);
}
line();
line('Press Ctrl-C to stop.');
console.log(out.join('\n'));

// A child that dies on its own takes the stack down with a non-zero exit.
const children = { ...stack.processes, ...(gateway ? { 'gateway wrangler': gateway.process } : {}) };
for (const [name, child] of Object.entries(children)) {
  child.on('exit', (code, signal) => {
    if (stopping) return;
    log(`${name} exited unexpectedly (code ${code}, signal ${signal})`);
    if (name === 'wrangler') process.stderr.write(stack.output().split('\n').slice(-40).join('\n') + '\n');
    if (name === 'gateway wrangler') process.stderr.write(gateway.output().split('\n').slice(-40).join('\n') + '\n');
    shutdown(1);
  });
}

// From here on, show wrangler's output (the worker logs one JSON line per request). --verbose already echoes it.
if (!opts.verbose) {
  stack.processes.wrangler.stdout.on('data', (c) => process.stdout.write(c));
  stack.processes.wrangler.stderr.on('data', (c) => process.stderr.write(c));
  gateway?.process.stdout.on('data', (c) => process.stdout.write(c));
  gateway?.process.stderr.on('data', (c) => process.stderr.write(c));
}
