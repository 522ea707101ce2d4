// A local Starknet for tests and the dev stack: find (or unpack, or build) `starknet-devnet` 0.10.1 and run
// it on loopback with its predeployed accounts and the STRK/ETH fee tokens.
//
// What the devnet models: Starknet JSON-RPC (spec 0.10.2) over a real Cairo VM, real OpenZeppelin account
// contracts (SNIP-6 `is_valid_signature`, SNIP-9 v2 `execute_from_outside_v2` and
// `is_valid_outside_execution_nonce`, account nonces) and real ERC-20 fee tokens. What it does NOT model
// (keep tests honest about it):
// - a block per transaction (`--block-generation-on transaction`, the default here): every accepted
//   transaction is ACCEPTED_ON_L2 at once, nothing is ever reverted by a reorg, L1 acceptance never comes;
// - its chain id is SN_SEPOLIA (0x534e5f5345504f4c4941) by default: typed data signed for it names
//   Sepolia's chain id;
// - the accounts implement SNIP-9 v2 only (no v1 `execute_from_outside`) and do not announce it through SRC5
//   (`supports_interface` answers 0 for both SNIP-9 interface ids), so starknet.js's `getSnip9Version` calls
//   them unsupported and `executePaymasterTransaction` refuses them; pass version '2' explicitly;
// - fees are devnet's fixed gas prices; `devnet_mint` creates tokens from nothing (no bridge);
// - block timestamps follow the wall clock of this machine.
//
// Plain ESM for node >= 22 (starknet.js 10.8 needs it). Binds to 127.0.0.1 only; nothing here reaches the
// network except `cargo install` (crates.io), the last resort of findDevnet().

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';

import { deathSignalPrefix, killGroup, portIsFree, trackGroup, untrackGroup } from './processes.mjs';

/** Repository root (this file is scripts/lib/starknet-devnet.mjs). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEVNET_VERSION = '0.10.1';
/** sha256 of the prebuilt binary in ../shared/tools (see its README). */
export const DEVNET_SHA256 = '820e81cc45af5c816082f73ad100689ebb745c6454b6bfb3edb11ab4c46b0edb';
/** Where the prebuilt binary is unpacked, and the `cargo install --root` of the fallback build. */
export const DEVNET_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'x402-edge', `starknet-devnet-${DEVNET_VERSION}`);
/** The prebuilt binary, gzipped, next to the repository (a cache: the tooling works without it). */
export const DEVNET_GZ = path.resolve(ROOT, '..', 'shared', 'tools', `starknet-devnet-${DEVNET_VERSION}-x86_64-linux.gz`);

/** The fee tokens every devnet predeploys, at the addresses they have on mainnet and Sepolia. */
export const STRK_ADDRESS = '0x04718f5a0fc34cc1af16a1cdee98ffb20c31f5cd61d6ab07201858f4287c938d';
export const ETH_ADDRESS = '0x049d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7';

// Every option of `starknet-devnet --help` (0.10.1) can also come from an environment variable of this
// name; a stray PORT or FORK_NETWORK in the caller's environment must not reach the child.
const DEVNET_ENV_VARS = [
  'ACCOUNTS', 'ACCOUNT_CLASS', 'ACCOUNT_CLASS_CUSTOM', 'PREDECLARE_ARGENT', 'INITIAL_BALANCE', 'SEED', 'HOST',
  'PORT', 'START_TIME', 'TIMEOUT', 'GAS_PRICE', 'GAS_PRICE_FRI', 'DATA_GAS_PRICE', 'DATA_GAS_PRICE_FRI',
  'L2_GAS_PRICE', 'L2_GAS_PRICE_FRI', 'CHAIN_ID', 'DUMP_ON', 'LITE_MODE', 'PROOF_MODE', 'DUMP_PATH',
  'BLOCK_GENERATION_ON', 'STATE_ARCHIVE_CAPACITY', 'FORK_NETWORK', 'FORK_BLOCK', 'FORK_UPSTREAM_CACHING',
  'RESTRICTIVE_MODE', 'MAXIMUM_CONTRACT_CLASS_SIZE', 'MAXIMUM_CONTRACT_BYTECODE_SIZE', 'MAXIMUM_SIERRA_LENGTH',
  'METRICS_HOST', 'METRICS_PORT', 'UI',
];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stderrLog = (m) => process.stderr.write(`${m}\n`);

