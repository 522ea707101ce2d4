// Permit2 and the x402 Permit2 proxies on the local chain: real anvil, the vendored Permit2 runtime, our own
// proxies (contracts/x402*Permit2Proxy.sol) placed at the canonical addresses by installPermit2, payments
// signed with viem and with the official @x402/evm 2.27 clients, settled by calling the proxies.
// Run: node --test tests/node/permit2-chain.test.mjs
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';

import {
  BaseError,
  ContractFunctionRevertedError,
  decodeEventLog,
  encodePacked,
  getAddress,
  keccak256,
  maxUint256,
  parseAbi,
  parseSignature,
  toHex,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  PERMIT2_ADDRESS as X402_PERMIT2_ADDRESS,
  toClientEvmSigner,
  x402ExactPermit2ProxyABI,
  x402ExactPermit2ProxyAddress,
  x402UptoPermit2ProxyABI,
  x402UptoPermit2ProxyAddress,
} from '@x402/evm';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { UptoEvmScheme } from '@x402/evm/upto/client';

import {
  ANVIL_ACCOUNTS,
  PERMIT2_ADDRESS,
  PERMIT2_EXACT_WITNESS_TYPES,
  PERMIT2_UPTO_WITNESS_TYPES,
  PERMIT_TYPES,
  X402_EXACT_PERMIT2_PROXY_ADDRESS,
  X402_UPTO_PERMIT2_PROXY_ADDRESS,
  balanceOf,
  clients,
  deployTestToken,
  installPermit2,
  loadArtifact,
  permit2Domain,
  permit2DomainSeparator,
  rpc,
  startAnvil,
} from '../../scripts/lib/chain.mjs';

const CHAIN_ID = 84532;
const NETWORK = `eip155:${CHAIN_ID}`;
const [A0, A1, A2, A3, A4, A5, A6] = ANVIL_ACCOUNTS;
const FACILITATOR = ANVIL_ACCOUNTS[9];

/** Permit2's errors (not in the proxies' ABI), so that viem names them in reverts. */
const PERMIT2_ABI = parseAbi([
  'function DOMAIN_SEPARATOR() view returns (bytes32)',
  'function nonceBitmap(address owner, uint256 wordPos) view returns (uint256)',
  'error SignatureExpired(uint256 signatureDeadline)',
  'error InvalidNonce()',
  'error InvalidAmount(uint256 maxAmount)',
  'error InvalidSignatureLength()',
  'error InvalidSignature()',
  'error InvalidSigner()',
  'error InvalidContractSignature()',
]);

const STUB = 'PermitWitnessTransferFrom(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,';
const nonce256 = () => BigInt(toHex(randomBytes(32)));

/** Start anvil, deploy the token, install Permit2 and the proxies, run `fn`, always stop anvil. */
async function withPermit2Chain(fn) {
  const node = await startAnvil({ chainId: CHAIN_ID });
  try {
    const token = await deployTestToken({ rpcUrl: node.rpcUrl, chainId: CHAIN_ID });
    const nonceBefore = await rpc(node.rpcUrl, 'eth_getTransactionCount', [A0.address, 'latest']);
    const installed = await installPermit2({ rpcUrl: node.rpcUrl, chainId: CHAIN_ID });
    const exactAbi = [...(await loadArtifact('x402ExactPermit2Proxy')).abi, ...PERMIT2_ABI];
    const uptoAbi = [...(await loadArtifact('x402UptoPermit2Proxy')).abi, ...PERMIT2_ABI];
    const { publicClient: pub } = clients({ rpcUrl: node.rpcUrl, chainId: CHAIN_ID });
    const wallet = (acct) => clients({ rpcUrl: node.rpcUrl, chainId: CHAIN_ID, privateKey: acct.privateKey }).walletClient;
    const ctx = {
      node,
      token,
      installed,
      nonceBefore,
      pub,
      exactAbi,
      uptoAbi,
      bal: (owner) => balanceOf({ rpcUrl: node.rpcUrl, token: token.address, owner }),
      now: async () => (await pub.getBlock()).timestamp,
      read: (address, abi, functionName, args = []) => pub.readContract({ address, abi, functionName, args }),
      /** Send a call from `acct`, wait for a successful receipt. */
      send: async (acct, { address, abi, functionName, args }) => {
        const hash = await wallet(acct).writeContract({ address, abi, functionName, args });
        const receipt = await pub.waitForTransactionReceipt({ hash });
        assert.equal(receipt.status, 'success', `${functionName} failed`);
        return receipt;
      },
      /** Simulate a call from `acct` (eth_call with its address as `from`). */
      simulate: (acct, { address, abi, functionName, args }) =>
        pub.simulateContract({ account: acct.address, address, abi, functionName, args }),
      approvePermit2: (acct, amount = maxUint256) =>
        ctx.send(acct, { address: token.address, abi: token.abi, functionName: 'approve', args: [PERMIT2_ADDRESS, amount] }),
      events: (receipt, address, abi) =>
        receipt.logs
          .filter((l) => getAddress(l.address) === getAddress(address))
          .map((l) => decodeEventLog({ abi, data: l.data, topics: l.topics })),
    };
    return await fn(ctx);
  } finally {
    await node.stop();
  }
}

