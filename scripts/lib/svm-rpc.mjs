// A local Solana JSON-RPC endpoint for development and tests, on loopback: npm `litesvm` runs the real
// SPL Token and Token-2022 programs (and System, Associated Token, Memo) in process, and this small
// server speaks the JSON-RPC methods the facilitator and x402 clients use. No validator can be had
// here (see the workspace TOOLCHAIN notes).
//
// What it does NOT model (keep tests honest about it):
// - every transaction is final at once (`finalized`, one slot per transaction): no forks, no
//   confirmation delay, no `confirmed` window;
// - compute-unit figures and fees are litesvm's, not mainnet's; priority fees are not auctioned;
// - `simulateTransaction` verifies signatures only when asked (`sigVerify`, false by default as on
//   Solana's RPC) and never replaces the blockhash, whatever the options say;
// - one blockhash is valid at a time: it changes only when `expireBlockhash()` is called (then every
//   transaction built on the old one is refused, and `isBlockhashValid` answers false for it), not
//   every 150 slots; the same signature is refused the second time (litesvm's transaction history);
// - there are no subscriptions (websocket), no address lookup tables, and no history beyond the
//   signatures sent here;
// - the Token-2022 test mint has no extensions (no transfer fees or hooks, no confidential transfers);
// - Lighthouse (the assertion program Phantom and Solflare add to payments) is not loaded: with
//   `lighthouseStandIn` the Memo program's code runs under its id, so an instruction of Lighthouse's
//   program with UTF-8 data executes (as a memo: nothing is asserted).

import * as http from 'node:http';

import { x402Client } from '@x402/core/client';
import { ExactSvmScheme, toClientSvmSigner } from '@x402/svm';
import { FailedTransactionMetadata, LiteSVM } from 'litesvm';
import {
  address,
  generateKeyPairSigner,
  getBase58Decoder,
  getBase64Decoder,
  getBase64Encoder,
  getTransactionDecoder,
  lamports,
  none,
  some,
} from '@solana/kit';
import { findAssociatedTokenPda, getMintEncoder, getTokenDecoder, getTokenEncoder, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';

/** Lighthouse, which wallets add to payments (`@x402/svm` accepts it after the transfer). */
export const LIGHTHOUSE_PROGRAM_ADDRESS = address('L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95');
const MEMO_PROGRAM_ADDRESS = address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

/** The Token-2022 program (its base mint and account layouts are SPL Token's). */
export const TOKEN_2022_PROGRAM_ADDRESS = address('TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb');

const MINT_SIZE = 82n;
const TOKEN_ACCOUNT_SIZE = 165n;
const base58 = getBase58Decoder();
const base64ToBytes = (text) => getBase64Encoder().encode(text);
const bytesToBase64 = (bytes) => getBase64Decoder().decode(bytes);

/** JSON with bigints as numbers (the RPC's u64 fields), never as strings. */
const toJson = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? Number(v) : v));

/** litesvm's `TransactionErrorFieldless`, in its order (a `const enum`: not exported at run time). */
const FIELDLESS_ERRORS = [
  'AccountInUse', 'AccountLoadedTwice', 'AccountNotFound', 'ProgramAccountNotFound', 'InsufficientFundsForFee',
  'InvalidAccountForFee', 'AlreadyProcessed', 'BlockhashNotFound', 'CallChainTooDeep', 'MissingSignatureForFee',
  'InvalidAccountIndex', 'SignatureFailure', 'InvalidProgramForExecution', 'SanitizeFailure', 'ClusterMaintenance',
  'AccountBorrowOutstanding', 'WouldExceedMaxBlockCostLimit', 'UnsupportedVersion', 'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit', 'WouldExceedAccountDataBlockLimit', 'TooManyAccountLocks',
  'AddressLookupTableNotFound', 'InvalidAddressLookupTableOwner', 'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex', 'InvalidRentPayingAccount', 'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit', 'MaxLoadedAccountsDataSizeExceeded', 'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit', 'UnbalancedTransaction', 'ProgramCacheHitMaxLimit', 'CommitCancelled',
];

class RpcError extends Error {
  constructor(code, message, data) {
    super(message);
    Object.assign(this, { code, data });
  }
}

/**
 * A test mint of `tokenProgram` (SPL Token or Token-2022, without extensions) written into `svm`, with
 * `decimals` and a fresh mint authority: `tokenAccount(owner)` is the owner's associated token account,
 * `fundToken(owner, amount)` creates or tops it up (and the supply).
 */
