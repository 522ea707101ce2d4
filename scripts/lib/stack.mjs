// The local dev/test stack: anvil + the TestUSDC token + `wrangler dev` serving the built worker.
//
//   const stack = await startStack({ chainPort: 0, workerPort: 0 });
//   ... fetch(`${stack.facilitatorUrl}/supported`) ...
//   await stack.stop();
//
// Plain ESM for node >= 20 (the caller's node). wrangler itself needs node >= 22.12: it is run with the node
// from node_modules/.bin (npm package `node@22`), whatever node runs this file. Binds to loopback only.
//
// Configuration reaches the worker through a private `--env-file` written to a temp dir (wrangler skips
// `.dev.vars` when `--env-file` is given), and the private key never appears on a command line. The user's
// own settings reach it only when asked for: `npm start` passes `settings: userSettings()` (the repository's
// `.dev.vars` and the worker's variables from the environment); tests pass what they need in `env`.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as util from 'node:util';

import { createHash } from 'node:crypto';

import { createKeyPairSignerFromPrivateKeyBytes, getAddressEncoder, getBase58Decoder } from '@solana/kit';
import { privateKeyToAccount } from 'viem/accounts';

import {
  ANVIL_ACCOUNTS,
  ROOT,
  deployContract,
  deployTestToken,
  freePort,
  installMulticall3,
  installPermit2,
  startAnvil,
} from './chain.mjs';
import { deathSignalPrefix, killGroup, portIsFree, trackGroup, untrackGroup } from './processes.mjs';
import { startDevnet } from './starknet-devnet.mjs';
import { startSvmRpc } from './svm-rpc.mjs';
import { builtWith } from './worker-build.mjs';

/** The facilitator key of the local stack: anvil account #9 (a public test key). */
export const FACILITATOR_ACCOUNT = ANVIL_ACCOUNTS[9];

/** v1 network names of the chain ids the local stack can impersonate (see src/network.rs). */
const NETWORK_BY_CHAIN_ID = {
  84532: 'base-sepolia',
  8453: 'base',
  1: 'ethereum',
  11155111: 'sepolia',
  10: 'optimism',
  11155420: 'optimism-sepolia',
  338: 'cronos-testnet',
  25: 'cronos-mainnet',
};

/** Worker variables passed through from the caller's environment when the user configured their own RPCs. */
const PASS_THROUGH = /^(EVM_[A-Z0-9_]+|EIP6492_ALLOWED_FACTORIES|ALCHEMY_API_KEY|INFURA_API_KEY|FACILITATOR_API_KEYS|RATE_LIMIT_PER_MINUTE|PAY_TO_ALLOWLIST)$/;
const SVM_PASS_THROUGH = /^(SVM_[A-Z0-9_]+|HELIUS_API_KEY)$/;

/**
 * The worker's settings (src/config.rs `from_env`, README "Configuration", `.dev.vars.example`), matched by
 * prefix so that a setting added later passes through too; not the tooling's own STARKNET_DEVNET_BIN.
 */
export const WORKER_SETTING =
  /^(?!STARKNET_DEVNET_BIN$)(?:(?:EVM|SVM|STARKNET|FACILITATOR|UPTO|ASSET_ALLOWLIST|EIP6492|PAY_TO|PERMIT2)_[A-Z0-9_]+|(?:RATE_LIMIT|MIN_AMOUNT)[A-Z0-9_]*|ALLOW_ANY_ASSET|ALCHEMY_API_KEY|INFURA_API_KEY|HELIUS_API_KEY)$/;

/**
 * The settings that choose a family's chain, RPC and keys: dropped from the user's settings for a family whose
 * local chain the stack started itself, so that a stray one cannot point the worker elsewhere.
 */
const CHAIN_SETTINGS = {
  evm: /^(EVM_NETWORKS|EVM_RPC_URL_[A-Z0-9_]+|EVM_PRIVATE_KEY|EIP6492_ALLOWED_FACTORIES)$/,
  svm: /^(SVM_NETWORKS|SVM_RPC_URL_[A-Z0-9_]+|SVM_PRIVATE_KEY)$/,
  starknet: /^STARKNET_(NETWORKS|RPC_URL_[A-Z0-9_]+|SPONSOR_[A-Z0-9_]+|PAYMASTER_[A-Z0-9_]+)$/,
};

const pick = (vars, pattern) => Object.fromEntries(Object.entries(vars).filter(([k]) => pattern.test(k)));
const omit = (vars, pattern) => Object.fromEntries(Object.entries(vars).filter(([k]) => !pattern.test(k)));

/**
 * The user's worker settings, as `npm start` passes them: every variable of `devVars` (default: `.dev.vars` at
 * the repository root, when present), then the variables of `env` named like a worker setting
 * ([WORKER_SETTING]), which win. Empty values are left out.
 * @returns {Record<string, string>}
 */
export function userSettings({ env = process.env, devVars = path.join(ROOT, '.dev.vars') } = {}) {
  let file = {};
  if (devVars && fs.existsSync(devVars)) {
    if (typeof util.parseEnv !== 'function') throw new Error(`reading ${devVars} needs node >= 20.12 (util.parseEnv)`);
    file = util.parseEnv(fs.readFileSync(devVars, 'utf8'));
  }
  const merged = { ...file, ...pick(env, WORKER_SETTING) };
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined && String(v).trim() !== ''));
}