/** Assert that `promise` (a viem contract call) reverts with the custom error `name` whose selector is `selector`. */
async function revertsWith(promise, name, selector) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof BaseError, `not a viem error: ${err}`);
    const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
    assert.ok(revert, `no revert in: ${err.shortMessage}`);
    assert.equal(revert.data?.errorName, name, err.shortMessage);
    assert.equal(revert.raw?.slice(0, 10), selector);
    return true;
  });
}

/** An `exact` Permit2 authorization from `payer` through the exact proxy, signed with viem. */
async function exactPayment(ctx, payer, { to = A5.address, amount = 1_250_000n, validAfter = 0n, deadline, spender = X402_EXACT_PERMIT2_PROXY_ADDRESS, nonce = nonce256() } = {}) {
  deadline ??= (await ctx.now()) + 600n;
  const permit = { permitted: { token: ctx.token.address, amount }, nonce, deadline };
  const witness = { to, validAfter };
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData({
    domain: permit2Domain(CHAIN_ID),
    types: PERMIT2_EXACT_WITNESS_TYPES,
    primaryType: 'PermitWitnessTransferFrom',
    message: { ...permit, spender, witness },
  });
  return { permit, owner: payer.address, witness, signature, args: [permit, payer.address, witness, signature] };
}

/** An `upto` Permit2 authorization (cap `cap`, settled by `facilitator`) from `payer`, signed with viem. */
async function uptoPayment(ctx, payer, { to = A6.address, cap = 5_000_000n, facilitator = FACILITATOR.address, validAfter = 0n, nonce = nonce256() } = {}) {
  const deadline = (await ctx.now()) + 600n;
  const permit = { permitted: { token: ctx.token.address, amount: cap }, nonce, deadline };
  const witness = { to, facilitator, validAfter };
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData({
    domain: permit2Domain(CHAIN_ID),
    types: PERMIT2_UPTO_WITNESS_TYPES,
    primaryType: 'PermitWitnessTransferFrom',
    message: { ...permit, spender: X402_UPTO_PERMIT2_PROXY_ADDRESS, witness },
  });
  return { permit, owner: payer.address, witness, signature };
}

/** An EIP-2612 permit of the test token from `payer` to Permit2 for `value`, as the proxies take it. */
async function permit2612(ctx, payer, value, deadline) {
  const nonce = await ctx.read(ctx.token.address, ctx.token.abi, 'nonces', [payer.address]);
  const signature = await privateKeyToAccount(payer.privateKey).signTypedData({
    domain: { name: 'USD Coin', version: '2', chainId: CHAIN_ID, verifyingContract: ctx.token.address },
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: { owner: payer.address, spender: PERMIT2_ADDRESS, value, nonce, deadline },
  });
  const { r, s, v } = parseSignature(signature);
  return { value, deadline, r, s, v: Number(v) };
}

const exactSettle = (ctx, args) => ({ address: X402_EXACT_PERMIT2_PROXY_ADDRESS, abi: ctx.exactAbi, functionName: 'settle', args });
const uptoSettle = (ctx, p, amount) => ({
  address: X402_UPTO_PERMIT2_PROXY_ADDRESS,
  abi: ctx.uptoAbi,
  functionName: 'settle',
  args: [p.permit, amount, p.owner, p.witness, p.signature],
});

