// The local Solana JSON-RPC server (scripts/lib/svm-rpc.mjs, on npm litesvm with the real SPL Token and
// Token-2022 programs), driven as an x402 `exact` payment flows: the client partially signs a TransferChecked
// with the facilitator as fee payer; the facilitator co-signs, simulates with signature checks, sends
// and confirms; balances read over the RPC prove the transfer, once.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  appendTransactionMessageInstructions,
  createNoopSigner,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  partiallySignTransactionMessageWithSigners,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransaction,
} from '@solana/kit';
import { getTransferCheckedInstruction, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';

import { startSvmRpc, TOKEN_2022_PROGRAM_ADDRESS } from '../../scripts/lib/svm-rpc.mjs';

let rpcServer;
let payer;
let payee;
let feePayer;

before(async () => {
  [payer, payee, feePayer] = await Promise.all([generateKeyPairSigner(), generateKeyPairSigner(), generateKeyPairSigner()]);
  rpcServer = await startSvmRpc({
    fund: [
      { owner: payer.address, amount: 1_000_000n },
      { owner: payee.address, amount: 0n },
      { owner: feePayer.address, amount: 0n },
    ],
  });
});

after(async () => {
  await rpcServer?.close();
});

async function rpc(method, params = []) {
  const res = await fetch(rpcServer.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return res.json();
}

/** The SPL Token test mint, as `rpcServer.mint2022` describes the Token-2022 one. */
const splMint = () => ({ mint: rpcServer.mint, tokenAccount: rpcServer.tokenAccount, tokenProgram: TOKEN_PROGRAM_ADDRESS });
const balance = async (owner, token = splMint()) => (await rpc('getTokenAccountBalance', [await token.tokenAccount(owner)])).result.value.amount;

/**
 * The client's partially signed payment of `amount` of `token`, the facilitator as fee payer, by the
 * program `programAddress` (the token's own by default).
 */
async function payment(amount, token = splMint(), programAddress = token.tokenProgram) {
  const { result } = await rpc('getLatestBlockhash');
  const transfer = getTransferCheckedInstruction({
    source: await token.tokenAccount(payer.address),
    mint: token.mint,
    destination: await token.tokenAccount(payee.address),
    authority: payer,
    amount,
    decimals: 6,
  }, { programAddress });
  return pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(createNoopSigner(feePayer.address), m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: result.value.blockhash, lastValidBlockHeight: BigInt(result.value.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions([transfer], m),
    (m) => partiallySignTransactionMessageWithSigners(m),
  );
}

test('a co-signed TransferChecked simulates, sends, confirms and moves exactly the amount, once', async () => {
  const partial = await payment(10_000n);
  const unsigned = await rpc('simulateTransaction', [getBase64EncodedWireTransaction(partial), { encoding: 'base64', sigVerify: true }]);
  assert.ok(unsigned.error || unsigned.result.value.err, `without the fee payer signature the simulation fails: ${JSON.stringify(unsigned)}`);

  const signed = await signTransaction([feePayer.keyPair], partial);
  const wire = getBase64EncodedWireTransaction(signed);
  const simulated = await rpc('simulateTransaction', [wire, { encoding: 'base64', sigVerify: true }]);
  assert.equal(simulated.result.value.err, null, JSON.stringify(simulated));
  assert.equal(await balance(payee.address), '0', 'a simulation moves nothing');

  const sent = await rpc('sendTransaction', [wire, { encoding: 'base64' }]);
  assert.match(sent.result, /^[1-9A-HJ-NP-Za-km-z]{64,88}$/, JSON.stringify(sent));
  const statuses = await rpc('getSignatureStatuses', [[sent.result, '1111111111111111111111111111111111111111111111111111111111111111']]);
  assert.equal(statuses.result.value[0].confirmationStatus, 'finalized');
  assert.equal(statuses.result.value[1], null, 'an unknown signature has no status');
  assert.equal(await balance(payee.address), '10000');
  assert.equal(await balance(payer.address), '990000');

  const replay = await rpc('sendTransaction', [wire, { encoding: 'base64' }]);
  assert.ok(replay.error, 'the same transaction is refused the second time');
  assert.equal(await balance(payee.address), '10000', 'moved once');
});

test('the Token-2022 mint moves by the Token-2022 program only', async () => {
  const token = rpcServer.mint2022;
  const mint = await rpc('getAccountInfo', [token.mint, { encoding: 'base64' }]);
  assert.equal(mint.result.value.owner, TOKEN_2022_PROGRAM_ADDRESS);
  const send = async (partial) => rpc('sendTransaction', [getBase64EncodedWireTransaction(await signTransaction([feePayer.keyPair], partial)), { encoding: 'base64' }]);
  const wrongProgram = await send(await payment(1n, token, TOKEN_PROGRAM_ADDRESS));
  assert.ok(wrongProgram.error, `SPL Token refuses accounts it does not own: ${JSON.stringify(wrongProgram)}`);
  const sent = await send(await payment(7_000n, token));
  assert.ok(sent.result, JSON.stringify(sent));
  assert.deepEqual([await balance(payer.address, token), await balance(payee.address, token)], ['993000', '7000']);
  assert.equal(await balance(payee.address), '10000', 'the SPL Token mint did not move');
});

test('a tampered client signature fails simulation with signature checks, and sending it moves nothing', async () => {
  const signed = await signTransaction([feePayer.keyPair], await payment(5n));
  const bytes = Buffer.from(getBase64EncodedWireTransaction(signed), 'base64');
  bytes[1 + 64 + 10] ^= 0xff; // inside the second signature: the client's
  const tampered = bytes.toString('base64');
  const simulated = await rpc('simulateTransaction', [tampered, { encoding: 'base64', sigVerify: true }]);
  assert.ok(simulated.error || simulated.result.value.err, JSON.stringify(simulated));
  const before = await balance(payee.address);
  const sent = await rpc('sendTransaction', [tampered, { encoding: 'base64' }]);
  assert.ok(sent.error, JSON.stringify(sent));
  assert.equal(await balance(payee.address), before);
});

test('reads the facilitator and the clients use: accounts, rent, batches, unknown methods', async () => {
  const mint = await rpc('getAccountInfo', [rpcServer.mint, { encoding: 'base64' }]);
  assert.equal(mint.result.value.owner, 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
  assert.equal(Buffer.from(mint.result.value.data[0], 'base64').length, 82);
  const missing = await rpc('getAccountInfo', [(await generateKeyPairSigner()).address]);
  assert.equal(missing.result.value, null);
  assert.ok((await rpc('getMinimumBalanceForRentExemption', [165])).result > 0);
  const res = await fetch(rpcServer.url, {
    method: 'POST',
    body: JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'getSlot' }, { jsonrpc: '2.0', id: 2, method: 'getBalance', params: [payer.address] }]),
  });
  const batch = await res.json();
  assert.equal(batch.length, 2);
  assert.ok(batch[1].result.value > 0);
  assert.equal((await rpc('eth_chainId')).error.code, -32601);
  assert.equal((await (await fetch(rpcServer.url, { method: 'POST', body: '{nope' })).json()).error.code, -32700);
});