/**
 * A Solana test key from a fixed seed (sha256 of `label`): the same address on every run, public, for
 * local use only. `secret` is the base58 64-byte keypair, as `SVM_PRIVATE_KEY` takes it.
 */
export async function svmTestKey(label) {
  const seed = createHash('sha256').update(`x402-edge local ${label}`).digest();
  const signer = await createKeyPairSignerFromPrivateKeyBytes(new Uint8Array(seed));
  const keypair = new Uint8Array([...seed, ...getAddressEncoder().encode(signer.address)]);
  return { address: signer.address, secret: getBase58Decoder().decode(keypair), signer };
}

/** The local Solana payers' test USDC, in base units (6 decimals): 1,000,000 each. */
const SVM_PAYER_FUNDS = 1_000_000_000_000n;

/** Whether the caller configured a Solana RPC in the environment (then no local Solana RPC is started). */
export function userConfiguredSvmRpc(env = process.env) {
  return Object.keys(env).some((k) => k.startsWith('SVM_RPC_URL_') && env[k]?.trim());
}

const STARKNET_PASS_THROUGH = /^(STARKNET_[A-Z0-9_]+)$/;

/** Whether the caller configured a Starknet RPC in the environment (then no local devnet is started). */
export function userConfiguredStarknetRpc(env = process.env) {
  return Object.keys(env).some((k) => k.startsWith('STARKNET_RPC_URL_') && env[k]?.trim());
}

/**
 * The local Starknet chain: starknet-devnet 0.10.1 (chain id SN_SEPOLIA, so served as
 * `starknet-sepolia`), its predeployed account #0 as the facilitator's sponsor (self-sponsored
 * settlement) and the others as payers; STRK as the test token.
 */
async function startLocalStarknet({ port = 0, log }) {
  const devnet = await startDevnet({ port, log });
  const [sponsor, ...payers] = devnet.accounts;
  const vars = {
    STARKNET_NETWORKS: 'starknet-sepolia',
    STARKNET_RPC_URL_STARKNET_SEPOLIA: devnet.url,
    STARKNET_SPONSOR_ADDRESS: sponsor.address,
    STARKNET_SPONSOR_PRIVATE_KEY: sponsor.privateKey,
    // The devnet's fee tokens (STRK pays in the tests) are not stablecoins: allowlisted here.
    ASSET_ALLOWLIST_STARKNET_SEPOLIA: [devnet.strk, devnet.eth].join(','),
  };
  const info = { rpcUrl: devnet.url, network: 'starknet-sepolia', caip2: 'starknet:SN_SEPOLIA', token: devnet.strk, sponsor: sponsor.address, payers, devnet };
  return { devnet, vars, info };
}

/**
 * The local Solana cluster (litesvm behind JSON-RPC, as `solana-devnet`): a test USDC mint (SPL Token)
 * and a Token-2022 one, the facilitator's fee payer with SOL, and `payers` test wallets with SOL and
 * both tokens.
 */