test('installPermit2 places Permit2 and both proxies at the canonical addresses without a transaction', () =>
  withPermit2Chain(async (ctx) => {
    assert.deepEqual(ctx.installed, {
      permit2: PERMIT2_ADDRESS,
      exactProxy: X402_EXACT_PERMIT2_PROXY_ADDRESS,
      uptoProxy: X402_UPTO_PERMIT2_PROXY_ADDRESS,
    });
    // The same addresses as the official client's.
    assert.equal(PERMIT2_ADDRESS, X402_PERMIT2_ADDRESS);
    assert.equal(X402_EXACT_PERMIT2_PROXY_ADDRESS, x402ExactPermit2ProxyAddress);
    assert.equal(X402_UPTO_PERMIT2_PROXY_ADDRESS, x402UptoPermit2ProxyAddress);
    // No deployer nonce used: every other contract keeps its address.
    assert.equal(await rpc(ctx.node.rpcUrl, 'eth_getTransactionCount', [A0.address, 'latest']), ctx.nonceBefore);

    const separator = await ctx.read(PERMIT2_ADDRESS, PERMIT2_ABI, 'DOMAIN_SEPARATOR');
    assert.equal(separator, '0x010f27a92fb9a32622f44f001dc4d15706a85b33499cfc2ce9033113ab26592c');
    assert.equal(separator, permit2DomainSeparator(CHAIN_ID));

    const views = [
      [X402_EXACT_PERMIT2_PROXY_ADDRESS, ctx.exactAbi, 'Witness(address to,uint256 validAfter)',
        '0xd97b3239a7f32295517bd14cb074edfdd188dfe5eb42f802bb26d4fd1eb12c37', '0xebc156cd23678a74c94df13d772ef5478420637f0c94bd10d509e1dc98f521c7'],
      [X402_UPTO_PERMIT2_PROXY_ADDRESS, ctx.uptoAbi, 'Witness(address to,address facilitator,uint256 validAfter)',
        '0xd4171c445a74218b01d4fd8af34ff1106580ea1e36ff837e64484bfaa2253b75', '0x51dff6974ad4388c499e7fcfe838d2bd767162553a144098ce20ea661d70c2ee'],
    ];
    for (const [address, abi, witnessType, witnessTypehash, fullTypehash] of views) {
      assert.equal(await ctx.read(address, abi, 'PERMIT2'), PERMIT2_ADDRESS);
      assert.equal(await ctx.read(address, abi, 'WITNESS_TYPEHASH'), witnessTypehash);
      assert.equal(keccak256(toHex(witnessType)), witnessTypehash);
      const typeString = await ctx.read(address, abi, 'WITNESS_TYPE_STRING');
      assert.equal(typeString, `Witness witness)TokenPermissions(address token,uint256 amount)${witnessType}`);
      // What Permit2 rebuilds on chain: its stub followed by the proxy's type string.
      assert.equal(keccak256(encodePacked(['string', 'string'], [STUB, typeString])), fullTypehash);
    }
  }));

test('exact settle moves exactly the permitted amount to witness.to, once', () =>
  withPermit2Chain(async (ctx) => {
    await ctx.approvePermit2(A1);
    const p = await exactPayment(ctx, A1, { amount: 1_250_000n });
    const [payerBefore, payeeBefore, facilitatorBefore] = await Promise.all([ctx.bal(A1.address), ctx.bal(A5.address), ctx.bal(FACILITATOR.address)]);
    const receipt = await ctx.send(FACILITATOR, exactSettle(ctx, p.args));
    assert.equal(await ctx.bal(A1.address), payerBefore - 1_250_000n);
    assert.equal(await ctx.bal(A5.address), payeeBefore + 1_250_000n);
    assert.equal(await ctx.bal(FACILITATOR.address), facilitatorBefore);
    assert.deepEqual(ctx.events(receipt, X402_EXACT_PERMIT2_PROXY_ADDRESS, ctx.exactAbi).map((e) => e.eventName), ['Settled']);
    // Permit2's unordered nonce: bit (nonce & 0xff) of word (nonce >> 8).
    const word = await ctx.read(PERMIT2_ADDRESS, PERMIT2_ABI, 'nonceBitmap', [A1.address, p.permit.nonce >> 8n]);
    assert.equal((word >> (p.permit.nonce & 0xffn)) & 1n, 1n);

    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, p.args)), 'InvalidNonce', '0x756688fe');
    assert.equal(await ctx.bal(A5.address), payeeBefore + 1_250_000n);
  }));

