// Generates tests/vectors/upto-permit2.json with viem (an implementation independent of the Rust code in
// src/schemes/upto_permit2): Permit2 `PermitWitnessTransferFrom` digests with the standard `upto` witness
// `{to, facilitator, validAfter}`, signed as the @x402/evm 2.27 client signs them (`upto/client/permit2.ts`,
// types `uptoPermit2WitnessTypes` of `constants.ts`), the payload JSON the client sends (checked with
// @x402/evm's own `isUptoPermit2Payload`), and the upto proxy's `settle` / `settleWithPermit` calldata for a
// charge below the cap (ABI from @x402/evm, arguments as `buildUptoPermit2SettleArgs` orders them).
//
// Deterministic: fixed public anvil keys and fixed values, no clock, no randomness, so a re-run must
// reproduce the committed file. Run from a checkout with node_modules:
//   node_modules/.bin/node tests/vectors/upto-permit2-generate.mjs > tests/vectors/upto-permit2.json
import { encodeFunctionData, getAddress, hashTypedData, keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  isUptoPermit2Payload,
  PERMIT2_ADDRESS,
  uptoPermit2WitnessTypes,
  x402UptoPermit2ProxyABI,
  x402UptoPermit2ProxyAddress,
} from '@x402/evm';

// Public anvil test keys #1 (payer); the facilitator is anvil account #9.
const PAYER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const payer = privateKeyToAccount(PAYER_KEY);
const PAY_TO = getAddress('0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc');
const FACILITATOR = getAddress('0xa0ee7a142d267c1f36714e4a8f75612f20a79720');
const BASE_SEPOLIA_USDC = getAddress('0x036CbD53842c5426634e7929541eC2318f3dCF7e');
const BASE_USDC = getAddress('0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913');

const domain = (chainId) => ({ name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS });

function message(c) {
  return {
    permitted: { token: c.token, amount: BigInt(c.amount) },
    spender: c.spender,
    nonce: BigInt(c.nonce),
    deadline: BigInt(c.deadline),
    witness: { to: c.to, facilitator: c.facilitator, validAfter: BigInt(c.validAfter) },
  };
}

/** The settle arguments exactly as @x402/evm `buildUptoPermit2SettleArgs` builds them. */
function settleArgs(c, charge, signature) {
  return [
    { permitted: { token: c.token, amount: BigInt(c.amount) }, nonce: BigInt(c.nonce), deadline: BigInt(c.deadline) },
    BigInt(charge),
    payer.address,
    { to: c.to, facilitator: c.facilitator, validAfter: BigInt(c.validAfter) },
    signature,
  ];
}

const cases = [
  {
    label: 'base-sepolia, the 2.27 client shape (32-byte decimal nonce, validAfter 0), charge below the cap',
    chainId: 84532,
    token: BASE_SEPOLIA_USDC,
    amount: '50000',
    charge: '12345',
    spender: x402UptoPermit2ProxyAddress,
    nonce: BigInt(keccak256(new TextEncoder().encode('x402-edge upto permit2 vector 1'))).toString(),
    deadline: '1740672154',
    to: PAY_TO,
    facilitator: FACILITATOR,
    validAfter: '0',
  },
  {
    label: 'base mainnet, small nonce, nonzero validAfter, the charge is the cap',
    chainId: 8453,
    token: BASE_USDC,
    amount: '7',
    charge: '7',
    spender: x402UptoPermit2ProxyAddress,
    nonce: '7',
    deadline: '4102444800',
    to: PAY_TO,
    facilitator: FACILITATOR,
    validAfter: '1740672089',
  },
];

const vectors = [];
for (const c of cases) {
  const typed = { domain: domain(c.chainId), types: uptoPermit2WitnessTypes, primaryType: 'PermitWitnessTransferFrom', message: message(c) };
  const signature = await payer.signTypedData(typed);
  const payload = {
    signature,
    permit2Authorization: {
      from: payer.address,
      permitted: { token: c.token, amount: c.amount },
      spender: c.spender,
      nonce: c.nonce,
      deadline: c.deadline,
      witness: { to: c.to, facilitator: c.facilitator, validAfter: c.validAfter },
    },
  };
  if (!isUptoPermit2Payload(payload)) throw new Error(`${c.label}: not an upto Permit2 payload for @x402/evm`);
  const permit2612 = { value: BigInt(c.amount), deadline: BigInt(c.deadline), r: `0x${'11'.repeat(32)}`, s: `0x${'22'.repeat(32)}`, v: 27 };
  vectors.push({
    label: c.label,
    chainId: c.chainId,
    digest: hashTypedData(typed),
    signer: payer.address,
    payload,
    charge: c.charge,
    settleCalldata: encodeFunctionData({ abi: x402UptoPermit2ProxyABI, functionName: 'settle', args: settleArgs(c, c.charge, signature) }),
    settleWithPermitCalldata: encodeFunctionData({
      abi: x402UptoPermit2ProxyABI,
      functionName: 'settleWithPermit',
      args: [permit2612, ...settleArgs(c, c.charge, signature)],
    }),
  });
}

console.log(
  JSON.stringify(
    {
      generator: 'tests/vectors/upto-permit2-generate.mjs (viem 2.57.20, @x402/evm 2.27.0)',
      permit2: PERMIT2_ADDRESS,
      uptoProxy: x402UptoPermit2ProxyAddress,
      vectors,
    },
    null,
    2,
  ),
);