async function startLocalSvm({ port = 0, payers = 4 } = {}) {
  const feePayer = await svmTestKey('fee payer');
  const wallets = await Promise.all(Array.from({ length: payers }, (_, i) => svmTestKey(`payer ${i}`)));
  const rpc = await startSvmRpc({
    port,
    fund: [{ owner: feePayer.address, amount: null }, ...wallets.map((w) => ({ owner: w.address, amount: SVM_PAYER_FUNDS }))],
    // Wallets such as Phantom add Lighthouse assertions to payments: a stand-in runs them here.
    lighthouseStandIn: true,
  });
  const vars = {
    SVM_NETWORKS: 'solana-devnet',
    SVM_RPC_URL_SOLANA_DEVNET: rpc.url,
    SVM_PRIVATE_KEY: feePayer.secret,
    // The test mints (SPL Token and Token-2022) are not the devnet's USDC: allowlisted here.
    ASSET_ALLOWLIST_SOLANA_DEVNET: [rpc.mint, rpc.mint2022.mint].join(','),
  };
  return { rpc, vars, info: { rpcUrl: rpc.url, network: 'solana-devnet', caip2: 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', mint: rpc.mint, mint2022: rpc.mint2022.mint, feePayer: feePayer.address, payers: wallets } };
}

const WRANGLER_JS = path.join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js');
const BIN_DIR = path.join(ROOT, 'node_modules', '.bin');
const WORKER_WASM = path.join(ROOT, 'build', 'index_bg.wasm');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `EVM_RPC_URL_BASE_SEPOLIA` for `base-sepolia`. */
export function rpcVarName(network) {
  return `EVM_RPC_URL_${network.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * `vars` with `assets` added to `ASSET_ALLOWLIST_<NETWORK>` (after any entries already there): the stack
 * allowlists the test tokens it deploys itself, since the Worker settles only known stablecoins otherwise.
 */
export function allowAssets(vars, network, ...assets) {
  const name = `ASSET_ALLOWLIST_${network.toUpperCase().replace(/-/g, '_')}`;
  const entries = [...(vars[name] ?? '').split(','), ...assets].map((e) => e.trim()).filter(Boolean);
  return { ...vars, [name]: [...new Set(entries)].join(',') };
}

/**
 * The settings in `layers` merged, later layers winning, except `ASSET_ALLOWLIST_*`, whose entries add up:
 * the user's own, the stack's test tokens and a test's extra ones are all allowed.
 */
function unionAllowlists(layers) {
  const merged = Object.assign({}, ...layers);
  for (const name of Object.keys(merged).filter((k) => k.startsWith('ASSET_ALLOWLIST_'))) {
    const entries = layers.flatMap((layer) => (layer[name] ?? '').split(',')).map((e) => e.trim()).filter(Boolean);
    merged[name] = [...new Set(entries)].join(',');
  }
  return merged;
}

/** Whether the caller configured an EVM RPC in the environment (then no local chain is started). */
export function userConfiguredRpc(env = process.env) {
  return Object.keys(env).some((k) => k.startsWith('EVM_RPC_URL_') && env[k]?.trim());
}

function versionAtLeast(version, [major, minor]) {
  const [a, b] = version.replace(/^v/, '').split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

/**
 * A node >= 22.12 for wrangler: node_modules/.bin/node (npm `node@22`), else this process's node if new enough.
 * @returns {string}
 */
export function findNode22() {
  const candidate = path.join(BIN_DIR, process.platform === 'win32' ? 'node.exe' : 'node');
  if (fs.existsSync(candidate)) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && versionAtLeast(r.stdout.trim(), [22, 12])) return candidate;
  }
  if (versionAtLeast(process.version, [22, 12])) return process.execPath;
  throw new Error(
    `wrangler needs node >= 22.12: run \`npm install\` (devDependency \`node\` puts node 22 in node_modules/.bin); ` +
      `this process runs node ${process.version}`,
  );
}

/**
 * Serialize variables as a dotenv file for wrangler (dotenv, then dotenv-expand): values are double-quoted
 * and `$` is escaped so that nothing is interpolated.
 */
function dotenv(vars) {
  return (
    Object.entries(vars)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => {
        const text = String(v);
        if (/["\r\n]/.test(text)) throw new Error(`${k}: a value with quotes or line breaks cannot be passed to the worker`);
        return `${k}="${text.replace(/\$/g, '\\$')}"`;
      })
      .join('\n') + '\n'
  );
}

// ---------------------------------------------------------------------------------------------------
// wrangler dev (its process group is handled by ./processes.mjs)

/**
 * Start `wrangler dev` for the built worker (or the Worker of `config`, a wrangler.toml) and wait until
 * GET `readyPath` (default /health) answers 200.
 * @returns {Promise<{url: string, port: number, process: import('node:child_process').ChildProcess, output: () => string, stop: () => Promise<void>}>}
 */
export async function startWrangler({ port, envFile, persistDir, logDir, timeoutMs, echo, configs = [], registryPath, healthPath = '/health' }) {
  const node = findNode22();
  const argv = [
    WRANGLER_JS,
    'dev',
    ...configs.flatMap((c) => ['-c', c]),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--persist-to',
    persistDir,
    '--env-file',
    envFile,
    '--show-interactive-dev-session=false',
  ];
  const prefix = deathSignalPrefix();
  const [cmd, ...args] = [...prefix, node, ...argv];
  const child = spawn(cmd, args, {
    cwd: ROOT,
    // Own process group: stop() signals wrangler and workerd together; a terminal's Ctrl-C reaches only
    // the parent, which then stops the stack in order.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // node 22 first for anything wrangler spawns through PATH.
      PATH: `${path.dirname(node)}${path.delimiter}${BIN_DIR}${path.delimiter}${process.env.PATH ?? ''}`,
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: 'true',
      CLOUDFLARE_INCLUDE_PROCESS_ENV: 'false',
      WRANGLER_LOG_PATH: logDir,
      // The dev registry through which one stack's workers find each other's Service Bindings: the stack's
      // own, so that stacks running side by side (tests) never bind to each other's workers.
      ...(registryPath ? { WRANGLER_REGISTRY_PATH: registryPath } : {}),
      NO_COLOR: '1',
      FORCE_COLOR: '0',
    },
  });
  trackGroup(child);

  let output = '';
  let head = ''; // wrangler's start-up output, kept for error messages
  const lines = [];
  const keeper = () => {
    let partial = '';
    return (chunk) => {
      const text = chunk.toString();
      output = (output + text).slice(-20_000);
      if (head.length < 4000) head = (head + text).slice(0, 4000);
      if (echo) process.stderr.write(text);
      const parts = (partial + text).split('\n');
      partial = parts.pop();
      for (const line of parts) if (line.trim()) lines.push(line.replace(/\r$/, ''));
      if (lines.length > 5000) lines.splice(0, lines.length - 5000);
    };
  };
  child.stdout.on('data', keeper());
  child.stderr.on('data', keeper());

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      untrackGroup(child);
      resolve(exitInfo);
    });
    child.on('error', (error) => {
      exitInfo = { error };
      untrackGroup(child);
      resolve(exitInfo);
    });
  });

  const stop = async () => {
    if (!exitInfo) {
      killGroup(child, 'SIGTERM');
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    // workerd may outlive wrangler by a moment; the group is ours, make sure it is gone.
    killGroup(child, 'SIGKILL');
  };

  /** wrangler's output for an error message: start-up, then the tail without our own /health polls. */
  const shown = () => {
    const tail = output
      .split('\n')
      .filter((l) => !/"path":"\/health"|GET \/health /.test(l))
      .join('\n')
      .slice(-4000);
    return head.includes(tail.slice(0, 200)) ? head.trim() : `${head.trim()}\n…\n${tail.trim()}`;
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (exitInfo) {
      const why = exitInfo.error ? exitInfo.error.message : `exit code ${exitInfo.code}, signal ${exitInfo.signal}`;
      throw new Error(`wrangler dev exited before it was ready (${why}). Its output:\n${shown()}`);
    }
    let problems = null;
    try {
      const res = await fetch(`${url}${healthPath}`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      if (res.status === 200) {
        return { url, port, process: child, output: () => output, lines: () => lines.slice(), stop };
      }
      last = `HTTP ${res.status}: ${body.slice(0, 500)}`;
      try {
        problems = JSON.parse(body).problems ?? null;
      } catch {
        /* not the worker's answer (yet) */
      }
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    if (problems) {
      // The worker is up and reports its configuration as broken: waiting will not fix it.
      await stop();
      const error = new Error(`the worker reports an invalid configuration: ${JSON.stringify(problems)} (GET /health: ${last})`);
      // For callers that tell configuration problems apart (e.g. a variable a worker build does not support yet).
      error.problems = problems;
      throw error;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `wrangler dev did not answer GET ${url}/health with 200 within ${timeoutMs / 1000} s (last: ${last}). ` +
          `Its output:\n${shown()}`,
      );
    }
    await sleep(250);
  }
}

/**
 * Start the local stack.
 *
 * Without EVM_RPC_URL_* in process.env: anvil on 127.0.0.1:chainPort with TestUSDC deployed and the 10 anvil
 * accounts funded, Multicall3, Permit2 and the x402 Permit2 proxies at their canonical addresses, and `wrangler dev` on 127.0.0.1:workerPort serving `network` (default: the v1 name of
 * chainId, base-sepolia for 84532) against that anvil, signing with anvil account #9.
 * With EVM_RPC_URL_* in process.env: no chain; the caller's EVM_* / ALCHEMY_API_KEY / INFURA_API_KEY variables
 * configure the worker as they are.
 *
 * With `settings` (npm start: [userSettings]) those are the user's: they decide which chains are local (an
 * `EVM_RPC_URL_*`, `SVM_RPC_URL_*` or `STARKNET_RPC_URL_*` among them means "use this chain instead") and
 * all of them reach the worker, except the ones that would re-point a chain the stack started itself
 * ([CHAIN_SETTINGS]): there the stack's own network, RPC and keys win. `env` wins over everything.
 *
 * @param {object} [opts]
 * @param {boolean} [opts.local]           force (true) or forbid (false) the local chain; default: local unless
 *                                         EVM_RPC_URL_* is set in `settings`, else process.env (tests pass true)
 * @param {boolean} [opts.localSvm]        the same for the local Solana RPC (litesvm, served as solana-devnet);
 *                                         default: local unless SVM_RPC_URL_* is set (`settings`, else process.env)
 * @param {number} [opts.svmPort=0]        the local Solana RPC's port (0 = a free port)
 * @param {boolean} [opts.localStarknet]   the same for a local starknet-devnet (served as starknet-sepolia);
 *                                         default: local unless STARKNET_RPC_URL_* is set (`settings`, else
 *                                         process.env)
 * @param {number} [opts.starknetPort=0]   the local devnet's port (0 = a free port)
 * @param {number} [opts.chainPort=8545]   0 = a free port
 * @param {number} [opts.workerPort=8787]  0 = a free port
 * @param {number} [opts.chainId=84532]
 * @param {string} [opts.network]          v1 network name the worker serves for the local chain
 * @param {number} [opts.blockTime]        anvil --block-time (default: automine)
 * @param {string} [opts.persistDir]       wrangler --persist-to (default: a temp dir removed by stop())
 * @param {Record<string,string> | ((ctx: {rpcUrl: string|null, network: string|null, chainId: number|null}) => Record<string,string>)} [opts.env]
 *                                         extra worker variables (override the defaults); a function is called
 *                                         with the local chain's RPC URL, network and chain id (nulls without a
 *                                         local chain) and returns them, e.g. to list that RPC behind another one
 * @param {Record<string,string>} [opts.settings] the user's worker settings, passed through (see above);
 *                                         default: none, and process.env only for the chains not started here
 * @param {number} [opts.timeoutMs=90000]  how long to wait for GET /health
 * @param {boolean} [opts.echo=false]      copy wrangler's output to stderr as it comes
 * @param {string} [opts.workerDir]        serve the Worker built into this directory (a WORKER_OUT_DIR of
 *                                         scripts/build-worker.sh, e.g. one built with fewer WORKER_FEATURES)
 *                                         instead of build/, with wrangler.toml's bindings; nothing is built
 * @param {(msg: string) => void} [opts.log]
 */
export async function startStack({
  local,
  localSvm,
  svmPort = 0,
  localStarknet,
  starknetPort = 0,
  chainPort = 8545,
  workerPort = 8787,
  chainId = 84532,
  network,
  blockTime,
  persistDir,
  env = {},
  settings,
  timeoutMs = 90_000,
  echo = false,
  workerDir,
  log = () => {},
} = {}) {
  // Where "use this chain instead" is read from: the user's settings when given, else the environment.
  const chainEnv = settings ?? process.env;
  local ??= !userConfiguredRpc(chainEnv);
  localSvm ??= !userConfiguredSvmRpc(chainEnv);
  // A Worker built without Starknet (WORKER_FEATURES) gets no local devnet to serve.
  localStarknet ??= !userConfiguredStarknetRpc(chainEnv) && builtWith(workerDir ?? 'build', 'starknet');
  let passed = settings ?? {};
  if (local) passed = omit(passed, CHAIN_SETTINGS.evm);
  if (localSvm) passed = omit(passed, CHAIN_SETTINGS.svm);
  if (localStarknet) passed = omit(passed, CHAIN_SETTINGS.starknet);
  const wasm = workerDir ? path.resolve(ROOT, workerDir, 'index_bg.wasm') : WORKER_WASM;
  if (!fs.existsSync(wasm)) {
    throw new Error(`${path.relative(ROOT, wasm)} is missing: build the worker first (npm run build:worker)`);
  }
  const cleanups = [];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* keep stopping the rest */
      }
    }
  };

  try {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-stack-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));

    let chain = null;
    let token = null;
    let walletFactory = null;
    let permit2 = null;
    let vars; // the chains' settings: the stack's own for the chains it starts, else the user's
    let extra; // the caller's `env`
    if (local) {
      network ??= NETWORK_BY_CHAIN_ID[chainId];
      if (!network) throw new Error(`no known v1 network for chain id ${chainId}: pass \`network\``);
      log(`starting anvil (chain id ${chainId})`);
      chain = await startAnvil({ port: chainPort, chainId, blockTime });
      cleanups.push(() => chain.stop());
      log(`anvil on ${chain.rpcUrl}; deploying TestUSDC`);
      token = await deployTestToken({ rpcUrl: chain.rpcUrl, chainId });
      // Counterfactual (ERC-6492) wallets: Multicall3 as on public chains, and one allowed wallet factory.
      await installMulticall3({ rpcUrl: chain.rpcUrl, chainId });
      // Permit2 and the x402 Permit2 proxies at their canonical addresses (no transaction: addresses unchanged).
      permit2 = await installPermit2({ rpcUrl: chain.rpcUrl, chainId });
      walletFactory = (await deployContract({ rpcUrl: chain.rpcUrl, chainId, name: 'TestWalletFactory' })).address;
      extra = typeof env === 'function' ? env({ rpcUrl: chain.rpcUrl, network, chainId }) : env;
      vars = {
        EVM_NETWORKS: network,
        [rpcVarName(network)]: chain.rpcUrl,
        EVM_PRIVATE_KEY: FACILITATOR_ACCOUNT.privateKey,
        EIP6492_ALLOWED_FACTORIES: walletFactory,
      };
      // TestUSDC is not a stablecoin of `network`: allowlisted, beside whatever `env` lists.
      vars = allowAssets(vars, network, token.address);
    } else {
      extra = typeof env === 'function' ? env({ rpcUrl: null, network: network ?? null, chainId: null }) : env;
      vars = pick(chainEnv, PASS_THROUGH);
    }

    let svm = null;
    if (localSvm) {
      log('starting the local Solana RPC (litesvm)');
      const local = await startLocalSvm({ port: svmPort });
      cleanups.push(() => local.rpc.close());
      svm = local.info;
      vars = { ...vars, ...local.vars };
    } else {
      vars = { ...vars, ...pick(chainEnv, SVM_PASS_THROUGH) };
    }

    let starknet = null;
    if (localStarknet) {
      log('starting starknet-devnet');
      const local = await startLocalStarknet({ port: starknetPort, log });
      cleanups.push(() => local.devnet.stop());
      starknet = local.info;
      vars = { ...vars, ...local.vars };
    } else {
      vars = { ...vars, ...pick(chainEnv, STARKNET_PASS_THROUGH) };
    }
    // Locally, the Worker serves its metrics as Prometheus text (GET /__x402/metrics).
    vars = { X402_EDGE_METRICS: 'on', ...unionAllowlists([passed, vars, extra]) };

    // This stack's own dev registry: a gateway started with startGateway() binds to this facilitator only.
    const registryPath = path.join(tmp, 'registry');
    fs.mkdirSync(registryPath, { recursive: true });
    const envFile = path.join(tmp, 'worker.env');
    fs.writeFileSync(envFile, dotenv(vars), { mode: 0o600 });
    const persist = persistDir ?? path.join(tmp, 'state');
    fs.mkdirSync(persist, { recursive: true });
    const configs = [];
    if (workerDir) {
      configs.push(path.join(tmp, 'wrangler.toml'));
      fs.writeFileSync(configs[0], builtWorkerToml(path.resolve(ROOT, workerDir)));
    }

    let wrangler;
    const attempts = workerPort === 0 ? 3 : 1;
    for (let i = 0; ; i++) {
      const port = workerPort === 0 ? await freePort() : workerPort;
      if (workerPort !== 0 && !(await portIsFree(port))) throw new Error(`127.0.0.1:${port}: address already in use`);
      log(`starting wrangler dev on 127.0.0.1:${port}`);
      try {
        wrangler = await startWrangler({ port, envFile, persistDir: persist, logDir: tmp, timeoutMs, echo, configs, registryPath });
        break;
      } catch (e) {
        if (i + 1 >= attempts || !/address already in use|EADDRINUSE/i.test(e.message)) throw e;
      }
    }
    cleanups.push(() => wrangler?.stop());

    // Output of wrangler processes stopped by stopWorker()/restartWorker(), kept for output()/lines().
    let earlierOutput = '';
    let earlierLines = [];
    let workerRunning = true;
    /** Stop only `wrangler dev` (anvil and the persisted Durable Object state stay). */
    const stopWorker = async () => {
      if (!workerRunning) return;
      workerRunning = false;
      await wrangler.stop();
      earlierOutput = (earlierOutput + wrangler.output()).slice(-20_000);
      earlierLines = [...earlierLines, ...wrangler.lines()].slice(-5000);
    };
    /** Start `wrangler dev` again on the same port, with the same variables and --persist-to directory. */
    const startWorker = async ({ portWaitMs = 15_000 } = {}) => {
      if (workerRunning) throw new Error('the worker is already running: stopWorker() first');
      const port = wrangler.port;
      // The old workerd may hold the port for a moment after it was killed.
      const deadline = Date.now() + portWaitMs;
      while (!(await portIsFree(port))) {
        if (Date.now() > deadline) throw new Error(`127.0.0.1:${port}: still in use ${portWaitMs / 1000} s after the worker stopped`);
        await sleep(100);
      }
      log(`restarting wrangler dev on 127.0.0.1:${port}`);
      wrangler = await startWrangler({ port, envFile, persistDir: persist, logDir: tmp, timeoutMs, echo, configs, registryPath });
      workerRunning = true;
      processes.wrangler = wrangler.process;
    };
    const processes = chain ? { wrangler: wrangler.process, anvil: chain.process } : { wrangler: wrangler.process };
    if (starknet) processes['starknet-devnet'] = starknet.devnet.process;

    let facilitatorAddress = null;
    if (vars.EVM_PRIVATE_KEY) {
      try {
        const key = vars.EVM_PRIVATE_KEY.trim();
        facilitatorAddress = privateKeyToAccount(key.startsWith('0x') ? key : `0x${key}`).address;
      } catch {
        /* the worker reports the bad key itself */
      }
    }

    let stopped = false;
    const facilitatorUrl = wrangler.url;
    return {
      facilitatorUrl,
      /** The dev registry of this stack's `wrangler dev` (WRANGLER_REGISTRY_PATH), for Service Bindings to it. */
      registryPath,
      /** POSTs `body` as JSON to the facilitator's `path`: `{status, json}`. */
      post: async (path, body) => {
        const res = await fetch(`${facilitatorUrl}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: await res.json() };
      },
      /** The names of the user's `settings` the worker got (the ones that re-point a local chain are not). */
      settings: Object.keys(passed),
      rpcUrl: chain ? chain.rpcUrl : (Object.entries(vars).find(([k]) => k.startsWith('EVM_RPC_URL_'))?.[1] ?? null),
      chainId: chain ? chainId : null,
      network: chain ? network : null,
      local,
      token,
      /**
       * The local Solana cluster, when started: `{rpcUrl, network, caip2, mint, mint2022, feePayer, payers}`
       * (`mint2022`: the Token-2022 test mint; `payers`: test wallets `{address, secret, signer}` holding
       * SOL and both test tokens).
       */
      svm,
      /**
       * The local starknet-devnet, when started: `{rpcUrl, network, caip2, token (STRK), sponsor, payers, devnet}`
       * (`payers`: predeployed accounts `{address, privateKey, publicKey}`; `devnet`: its handle, see starknet-devnet.mjs).
       */
      starknet,
      /** The local chain's TestWalletFactory (CREATE2 ERC-1271 wallets), allowed for ERC-6492 deployment. */
      walletFactory,
      /**
       * The local chain's Permit2 and x402 Permit2 proxies, at their canonical addresses:
       * `{permit2, exactProxy, uptoProxy}` (null without a local chain).
       */
      permit2,
      accounts: chain ? ANVIL_ACCOUNTS : null,
      facilitatorAddress,
      /** The child processes (wrangler dev, and anvil when local), for callers that watch them. */
      processes,
      /** The last ~20 kB of wrangler's output (worker console lines included), across worker restarts. */
      output: () => (workerRunning ? (earlierOutput + wrangler.output()).slice(-20_000) : earlierOutput),
      /** wrangler's output lines so far (the last 5000), across worker restarts. */
      lines: () => (workerRunning ? [...earlierLines, ...wrangler.lines()].slice(-5000) : earlierLines.slice()),
      /** The --persist-to directory of the worker's state (Durable Objects). */
      persistDir: persist,
      stopWorker,
      startWorker,
      /**
       * Stop only `wrangler dev` and start it again on the same port, with the same variables and the same
       * --persist-to directory (Durable Object state survives); anvil keeps running. Resolves when the new
       * worker answers GET /health with 200.
       */
      async restartWorker() {
        if (stopped) throw new Error('the stack is stopped');
        await stopWorker();
        await startWorker();
      },
      /**
       * Start a replica: a second `wrangler dev` of the same Worker build and variables whose Durable
       * Objects are this stack's own (bound by `script_name` through the stack's dev registry), that is a
       * second isolate of one deployment, as Cloudflare runs many. Resolves when its GET /health answers.
       * @returns {Promise<{url: string, stop: () => Promise<void>, output: () => string}>}
       */
      async startReplica() {
        const dir = fs.mkdtempSync(path.join(tmp, 'replica-'));
        const config = path.join(dir, 'wrangler.toml');
        fs.writeFileSync(config, replicaToml());
        const replica = await startWrangler({
          port: await freePort(), envFile, persistDir: path.join(dir, 'state'), logDir: dir, timeoutMs, echo, configs: [config], registryPath,
        });
        cleanups.push(() => replica.stop());
        return replica;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The repository's wrangler.toml in sections (each `[table]` starts one), for the variants below. */
const wranglerTomlSections = () => fs.readFileSync(path.join(ROOT, 'wrangler.toml'), 'utf8').split(/\n(?=\[)/);

/** A section's `main = "build/…"` pointed at the same file in the build directory `dir` (absolute). */
const mainIn = (section, dir) =>
  section.replace(/^main = "build\/(.*)"$/m, (_, main) => `main = ${tomlString(path.join(dir, main))}`);

/** wrangler.toml serving the Worker already built into `dir` (absolute): its `main` there, no [build] step. */
function builtWorkerToml(dir) {
  return wranglerTomlSections()
    .filter((section) => !/^\[build\]/.test(section))
    .map((section) => mainIn(section, dir))
    .join('\n');
}

/**
 * The replica's wrangler.toml: the repository's, renamed, with every Durable Object binding pointed at the
 * stack's Worker (`script_name`) and without what only the original owns (the build step, the migrations,
 * the D1 catalog, the metrics dataset).
 */
function replicaToml() {
  const owned = /^\[(build|\[migrations\]|\[d1_databases\]|\[analytics_engine_datasets\])\]?/;
  return wranglerTomlSections()
    .filter((section) => !owned.test(section))
    .map((section) => mainIn(section, path.join(ROOT, 'build'))
      .replace(/^name = "x402-edge"$/m, 'name = "x402-edge-replica"')
      .replace(/^(class_name = .*)$/m, '$1\nscript_name = "x402-edge"'))
    .join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The gateway (gateway/): a second `wrangler dev` bound to the stack's facilitator by Service Binding

const GATEWAY_DIR = path.join(ROOT, 'gateway');

/** A TOML basic string (JSON's string escapes are TOML's). */
const tomlString = (v) => JSON.stringify(String(v));

/**
 * Start the gateway Worker in front of an origin, bound to `stack`'s facilitator through the stack's dev
 * registry (the facilitator runs in its own `wrangler dev`; a Service Binding to a Worker in another
 * `wrangler dev` resolves through the registry). With `demoOrigin` the demo origin Worker
 * (gateway/origin) runs in the same `wrangler dev` and the gateway reaches it by Service Binding (ORIGIN);
 * otherwise `vars.ORIGIN_URL` names the origin. Resolves when GET /__x402/health answers 200, that is when
 * the gateway read its configuration and the facilitator answered /supported through the binding.
 *
 * @param {object} opts
 * @param {Awaited<ReturnType<typeof startStack>>} opts.stack
 * @param {number} [opts.port=0]                  0 = a free port
 * @param {Record<string, unknown>} opts.routes   ROUTES (gateway/README.md), serialized as JSON
 * @param {Record<string, string>} [opts.vars]    other [vars]: ORIGIN_URL, ORIGIN_TIMEOUT_MS, …
 * @param {Record<string, string>} [opts.secrets] secrets (FACILITATOR_API_KEY), passed in an env file
 * @param {boolean} [opts.demoOrigin=false]       serve gateway/origin beside the gateway, bound as ORIGIN
 * @param {boolean} [opts.bindFacilitator=true]   bind the stack's facilitator as FACILITATOR (else pass FACILITATOR_URL in vars)
 * @param {{d1: true} | {postgresUrl: string}} [opts.tracking]  a tracking store: a local D1 database
 *   (TRACKING_DB, in this gateway's own state directory) or PostgreSQL through Hyperdrive (TRACKING_HYPERDRIVE)
 * @param {boolean} [opts.trackingQueue=false]  a local Queue (TRACKING_QUEUE, consumed by the gateway) for
 *   records whose write failed, retried every TRACKING_RETRY_SECONDS (1 here)
 * @returns {Promise<{url: string, port: number, process: import('node:child_process').ChildProcess, output: () => string, lines: () => string[], stop: () => Promise<void>}>}
 */
/** The stack's chains as the gateway's RPC_URLS: its in-process verify reads them (a used nonce, a balance). */
function stackRpcUrls(stack) {
  const urls = {};
  if (stack.rpcUrl && stack.chainId) urls[`eip155:${stack.chainId}`] = stack.rpcUrl;
  if (stack.svm) urls[stack.svm.caip2] = stack.svm.rpcUrl;
  return urls;
}

export async function startGateway({ stack, port = 0, routes, vars = {}, secrets = {}, demoOrigin = false, bindFacilitator = true, tracking, trackingQueue = false, timeoutMs = 90_000, echo = false, log = () => {} }) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'x402-edge-gateway-'));
  try {
    const allVars = {
      ...(demoOrigin ? { ORIGIN_URL: 'http://demo-origin.internal' } : {}),
      RPC_URLS: JSON.stringify(stackRpcUrls(stack)),
      ...(trackingQueue ? { TRACKING_RETRY_SECONDS: '1' } : {}),
      ...vars,
      ROUTES: JSON.stringify(routes),
    };
    const toml = [
      `name = "x402-edge-gateway"`,
      `main = ${tomlString(path.join(GATEWAY_DIR, 'src', 'index.ts'))}`,
      `compatibility_date = "2025-11-01"`,
      `compatibility_flags = ["nodejs_compat"]`,
      ...(bindFacilitator ? [`[[services]]`, `binding = "FACILITATOR"`, `service = "x402-edge"`] : []),
      ...(demoOrigin ? [`[[services]]`, `binding = "ORIGIN"`, `service = "x402-edge-demo-origin"`] : []),
      ...trackingToml(tracking),
      ...(trackingQueue
        ? ['[[queues.producers]]', 'binding = "TRACKING_QUEUE"', 'queue = "x402-edge-tracking"', '[[queues.consumers]]', 'queue = "x402-edge-tracking"', 'max_batch_size = 10', 'max_batch_timeout = 1']
        : []),
      `[vars]`,
      ...Object.entries(allVars).map(([k, v]) => `${k} = ${tomlString(v)}`),
    ].join('\n');
    const config = path.join(tmp, 'wrangler.toml');
    fs.writeFileSync(config, `${toml}\n`);
    const envFile = path.join(tmp, 'gateway.env');
    fs.writeFileSync(envFile, dotenv(secrets), { mode: 0o600 });
    const configs = [config, ...(demoOrigin ? [path.join(GATEWAY_DIR, 'origin', 'wrangler.toml')] : [])];
    const attempts = port === 0 ? 3 : 1;
    for (let i = 0; ; i++) {
      const p = port === 0 ? await freePort() : port;
      if (port !== 0 && !(await portIsFree(p))) throw new Error(`127.0.0.1:${p}: address already in use`);
      log(`starting the gateway (wrangler dev) on 127.0.0.1:${p}`);
      try {
        const wrangler = await startWrangler({
          port: p,
          envFile,
          persistDir: path.join(tmp, 'state'),
          logDir: tmp,
          timeoutMs,
          echo,
          configs,
          registryPath: stack.registryPath,
          healthPath: '/__x402/health',
        });
        const stop = async () => {
          await wrangler.stop();
          fs.rmSync(tmp, { recursive: true, force: true });
        };
        return { ...wrangler, stop };
      } catch (e) {
        if (i + 1 >= attempts || !/address already in use|EADDRINUSE/i.test(e.message)) throw e;
      }
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** The gateway's tracking store binding (gateway/wrangler.toml shows both). */
function trackingToml(tracking) {
  if (!tracking) return [];
  if ('d1' in tracking) {
    return ['[[d1_databases]]', 'binding = "TRACKING_DB"', 'database_name = "x402-edge-tracking"', 'database_id = "local"', `migrations_dir = ${tomlString(path.join(GATEWAY_DIR, 'migrations'))}`];
  }
  return ['[[hyperdrive]]', 'binding = "TRACKING_HYPERDRIVE"', 'id = "local-tracking"', `localConnectionString = ${tomlString(tracking.postgresUrl)}`];
}

/** The anvil account the demo gateway's routes pay (#2, a public test key). */
export const DEMO_PAY_TO_INDEX = 2;

/**
 * The routes `npm start` sells through the gateway in front of the demo origin, priced in the local
 * TestUSDC on the local anvil chain. A route with another scheme (the metered `upto` route) is one more entry.
 */
export function demoGatewayRoutes(stack) {
  const t = stack.token;
  const network = `eip155:${stack.chainId}`;
  const payTo = stack.accounts[DEMO_PAY_TO_INDEX].address;
  const price = (amount) => ({ amount, asset: t.address, extra: { name: t.name, version: t.version } });
  return {
    'GET /premium': {
      scheme: 'exact',
      network,
      payTo,
      price: price('10000'),
      description: 'Premium content (demo)',
      mimeType: 'application/json',
      discovery: { output: { example: { premium: true } } },
    },
    'GET /metered': {
      scheme: 'upto',
      network,
      payTo,
      price: price('1000'),
      description: 'Metered API (demo): an upto session, one permit for 100 calls',
      mimeType: 'application/json',
      discovery: { output: { example: { metered: true } } },
    },
  };
}