test('exact settle refuses a signature for another spender, another payee, and the shared checks', () =>
  withPermit2Chain(async (ctx) => {
    await ctx.approvePermit2(A1);
    const now = await ctx.now();
    // Signed for the upto proxy as spender: Permit2 hashes msg.sender (the exact proxy) instead.
    const otherSpender = await exactPayment(ctx, A1, { spender: X402_UPTO_PERMIT2_PROXY_ADDRESS });
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, otherSpender.args)), 'InvalidSigner', '0x815e1d64');
    // The facilitator swaps the payee: the witness hash changes, the signature no longer matches.
    const p = await exactPayment(ctx, A1);
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, [p.permit, p.owner, { ...p.witness, to: A4.address }, p.signature])), 'InvalidSigner', '0x815e1d64');
    // A signature by someone else than the owner.
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, [p.permit, A2.address, p.witness, p.signature])), 'InvalidSigner', '0x815e1d64');

    const zero = await exactPayment(ctx, A1, { amount: 0n });
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, zero.args)), 'InvalidAmount', '0x2c5211c6');
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, [p.permit, zeroAddress, p.witness, p.signature])), 'InvalidOwner', '0x49e27cff');
    const nowhere = await exactPayment(ctx, A1, { to: zeroAddress });
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, nowhere.args)), 'InvalidDestination', '0xac6b05f5');
    const early = await exactPayment(ctx, A1, { validAfter: now + 3600n });
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, early.args)), 'PaymentTooEarly', '0xa65539fa');
    const expired = await exactPayment(ctx, A1, { deadline: now - 1n });
    await revertsWith(ctx.simulate(FACILITATOR, exactSettle(ctx, expired.args)), 'SignatureExpired', '0xcd21db4f');

    // The untouched payment still settles.
    await ctx.send(FACILITATOR, exactSettle(ctx, p.args));
  }));

test('upto settle moves the charge, only from witness.facilitator, never above the cap', () =>
  withPermit2Chain(async (ctx) => {
    await ctx.approvePermit2(A2);
    const p = await uptoPayment(ctx, A2, { cap: 5_000_000n });
    await revertsWith(ctx.simulate(A3, uptoSettle(ctx, p, 3_000_000n)), 'UnauthorizedFacilitator', '0x0f6fae87');
    await revertsWith(ctx.simulate(FACILITATOR, uptoSettle(ctx, p, 5_000_001n)), 'AmountExceedsPermitted', '0xfe64b4c7');
    await revertsWith(ctx.simulate(FACILITATOR, uptoSettle(ctx, p, 0n)), 'InvalidAmount', '0x2c5211c6');

    const [payerBefore, payeeBefore] = await Promise.all([ctx.bal(A2.address), ctx.bal(A6.address)]);
    const receipt = await ctx.send(FACILITATOR, uptoSettle(ctx, p, 3_000_000n));
    assert.equal(await ctx.bal(A2.address), payerBefore - 3_000_000n);
    assert.equal(await ctx.bal(A6.address), payeeBefore + 3_000_000n);
    assert.deepEqual(ctx.events(receipt, X402_UPTO_PERMIT2_PROXY_ADDRESS, ctx.uptoAbi).map((e) => e.eventName), ['Settled']);
    // The whole authorization is spent, whatever the charge.
    await revertsWith(ctx.simulate(FACILITATOR, uptoSettle(ctx, p, 1n)), 'InvalidNonce', '0x756688fe');

    // The full cap is allowed.
    const full = await uptoPayment(ctx, A2, { cap: 2_000_000n });
    await ctx.send(FACILITATOR, uptoSettle(ctx, full, 2_000_000n));
    assert.equal(await ctx.bal(A6.address), payeeBefore + 5_000_000n);
  }));

