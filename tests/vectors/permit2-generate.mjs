// Generates tests/vectors/permit2.json with viem (an implementation independent of the Rust code in
// src/schemes/exact_permit2): Permit2 `PermitWitnessTransferFrom` digests with the exact-scheme
// witness, signed as the @x402/evm 2.27 client signs them (`shared/permit2.ts`
// `signPermit2Authorization`, types `permit2WitnessTypes` of `constants.ts`), the payload JSON the
// client sends, the exact proxy's `settle` / `settleWithPermit` calldata (ABI from @x402/evm), and an
// EIP-2612 permit and a signed ERC-20 `approve(Permit2, max)` transaction as the gas-sponsoring
// extensions carry them.
//
// Deterministic: fixed public anvil keys and fixed values, no clock, no randomness, so a re-run must
// reproduce the committed file. Run from a checkout with node_modules:
//   node_modules/.bin/node tests/vectors/permit2-generate.mjs > tests/vectors/permit2.json
import {
  encodeFunctionData,
  getAddress,
  hashTypedData,
  hashStruct,
  keccak256,
  parseSignature,
  serializeTransaction,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  PERMIT2_ADDRESS,
  permit2WitnessTypes,
  x402ExactPermit2ProxyABI,
  x402ExactPermit2ProxyAddress,
  x402UptoPermit2ProxyAddress,
} from '@x402/evm';

// Public anvil test keys #1 (payer) and #2.
const PAYER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const payer = privateKeyToAccount(PAYER_KEY);
const PAY_TO = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
const BASE_SEPOLIA_USDC = getAddress('0x036CbD53842c5426634e7929541eC2318f3dCF7e');
const BASE_USDC = getAddress('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913');

const domain = (chainId) => ({ name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS });

function message(c) {
  return {
    permitted: { token: c.token, amount: BigInt(c.amount) },
    spender: c.spender,
    nonce: BigInt(c.nonce),
    deadline: BigInt(c.deadline),
    witness: { to: c.to, validAfter: BigInt(c.validAfter) },
  };
}

/** The settle arguments exactly as @x402/evm `buildExactPermit2SettleArgs` builds them. */
function settleArgs(c, signature) {
  return [
    { permitted: { token: c.token, amount: BigInt(c.amount) }, nonce: BigInt(c.nonce), deadline: BigInt(c.deadline) },
    payer.address,
    { to: c.to, validAfter: BigInt(c.validAfter) },
    signature,
  ];
}

const cases = [
  {
    label: 'base-sepolia, the 2.27 client shape (32-byte decimal nonce, validAfter 0)',
    chainId: 84532,
    token: BASE_SEPOLIA_USDC,
    amount: '10000',
    spender: x402ExactPermit2ProxyAddress,
    nonce: BigInt(keccak256(new TextEncoder().encode('x402-edge permit2 vector 1'))).toString(),
    deadline: '1740672154',
    to: PAY_TO,
    validAfter: '0',
  },
  {
    label: 'base mainnet, small nonce, nonzero validAfter',
    chainId: 8453,
    token: BASE_USDC,
    amount: '1',
    spender: x402ExactPermit2ProxyAddress,
    nonce: '7',
    deadline: '4102444800',
    to: PAY_TO,
    validAfter: '1740672089',
  },
  {
    label: 'base-sepolia, signed for the upto proxy (a spender the exact scheme refuses)',
    chainId: 84532,
    token: BASE_SEPOLIA_USDC,
    amount: '123456789',
    spender: x402UptoPermit2ProxyAddress,
    nonce: ((1n << 256n) - 1n).toString(),
    deadline: '1740672154',
    to: PAY_TO,
    validAfter: '0',
  },
];