// ---------------------------------------------------------------------------------------------------
// Finding the binary

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The version `bin --version` prints ("starknet-devnet 0.10.1" gives "0.10.1"), or null. */
function versionOf(bin) {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) return null;
  return /(\d+\.\d+\.\d+\S*)/.exec(r.stdout)?.[1] ?? null;
}

/** sha256 (hex) of a file, streamed. */
function sha256File(file) {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/** `starknet-devnet` on PATH when it reports DEVNET_VERSION, else null. */
function fromPath(log) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const c = dir && path.join(dir, 'starknet-devnet');
    if (!c || !isExecutable(c)) continue;
    const v = versionOf(c);
    if (v === DEVNET_VERSION) return c;
    log(`starknet-devnet: ignoring ${c} (version ${v ?? 'unknown'}, want ${DEVNET_VERSION})`);
  }
  return null;
}

/**
 * The prebuilt binary unpacked into DEVNET_CACHE_DIR, or null when the .gz is missing or does not hold the
 * expected binary. Skips the work when the unpacked file is there with the right hash; writes to a temporary
 * name and renames, so concurrent callers never see a partial file.
 */
function fromPrebuilt(log) {
  const target = path.join(DEVNET_CACHE_DIR, 'starknet-devnet');
  if (isExecutable(target) && sha256File(target) === DEVNET_SHA256) return target;
  if (process.platform !== 'linux' || process.arch !== 'x64' || !fs.existsSync(DEVNET_GZ)) return null;
  fs.mkdirSync(DEVNET_CACHE_DIR, { recursive: true });
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  try {
    fs.writeFileSync(tmp, zlib.gunzipSync(fs.readFileSync(DEVNET_GZ)), { mode: 0o755 });
    const got = sha256File(tmp);
    if (got !== DEVNET_SHA256) {
      log(`starknet-devnet: ${DEVNET_GZ} unpacks to a binary with sha256 ${got}, not ${DEVNET_SHA256}: not using it`);
      return null;
    }
    fs.renameSync(tmp, target);
    log(`starknet-devnet: unpacked ${path.relative(ROOT, DEVNET_GZ)} into ${path.relative(ROOT, target)}`);
    return target;
  } catch (e) {
    log(`starknet-devnet: could not unpack ${DEVNET_GZ}: ${e.message}`);
    return null;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** `cargo install starknet-devnet@DEVNET_VERSION --locked --root DEVNET_CACHE_DIR` (reused when already built). */
function fromCargo(log) {
  const target = path.join(DEVNET_CACHE_DIR, 'bin', 'starknet-devnet');
  if (isExecutable(target) && versionOf(target) === DEVNET_VERSION) return target;
  const argv = ['install', `starknet-devnet@${DEVNET_VERSION}`, '--locked', '--root', DEVNET_CACHE_DIR];
  const banner = '!'.repeat(100);
  log(
    `${banner}\nstarknet-devnet ${DEVNET_VERSION} is neither on PATH nor prebuilt in ${DEVNET_GZ}:\n` +
      `building it with \`cargo ${argv.join(' ')}\`.\n` +
      'THIS TAKES ABOUT AN HOUR ON 2 CORES. Put a starknet-devnet 0.10.1 on PATH to skip it.\n' +
      banner,
  );
  const r = spawnSync('cargo', argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw new Error(`starknet-devnet: cannot run cargo (${r.error.message}); install Rust or put starknet-devnet ${DEVNET_VERSION} on PATH`);
  if (r.status !== 0) throw new Error(`starknet-devnet: \`cargo ${argv.join(' ')}\` failed with exit code ${r.status}`);
  if (!isExecutable(target)) throw new Error(`starknet-devnet: cargo install succeeded but ${target} is missing`);
  return target;
}

let found;
/**
 * Path of a `starknet-devnet` 0.10.1 binary: $STARKNET_DEVNET_BIN when set; else `starknet-devnet` from PATH
 * when its `--version` is 0.10.1; else the prebuilt `../shared/tools/starknet-devnet-0.10.1-x86_64-linux.gz`
 * unpacked into `node_modules/.cache/x402-edge/starknet-devnet-0.10.1/starknet-devnet` (its sha256 checked;
 * skipped when already there); else built with `cargo install` into that directory (about an hour).
 * The answer is kept for the rest of the process.
 * @param {{log?: (msg: string) => void}} [opts]
 * @returns {string}
 */
export function findDevnet({ log = stderrLog } = {}) {
  if (found && isExecutable(found)) return found;
  const fromEnv = process.env.STARKNET_DEVNET_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`STARKNET_DEVNET_BIN=${fromEnv} is not an executable file`);
    found = fromEnv;
  } else {
    found = fromPath(log) ?? fromPrebuilt(log) ?? fromCargo(log);
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// JSON-RPC

/**
 * JSON text of `value` where bigints become JSON numbers of any size (devnet_mint wants its amount as a JSON
 * number, and amounts above 2^53 are common).
 */
function toJsonWithBigNumbers(value) {
  const text = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v}` : v));
  return text.replace(new RegExp(`"${BIGINT_MARK}(-?\\d+)"`, 'g'), '$1');
}
const BIGINT_MARK = '#x402-edge-bigint#';

/** An error answered by the node: `code`, `data` and the method are kept. */
export class DevnetRpcError extends Error {
  constructor(method, error) {
    super(`${method}: ${error.message ?? JSON.stringify(error)}${error.data ? ` (${JSON.stringify(error.data)})` : ''}`);
    this.method = method;
    this.code = error.code;
    this.data = error.data;
  }
}

/** One JSON-RPC call; bigints in `params` go out as JSON numbers. */
export async function devnetRpc(url, method, params = {}, { timeoutMs = 10_000 } = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: toJsonWithBigNumbers({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.json();
  if (body.error) throw new DevnetRpcError(method, body.error);
  return body.result;
}

const hex = (n) => `0x${BigInt(n).toString(16)}`;
const UNITS = { FRI: 'FRI', STRK: 'FRI', WEI: 'WEI', ETH: 'WEI' };

// ---------------------------------------------------------------------------------------------------
// startDevnet

/**
 * Start `starknet-devnet` on 127.0.0.1 (its own process group, killed by stop() and when this process exits)
 * and wait until its JSON-RPC answers.
 *
 * @param {object} [opts]
 * @param {number} [opts.port=0]          0 = the devnet picks a free port and prints it
 * @param {number} [opts.seed=0]          seed of the predeployed accounts (0: the well-known devnet accounts)
 * @param {number} [opts.accounts=10]     how many predeployed accounts
 * @param {bigint|number|string} [opts.initialBalance]  each account's STRK (FRI) and ETH (WEI) balance;
 *                                        devnet's default is 10^21
 * @param {number} [opts.startTime]       the first block's timestamp (seconds); default: the wall clock
 * @param {string[]} [opts.args]          more `starknet-devnet` flags
 * @param {number} [opts.timeoutMs=60000]
 * @param {boolean} [opts.echo=false]     copy the devnet's output to stderr
 * @param {(msg: string) => void} [opts.log]  for findDevnet()'s messages
 * @returns {Promise<{
 *   url: string, port: number, chainId: string,
 *   accounts: Array<{address: string, privateKey: string, publicKey: string}>,
 *   strk: string, eth: string,
 *   mint: (address: string, amount: bigint|number|string, unit?: 'FRI'|'WEI'|'STRK'|'ETH') => Promise<{newBalance: bigint, unit: string, txHash: string}>,
 *   balance: (token: string, address: string) => Promise<bigint>,
 *   rpc: (method: string, params?: any) => Promise<any>,
 *   process: import('node:child_process').ChildProcess, output: () => string, stop: () => Promise<void>
 * }>}
 *   `url` is the JSON-RPC endpoint (`http://127.0.0.1:PORT/rpc`); `chainId` the felt hex of the chain id;
 *   `strk`/`eth` the fee-token addresses; `balance(token, address)` reads `balance_of` of an ERC-20 (`token`
 *   may also be 'STRK' or 'ETH'); `mint` is devnet_mint (unit FRI = STRK, WEI = ETH).
 */
export async function startDevnet({
  port = 0,
  seed = 0,
  accounts = 10,
  initialBalance,
  startTime,
  args = [],
  timeoutMs = 60_000,
  echo = false,
  log = stderrLog,
} = {}) {
  const bin = findDevnet({ log });
  // Another node already on an explicit port would answer our readiness probe: refuse up front.
  if (port !== 0 && !(await portIsFree(port))) throw new Error(`127.0.0.1:${port}: address already in use`);
  const argv = ['--host', '127.0.0.1', '--port', String(port), '--seed', String(seed), '--accounts', String(accounts)];
  if (initialBalance !== undefined) argv.push('--initial-balance', BigInt(initialBalance).toString());
  if (startTime !== undefined) argv.push('--start-time', String(startTime));
  argv.push(...args);

  const env = { ...process.env, NO_COLOR: '1' };
  for (const name of DEVNET_ENV_VARS) delete env[name];
  const [cmd, ...cmdArgs] = [...deathSignalPrefix(), bin, ...argv];
  const child = spawn(cmd, cmdArgs, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env });
  trackGroup(child);

  let output = '';
  const keep = (chunk) => {
    const text = chunk.toString();
    output = (output + text).slice(-64_000);
    if (echo) process.stderr.write(text);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);

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
  };

  const cmdline = `${bin} ${argv.join(' ')}`;
  const deadline = Date.now() + timeoutMs;
  let url = null;
  let last = 'not listening yet';
  let chainId;
  for (;;) {
    if (exitInfo) {
      const why = exitInfo.error ? exitInfo.error.message : `exit code ${exitInfo.code}, signal ${exitInfo.signal}`;
      throw new Error(`starknet-devnet exited before it was ready (${why}): ${cmdline}\n${output.trim().slice(-4000)}`);
    }
    // With --port 0 the devnet binds a port of its own choosing and prints it.
    const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
    if (listening && !url) url = `http://127.0.0.1:${listening[1]}/rpc`;
    if (url) {
      try {
        chainId = await devnetRpc(url, 'starknet_chainId', [], { timeoutMs: 2000 });
        break;
      } catch (e) {
        last = e.cause?.code ?? e.message;
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `starknet-devnet did not answer starknet_chainId within ${timeoutMs / 1000} s (last: ${last}): ${cmdline}\n` +
          output.trim().slice(-4000),
      );
    }
    await sleep(50);
  }

  try {
    const rpc = (method, params = {}) => devnetRpc(url, method, params);
    const predeployed = await rpc('devnet_getPredeployedAccounts', {});
    // The fee tokens as the devnet printed them at start-up, else the well-known addresses it uses.
    const printed = (symbol) => {
      const m = new RegExp(`${symbol} Address: (0x[0-9a-fA-F]+)`).exec(output);
      return m ? `0x${m[1].slice(2).toLowerCase().padStart(64, '0')}` : null;
    };
    const strk = printed('STRK') ?? STRK_ADDRESS;
    const eth = printed('ETH') ?? ETH_ADDRESS;
    const tokenAddress = (token) => (token === 'STRK' ? strk : token === 'ETH' ? eth : token);

    return {
      url,
      port: Number(new URL(url).port),
      chainId,
      accounts: predeployed.map((a) => ({ address: a.address, privateKey: a.private_key, publicKey: a.public_key })),
      strk,
      eth,
      async mint(address, amount, unit = 'FRI') {
        const u = UNITS[unit];
        if (!u) throw new Error(`mint: unit must be FRI (STRK) or WEI (ETH), not ${unit}`);
        const r = await rpc('devnet_mint', { address, amount: BigInt(amount), unit: u });
        return { newBalance: BigInt(r.new_balance), unit: r.unit, txHash: r.tx_hash };
      },
      async balance(token, address) {
        const [low, high] = await rpc('starknet_call', {
          request: {
            contract_address: tokenAddress(token),
            // starknet_keccak('balance_of')
            entry_point_selector: '0x35a73cd311a05d46deda634c5ee045db92f811b4e74bca4437fcb5302b7af33',
            calldata: [hex(address)],
          },
          block_id: 'latest',
        });
        return BigInt(low) + (BigInt(high) << 128n);
      },
      rpc,
      process: child,
      output: () => output,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