test('settleWithPermit gives Permit2 its allowance with an EIP-2612 permit of the test token', () =>
  withPermit2Chain(async (ctx) => {
    const amount = 700_000n;
    assert.equal(await ctx.read(ctx.token.address, ctx.token.abi, 'allowance', [A3.address, PERMIT2_ADDRESS]), 0n);
    const p = await exactPayment(ctx, A3, { amount });
    const permit = await permit2612(ctx, A3, amount, p.permit.deadline);
    const call = { address: X402_EXACT_PERMIT2_PROXY_ADDRESS, abi: ctx.exactAbi, functionName: 'settleWithPermit', args: [permit, ...p.args] };

    // Without the permit the transfer fails: no allowance.
    await assert.rejects(ctx.simulate(FACILITATOR, exactSettle(ctx, p.args)), /TRANSFER_FROM_FAILED/);
    await revertsWith(ctx.simulate(FACILITATOR, { ...call, args: [{ ...permit, value: amount + 1n }, ...p.args] }), 'Permit2612AmountMismatch', '0x050cda49');

    const [payerBefore, payeeBefore] = await Promise.all([ctx.bal(A3.address), ctx.bal(A5.address)]);
    const receipt = await ctx.send(FACILITATOR, call);
    assert.equal(await ctx.bal(A3.address), payerBefore - amount);
    assert.equal(await ctx.bal(A5.address), payeeBefore + amount);
    assert.deepEqual(ctx.events(receipt, X402_EXACT_PERMIT2_PROXY_ADDRESS, ctx.exactAbi).map((e) => e.eventName), ['SettledWithPermit']);
    assert.equal(await ctx.read(ctx.token.address, ctx.token.abi, 'nonces', [A3.address]), 1n);

    // A permit that fails (already used) is only logged; with an allowance in place the payment settles.
    await ctx.approvePermit2(A3);
    const again = await exactPayment(ctx, A3, { amount });
    const logged = await ctx.send(FACILITATOR, { ...call, args: [permit, ...again.args] });
    const events = ctx.events(logged, X402_EXACT_PERMIT2_PROXY_ADDRESS, ctx.exactAbi);
    assert.deepEqual(events.map((e) => e.eventName), ['EIP2612PermitFailedWithData', 'SettledWithPermit']);
    assert.equal(events[0].args.token, ctx.token.address);
    assert.equal(events[0].args.owner, A3.address);
    assert.equal(events[0].args.data.slice(0, 10), '0x4b800e46'); // ERC2612InvalidSigner(address,address)

    // upto: the permit's value is the cap, the charge may be less.
    const u = await uptoPayment(ctx, A4, { cap: 900_000n });
    const uPermit = await permit2612(ctx, A4, 900_000n, u.permit.deadline);
    const a4Before = await ctx.bal(A4.address);
    const uptoCall = (value) => ({
      address: X402_UPTO_PERMIT2_PROXY_ADDRESS,
      abi: ctx.uptoAbi,
      functionName: 'settleWithPermit',
      args: [{ ...uPermit, value }, u.permit, 400_000n, u.owner, u.witness, u.signature],
    });
    await revertsWith(ctx.simulate(FACILITATOR, uptoCall(400_000n)), 'Permit2612AmountMismatch', '0x050cda49');
    const uReceipt = await ctx.send(FACILITATOR, uptoCall(900_000n));
    assert.equal(await ctx.bal(A4.address), a4Before - 400_000n);
    assert.deepEqual(ctx.events(uReceipt, X402_UPTO_PERMIT2_PROXY_ADDRESS, ctx.uptoAbi).map((e) => e.eventName), ['SettledWithPermit']);
  }));

/** Requirements as a v2 resource server states them for `exact` via Permit2 with the test token. */
function permit2Requirements(ctx, { scheme = 'exact', amount = '1500000', payTo = A5.address, extra = {} } = {}) {
  return {
    scheme,
    network: NETWORK,
    amount,
    asset: ctx.token.address,
    payTo,
    maxTimeoutSeconds: 300,
    extra: { assetTransferMethod: 'permit2', name: 'USD Coin', version: '2', ...extra },
  };
}

/** The settle arguments a facilitator builds from an official Permit2 payload. */
function settleArgs(payload, { withFacilitator = false } = {}) {
  const a = payload.permit2Authorization;
  const permit = { permitted: { token: a.permitted.token, amount: BigInt(a.permitted.amount) }, nonce: BigInt(a.nonce), deadline: BigInt(a.deadline) };
  const witness = withFacilitator
    ? { to: a.witness.to, facilitator: a.witness.facilitator, validAfter: BigInt(a.witness.validAfter) }
    : { to: a.witness.to, validAfter: BigInt(a.witness.validAfter) };
  return { permit, owner: a.from, witness, signature: payload.signature };
}

