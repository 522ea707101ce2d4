// The npm package (built pkg/) on Solana `exact`: the facilitator's pure checks of the client's
// transaction (the independently generated vector, and payments built with @solana/kit), the
// `feePayers` option, v1 and v2 codes, and the simulation over a real RPC (the local litesvm server).
// Run: node --test tests/pkg/svm.test.mjs
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  address,
  appendTransactionMessageInstructions,
  createNoopSigner,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  partiallySignTransactionMessageWithSigners,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
} from '@solana/kit';
import { findAssociatedTokenPda, getTransferCheckedInstruction, TOKEN_PROGRAM_ADDRESS } from '@solana-program/token';

import * as x402 from '../../pkg/dist/node.js';
import { startSvmRpc } from '../../scripts/lib/svm-rpc.mjs';

const DEVNET = 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1';
const v = JSON.parse(readFileSync(new URL('../vectors/svm-exact-v0.json', import.meta.url))).transferV0;

const v2Requirements = (overrides = {}) => ({
  scheme: 'exact', network: DEVNET, amount: v.amount, asset: v.mint, payTo: v.payTo, maxTimeoutSeconds: 60,
  extra: { feePayer: v.feePayer, memo: v.memo }, ...overrides,
});
const v2 = (requirements, transaction = v.transaction) => ({ x402Version: 2, accepted: requirements, payload: { transaction } });

describe('Solana, offline', () => {
  test('the generated payment is valid, names its payer, and checks extra.feePayer against feePayers', () => {
    const requirements = v2Requirements();
    const checked = x402.verifyPaymentOffline(v2(requirements), requirements, { feePayers: [v.feePayer] });
    assert.deepEqual(checked, { isValid: true, payer: v.authority, feePayerChecked: true, needsChain: false, chainChecked: false });
    const trusted = x402.verifyPaymentOffline(v2(requirements), requirements);
    assert.equal(trusted.isValid, true);
    assert.equal(trusted.feePayerChecked, false);
  });

  test('a fee payer that is not the facilitator’s, and a missing one', async () => {
    const requirements = v2Requirements();
    const other = (await generateKeyPairSigner()).address;
    const refused = x402.verifyPaymentOffline(v2(requirements), requirements, { feePayers: [other] });
    assert.equal(refused.invalidReason, 'invalid_exact_svm_fee_payer_not_managed_by_facilitator');
    const missing = v2Requirements({ extra: { memo: v.memo } });
    assert.equal(x402.verifyPaymentOffline(v2(missing), missing).invalidReason, 'invalid_exact_svm_payload_missing_fee_payer');
  });

  test('amount, recipient, mint and memo are the requirements’, with v2 and v1 codes', async () => {
    const cases = [
      [{ amount: '10001' }, 'invalid_exact_svm_payload_amount_mismatch', 'invalid_exact_svm_payload_transaction_amount_mismatch'],
      [{ payTo: v.feePayer }, 'invalid_exact_svm_payload_recipient_mismatch', 'invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata'],
      [{ asset: v.payTo }, 'invalid_exact_svm_payload_mint_mismatch', 'invalid_exact_svm_payload_transaction_transfer_to_incorrect_ata'],
      [{ extra: { feePayer: v.feePayer, memo: 'other' } }, 'invalid_exact_svm_payload_memo_mismatch', 'invalid_exact_svm_payload_transaction_instructions'],
    ];
    for (const [overrides, v2Code, v1Code] of cases) {
      const requirements = v2Requirements(overrides);
      assert.equal(x402.verifyPaymentOffline(v2(requirements), requirements).invalidReason, v2Code, JSON.stringify(overrides));
      const { amount, ...rest } = requirements;
      const v1Requirements = { ...rest, network: 'solana-devnet', maxAmountRequired: amount, resource: 'http://r', description: '', mimeType: '' };
      const v1Payload = { x402Version: 1, scheme: 'exact', network: 'solana-devnet', payload: { transaction: v.transaction } };
      assert.equal(x402.verifyPaymentOffline(v1Payload, v1Requirements).invalidReason, v1Code, JSON.stringify(overrides));
    }
  });

  test('a tampered client signature, garbage and a network mismatch', () => {
    const requirements = v2Requirements();
    const wire = Buffer.from(v.transaction, 'base64');
    wire[1 + 64 + 3] ^= 1;
    const tampered = x402.verifyPaymentOffline(v2(requirements, wire.toString('base64')), requirements);
    assert.equal(tampered.invalidReason, 'invalid_exact_svm_payload_signature_invalid');
    const garbage = x402.verifyPaymentOffline(v2(requirements, 'AAAA'), requirements);
    assert.equal(garbage.invalidReason, 'invalid_exact_svm_payload_transaction_could_not_be_decoded');
    const mismatch = x402.verifyPaymentOffline(v2({ ...requirements, network: 'solana-testnet' }), requirements);
    assert.equal(mismatch.invalidReason, 'invalid_exact_svm_network_mismatch');
    assert.throws(() => x402.verifyPaymentOffline({ x402Version: 2, accepted: requirements, payload: {} }, requirements), { name: 'X402Error', reason: 'invalid_payload' });
    assert.throws(() => x402.verifyPaymentOffline(v2(requirements), requirements, { feePayers: ['nope'] }), { name: 'X402Error' });
  });
});

