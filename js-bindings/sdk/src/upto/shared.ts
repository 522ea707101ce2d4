// What the resource-server and client halves of `upto` sessions share: the scheme name, the codes the
// facilitator answers for a session, and the EIP-2612 typed data a permit signs.

/** The x402 scheme name of sessions (and of the standard Permit2 `upto`: the payload tells them apart). */
export const UPTO_SCHEME = 'upto';

/**
 * The session codes a paid request can be refused with (the facilitator's `/verify` `invalidReason`,
 * `/settle` `errorReason`), which a client acts on:
 * - `cap_exhausted`: the permit's cap cannot take this payment; sign a new permit and retry once.
 * - `session_closed`: the session (its permit) is closed or its nonce is used; sign a new permit and retry once.
 * - `settling_in_progress`: the session is settling a batch; wait and retry the same payment.
 */
export const UPTO_CAP_EXHAUSTED = 'cap_exhausted';
export const UPTO_SESSION_CLOSED = 'session_closed';
export const UPTO_SETTLING_IN_PROGRESS = 'settling_in_progress';

/** The codes after which a client signs a new permit. */
export const UPTO_RESIGN_REASONS: readonly string[] = [UPTO_CAP_EXHAUSTED, UPTO_SESSION_CLOSED];

/** EIP-2612 `Permit`, the typed data a session's permit signs. */
export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `nonces(address)`, the EIP-2612 nonce the next permit of an owner must carry. */
export const NONCES_ABI = [
  {
    type: 'function',
    name: 'nonces',
    stateMutability: 'view',
    inputs: [{ name: 'owner', type: 'address' }],
    outputs: [{ name: '', type: 'uint256' }],
  },
] as const;

export type Hex = `0x${string}`;

const UINT = /^\d{1,78}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** An unsigned integer given as a decimal string (or a bigint / safe integer), else undefined. */
export function toUint(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value >= 0n ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  if (typeof value === 'string' && UINT.test(value)) return BigInt(value);
  return undefined;
}

export function isAddress(value: unknown): value is Hex {
  return typeof value === 'string' && ADDRESS.test(value);
}

/** The chain id of a CAIP-2 `eip155:<id>` network, else undefined. */
export function evmChainId(network: string): number | undefined {
  const match = /^eip155:(\d{1,15})$/.exec(network);
  return match ? Number(match[1]) : undefined;
}