const vectors = [];
for (const c of cases) {
  const typed = { domain: domain(c.chainId), types: permit2WitnessTypes, primaryType: 'PermitWitnessTransferFrom', message: message(c) };
  const signature = await payer.signTypedData(typed);
  const permit2612 = { value: BigInt(c.amount), deadline: BigInt(c.deadline), r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}`, v: 27 };
  vectors.push({
    label: c.label,
    chainId: c.chainId,
    digest: hashTypedData(typed),
    structHash: hashStruct({ data: typed.message, types: permit2WitnessTypes, primaryType: 'PermitWitnessTransferFrom' }),
    signer: payer.address,
    payload: {
      signature,
      permit2Authorization: {
        from: payer.address,
        permitted: { token: c.token, amount: c.amount },
        spender: c.spender,
        nonce: c.nonce,
        deadline: c.deadline,
        witness: { to: c.to, validAfter: c.validAfter },
      },
    },
    settleCalldata: encodeFunctionData({ abi: x402ExactPermit2ProxyABI, functionName: 'settle', args: settleArgs(c, signature) }),
    settleWithPermitCalldata: encodeFunctionData({
      abi: x402ExactPermit2ProxyABI,
      functionName: 'settleWithPermit',
      args: [permit2612, ...settleArgs(c, signature)],
    }),
  });
}

// The EIP-2612 extension's permit, as @x402/evm `exact/client/eip2612.ts` signs it.
const eip2612Typed = {
  domain: { name: 'USD Coin', version: '2', chainId: 84532, verifyingContract: BASE_SEPOLIA_USDC },
  types: {
    Permit: [
      { name: 'owner', type: 'address' },
      { name: 'spender', type: 'address' },
      { name: 'value', type: 'uint256' },
      { name: 'nonce', type: 'uint256' },
      { name: 'deadline', type: 'uint256' },
    ],
  },
  primaryType: 'Permit',
  message: { owner: payer.address, spender: PERMIT2_ADDRESS, value: 10000n, nonce: 0n, deadline: 1740672154n },
};
const eip2612Signature = await payer.signTypedData(eip2612Typed);
const split = parseSignature(eip2612Signature);

// The ERC-20 approval extension's transaction, as `exact/client/erc20approval.ts` builds it.
const approveData = encodeFunctionData({
  abi: [{ type: 'function', name: 'approve', inputs: [{ type: 'address' }, { type: 'uint256' }], outputs: [{ type: 'bool' }], stateMutability: 'nonpayable' }],
  functionName: 'approve',
  args: [PERMIT2_ADDRESS, (1n << 256n) - 1n],
});
const approvalTx = {
  type: 'eip1559',
  chainId: 84532,
  nonce: 3,
  to: BASE_SEPOLIA_USDC,
  data: approveData,
  gas: 70000n,
  maxFeePerGas: 1000000000n,
  maxPriorityFeePerGas: 100000000n,
};
const signedApproval = await payer.signTransaction(approvalTx);

console.log(
  JSON.stringify(
    {
      generator: 'tests/vectors/permit2-generate.mjs (viem 2.57.20, @x402/evm 2.27.0)',
      permit2: PERMIT2_ADDRESS,
      exactProxy: x402ExactPermit2ProxyAddress,
      uptoProxy: x402UptoPermit2ProxyAddress,
      vectors,
      eip2612: {
        digest: hashTypedData(eip2612Typed),
        info: {
          from: payer.address,
          asset: BASE_SEPOLIA_USDC,
          spender: PERMIT2_ADDRESS,
          amount: '10000',
          nonce: '0',
          deadline: '1740672154',
          signature: eip2612Signature,
          version: '1',
        },
        v: Number(split.v),
        r: split.r,
        s: split.s,
      },
      erc20Approval: {
        info: {
          from: payer.address,
          asset: BASE_SEPOLIA_USDC,
          spender: PERMIT2_ADDRESS,
          amount: ((1n << 256n) - 1n).toString(),
          signedTransaction: signedApproval,
          version: '1',
        },
        hash: keccak256(signedApproval),
        unsigned: serializeTransaction(approvalTx),
        nonce: 3,
        gas: 70000,
        maxFeePerGas: 1000000000,
      },
    },
    null,
    2,
  ),
);
