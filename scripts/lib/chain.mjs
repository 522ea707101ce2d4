// Local EVM tooling for tests and the dev stack: compile the test contracts with solc-js, find and run
// anvil (from npm @foundry-rs/anvil), deploy the USDC-like test token.
//
// Plain ESM for node >= 20. Everything here is offline and binds to loopback only.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import {
  createPublicClient,
  createWalletClient,
  decodeAbiParameters,
  defineChain,
  encodeAbiParameters,
  getAddress,
  hashDomain,
  http,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const require = createRequire(import.meta.url);

/** Repository root (this file is scripts/lib/chain.mjs). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTRACTS_DIR = path.join(ROOT, 'contracts');
export const ARTIFACTS_DIR = path.join(ROOT, 'build', 'contracts');

// ---------------------------------------------------------------------------------------------------
// Well-known anvil/hardhat test accounts (mnemonic "test test test test test test test test test test
// test junk", path m/44'/60'/0'/0/i). These keys are public: never use them for anything real.

export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

/** @type {ReadonlyArray<{address: `0x${string}`, privateKey: `0x${string}`}>} */
export const ANVIL_ACCOUNTS = Object.freeze(
  [
    ['0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'],
    ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8', '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d'],
    ['0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a'],
    ['0x90F79bf6EB2c4f870365E785982E1f101E93b906', '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6'],
    ['0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65', '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a'],
    ['0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc', '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba'],
    ['0x976EA74026E726554dB657fA54763abd0C3a0aa9', '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e'],
    ['0x14dC79964da2C08b23698B3D3cc7Ca32193d9955', '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356'],
    ['0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f', '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97'],
    ['0xa0Ee7A142d267C1f36714E4a8F75612F20a79720', '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6'],
  ].map(([address, privateKey]) => Object.freeze({ address, privateKey })),
);

// ---------------------------------------------------------------------------------------------------
// Solidity compilation (solc-js, offline)

export const SOLC_SETTINGS = Object.freeze({
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
});

const IMPORT_RE = /^\s*import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/gm;

function sha256(data) {
  return createHash('sha256').update(data).digest('hex');
}

/** Resolve a solc source unit name to a file on disk, or null. */
function resolveSourceUnit(unit) {
  if (unit.startsWith('contracts/')) return path.join(ROOT, unit);
  // Package import ("@scope/pkg/path.sol" or "pkg/path.sol") resolved from node_modules.
  const parts = unit.split('/');
  const pkgName = unit.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const rest = parts.slice(unit.startsWith('@') ? 2 : 1).join('/');
  try {
    const pkgJson = require.resolve(`${pkgName}/package.json`, { paths: [ROOT] });
    return path.join(path.dirname(pkgJson), rest);
  } catch {
    return null;
  }
}

/** Solidity's import path resolution: relative paths are relative to the importing unit's directory. */
function joinImport(fromUnit, importPath) {
  if (!importPath.startsWith('./') && !importPath.startsWith('../')) return importPath;
  return path.posix.normalize(path.posix.join(path.posix.dirname(fromUnit), importPath));
}

/** Every source unit reachable from `unit` (itself included), as [unit, content] sorted by unit name. */
function sourceClosure(unit) {
  const seen = new Map();
  const stack = [unit];
  while (stack.length) {
    const u = stack.pop();
    if (seen.has(u)) continue;
    const file = resolveSourceUnit(u);
    const content = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
    seen.set(u, content);
    if (content == null) continue;
    for (const m of content.matchAll(IMPORT_RE)) stack.push(joinImport(u, m[1]));
  }
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function solcPackageVersion() {
  return JSON.parse(fs.readFileSync(require.resolve('solc/package.json', { paths: [ROOT] }), 'utf8')).version;
}

function sourceHashOf(unit) {
  return sha256(
    JSON.stringify({ solc: solcPackageVersion(), settings: SOLC_SETTINGS, sources: sourceClosure(unit) }),
  );
}

function readArtifact(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(ARTIFACTS_DIR, `${name}.json`), 'utf8'));
  } catch {
    return null;
  }
}

