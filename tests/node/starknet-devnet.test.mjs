// The Starknet test tooling on a real starknet-devnet 0.10.1: payments made by scripts/lib/starknet-client.mjs
// are checked with starknet.js against the payer's account contract (SNIP-6 is_valid_signature, SNIP-9
// nonces) and executed from a relayer account; the SNIP-29 stand-in of scripts/lib/paymaster.mjs builds and
// executes them and refuses what AVNU would. The Rust facilitator is not involved.
// Run: node_modules/.bin/node --test tests/node/starknet-devnet.test.mjs
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CallData, PaymasterRpc, RpcProvider, outsideExecution, paymaster as paymasterUtils, shortString, typedData as snip12 } from 'starknet';

import { PAYMASTER_ERRORS, startPaymaster } from '../../scripts/lib/paymaster.mjs';
import {
  ANY_CALLER,
  createPayment,
  outsideExecutionTypedData,
  starknetAccount,
  submitOutsideExecution,
} from '../../scripts/lib/starknet-client.mjs';
import { DEVNET_CACHE_DIR, DEVNET_SHA256, ETH_ADDRESS, ROOT, STRK_ADDRESS, findDevnet, startDevnet } from '../../scripts/lib/starknet-devnet.mjs';

const VECTORS = JSON.parse(readFileSync(path.join(ROOT, 'tests/vectors/api-examples.json'), 'utf8'));
const VALID = shortString.encodeShortString('VALID');
const SN_SEPOLIA = '0x534e5f5345504f4c4941';
const AMOUNT = 1_234_567n;

const DEVNET_MODULE = pathToFileURL(path.join(ROOT, 'scripts/lib/starknet-devnet.mjs')).href;
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Whether a process exists (and is not a zombie). */
function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Run an ESM snippet in a fresh node and return its stdout. */
function childNode(source) {
  return execFileSync(process.execPath, ['--input-type=module', '-e', source], { encoding: 'utf8' });
}

/** SNIP-6 is_valid_signature of the payer's account for the typed data's message hash. */
async function isValidSignature(provider, address, typedData, { r, s }) {
  const hash = snip12.getMessageHash(typedData, address);
  const [answer] = await provider.callContract({
    contractAddress: address,
    entrypoint: 'is_valid_signature',
    calldata: CallData.compile({ hash, signature: [r, s] }),
  });
  return answer;
}

async function nonceIsFresh(provider, address, nonce) {
  const [answer] = await provider.callContract({ contractAddress: address, entrypoint: 'is_valid_outside_execution_nonce', calldata: [nonce] });
  return BigInt(answer) !== 0n;
}

/** A JSON-RPC call to the paymaster with fetch: `{status, body}`. */
async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const SPONSORED = { version: '0x1', fee_mode: { mode: 'sponsored' } };

describe('SNIP-9 typed data (no devnet)', () => {
  const calls = [{ contractAddress: STRK_ADDRESS, entrypoint: 'transfer', calldata: ['0x1234', '0x10', '0x0'] }];
  const options = { caller: ANY_CALLER, execute_after: '0x1', execute_before: '0x6b0edba6' };

  for (const version of ['1', '2']) {
    test(`v${version} is what starknet.js's outsideExecution.getTypedData builds`, () => {
      const ours = outsideExecutionTypedData({ version, chainId: SN_SEPOLIA, caller: 'ANY_CALLER', nonce: '0x7', executeAfter: 1, executeBefore: 0x6b0edba6, calls });
      const theirs = outsideExecution.getTypedData(SN_SEPOLIA, options, '0x7', calls, version);
      assert.deepEqual(ours, theirs);
      assert.equal(ours.domain.name, 'Account.execute_from_outside');
      assert.equal(ours.domain.version, version);
      if (version === '2') assert.equal(ours.domain.revision, '1');
    });
  }

  test('type hashes are SNIP-9\'s', () => {
    const h = VECTORS.snip9_type_hashes;
    const v1 = outsideExecutionTypedData({ version: '1', chainId: SN_SEPOLIA, nonce: 1, executeAfter: 0, executeBefore: 2, calls });
    const v2 = outsideExecutionTypedData({ version: '2', chainId: SN_SEPOLIA, nonce: 1, executeAfter: 0, executeBefore: 2, calls });
    assert.equal(BigInt(snip12.getTypeHash(v1.types, 'OutsideExecution', '0')), BigInt(h['v1 OutsideExecution']));
    assert.equal(BigInt(snip12.getTypeHash(v1.types, 'OutsideCall', '0')), BigInt(h['v1 OutsideCall']));
    assert.equal(BigInt(snip12.getTypeHash(v2.types, 'OutsideExecution', '1')), BigInt(h['v2 OutsideExecution']));
    assert.equal(BigInt(snip12.getTypeHash(v2.types, 'Call', '1')), BigInt(h['v2 Call']));
  });
});