async function createMint(svm, { decimals, tokenProgram }) {
  const mintAuthority = await generateKeyPairSigner();
  const mint = (await generateKeyPairSigner()).address;
  let supply = 0n;
  const rent = (size) => svm.minimumBalanceForRentExemption(size);
  const write = (addr, data, space) =>
    svm.setAccount({ address: addr, data, executable: false, lamports: lamports(rent(space)), programAddress: tokenProgram, space });
  const writeMint = () =>
    write(mint, getMintEncoder().encode({ mintAuthority: some(mintAuthority.address), supply, decimals, isInitialized: true, freezeAuthority: none() }), MINT_SIZE);
  writeMint();
  const tokenAccount = async (owner) => (await findAssociatedTokenPda({ owner: address(owner), mint, tokenProgram }))[0];
  const fundToken = async (owner, amount) => {
    const ata = await tokenAccount(owner);
    const existing = svm.getAccount(ata);
    const held = existing.exists ? getTokenDecoder().decode(existing.data).amount : 0n;
    supply += amount;
    const account = { mint, owner: address(owner), amount: held + amount, delegate: none(), state: 1 /* initialized */, isNative: none(), delegatedAmount: 0n, closeAuthority: none() };
    write(ata, getTokenEncoder().encode(account), TOKEN_ACCOUNT_SIZE);
    writeMint();
    return ata;
  };
  return { mint, tokenProgram, decimals, mintAuthority, tokenAccount, fundToken };
}

/**
 * Starts the server with two test mints of `decimals`: `mint` (SPL Token) and `mint2022.mint`
 * (Token-2022). Each of `fund` (`{owner, amount, sol = 10}`) gets SOL and, unless `amount` is null,
 * an associated token account of each mint holding `amount`. `lighthouseStandIn`: see the top.
 * @returns {Promise<{url: string, svm: LiteSVM, mint: string, mintAuthority: any, tokenAccount: (owner: string) => Promise<string>, fundToken: (owner: string, amount: bigint) => Promise<string>, mint2022: {mint: string, tokenProgram: string, tokenAccount: (owner: string) => Promise<string>, fundToken: (owner: string, amount: bigint) => Promise<string>}, airdrop: (owner: string, sol: bigint) => void, close: () => Promise<void>}>}
 */