function writeJsonAtomic(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

/**
 * Compile every `contracts/*.sol` with solc-js (optimizer on, evmVersion cancun), caching one artifact per
 * contract in `build/contracts/<Name>.json` = {contractName, sourceName, compiler, sourceHash, abi, bytecode,
 * deployedBytecode} (bytecode is 0x-prefixed hex). A source file is recompiled only when the hash of its
 * import closure, the solc version or the settings change, or when `force` is set. Artifacts of a file
 * `X.sol` are looked up as `X.json` to decide staleness, so name each file after its main contract.
 *
 * @param {{force?: boolean, log?: (msg: string) => void}} [opts]
 * @returns {Promise<Record<string, {abi: any[], bytecode: `0x${string}`, deployedBytecode: `0x${string}`, sourceHash: string}>>}
 */
export async function compileContracts({ force = false, log = (m) => process.stderr.write(m + '\n') } = {}) {
  const files = fs
    .readdirSync(CONTRACTS_DIR)
    .filter((f) => f.endsWith('.sol'))
    .sort();
  const units = files.map((f) => `contracts/${f}`);
  const hashes = Object.fromEntries(units.map((u) => [u, sourceHashOf(u)]));

  const stale = units.filter((u) => {
    if (force) return true;
    const art = readArtifact(path.basename(u, '.sol'));
    return !art || art.sourceHash !== hashes[u] || !Array.isArray(art.abi) || typeof art.bytecode !== 'string';
  });

  /** @type {Record<string, any>} */
  const artifacts = {};

  if (stale.length) {
    const solc = require('solc');
    const input = {
      language: 'Solidity',
      sources: Object.fromEntries(stale.map((u) => [u, { content: fs.readFileSync(resolveSourceUnit(u), 'utf8') }])),
      settings: SOLC_SETTINGS,
    };
    const findImports = (unit) => {
      const file = resolveSourceUnit(unit);
      if (!file || !fs.existsSync(file)) return { error: `File not found: ${unit}` };
      return { contents: fs.readFileSync(file, 'utf8') };
    };
    const t0 = Date.now();
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
    const diagnostics = output.errors ?? [];
    const errors = diagnostics.filter((e) => e.severity === 'error');
    if (errors.length) {
      throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage ?? e.message).join('\n')}`);
    }
    for (const w of diagnostics) log(`solc ${w.severity}: ${w.formattedMessage ?? w.message}`);
    const compiler = { name: 'solc-js', version: solc.version(), settings: SOLC_SETTINGS };
    for (const unit of stale) {
      for (const [name, c] of Object.entries(output.contracts?.[unit] ?? {})) {
        const art = {
          contractName: name,
          sourceName: unit,
          compiler,
          sourceHash: hashes[unit],
          abi: c.abi,
          bytecode: `0x${c.evm.bytecode.object}`,
          deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        };
        writeJsonAtomic(path.join(ARTIFACTS_DIR, `${name}.json`), art);
        artifacts[name] = art;
      }
    }
    log(`compiled ${stale.join(', ')} in ${Date.now() - t0} ms -> ${path.relative(ROOT, ARTIFACTS_DIR)}/`);
  }

  // Fresh artifacts straight from the cache.
  for (const f of fs.readdirSync(ARTIFACTS_DIR)) {
    if (!f.endsWith('.json')) continue;
    const art = readArtifact(path.basename(f, '.json'));
    if (!art || artifacts[art.contractName]) continue;
    if (units.includes(art.sourceName) && art.sourceHash === hashes[art.sourceName]) {
      artifacts[art.contractName] = art;
    }
  }
  return artifacts;
}

/** Load one compiled artifact, compiling first if needed. */
export async function loadArtifact(name) {
  const arts = await compileContracts();
  const art = arts[name];
  if (!art) throw new Error(`no compiled contract named ${name} (have: ${Object.keys(arts).join(', ')})`);
  return art;
}

// ---------------------------------------------------------------------------------------------------
// anvil

const ARCH = { x64: 'amd64', arm64: 'arm64' };

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Path of the anvil binary: $ANVIL_BIN if set, else the native binary that npm `@foundry-rs/anvil` installs
 * through its platform package `@foundry-rs/anvil-<os>-<arch>` (bin/anvil). node_modules/.bin/anvil is a
 * node wrapper script (bin.mjs) around that binary, so it is not used. Falls back to `anvil` on PATH.
 * @returns {string}
 */
export function findAnvil() {
  const fromEnv = process.env.ANVIL_BIN;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`ANVIL_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  const candidates = [];
  const arch = ARCH[process.arch];
  if (arch) {
    try {
      candidates.push(
        require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${exe}`, { paths: [ROOT] }),
      );
    } catch {
      /* platform package missing */
    }
  }
  try {
    // Where the package's postinstall / bin.mjs fall back to when the platform package is missing.
    const wrapperDir = path.dirname(require.resolve('@foundry-rs/anvil/package.json', { paths: [ROOT] }));
    candidates.push(path.join(wrapperDir, exe), path.join(wrapperDir, '..', 'dist', exe));
  } catch {
    /* wrapper package missing */
  }
  for (const c of candidates) if (isExecutable(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const c = dir && path.join(dir, exe);
    // Skip node wrappers such as node_modules/.bin/anvil -> @foundry-rs/anvil/bin.mjs.
    if (c && isExecutable(c) && !/\.[cm]?js$/.test(fs.realpathSync(c))) return c;
  }
  throw new Error(
    'anvil not found: run `npm install` (devDependency @foundry-rs/anvil ships it as ' +
      `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}) or set ANVIL_BIN`,
  );
}

/** Children still running, killed when this process exits. */
const liveChildren = new Set();
let exitHooksInstalled = false;

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) {
      try {
        child.kill('SIGTERM');
      } catch {
        /* already gone */
      }
    }
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    const handler = () => {
      for (const child of liveChildren) {
        try {
          child.kill('SIGTERM');
        } catch {
          /* already gone */
        }
      }
      // Keep the default behaviour (terminate) unless someone else handles the signal.
      process.off(sig, handler);
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, handler);
  }
}

let pdeathsigPrefix;
/** On Linux, `setpriv --pdeathsig TERM` makes the kernel signal anvil even if this process is SIGKILLed. */
function deathSignalPrefix() {
  if (pdeathsigPrefix !== undefined) return pdeathsigPrefix;
  pdeathsigPrefix = [];
  if (process.platform === 'linux' && !process.env.ANVIL_NO_PDEATHSIG) {
    const r = spawnSync('setpriv', ['--pdeathsig', 'TERM', 'true'], { stdio: 'ignore' });
    if (r.status === 0) pdeathsigPrefix = ['setpriv', '--pdeathsig', 'TERM'];
  }
  return pdeathsigPrefix;
}

/** A free TCP port on 127.0.0.1 (closed again before returning; anvil binds it right after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Whether 127.0.0.1:port can be bound right now. */
function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** One JSON-RPC call with fetch. */
export async function rpc(rpcUrl, method, params = [], { timeoutMs = 5000 } = {}) {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${body.error.message ?? JSON.stringify(body.error)}`);
  return body.result;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The receipt of `hash` once mined: anvil's automine answers `eth_sendTransaction` with the hash before
 * the block exists, so a receipt read right after it can still be null.
 */
export async function minedReceipt(rpcUrl, hash, { timeoutMs = 10_000 } = {}) {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((r) => setTimeout(r, 25))) {
    const receipt = await rpc(rpcUrl, 'eth_getTransactionReceipt', [hash]);
    if (receipt) return receipt;
    if (Date.now() > deadline) throw new Error(`${hash} was not mined within ${timeoutMs} ms`);
  }
}

/**
 * Start anvil on 127.0.0.1 and wait until it answers `eth_chainId`.
 *
 * @param {object} [opts]
 * @param {number} [opts.port=0]         0 = pick a free loopback port
 * @param {number} [opts.chainId=84532]  (Base Sepolia's id by default)
 * @param {number} [opts.blockTime]      seconds between blocks; default: automine (a block per transaction)
 * @param {string} [opts.stateFile]      anvil --state: load from it if it exists, dump to it on stop()
 * @param {string} [opts.loadState]      anvil --load-state
 * @param {string} [opts.dumpState]      anvil --dump-state (written when anvil exits on SIGTERM, i.e. stop())
 * @param {string} [opts.hardfork]       anvil --hardfork (default: anvil's latest)
 * @param {string[]} [opts.args]         extra anvil arguments
 * @param {boolean} [opts.silent=true]   false: no --silent, anvil's log goes to this process's stderr
 * @param {number} [opts.timeoutMs=20000]
 * @returns {Promise<{rpcUrl: string, port: number, chainId: number, process: import('node:child_process').ChildProcess, stop: () => Promise<void>}>}
 */
export async function startAnvil({
  port = 0,
  chainId = 84532,
  blockTime,
  stateFile,
  loadState,
  dumpState,
  hardfork,
  args = [],
  silent = true,
  timeoutMs = 20_000,
} = {}) {
  const bin = findAnvil();
  installExitHooks();
  const attempts = port === 0 ? 5 : 1;
  let lastErr;
  for (let i = 0; i < attempts; i++) {
    const p = port === 0 ? await freePort() : port;
    // Another node already on an explicit port would answer our readiness probe: refuse up front.
    if (port !== 0 && !(await portIsFree(p))) throw new Error(`127.0.0.1:${p}: address already in use`);
    const argv = ['--host', '127.0.0.1', '--port', String(p), '--chain-id', String(chainId)];
    if (silent) argv.push('--silent');
    if (blockTime !== undefined) argv.push('--block-time', String(blockTime));
    if (stateFile) argv.push('--state', stateFile);
    if (loadState) argv.push('--load-state', loadState);
    if (dumpState) argv.push('--dump-state', dumpState);
    if (hardfork) argv.push('--hardfork', hardfork);
    argv.push(...args);
    try {
      return await launch(bin, argv, p, chainId, silent, timeoutMs);
    } catch (e) {
      lastErr = e;
      if (!(port === 0 && /address already in use/i.test(String(e.message)))) throw e;
    }
  }
  throw lastErr;
}

async function launch(bin, argv, port, chainId, silent, timeoutMs) {
  const prefix = deathSignalPrefix();
  const [cmd, ...cmdArgs] = prefix.length ? [...prefix, bin, ...argv] : [bin, ...argv];
  const child = spawn(cmd, cmdArgs, { stdio: ['ignore', silent ? 'pipe' : 'inherit', 'pipe'] });
  liveChildren.add(child);

  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr.on('data', (c) => {
    keep(c);
    if (!silent) process.stderr.write(c);
  });

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      liveChildren.delete(child);
      resolve(exitInfo);
    });
    child.on('error', (err) => {
      exitInfo = { error: err };
      liveChildren.delete(child);
      resolve(exitInfo);
    });
  });

  const stop = async () => {
    if (exitInfo) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      if (!exitInfo) child.kill('SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(t);
  };

  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  const cmdline = `${bin} ${argv.join(' ')}`;
  let lastRpcError = 'none';
  for (;;) {
    if (exitInfo) {
      const why = exitInfo.error ? exitInfo.error.message : `exit code ${exitInfo.code} signal ${exitInfo.signal}`;
      throw new Error(`anvil exited before it was ready (${why}): ${cmdline}\n${output.trim()}`);
    }
    try {
      const id = Number(await rpc(rpcUrl, 'eth_chainId', [], { timeoutMs: 1000 }));
      if (id !== chainId) {
        await stop();
        throw new Error(`anvil at ${rpcUrl} answered chain id ${id}, expected ${chainId} (port taken by another node?)`);
      }
      return { rpcUrl, port, chainId, process: child, stop };
    } catch (e) {
      if (/answered chain id/.test(String(e.message))) throw e;
      lastRpcError = e.cause ? `${e.message}: ${e.cause.message ?? e.cause}` : e.message;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `anvil did not answer eth_chainId at ${rpcUrl} within ${timeoutMs} ms (last error: ${lastRpcError}): ` +
          `${cmdline}\n${output.trim()}`,
      );
    }
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------------
// viem helpers, deployment

/** A viem chain object for a local node. */
export function localChain(rpcUrl, chainId) {
  return defineChain({
    id: chainId,
    name: `local-${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/**
 * viem clients for a local node; `privateKey` defaults to anvil account #0.
 * @returns {{chain: any, account: any, publicClient: any, walletClient: any}}
 */
export function clients({ rpcUrl, chainId, privateKey = ANVIL_ACCOUNTS[0].privateKey }) {
  const chain = localChain(rpcUrl, chainId);
  const transport = http(rpcUrl, { retryCount: 0 });
  const account = privateKeyToAccount(privateKey);
  return {
    chain,
    account,
    publicClient: createPublicClient({ chain, transport, pollingInterval: 50 }),
    walletClient: createWalletClient({ chain, transport, account, pollingInterval: 50 }),
  };
}

/**
 * Deploy a compiled contract from build/contracts (compiling if needed); waits for the receipt.
 * @returns {Promise<{address: `0x${string}`, abi: any[], txHash: `0x${string}`}>}
 */
export async function deployContract({ rpcUrl, chainId, name, args = [], privateKey = ANVIL_ACCOUNTS[0].privateKey }) {
  chainId ??= Number(await rpc(rpcUrl, 'eth_chainId'));
  const { abi, bytecode } = await loadArtifact(name);
  const { publicClient, walletClient } = clients({ rpcUrl, chainId, privateKey });
  const txHash = await walletClient.deployContract({ abi, bytecode, args });
  const receipt = await publicClient.waitForTransactionReceipt({ hash: txHash });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying ${name} failed: ${txHash}`);
  return { address: getAddress(receipt.contractAddress), abi, txHash };
}

/**
 * Deploy TestUSDC from anvil account #0 (its owner) and mint `fundAmount` (6 decimals) to each of the 10
 * anvil accounts.
 * @returns {Promise<{address: `0x${string}`, abi: any[], chainId: number, name: string, symbol: string, version: string,
 *   accounts: ReadonlyArray<{address: `0x${string}`, privateKey: `0x${string}`}>, deployer: {address: `0x${string}`, privateKey: `0x${string}`}}>}
 */
export async function deployTestToken({
  rpcUrl,
  chainId,
  name = 'USD Coin',
  symbol = 'USDC',
  version = '2',
  fundAmount = 1_000_000n * 10n ** 6n,
}) {
  chainId ??= Number(await rpc(rpcUrl, 'eth_chainId'));
  const deployer = ANVIL_ACCOUNTS[0];
  const { address, abi } = await deployContract({
    rpcUrl,
    chainId,
    name: 'TestUSDC',
    args: [name, symbol, version, deployer.address],
    privateKey: deployer.privateKey,
  });
  if (fundAmount > 0n) {
    const { publicClient, walletClient } = clients({ rpcUrl, chainId, privateKey: deployer.privateKey });
    // Send all mints with explicit nonces and gas, then wait: one block for all of them with --block-time.
    let nonce = await publicClient.getTransactionCount({ address: deployer.address, blockTag: 'pending' });
    const hashes = [];
    for (const acct of ANVIL_ACCOUNTS) {
      hashes.push(
        await walletClient.writeContract({
          address,
          abi,
          functionName: 'mint',
          args: [acct.address, fundAmount],
          nonce: nonce++,
          gas: 200_000n,
        }),
      );
    }
    for (const hash of hashes) {
      const r = await publicClient.waitForTransactionReceipt({ hash });
      if (r.status !== 'success') throw new Error(`mint failed: ${hash}`);
    }
  }
  return { address, abi, chainId, name, symbol, version, accounts: ANVIL_ACCOUNTS, deployer };
}

/** Multicall3's address, the same on every chain that has it. */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11';

/**
 * Put the real Multicall3 (viem ships its creation code) at its canonical address, as on the public chains:
 * the facilitator simulates a counterfactual (ERC-6492) wallet's deployment and payment through it.
 */
export async function installMulticall3({ rpcUrl, chainId }) {
  chainId ??= Number(await rpc(rpcUrl, 'eth_chainId'));
  // viem keeps it out of its public exports: import the module by its path.
  const viemDir = path.dirname(require.resolve('viem/package.json', { paths: [ROOT] }));
  const { multicall3Bytecode } = await import(pathToFileURL(path.join(viemDir, '_esm/constants/contracts.js')).href);
  const { publicClient, walletClient } = clients({ rpcUrl, chainId });
  const hash = await walletClient.sendTransaction({ data: multicall3Bytecode });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying Multicall3 failed: ${hash}`);
  const code = await rpc(rpcUrl, 'eth_getCode', [receipt.contractAddress, 'latest']);
  await rpc(rpcUrl, 'anvil_setCode', [MULTICALL3_ADDRESS, code]);
  return MULTICALL3_ADDRESS;
}

// ---------------------------------------------------------------------------------------------------
// Permit2 and the x402 Permit2 proxies

/** Uniswap Permit2's canonical address (the same on every chain that has it). */
export const PERMIT2_ADDRESS = '0x000000000022D473030F116dDEE9F6B43aC78BA3';
/** The canonical x402ExactPermit2Proxy: the spender of `exact` Permit2 payments. */
export const X402_EXACT_PERMIT2_PROXY_ADDRESS = '0x402085c248EeA27D92E8b30b2C58ed07f9E20001';
/** The canonical x402UptoPermit2Proxy: the spender of `upto` payments. */
export const X402_UPTO_PERMIT2_PROXY_ADDRESS = '0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002';
/**
 * Permit2's runtime bytecode, vendored from npm `@uniswap/v4-periphery@1.0.3` (contracts/vendor/README.md;
 * `node scripts/vendor-permit2.mjs` re-extracts and checks it): `0x…` hex and a newline.
 */
export const PERMIT2_RUNTIME_FILE = path.join(CONTRACTS_DIR, 'vendor', 'Permit2.runtime.hex');

/** Permit2's EIP-712 domain (it has no `version`). */
export function permit2Domain(chainId) {
  return { name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS };
}

/** What Permit2's `DOMAIN_SEPARATOR()` must answer at its canonical address on `chainId`. */
export function permit2DomainSeparator(chainId) {
  return hashDomain({
    domain: permit2Domain(chainId),
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
      ],
    },
  });
}

const TOKEN_PERMISSIONS = [
  { name: 'token', type: 'address' },
  { name: 'amount', type: 'uint256' },
];
const PERMIT_WITNESS_TRANSFER_FROM = [
  { name: 'permitted', type: 'TokenPermissions' },
  { name: 'spender', type: 'address' },
  { name: 'nonce', type: 'uint256' },
  { name: 'deadline', type: 'uint256' },
  { name: 'witness', type: 'Witness' },
];

/** EIP-712 types of an `exact` Permit2 payment (primary type `PermitWitnessTransferFrom`), for signTypedData. */
export const PERMIT2_EXACT_WITNESS_TYPES = {
  PermitWitnessTransferFrom: PERMIT_WITNESS_TRANSFER_FROM,
  TokenPermissions: TOKEN_PERMISSIONS,
  Witness: [
    { name: 'to', type: 'address' },
    { name: 'validAfter', type: 'uint256' },
  ],
};

/** EIP-712 types of an `upto` Permit2 payment (the witness also names the facilitator). */
export const PERMIT2_UPTO_WITNESS_TYPES = {
  PermitWitnessTransferFrom: PERMIT_WITNESS_TRANSFER_FROM,
  TokenPermissions: TOKEN_PERMISSIONS,
  Witness: [
    { name: 'to', type: 'address' },
    { name: 'facilitator', type: 'address' },
    { name: 'validAfter', type: 'uint256' },
  ],
};

/**
 * The domain separator the vendored Permit2 runtime caches (an immutable, with the chain id 31337): the one
 * of chain 31337 at some address other than the canonical one. Permit2 uses the cache only when
 * `block.chainid` is 31337; elsewhere it recomputes the separator.
 */
export const PERMIT2_VENDORED_CACHED_SEPARATOR = '0xd5a17abc3865df5c1400c0299bd4ce2eefc8114aec5f9d3dded1745783e57b98';
const PERMIT2_VENDORED_CACHED_CHAIN_ID = 31337;

/**
 * The vendored Permit2 runtime code, with its cached domain separator (the one PUSH32 of
 * [PERMIT2_VENDORED_CACHED_SEPARATOR]) replaced by the canonical address's for the cached chain id: the
 * code a deployment at the canonical address would have, so that it is right on chain 31337 too.
 */
export function permit2RuntimeCode() {
  const hex = fs.readFileSync(PERMIT2_RUNTIME_FILE, 'utf8').trim();
  if (!/^0x(?:[0-9a-f]{2})+$/.test(hex)) throw new Error(`${PERMIT2_RUNTIME_FILE}: not 0x-prefixed lowercase hex`);
  const cached = `7f${PERMIT2_VENDORED_CACHED_SEPARATOR.slice(2)}`;
  const parts = hex.split(cached);
  if (parts.length !== 2) throw new Error(`${PERMIT2_RUNTIME_FILE}: expected one PUSH32 of the cached domain separator`);
  return parts.join(`7f${permit2DomainSeparator(PERMIT2_VENDORED_CACHED_CHAIN_ID).slice(2)}`);
}

/**
 * The runtime code `name`'s constructor returns for `args`: the creation code run in an `eth_call` (no `to`),
 * so immutables are filled in exactly as a deployment would, without a transaction (no deployer nonce is
 * used, every other contract keeps its address).
 */
async function runtimeCodeOf(rpcUrl, name, types, args) {
  const { bytecode } = await loadArtifact(name);
  const data = bytecode + encodeAbiParameters(types, args).slice(2);
  const code = await rpc(rpcUrl, 'eth_call', [{ data }, 'latest'], { timeoutMs: 15_000 });
  if (!code || code === '0x') throw new Error(`${name}'s constructor returned no runtime code`);
  return code;
}

/** `eth_call` of a no-argument view answering one word, e.g. `PERMIT2()`. */
async function readWord(rpcUrl, to, selector) {
  return rpc(rpcUrl, 'eth_call', [{ to, data: selector }, 'latest']);
}

/**
 * Put Uniswap Permit2 and the x402 Permit2 proxies at their canonical addresses with `anvil_setCode`, as on
 * the public chains, so that the official `@x402/evm` clients can pay with Permit2 (`exact` with
 * `assetTransferMethod: "permit2"`, and `upto`) and a facilitator can settle through the proxies.
 *
 * Permit2's runtime is the vendored one ([permit2RuntimeCode]): it recomputes its domain separator for
 * `chainId` at its canonical address (or uses its patched cache on chain 31337). The proxies are this repository's own
 * (contracts/x402*Permit2Proxy.sol), built with the canonical Permit2 as their immutable `PERMIT2`. Uses
 * no transaction. Throws unless `DOMAIN_SEPARATOR()` and both proxies' `PERMIT2()` answer as expected.
 *
 * @returns {Promise<{permit2: string, exactProxy: string, uptoProxy: string}>}
 */
export async function installPermit2({ rpcUrl, chainId }) {
  chainId ??= Number(await rpc(rpcUrl, 'eth_chainId'));
  await rpc(rpcUrl, 'anvil_setCode', [PERMIT2_ADDRESS, permit2RuntimeCode()]);
  const proxies = [
    ['x402ExactPermit2Proxy', X402_EXACT_PERMIT2_PROXY_ADDRESS],
    ['x402UptoPermit2Proxy', X402_UPTO_PERMIT2_PROXY_ADDRESS],
  ];
  for (const [name, at] of proxies) {
    const code = await runtimeCodeOf(rpcUrl, name, [{ type: 'address' }], [PERMIT2_ADDRESS]);
    await rpc(rpcUrl, 'anvil_setCode', [at, code]);
  }

  const separator = await readWord(rpcUrl, PERMIT2_ADDRESS, '0x3644e515'); // DOMAIN_SEPARATOR()
  const expected = permit2DomainSeparator(chainId);
  if (separator !== expected) {
    throw new Error(`Permit2 at ${PERMIT2_ADDRESS} answers DOMAIN_SEPARATOR() ${separator}, expected ${expected} (chain ${chainId})`);
  }
  for (const [name, at] of proxies) {
    const word = await readWord(rpcUrl, at, '0x6afdd850'); // PERMIT2()
    const [permit2] = decodeAbiParameters([{ type: 'address' }], word);
    if (permit2 !== PERMIT2_ADDRESS) throw new Error(`${name} at ${at} answers PERMIT2() ${permit2}, expected ${PERMIT2_ADDRESS}`);
  }
  return { permit2: PERMIT2_ADDRESS, exactProxy: X402_EXACT_PERMIT2_PROXY_ADDRESS, uptoProxy: X402_UPTO_PERMIT2_PROXY_ADDRESS };
}

/** ERC-20 balance of `owner` at the latest block, as a bigint. */
export async function balanceOf({ rpcUrl, token, owner }) {
  const data = '0x70a08231' + owner.toLowerCase().replace(/^0x/, '').padStart(64, '0');
  const result = await rpc(rpcUrl, 'eth_call', [{ to: token, data }, 'latest']);
  if (!result || result === '0x') throw new Error(`balanceOf returned nothing: is ${token} a token contract?`);
  return BigInt(result);
}

/** EIP-712 types of EIP-2612 `Permit`, for viem's signTypedData. */
export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
};

/** EIP-712 types of EIP-3009 `TransferWithAuthorization`, for viem's signTypedData. */
export const TRANSFER_TYPES = {
  TransferWithAuthorization: [
    { name: 'from', type: 'address' },
    { name: 'to', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'validAfter', type: 'uint256' },
    { name: 'validBefore', type: 'uint256' },
    { name: 'nonce', type: 'bytes32' },
  ],
};

/**
 * A fresh v2 `exact` EIP-3009 payment of `amount` by `payer` (a viem account) to `payTo`, in `token` (the
 * stack's TestUSDC, domain "USD Coin" / "2"): the requirements, the signed payload, and the /verify and
 * /settle body.
 */
export async function eip3009Payment({ token, chainId, payer, payTo, amount, validSeconds = 600 }) {
  const requirements = {
    scheme: 'exact', network: `eip155:${chainId}`, amount: String(amount), asset: token, payTo,
    maxTimeoutSeconds: 300, extra: { name: 'USD Coin', version: '2' },
  };
  const authorization = {
    from: payer.address, to: payTo, value: String(amount), validAfter: '0',
    validBefore: String(Math.floor(Date.now() / 1000) + validSeconds), nonce: `0x${randomBytes(32).toString('hex')}`,
  };
  const signature = await payer.signTypedData({
    domain: { name: 'USD Coin', version: '2', chainId, verifyingContract: token },
    types: TRANSFER_TYPES,
    primaryType: 'TransferWithAuthorization',
    message: { ...authorization, value: BigInt(amount), validAfter: 0n, validBefore: BigInt(authorization.validBefore) },
  });
  const paymentPayload = { x402Version: 2, accepted: requirements, payload: { authorization, signature } };
  return { requirements, authorization, paymentPayload, body: { x402Version: 2, paymentPayload, paymentRequirements: requirements } };
}
