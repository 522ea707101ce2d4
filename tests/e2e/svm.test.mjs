// End to end on Solana: the built worker in `wrangler dev` against the local Solana RPC (litesvm with
// the real SPL Token program, scripts/lib/svm-rpc.mjs). Payments are made by the official client
// (@x402/core + @x402/svm) for v2 and v1, and built by hand with @solana/kit for every attack. Balances
// read over the RPC prove each transfer, once; an attack moves no token and costs the fee payer nothing.
//
// Run: node --test tests/e2e/svm.test.mjs   (needs build/index_bg.wasm; see tests/e2e/README.md)

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  AccountRole,
  address,
  appendTransactionMessageInstructions,
  compileTransaction,
  createNoopSigner,
  createTransactionMessage,
  decompileTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  partiallySignTransactionMessageWithSigners,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
} from '@solana/kit';
import { findAssociatedTokenPda, getTransferCheckedInstruction, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';
import { x402Client } from '@x402/core/client';
import { HTTPFacilitatorClient } from '@x402/core/http';
import { ExactSvmScheme, toClientSvmSigner } from '@x402/svm';
import { ExactSvmSchemeV1 } from '@x402/svm/v1';

import { startStack } from '../../scripts/lib/stack.mjs';
import { LIGHTHOUSE_PROGRAM_ADDRESS, TOKEN_2022_PROGRAM_ADDRESS } from '../../scripts/lib/svm-rpc.mjs';

const COMPUTE_BUDGET = address('ComputeBudget111111111111111111111111111111');
const MEMO = address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
let svm; // stack.svm
let feePayer; // the facilitator's fee payer, as /supported advertises it
let payer, payee, other; // local test wallets (kit signers)

before(
  async () => {
    stack = await startStack({ local: true, localSvm: true, chainPort: 0, workerPort: 0 });
    svm = stack.svm;
    [payer, payee, other] = svm.payers.map((w) => w.signer);
    const supported = await (await fetch(`${stack.facilitatorUrl}/supported`)).json();
    feePayer = supported.kinds.find((k) => k.network === svm.caip2)?.extra?.feePayer;
  },
  { timeout: 150_000 },
);

after(async () => {
  await stack?.stop();
});

// ---------------------------------------------------------------------------------------------------
// helpers

async function rpc(method, params = []) {
  const res = await fetch(svm.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

const ata = async (owner, mint = svm.mint, tokenProgram = TOKEN_PROGRAM_ADDRESS) =>
  (await findAssociatedTokenPda({ owner: address(owner), mint: address(mint), tokenProgram }))[0];
const tokens = async (owner, mint = svm.mint, tokenProgram = TOKEN_PROGRAM_ADDRESS) =>
  BigInt((await rpc('getTokenAccountBalance', [await ata(owner, mint, tokenProgram)])).value.amount);
const tokens2022 = (owner) => tokens(owner, svm.mint2022, TOKEN_2022_PROGRAM_ADDRESS);
const lamports = async (owner) => BigInt((await rpc('getBalance', [owner])).value);

/** Token balances (SPL Token and Token-2022 mints) of the payer and the payee, and the fee payer's SOL. */
const snapshot = async () => ({
  payer: await tokens(payer.address),
  payee: await tokens(payee.address),
  payer2022: await tokens2022(payer.address),
  payee2022: await tokens2022(payee.address),
  feePayerSol: await lamports(feePayer),
});

const post = (path, body) => stack.post(path, body);

function v2Requirements({ amount = '10000', payTo = payee.address, asset = svm.mint, extra = {} } = {}) {
  return { scheme: 'exact', network: svm.caip2, amount, asset, payTo, maxTimeoutSeconds: 60, extra: { feePayer, ...extra } };
}

function sdkClient(signer = toClientSvmSigner(payer)) {
  return new x402Client()
    .register('solana:*', new ExactSvmScheme(signer, { rpcUrl: svm.rpcUrl }))
    .registerV1(svm.network, new ExactSvmSchemeV1(signer, { rpcUrl: svm.rpcUrl }))
    .setSpendControls({
      allowedAssets: [svm.mint, svm.mint2022].flatMap((asset) => [{ network: svm.caip2, asset }, { network: svm.network, asset }]),
    });
}

const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
const computeLimit = (units) => ({ programAddress: COMPUTE_BUDGET, accounts: [], data: new Uint8Array([2, ...u32(units)]) });
const computePrice = (microLamports) => ({ programAddress: COMPUTE_BUDGET, accounts: [], data: new Uint8Array([3, ...u64(microLamports)]) });
const memo = (text, accounts = []) => ({ programAddress: MEMO, accounts, data: new TextEncoder().encode(text) });
/** A Lighthouse instruction (the local RPC runs a stand-in that takes UTF-8 data: see svm-rpc.mjs). */
const lighthouse = (text) => ({ programAddress: LIGHTHOUSE_PROGRAM_ADDRESS, accounts: [], data: new TextEncoder().encode(text) });

/**
 * The payer as a wallet such as Phantom: a modifying signer (the kit interface @x402/svm's client signs
 * through) that appends `instructions` to the transaction it is given, then signs it. The official
 * client builds its 4 instructions; the wallet makes them 4 + `instructions.length`.
 */
function walletAdding(signer, instructions) {
  return {
    address: signer.address,
    async modifyAndSignTransactions(transactions) {
      return Promise.all(transactions.map(async (transaction) => {
        const message = decompileTransactionMessage(getCompiledTransactionMessageDecoder().decode(transaction.messageBytes));
        const modified = compileTransaction(appendTransactionMessageInstructions(instructions, message));
        const [signatures] = await signer.signTransactions([modified]);
        return { ...modified, signatures: { ...modified.signatures, ...signatures } };
      }));
    },
  };
}

/**
 * A payment transaction built by hand (the client's layout unless told otherwise), partially signed by
 * its authority, with the facilitator as fee payer. `edit(instructions)` may change the instructions.
 */
async function handBuilt({
  amount = 10_000n,
  authority = payer,
  to = payee.address,
  mint = svm.mint,
  tokenProgram = TOKEN_PROGRAM_ADDRESS,
  destinationProgram = tokenProgram,
  price = 1,
  memoText = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  edit = (ixs) => ixs,
} = {}) {
  const { value } = await rpc('getLatestBlockhash');
  const transfer = getTransferCheckedInstruction({
    source: await ata(authority.address, mint, tokenProgram),
    mint: address(mint),
    destination: await ata(to, mint, destinationProgram),
    authority,
    amount,
    decimals: 6,
  }, { programAddress: tokenProgram });
  const instructions = edit([computeLimit(20_000), computePrice(price), transfer, memo(memoText)]);
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(createNoopSigner(address(feePayer)), m),
    (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: value.blockhash, lastValidBlockHeight: BigInt(value.lastValidBlockHeight) }, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  return getBase64EncodedWireTransaction(await partiallySignTransactionMessageWithSigners(message));
}

const v2Payload = (transaction, requirements) => ({ x402Version: 2, accepted: requirements, payload: { transaction } });

// ---------------------------------------------------------------------------------------------------

describe('Solana exact through wrangler dev', () => {
  test('/supported lists the Solana kinds with extra.feePayer and the fee payer under solana:*', async () => {
    const supported = await new HTTPFacilitatorClient({ url: stack.facilitatorUrl }).getSupported();
    const solana = supported.kinds.filter((k) => k.network.startsWith('solana'));
    assert.deepEqual(
      solana.map(({ x402Version, scheme, network }) => ({ x402Version, scheme, network })),
      [
        { x402Version: 2, scheme: 'exact', network: svm.caip2 },
        { x402Version: 1, scheme: 'exact', network: 'solana-devnet' },
      ],
    );
    for (const kind of solana) assert.deepEqual(kind.extra, { feePayer: svm.feePayer });
    assert.deepEqual(supported.signers['solana:*'], [svm.feePayer]);
  });

  test('v2 (official client): verify, settle moves exactly the amount once, a retry is a duplicate', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = v2Requirements({ amount: '1234567' });
    const paymentPayload = await sdkClient().createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://resource.test/sol', description: 'e2e solana v2', mimeType: 'application/json' },
      accepts: [requirements],
    });
    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(verified.payer, payer.address);

    const before = await snapshot();
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, svm.caip2);
    assert.equal(settled.payer, payer.address);
    const status = await rpc('getSignatureStatuses', [[settled.transaction]]);
    assert.equal(status.value[0]?.err, null, 'the settled signature landed without error');
    const afterSettle = await snapshot();
    assert.equal(before.payer - afterSettle.payer, 1_234_567n, 'the payer paid exactly the amount');
    assert.equal(afterSettle.payee - before.payee, 1_234_567n, 'payTo received exactly the amount');
    assert.ok(afterSettle.feePayerSol < before.feePayerSol, 'the fee payer paid the fee');

    const replay = await facilitator.settle(paymentPayload, requirements);
    assertDuplicate(replay, settled);
    assert.deepEqual(await snapshot(), afterSettle, 'nothing moved the second time');
    // The same transaction against other requirements is another payment: never this one's success.
    const higher = { ...requirements, amount: '99999999' };
    const other = await facilitator.settle({ ...paymentPayload, accepted: higher }, higher);
    assert.equal(other.success, false, JSON.stringify(other));
    assert.equal(other.errorReason, 'duplicate_settlement', JSON.stringify(other));
    const reverify = await facilitator.verify(paymentPayload, requirements);
    // The cluster processed it: a replay, said in words.
    assert.equal(reverify.isValid, false);
    assert.equal(reverify.invalidReason, 'duplicate_settlement', JSON.stringify(reverify));
    assert.match(reverify.invalidMessage, /already processed on chain/);
  });

  test('v2 (official client, a wallet adding three Lighthouse assertions): 7 instructions verify and settle once', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = v2Requirements({ amount: '4242' });
    const wallet = walletAdding(payer, [lighthouse('assert-1'), lighthouse('assert-2'), lighthouse('assert-3')]);
    const paymentPayload = await sdkClient(wallet).createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://resource.test/sol-lighthouse', description: 'e2e solana lighthouse', mimeType: 'application/json' },
      accepts: [requirements],
    });
    const wire = getTransactionDecoder().decode(Buffer.from(paymentPayload.payload.transaction, 'base64'));
    const { instructions } = getCompiledTransactionMessageDecoder().decode(wire.messageBytes);
    assert.equal(instructions.length, 7);
    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));
    assert.equal(verified.payer, payer.address);

    const before = await snapshot();
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    const afterSettle = await snapshot();
    assert.equal(before.payer - afterSettle.payer, 4242n, 'the payer paid exactly the amount');
    assert.equal(afterSettle.payee - before.payee, 4242n, 'payTo received exactly the amount');
    assertDuplicate(await facilitator.settle(paymentPayload, requirements), settled);

    // A fourth assertion makes 8 instructions: refused, nothing sent.
    const crowded = walletAdding(payer, ['1', '2', '3', '4'].map((n) => lighthouse(`assert-${n}`)));
    const eight = await sdkClient(crowded).createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://resource.test/sol-lighthouse', description: 'e2e solana lighthouse', mimeType: 'application/json' },
      accepts: [requirements],
    });
    const refused = await facilitator.settle(eight, requirements);
    assert.equal(refused.success, false);
    assert.equal(refused.errorReason, 'invalid_exact_svm_payload_transaction_instructions_length', JSON.stringify(refused));
    assert.deepEqual(await snapshot(), afterSettle, 'nothing moved');
  });

  test('a payment to an owner without a token account for the asset names the missing account, nothing sent', async () => {
    const newcomer = (await generateKeyPairSigner()).address;
    const requirements = v2Requirements({ payTo: newcomer });
    const body = { x402Version: 2, paymentPayload: v2Payload(await handBuilt({ to: newcomer }), requirements), paymentRequirements: requirements };
    const before = await snapshot();
    const verified = (await post('/verify', body)).json;
    assert.equal(verified.invalidReason, 'invalid_exact_svm_payload_transaction_destination_ata_missing', JSON.stringify(verified));
    assert.match(verified.invalidMessage, new RegExp(await ata(newcomer)));
    const settled = (await post('/settle', body)).json;
    assert.equal(settled.errorReason, 'invalid_exact_svm_payload_transaction_destination_ata_missing', JSON.stringify(settled));
    assert.deepEqual(await snapshot(), before, 'no token moved and the fee payer paid nothing');
  });

  test('Token-2022 (official client): verify, settle moves exactly the amount once, a retry is a duplicate', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = v2Requirements({ amount: '765432', asset: svm.mint2022 });
    const paymentPayload = await sdkClient().createPaymentPayload({
      x402Version: 2,
      resource: { url: 'http://resource.test/sol2022', description: 'e2e solana token-2022', mimeType: 'application/json' },
      accepts: [requirements],
    });
    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));

    const before = await snapshot();
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    const afterSettle = await snapshot();
    assert.equal(before.payer2022 - afterSettle.payer2022, 765_432n, 'the payer paid exactly the amount, in the Token-2022 mint');
    assert.equal(afterSettle.payee2022 - before.payee2022, 765_432n, "payTo's Token-2022 account received exactly the amount");
    assert.deepEqual([afterSettle.payer, afterSettle.payee], [before.payer, before.payee], 'the SPL Token mint did not move');
    assertDuplicate(await facilitator.settle(paymentPayload, requirements), settled);
    assert.deepEqual(await snapshot(), afterSettle, 'nothing moved the second time');
  });

  test('v1 (official client, solana-devnet): verify and settle move exactly the amount once', async () => {
    const facilitator = new HTTPFacilitatorClient({ url: stack.facilitatorUrl });
    const requirements = {
      scheme: 'exact',
      network: svm.network,
      maxAmountRequired: '250000',
      resource: 'http://resource.test/sol-v1',
      description: 'e2e solana v1',
      mimeType: 'application/json',
      outputSchema: null,
      payTo: payee.address,
      maxTimeoutSeconds: 60,
      asset: svm.mint,
      extra: { feePayer },
    };
    const paymentPayload = await sdkClient().createPaymentPayload({ x402Version: 1, error: 'X-PAYMENT header is required', accepts: [requirements] });
    assert.deepEqual([paymentPayload.x402Version, paymentPayload.network], [1, svm.network]);
    const verified = await facilitator.verify(paymentPayload, requirements);
    assert.equal(verified.isValid, true, JSON.stringify(verified));

    const before = await snapshot();
    const settled = await facilitator.settle(paymentPayload, requirements);
    assert.equal(settled.success, true, JSON.stringify(settled));
    assert.equal(settled.network, svm.network);
    const afterSettle = await snapshot();
    assert.equal(before.payer - afterSettle.payer, 250_000n);
    assert.equal(afterSettle.payee - before.payee, 250_000n);
    assertDuplicate(await facilitator.settle(paymentPayload, requirements), settled);
    assert.deepEqual(await snapshot(), afterSettle);
  });

  test('20 concurrent settles of one transaction: one transfer, exactly one success, the others duplicate_settlement', async () => {
    const requirements = v2Requirements({ amount: '7777' });
    const body = { x402Version: 2, paymentPayload: v2Payload(await handBuilt({ amount: 7777n }), requirements), paymentRequirements: requirements };
    const before = await snapshot();
    const responses = await Promise.all(Array.from({ length: 20 }, () => post('/settle', body)));
    const succeeded = responses.filter((r) => r.json.success);
    assert.equal(succeeded.length, 1, JSON.stringify(responses.map((r) => r.json)));
    for (const r of responses.filter((r) => !r.json.success)) {
      assert.equal(r.json.errorReason, 'duplicate_settlement', JSON.stringify(r.json));
    }
    const afterSettle = await snapshot();
    assert.equal(before.payer - afterSettle.payer, 7777n, 'exactly one transfer');
    assert.equal(afterSettle.payee - before.payee, 7777n);
    // Once settled, every retry is a duplicate naming the transaction.
    assertDuplicate((await post('/settle', body)).json, succeeded[0].json);
  });

  test('a hand-built payment in the client layout verifies (the attacks below differ from it in one thing)', async () => {
    const requirements = v2Requirements();
    const { json } = await post('/verify', { x402Version: 2, paymentPayload: v2Payload(await handBuilt(), requirements), paymentRequirements: requirements });
    assert.equal(json.isValid, true, JSON.stringify(json));
  });

  const attacks = [
    ['the fee payer as the transfer authority', 'invalid_exact_svm_payload_transaction_fee_payer_transferring_funds', async () => {
      const { value } = await rpc('getLatestBlockhash');
      const fee = createNoopSigner(address(feePayer));
      const transfer = getTransferCheckedInstruction({ source: await ata(feePayer), mint: address(svm.mint), destination: await ata(payee.address), authority: fee, amount: 10_000n, decimals: 6 });
      const message = pipe(
        createTransactionMessage({ version: 0 }),
        (m) => setTransactionMessageFeePayerSigner(fee, m),
        (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: value.blockhash, lastValidBlockHeight: BigInt(value.lastValidBlockHeight) }, m),
        (m) => appendTransactionMessageInstructions([computeLimit(20_000), computePrice(1), transfer, memo('x'.repeat(32))], m),
      );
      return getBase64EncodedWireTransaction(await partiallySignTransactionMessageWithSigners(message));
    }],
    ['the fee payer in another instruction’s accounts', 'invalid_exact_svm_payload_transaction_fee_payer_included_in_instruction_accounts',
      () => handBuilt({ edit: (ixs) => [...ixs.slice(0, 3), memo('m'.repeat(32), [{ address: address(feePayer), role: AccountRole.READONLY }])] })],
    ['an extra instruction after the transfer', 'invalid_exact_svm_payload_unknown_fifth_instruction',
      () => handBuilt({ edit: (ixs) => [...ixs, computePrice(1)] })],
    ['reordered compute budget instructions', 'invalid_exact_svm_payload_transaction_instructions_compute_limit_instruction',
      () => handBuilt({ edit: ([limit, price, ...rest]) => [price, limit, ...rest] })],
    ['the transfer moved after the memo', 'invalid_exact_svm_payload_no_transfer_instruction',
      () => handBuilt({ edit: ([limit, price, transfer, m]) => [limit, price, m, transfer] })],
    ['a compute price above 5 lamports per unit', 'invalid_exact_svm_payload_transaction_instructions_compute_price_instruction_too_high',
      () => handBuilt({ price: 5_000_001 })],
    ['a wrong mint', 'invalid_exact_svm_payload_mint_mismatch', async () => handBuilt({ mint: (await generateKeyPairSigner()).address })],
    ['a wrong destination', 'invalid_exact_svm_payload_recipient_mismatch', () => handBuilt({ to: other.address })],
    ['a wrong amount', 'invalid_exact_svm_payload_amount_mismatch', () => handBuilt({ amount: 9_999n })],
    ['the Token-2022 mint when the SPL Token one is required', 'invalid_exact_svm_payload_mint_mismatch',
      () => handBuilt({ mint: svm.mint2022, tokenProgram: TOKEN_2022_PROGRAM_ADDRESS })],
    ["a Token-2022 transfer into payTo's SPL Token account (the ATA depends on the program)", 'invalid_exact_svm_payload_recipient_mismatch',
      () => handBuilt({ mint: svm.mint2022, tokenProgram: TOKEN_2022_PROGRAM_ADDRESS, destinationProgram: TOKEN_PROGRAM_ADDRESS }), { asset: () => svm.mint2022 }],
    ['a tampered client signature', 'invalid_exact_svm_payload_signature_invalid', async () => {
      const wire = Buffer.from(await handBuilt(), 'base64');
      wire[1 + 64 + 7] ^= 0x01; // the payer's signature: the second slot, after the fee payer's
      return wire.toString('base64');
    }],
  ];
  for (const [name, code, build, { asset } = {}] of attacks) {
    test(`refused with its code, nothing sent: ${name}`, async () => {
      const requirements = v2Requirements(asset ? { asset: asset() } : {});
      const body = { x402Version: 2, paymentPayload: v2Payload(await build(), requirements), paymentRequirements: requirements };
      const before = await snapshot();
      const verified = (await post('/verify', body)).json;
      assert.equal(verified.isValid, false, JSON.stringify(verified));
      assert.equal(verified.invalidReason, code, JSON.stringify(verified));
      const settled = (await post('/settle', body)).json;
      assert.equal(settled.success, false);
      assert.equal(settled.errorReason, code, JSON.stringify(settled));
      assert.equal(settled.transaction, '');
      assert.deepEqual(await snapshot(), before, 'no token moved and the fee payer paid nothing');
    });
  }

  test('memo rules: with extra.memo, a missing memo and a wrong memo are refused; the right one settles', async () => {
    const requirements = v2Requirements({ extra: { memo: 'order-42' } });
    const check = async (transaction) => (await post('/settle', { x402Version: 2, paymentPayload: v2Payload(transaction, requirements), paymentRequirements: requirements })).json;
    const before = await snapshot();
    assert.equal((await check(await handBuilt({ edit: (ixs) => ixs.slice(0, 3) }))).errorReason, 'invalid_exact_svm_payload_memo_count');
    assert.equal((await check(await handBuilt({ memoText: 'order-43' }))).errorReason, 'invalid_exact_svm_payload_memo_mismatch');
    assert.deepEqual(await snapshot(), before);
    const settled = await check(await handBuilt({ memoText: 'order-42' }));
    assert.equal(settled.success, true, JSON.stringify(settled));
  });

  test('a payer without the tokens fails simulation and nothing is sent', async () => {
    const requirements = v2Requirements({ amount: '999999999999999' });
    const body = { x402Version: 2, paymentPayload: v2Payload(await handBuilt({ amount: 999_999_999_999_999n }), requirements), paymentRequirements: requirements };
    const before = await snapshot();
    const { json } = await post('/settle', body);
    assert.equal(json.errorReason, 'invalid_exact_svm_transaction_simulation_failed', JSON.stringify(json));
    assert.deepEqual(await snapshot(), before);
  });

  test('a feePayer that is not the facilitator’s and a network mismatch are refused', async () => {
    const stranger = (await generateKeyPairSigner()).address;
    const requirements = v2Requirements({ extra: { feePayer: stranger } });
    const body = { x402Version: 2, paymentPayload: v2Payload(await handBuilt(), requirements), paymentRequirements: requirements };
    assert.equal((await post('/verify', body)).json.invalidReason, 'invalid_exact_svm_fee_payer_not_managed_by_facilitator');
    const good = v2Requirements();
    const mismatched = { x402Version: 2, paymentPayload: v2Payload(await handBuilt(), { ...good, network: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp' }), paymentRequirements: good };
    assert.equal((await post('/verify', mismatched)).json.invalidReason, 'invalid_exact_svm_network_mismatch');
  });
});

/** A settle of a settled Solana payment: `duplicate_settlement` (the spec's mitigation), naming its transaction. */
function assertDuplicate(replay, settled) {
  assert.equal(replay.success, false, JSON.stringify(replay));
  assert.equal(replay.errorReason, 'duplicate_settlement', JSON.stringify(replay));
  assert.equal(replay.transaction, settled.transaction, JSON.stringify(replay));
}