describe('Solana, with rpcUrl (simulation on the local litesvm RPC)', () => {
  let rpc, payer, payee, feePayer, poor;
  before(async () => {
    [payer, payee, feePayer, poor] = await Promise.all(Array.from({ length: 4 }, () => generateKeyPairSigner()));
    rpc = await startSvmRpc({
      fund: [
        { owner: payer.address, amount: 1_000_000n },
        { owner: payee.address, amount: 0n },
        { owner: poor.address, amount: 5n },
        { owner: feePayer.address, amount: null },
      ],
    });
  });
  after(() => rpc?.close());

  async function payment(from, amount) {
    const blockhash = await fetch(rpc.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getLatestBlockhash' }) }).then((r) => r.json());
    const ata = async (owner) => (await findAssociatedTokenPda({ owner, mint: address(rpc.mint), tokenProgram: TOKEN_PROGRAM_ADDRESS }))[0];
    const budget = (d) => ({ programAddress: address('ComputeBudget111111111111111111111111111111'), accounts: [], data: new Uint8Array(d) });
    const memo = { programAddress: address('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr'), accounts: [], data: new TextEncoder().encode('00112233445566778899aabbccddeeff') };
    const transfer = getTransferCheckedInstruction({ source: await ata(from.address), mint: address(rpc.mint), destination: await ata(payee.address), authority: from, amount, decimals: 6 });
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(createNoopSigner(feePayer.address), m),
      (m) => setTransactionMessageLifetimeUsingBlockhash({ blockhash: blockhash.result.value.blockhash, lastValidBlockHeight: 1000n }, m),
      (m) => appendTransactionMessageInstructions([budget([2, 32, 78, 0, 0]), budget([3, 1, 0, 0, 0, 0, 0, 0, 0]), transfer, memo], m),
    );
    const requirements = { scheme: 'exact', network: DEVNET, amount: String(amount), asset: rpc.mint, payTo: payee.address, maxTimeoutSeconds: 60, extra: { feePayer: feePayer.address } };
    return { requirements, payload: v2(requirements, getBase64EncodedWireTransaction(await partiallySignTransactionMessageWithSigners(message))) };
  }

  test('a funded payment passes the simulation; an unfunded one fails it', async () => {
    const good = await payment(payer, 10_000n);
    const valid = await x402.verifyPayment(good.payload, good.requirements, { rpcUrl: rpc.url, feePayers: [feePayer.address] });
    assert.deepEqual(valid, { isValid: true, payer: payer.address, feePayerChecked: true, needsChain: false, chainChecked: true });
    const offline = await x402.verifyPayment(good.payload, good.requirements);
    assert.equal(offline.chainChecked, false);

    const broke = await payment(poor, 10_000n);
    const refused = await x402.verifyPayment(broke.payload, broke.requirements, { rpcUrl: rpc.url });
    assert.equal(refused.isValid, false);
    assert.equal(refused.invalidReason, 'invalid_exact_svm_transaction_simulation_failed', JSON.stringify(refused));
    assert.equal(refused.chainChecked, true);
  });

  test('no RPC answering is unexpected_verify_error, never valid', async () => {
    const good = await payment(payer, 10_000n);
    const result = await x402.verifyPayment(good.payload, good.requirements, { rpcUrl: 'http://127.0.0.1:9', timeoutMs: 500 });
    assert.equal(result.isValid, false);
    assert.equal(result.invalidReason, 'unexpected_verify_error');
  });
});