export async function startSvmRpc({ port = 0, decimals = 6, fund = [], lighthouseStandIn = false } = {}) {
  const svm = new LiteSVM().withSigverify(true);
  if (lighthouseStandIn) svm.addProgram(LIGHTHOUSE_PROGRAM_ADDRESS, svm.getAccount(MEMO_PROGRAM_ADDRESS).data);
  const rent = (size) => svm.minimumBalanceForRentExemption(size);
  const spl = await createMint(svm, { decimals, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  const mint2022 = await createMint(svm, { decimals, tokenProgram: TOKEN_2022_PROGRAM_ADDRESS });
  const decimalsOf = new Map([spl, mint2022].map((m) => [m.mint, m.decimals]));
  const airdrop = (owner, sol) => svm.airdrop(address(owner), lamports(sol * 1_000_000_000n));
  // `amount: null` funds SOL only (a fee payer needs no token account).
  for (const { owner, amount, sol = 10n } of fund) {
    airdrop(owner, sol);
    if (amount !== null) for (const m of [spl, mint2022]) await m.fundToken(owner, amount);
  }

  /** Signatures sent here, with the slot and error of each. */
  const sent = new Map();
  let slot = 1n;
  const context = () => ({ apiVersion: '2.0.0', slot: Number(slot) });

  const decodeTx = (params) => {
    const [encoded, options = {}] = params ?? [];
    if (typeof encoded !== 'string') throw new RpcError(-32602, 'params[0] must be an encoded transaction');
    if ((options.encoding ?? 'base58') !== 'base64') throw new RpcError(-32602, 'only base64 encoding is served here');
    try {
      return getTransactionDecoder().decode(base64ToBytes(encoded));
    } catch (e) {
      throw new RpcError(-32602, `failed to deserialize the transaction: ${e.message}`);
    }
  };
  // litesvm answers a fieldless error as its index (6); the RPC writes the variant's name ("AlreadyProcessed").
  const txError = (failed) => {
    const err = failed.err();
    if (typeof err === 'number') return FIELDLESS_ERRORS[err] ?? `TransactionError(${err})`;
    return typeof err === 'object' && err !== null ? JSON.parse(toJson(err)) : err ?? 'TransactionFailed';
  };
  const encodedAccount = (addr) => {
    const account = svm.getAccount(address(addr));
    if (!account.exists) return null;
    return {
      data: [bytesToBase64(account.data), 'base64'],
      executable: account.executable,
      lamports: Number(account.lamports),
      owner: account.programAddress,
      rentEpoch: 0,
      space: Number(account.space),
    };
  };

  const methods = {
    getHealth: () => 'ok',
    // Not Solana's: the handle tests in other processes have on blockhash expiry (see the top).
    x402edge_expireBlockhash: () => {
      svm.expireBlockhash();
      return svm.latestBlockhash();
    },
    getVersion: () => ({ 'solana-core': '2.0.0-litesvm', 'feature-set': 0 }),
    getSlot: () => Number(slot),
    getBlockHeight: () => Number(slot),
    getGenesisHash: () => 'EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
    getLatestBlockhash: () => ({
      context: context(),
      value: { blockhash: svm.latestBlockhash(), lastValidBlockHeight: Number(slot) + 150 },
    }),
    isBlockhashValid: ([blockhash]) => ({ context: context(), value: blockhash === svm.latestBlockhash() }),
    getMinimumBalanceForRentExemption: ([size]) => Number(rent(BigInt(size ?? 0))),
    getBalance: ([addr]) => ({ context: context(), value: Number(svm.getBalance(address(addr)) ?? 0n) }),
    getAccountInfo: ([addr]) => ({ context: context(), value: encodedAccount(addr) }),
    getMultipleAccounts: ([addrs]) => ({ context: context(), value: (addrs ?? []).map(encodedAccount) }),
    getTokenAccountBalance: ([addr]) => {
      const account = svm.getAccount(address(addr));
      if (!account.exists) throw new RpcError(-32602, 'Invalid param: could not find account');
      const { amount, mint } = getTokenDecoder().decode(account.data);
      const decimals = decimalsOf.get(mint) ?? 0;
      return {
        context: context(),
        value: { amount: amount.toString(), decimals, uiAmount: Number(amount) / 10 ** decimals, uiAmountString: String(Number(amount) / 10 ** decimals) },
      };
    },
    getFeeForMessage: () => ({ context: context(), value: 5000 }),
    getRecentPrioritizationFees: () => [],
    requestAirdrop: ([addr, amount]) => {
      const result = svm.airdrop(address(addr), lamports(BigInt(amount)));
      if (!result || result instanceof FailedTransactionMetadata) throw new RpcError(-32603, 'airdrop failed');
      return base58.decode(result.signature());
    },
    simulateTransaction: (params) => {
      const tx = decodeTx(params);
      svm.withSigverify(params?.[1]?.sigVerify === true);
      let result;
      try {
        result = svm.simulateTransaction(tx);
      } finally {
        svm.withSigverify(true);
      }
      if (result instanceof FailedTransactionMetadata) {
        const meta = result.meta();
        return { context: context(), value: { err: txError(result), logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()) } };
      }
      const meta = result.meta();
      return { context: context(), value: { err: null, logs: meta.logs(), unitsConsumed: Number(meta.computeUnitsConsumed()) } };
    },
    sendTransaction: (params) => {
      const result = svm.sendTransaction(decodeTx(params));
      if (result instanceof FailedTransactionMetadata) {
        const logs = result.meta().logs();
        throw new RpcError(-32002, `Transaction simulation failed: ${result.toString()}`, { err: txError(result), logs });
      }
      const signature = base58.decode(result.signature());
      slot += 1n;
      sent.set(signature, { slot });
      return signature;
    },
    getSignatureStatuses: ([signatures]) => ({
      context: context(),
      value: (signatures ?? []).map((s) => {
        const status = sent.get(s);
        return status ? { slot: Number(status.slot), confirmations: null, err: null, confirmationStatus: 'finalized', status: { Ok: null } } : null;
      }),
    }),
  };

  const handle = (call) => {
    const reply = (body) => ({ jsonrpc: '2.0', id: call?.id ?? null, ...body });
    const method = methods[call?.method];
    if (!method) return reply({ error: { code: -32601, message: `Method not found: ${call?.method}` } });
    try {
      return reply({ result: method(call.params ?? []) });
    } catch (e) {
      const error = e instanceof RpcError ? { code: e.code, message: e.message, data: e.data } : { code: -32603, message: String(e?.message ?? e) };
      return reply({ error });
    }
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body;
      try {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        body = Array.isArray(parsed) ? parsed.map(handle) : handle(parsed);
      } catch {
        body = { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(toJson(body));
    });
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    svm,
    mint: spl.mint,
    mintAuthority: spl.mintAuthority,
    tokenAccount: spl.tokenAccount,
    fundToken: spl.fundToken,
    mint2022,
    airdrop,
    /** A new latest blockhash: transactions built on the old one can no longer land. */
    expireBlockhash: () => svm.expireBlockhash(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A v2 `exact` payment of `amount` of the stack's mint (`svm`: the stack's Solana part) from `payer` to
 * `payTo`, signed by the official client (`@x402/svm`): its requirements and its `/verify`/`/settle` body.
 */
export async function svmPayment(svm, { payer, payTo, amount, resource }) {
  const requirements = {
    scheme: 'exact', network: svm.caip2, amount: String(amount), asset: svm.mint, payTo,
    maxTimeoutSeconds: 60, extra: { feePayer: svm.feePayer },
  };
  const client = new x402Client()
    .register('solana:*', new ExactSvmScheme(toClientSvmSigner(payer.signer), { rpcUrl: svm.rpcUrl }))
    .setSpendControls({ allowedAssets: [{ network: svm.caip2, asset: svm.mint }] });
  const paymentPayload = await client.createPaymentPayload({ x402Version: 2, resource, accepts: [requirements] });
  return { requirements, paymentPayload, body: { x402Version: 2, paymentPayload, paymentRequirements: requirements } };
}