describe('the devnet binary and process', () => {
  test('findDevnet: the unpacked binary has the checked hash and is not unpacked again', () => {
    const bin = findDevnet();
    if (!bin.startsWith(DEVNET_CACHE_DIR)) return; // from PATH or STARKNET_DEVNET_BIN: nothing unpacked
    assert.equal(sha256(readFileSync(bin)), DEVNET_SHA256);
    const first = statSync(bin);
    // A fresh process, so findDevnet's in-process memo does not hide the on-disk check.
    const again = childNode(`import { findDevnet } from ${JSON.stringify(DEVNET_MODULE)}; console.log(findDevnet());`);
    assert.equal(again.trim(), bin);
    const second = statSync(bin);
    assert.equal(second.ino, first.ino);
    assert.equal(second.mtimeMs, first.mtimeMs);
  });

  test('the devnet dies with stop(), and with its parent (exit, SIGKILL)', async () => {
    const d = await startDevnet({ accounts: 1 });
    const pid = d.process.pid;
    assert.ok(alive(pid));
    await d.stop();
    assert.equal(alive(pid), false);

    // Surviving a SIGKILLed parent needs `setpriv --pdeathsig` (util-linux); without it only 'exit' is checked.
    const pdeathsig = spawnSync('setpriv', ['--pdeathsig', 'TERM', 'true'], { stdio: 'ignore' }).status === 0;
    for (const how of pdeathsig ? ['exit', 'SIGKILL'] : ['exit']) {
      const child = spawn(
        process.execPath,
        ['--input-type=module', '-e', `import { startDevnet } from ${JSON.stringify(DEVNET_MODULE)};
          const d = await startDevnet({ accounts: 1 }); console.log(d.process.pid);
          ${how === 'exit' ? 'process.exit(0);' : 'setInterval(() => {}, 1000);'}`],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const devnetPid = Number(await new Promise((resolve) => child.stdout.once('data', (b) => resolve(String(b)))));
      assert.ok(devnetPid > 0);
      if (how === 'SIGKILL') child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const deadline = Date.now() + 5000;
      while (alive(devnetPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(devnetPid), false, `the devnet outlived its parent (${how})`);
    }
  });
});

describe('on starknet-devnet 0.10.1', () => {
  let devnet;
  let provider;
  let payer; // starknet.js Account
  let relayer; // {address, privateKey}
  let payee;
  let stranger;
  let requirements;

  before(async () => {
    devnet = await startDevnet({ seed: 0, accounts: 6 });
    provider = new RpcProvider({ nodeUrl: devnet.url });
    [, relayer, payee, stranger] = devnet.accounts;
    payer = starknetAccount(devnet.accounts[0], devnet.url);
    requirements = {
      scheme: 'exact',
      network: 'starknet:sepolia',
      amount: AMOUNT.toString(),
      asset: devnet.strk,
      payTo: payee.address,
      maxTimeoutSeconds: 300,
    };
  });
  after(async () => devnet?.stop());

  test('the devnet is what the tooling says', async () => {
    assert.equal(devnet.chainId, SN_SEPOLIA);
    assert.equal(devnet.strk, STRK_ADDRESS);
    assert.equal(devnet.eth, ETH_ADDRESS);
    assert.equal(await provider.getSpecVersion(), '0.10.2');
    assert.equal(devnet.accounts.length, 6);
    // The accounts implement execute_from_outside_v2 but do not announce SNIP-9 through SRC5.
    assert.equal(await payer.getSnip9Version(), '0');
    // seed 0: the well-known first devnet account
    assert.equal(BigInt(devnet.accounts[0].address), 0x064b48806902a367c8598f4f95c305e8c1a1acba5f082d294a43793113115691n);
    const before = await devnet.balance('ETH', stranger.address);
    const minted = await devnet.mint(stranger.address, 10n ** 30n, 'WEI');
    assert.equal(minted.newBalance, before + 10n ** 30n);
    assert.equal(await devnet.balance(devnet.eth, stranger.address), before + 10n ** 30n);
  });

  test('createPayment: the x402 v2 payload shape, a signature the payer\'s account accepts, a fresh nonce', async () => {
    const p = await createPayment({ account: payer, requirements });
    const shape = VECTORS.starknet_x402_v2_payload_shape.paymentPayload;
    assert.deepEqual(Object.keys(p).sort(), ['accepted', 'payload', 'typedData', 'x402Version']);
    assert.equal(p.x402Version, 2);
    assert.deepEqual(p.accepted, requirements);
    assert.deepEqual(Object.keys(p.payload).sort(), Object.keys(shape.payload).sort());
    assert.deepEqual(Object.keys(p.payload.signature).sort(), ['r', 's']);
    assert.deepEqual(Object.keys(p.payload.authorization).sort(), Object.keys(shape.payload.authorization).sort());
    const auth = p.payload.authorization;
    assert.equal(auth.from, payer.address);
    assert.equal(auth.to, payee.address);
    assert.equal(auth.amount, requirements.amount);
    assert.equal(auth.token, devnet.strk);
    assert.match(auth.validUntil, /^\d+$/);

    const m = p.typedData.message;
    assert.equal(m.Caller, ANY_CALLER);
    assert.equal(m.Nonce, auth.nonce);
    assert.equal(BigInt(m['Execute Before']), BigInt(auth.validUntil));
    assert.ok(Number(auth.validUntil) > Date.now() / 1000 + 250);
    assert.equal(m.Calls.length, 1);
    assert.equal(BigInt(m.Calls[0].To), BigInt(devnet.strk));
    assert.equal(m.Calls[0].Selector, '0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e'); // transfer
    assert.deepEqual(m.Calls[0].Calldata.map(BigInt), [BigInt(payee.address), AMOUNT, 0n]);
    assert.equal(p.typedData.domain.chainId, devnet.chainId);

    assert.equal(await isValidSignature(provider, payer.address, p.typedData, p.payload.signature), VALID);
    assert.ok(await nonceIsFresh(provider, payer.address, auth.nonce));
    // The same signature from {address, privateKey} (what Account.signMessage does underneath).
    const plain = await createPayment({ account: devnet.accounts[0], requirements, chainId: devnet.chainId, nonce: auth.nonce, executeBefore: Number(auth.validUntil) });
    assert.deepEqual(plain.payload.signature, p.payload.signature);
  });

  test('submitOutsideExecution moves exactly the amount, once; a replay and a non-designated caller are refused', async () => {
    const p = await createPayment({ account: payer, requirements });
    const [payer0, payee0] = [await devnet.balance('STRK', payer.address), await devnet.balance('STRK', payee.address)];
    const hash = await submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: p.typedData, signature: p.payload.signature });
    assert.match(hash, /^0x[0-9a-f]+$/);
    assert.equal(await devnet.balance('STRK', payee.address), payee0 + AMOUNT);
    // The relayer pays the fee: the payer loses the amount and nothing else.
    assert.equal(await devnet.balance('STRK', payer.address), payer0 - AMOUNT);
    assert.equal(await nonceIsFresh(provider, payer.address, p.payload.authorization.nonce), false);

    await assert.rejects(
      submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: p.typedData, signature: p.payload.signature }),
      { reason: 'SRC9: duplicated nonce' },
    );

    const forRelayer = await createPayment({ account: payer, requirements, caller: relayer.address });
    await assert.rejects(
      submitOutsideExecution({ relayer: stranger, rpcUrl: devnet.url, payer: payer.address, typedData: forRelayer.typedData, signature: forRelayer.payload.signature }),
      { reason: 'SRC9: invalid caller' },
    );
    await submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: forRelayer.typedData, signature: forRelayer.payload.signature });
    assert.equal(await devnet.balance('STRK', payee.address), payee0 + 2n * AMOUNT);
  });

  test('wrong payments for negative tests are what they claim to be', async () => {
    const tampered = await createPayment({ account: payer, requirements, tamperSignature: true });
    assert.equal(BigInt(await isValidSignature(provider, payer.address, tampered.typedData, tampered.payload.signature)), 0n);
    await assert.rejects(
      submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: tampered.typedData, signature: tampered.payload.signature }),
      { reason: 'SRC9: invalid signature' },
    );

    const expired = await createPayment({ account: payer, requirements, validSeconds: -30 });
    assert.ok(Number(expired.payload.authorization.validUntil) < Date.now() / 1000);
    await assert.rejects(
      submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: expired.typedData, signature: expired.payload.signature }),
      { reason: 'SRC9: now >= execute_before' },
    );

    // Signed, but not what the authorization says.
    const elsewhere = await createPayment({ account: payer, requirements, transfer: { to: stranger.address, amount: AMOUNT + 1n, token: devnet.eth } });
    assert.equal(elsewhere.payload.authorization.to, payee.address);
    assert.equal(elsewhere.payload.authorization.amount, requirements.amount);
    assert.equal(elsewhere.payload.authorization.token, devnet.strk);
    const [call] = elsewhere.typedData.message.Calls;
    assert.equal(BigInt(call.To), BigInt(devnet.eth));
    assert.deepEqual(call.Calldata.map(BigInt), [BigInt(stranger.address), AMOUNT + 1n, 0n]);
    assert.equal(await isValidSignature(provider, payer.address, elsewhere.typedData, elsewhere.payload.signature), VALID);

    const extra = await createPayment({
      account: payer,
      requirements,
      extraCalls: [{ contractAddress: devnet.strk, entrypoint: 'approve', calldata: [stranger.address, '0x1', '0x0'] }],
    });
    assert.equal(extra.typedData.message.Calls.length, 2);
    assert.equal(await isValidSignature(provider, payer.address, extra.typedData, extra.payload.signature), VALID);

    // SNIP-9 v1: devnet's accounts implement only execute_from_outside_v2.
    const v1 = await createPayment({ account: payer, requirements, version: '1' });
    assert.ok(v1.typedData.types.StarkNetDomain);
    assert.equal(await isValidSignature(provider, payer.address, v1.typedData, v1.payload.signature), VALID);
    await assert.rejects(
      submitOutsideExecution({ relayer, rpcUrl: devnet.url, payer: payer.address, typedData: v1.typedData, signature: v1.payload.signature }),
      { reason: 'ENTRYPOINT_NOT_FOUND' },
    );
  });

  describe('the SNIP-29 paymaster stand-in', () => {
    const API_KEY = 'test-paymaster-key';
    let pm;
    before(async () => {
      pm = await startPaymaster({ rpcUrl: devnet.url, relayer: devnet.accounts[4], apiKey: API_KEY });
    });
    after(async () => pm?.close());

    test('buildTransaction + executeTransaction move the amount; requests are recorded as sent', async () => {
      const client = new PaymasterRpc({ nodeUrl: pm.url, headers: { 'x-paymaster-api-key': API_KEY } });
      assert.equal(await client.isAvailable(), true);
      const tokens = await client.getSupportedTokens();
      assert.equal(BigInt(tokens[0].token_address), BigInt(devnet.strk));

      pm.clearRequests();
      // The x402-starknet client: paymaster_buildTransaction for the transfer, then sign the typed data.
      const p = await createPayment({ account: payer, requirements, paymaster: { url: pm.url, apiKey: API_KEY } });
      const transfer = { contractAddress: devnet.strk, entrypoint: 'transfer', calldata: [payee.address, `0x${AMOUNT.toString(16)}`, '0x0'] };
      paymasterUtils.assertPaymasterTransactionSafety(
        { type: 'invoke', typed_data: p.typedData, fee: {} },
        [transfer],
        { feeMode: { mode: 'sponsored' } },
        devnet.chainId,
      );
      assert.equal(BigInt(p.typedData.message.Caller), BigInt(pm.relayer));
      assert.equal(p.typedData.message['Execute After'], '0x1');
      assert.equal(p.payload.authorization.nonce, p.typedData.message.Nonce);

      // The facilitator's settle: paymaster_executeTransaction as x402-starknet sends it.
      const [payer0, payee0] = [await devnet.balance('STRK', payer.address), await devnet.balance('STRK', payee.address)];
      const execute = {
        jsonrpc: '2.0',
        id: 2,
        method: 'paymaster_executeTransaction',
        params: {
          transaction: {
            type: 'invoke',
            invoke: { user_address: payer.address, typed_data: p.typedData, signature: [p.payload.signature.r, p.payload.signature.s] },
          },
          parameters: SPONSORED,
        },
      };
      const { status, body } = await post(pm.url, execute, { 'x-paymaster-api-key': API_KEY });
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual(Object.keys(body.result).sort(), ['tracking_id', 'transaction_hash']);
      const receipt = await provider.waitForTransaction(body.result.transaction_hash, { retryInterval: 100 });
      assert.ok(receipt.isSuccess());
      assert.equal(await devnet.balance('STRK', payee.address), payee0 + AMOUNT);
      assert.equal(await devnet.balance('STRK', payer.address), payer0 - AMOUNT);

      const seen = pm.requests();
      assert.deepEqual(seen.map((r) => r.method), ['paymaster_buildTransaction', 'paymaster_executeTransaction']);
      assert.equal(seen[0].headers['x-paymaster-api-key'], API_KEY);
      assert.deepEqual(seen[0].params.parameters, SPONSORED);
      assert.deepEqual(seen[0].params.transaction.invoke.calls[0].calldata.map(BigInt), [BigInt(payee.address), AMOUNT, 0n]);
      assert.deepEqual(seen[1].params, execute.params);
      assert.equal(seen[1].status, 200);

      // Executing it again: the account refuses the used nonce.
      const again = await post(pm.url, { ...execute, id: 3 }, { 'x-paymaster-api-key': API_KEY });
      assert.equal(again.body.error.code, PAYMASTER_ERRORS.TRANSACTION_EXECUTION_ERROR);
      assert.equal(again.body.error.data.execution_error, 'SRC9: duplicated nonce');
    });

    test('starknet.js PaymasterRpc is served too (ANY_CALLER typed data from createPayment)', async () => {
      const client = new PaymasterRpc({ nodeUrl: pm.url, headers: { 'x-paymaster-api-key': API_KEY } });
      const p = await createPayment({ account: payer, requirements });
      const payee0 = await devnet.balance('STRK', payee.address);
      const { transaction_hash: hash } = await client.executeTransaction(
        { type: 'invoke', invoke: { userAddress: payer.address, typedData: p.typedData, signature: p.payload.signature } },
        { version: '0x1', feeMode: { mode: 'sponsored' } },
      );
      assert.ok((await provider.waitForTransaction(hash, { retryInterval: 100 })).isSuccess());
      assert.equal(await devnet.balance('STRK', payee.address), payee0 + AMOUNT);
    });

    test('refuses a wrong or missing api key, and malformed requests, with its codes', async () => {
      const build = (over = {}) => ({
        jsonrpc: '2.0',
        id: 7,
        method: 'paymaster_buildTransaction',
        params: {
          transaction: {
            type: 'invoke',
            invoke: { user_address: payer.address, calls: [{ to: devnet.strk, selector: '0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e', calldata: [payee.address, '0x1', '0x0'] }] },
          },
          parameters: SPONSORED,
          ...over,
        },
      });
      const key = { 'x-paymaster-api-key': API_KEY };
      assert.equal((await post(pm.url, build(), key)).status, 200);

      const wrongKey = await post(pm.url, build(), { 'x-paymaster-api-key': 'nope' });
      assert.equal(wrongKey.status, 401);
      assert.equal(wrongKey.body.error.code, PAYMASTER_ERRORS.UNKNOWN_ERROR);
      assert.equal(wrongKey.body.id, 7);
      assert.equal((await post(pm.url, build())).body.error.code, PAYMASTER_ERRORS.UNKNOWN_ERROR);

      const code = async (body, headers = key) => (await post(pm.url, body, headers)).body.error?.code;
      assert.equal(await code(build({ parameters: { version: '0x2', fee_mode: { mode: 'sponsored' } } })), -32602);
      assert.equal(await code(build({ parameters: { version: '0x1' } })), -32602);
      assert.equal(await code(build({ parameters: { version: '0x1', fee_mode: { mode: 'sponsored' }, feeMode: {} } })), -32602);
      assert.equal(await code(build({ parameters: { ...SPONSORED, time_bounds: { execute_after: 10, execute_before: 20 } } })), PAYMASTER_ERRORS.INVALID_TIME_BOUNDS);
      assert.equal(await code(build({ parameters: { version: '0x1', fee_mode: { mode: 'default', gas_token: '0x1234' } } })), PAYMASTER_ERRORS.TOKEN_NOT_SUPPORTED);
      const camel = build();
      camel.params.transaction.invoke = { userAddress: payer.address, calls: camel.params.transaction.invoke.calls };
      assert.equal(await code(camel), -32602);
      const decimal = build();
      decimal.params.transaction.invoke.calls[0].calldata = ['123', '1', '0'];
      assert.equal(await code(decimal), -32602);
      const noAccount = build();
      noAccount.params.transaction.invoke.user_address = '0x1234567';
      assert.equal(await code(noAccount), PAYMASTER_ERRORS.INVALID_ADDRESS);
      const notFelt = build();
      notFelt.params.transaction.invoke.user_address = 'payer';
      assert.equal(await code(notFelt), PAYMASTER_ERRORS.INVALID_ADDRESS);
      assert.equal(await code({ ...build(), method: 'paymaster_buildTypedData' }), -32601);
      assert.equal(await code({ ...build(), jsonrpc: '1.0' }), -32600);
      assert.equal(await code('{"jsonrpc":'), -32700);
      const plainText = await post(pm.url, build(), { ...key, 'content-type': 'text/plain' });
      assert.equal(plainText.status, 415);

      const p = await createPayment({ account: payer, requirements });
      const execute = (signature, typedData = p.typedData) => ({
        jsonrpc: '2.0',
        id: 8,
        method: 'paymaster_executeTransaction',
        params: { transaction: { type: 'invoke', invoke: { user_address: payer.address, typed_data: typedData, signature } }, parameters: SPONSORED },
      });
      const { r, s } = p.payload.signature;
      assert.equal(await code(execute({ r, s })), PAYMASTER_ERRORS.INVALID_SIGNATURE);
      assert.equal(await code(execute([BigInt(r).toString(), BigInt(s).toString()])), PAYMASTER_ERRORS.INVALID_SIGNATURE);
      assert.equal(await code(execute([r, `0x${(BigInt(s) + 1n).toString(16)}`])), PAYMASTER_ERRORS.INVALID_SIGNATURE);
      assert.equal(await code(execute([r, s], { ...p.typedData, domain: { ...p.typedData.domain, chainId: '0x534e5f4d41494e' } })), -32602);
      const deploy = execute([r, s]);
      deploy.params.transaction = { type: 'deploy', deployment: {} };
      assert.equal(await code(deploy), -32602);

      // None of the refused requests moved anything: the payment is still executable.
      assert.ok(await nonceIsFresh(provider, payer.address, p.payload.authorization.nonce));
      const methods = pm.requests().map((x) => x.method);
      assert.ok(methods.includes('paymaster_buildTypedData'));
    });
  });
});