test('the official @x402/evm exact client pays with Permit2 and our exact proxy settles it', () =>
  withPermit2Chain(async (ctx) => {
    const payer = privateKeyToAccount(A1.privateKey);
    const client = new ExactEvmScheme(toClientEvmSigner(payer, ctx.pub));

    // The payer allowed Permit2 itself: a bare Permit2 payload.
    await ctx.approvePermit2(A1);
    const requirements = permit2Requirements(ctx, { amount: '1500000' });
    const result = await client.createPaymentPayload(2, requirements);
    assert.equal(result.extensions, undefined);
    const auth = result.payload.permit2Authorization;
    assert.equal(auth.spender, X402_EXACT_PERMIT2_PROXY_ADDRESS);
    assert.equal(auth.from, A1.address);
    const s = settleArgs(result.payload);
    const [payerBefore, payeeBefore] = await Promise.all([ctx.bal(A1.address), ctx.bal(A5.address)]);
    // Called with the official ABI: the selectors are the canonical ones.
    await ctx.send(FACILITATOR, {
      address: x402ExactPermit2ProxyAddress,
      abi: x402ExactPermit2ProxyABI,
      functionName: 'settle',
      args: [s.permit, s.owner, s.witness, s.signature],
    });
    assert.equal(await ctx.bal(A1.address), payerBefore - 1_500_000n);
    assert.equal(await ctx.bal(A5.address), payeeBefore + 1_500_000n);
  }));

test('the official @x402/evm exact client signs the EIP-2612 extension and settleWithPermit uses it', () =>
  withPermit2Chain(async (ctx) => {
    const payer = privateKeyToAccount(A2.privateKey);
    const client = new ExactEvmScheme(toClientEvmSigner(payer, ctx.pub));
    const requirements = permit2Requirements(ctx, { amount: '2500000', payTo: A6.address });
    // The server declared the extension; the payer has no allowance to Permit2.
    const result = await client.createPaymentPayload(2, requirements, { extensions: { eip2612GasSponsoring: { info: { version: '1' } } } });
    const info = result.extensions?.eip2612GasSponsoring?.info;
    assert.ok(info, 'the client signed an EIP-2612 permit');
    assert.equal(info.spender, PERMIT2_ADDRESS);
    assert.equal(info.amount, '2500000');

    const s = settleArgs(result.payload);
    const { r, s: sigS, v } = parseSignature(info.signature);
    const permit = { value: BigInt(info.amount), deadline: BigInt(info.deadline), r, s: sigS, v: Number(v) };
    const [payerBefore, payeeBefore] = await Promise.all([ctx.bal(A2.address), ctx.bal(A6.address)]);
    const receipt = await ctx.send(FACILITATOR, {
      address: x402ExactPermit2ProxyAddress,
      abi: x402ExactPermit2ProxyABI,
      functionName: 'settleWithPermit',
      args: [permit, s.permit, s.owner, s.witness, s.signature],
    });
    assert.equal(await ctx.bal(A2.address), payerBefore - 2_500_000n);
    assert.equal(await ctx.bal(A6.address), payeeBefore + 2_500_000n);
    assert.deepEqual(ctx.events(receipt, X402_EXACT_PERMIT2_PROXY_ADDRESS, ctx.exactAbi).map((e) => e.eventName), ['SettledWithPermit']);
  }));

test('the official @x402/evm upto client signs a cap that our upto proxy settles from the named facilitator', () =>
  withPermit2Chain(async (ctx) => {
    const payer = privateKeyToAccount(A3.privateKey);
    const client = new UptoEvmScheme(toClientEvmSigner(payer, ctx.pub));
    await ctx.approvePermit2(A3);
    const requirements = permit2Requirements(ctx, { scheme: 'upto', amount: '4000000', payTo: A6.address, extra: { facilitatorAddress: FACILITATOR.address } });
    const result = await client.createPaymentPayload(2, requirements);
    assert.equal(result.payload.permit2Authorization.spender, X402_UPTO_PERMIT2_PROXY_ADDRESS);
    const s = settleArgs(result.payload, { withFacilitator: true });
    const call = (amount) => ({
      address: x402UptoPermit2ProxyAddress,
      abi: [...x402UptoPermit2ProxyABI, ...PERMIT2_ABI],
      functionName: 'settle',
      args: [s.permit, amount, s.owner, s.witness, s.signature],
    });
    await revertsWith(ctx.simulate(A4, call(1_000_000n)), 'UnauthorizedFacilitator', '0x0f6fae87');
    const [payerBefore, payeeBefore] = await Promise.all([ctx.bal(A3.address), ctx.bal(A6.address)]);
    await ctx.send(FACILITATOR, call(1_234_567n));
    assert.equal(await ctx.bal(A3.address), payerBefore - 1_234_567n);
    assert.equal(await ctx.bal(A6.address), payeeBefore + 1_234_567n);
  }));
