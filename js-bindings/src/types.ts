// x402 wire types, structurally compatible with `@x402/core`'s (`PaymentPayload`, `PaymentRequirements`,
// their v1 forms, `PaymentRequired`, `SettleResponse`, `VerifyResponse`): a value of theirs is a
// value of ours, so callers pass the same objects. Declared here so the package has no dependencies.

/** A network id: CAIP-2 (`eip155:84532`) in v2, a name (`base-sepolia`) in v1. */
export type Network = string;

export interface ResourceInfo {
  url: string;
  description?: string;
  mimeType?: string;
}

/** x402 v2 payment requirements (one entry of `accepts`). */
export interface PaymentRequirements {
  scheme: string;
  network: Network;
  asset: string;
  /** Atomic units, a decimal string. */
  amount: string;
  payTo: string;
  maxTimeoutSeconds: number;
  /** For `exact` on EVM: the token's EIP-712 domain, `{name, version}`. */
  extra?: Record<string, unknown> | null;
}

/** x402 v1 payment requirements. */
export interface PaymentRequirementsV1 {
  scheme: string;
  network: Network;
  maxAmountRequired: string;
  resource?: string;
  description?: string;
  mimeType?: string;
  outputSchema?: Record<string, unknown> | null;
  payTo: string;
  maxTimeoutSeconds: number;
  asset: string;
  extra?: Record<string, unknown> | null;
}

/** x402 v2 payment payload (the `PAYMENT-SIGNATURE` header). */
export interface PaymentPayload {
  x402Version: number;
  resource?: ResourceInfo;
  accepted: PaymentRequirements;
  payload: Record<string, unknown>;
  extensions?: Record<string, unknown>;
}

/**
 * x402 v1 payment payload (the `X-PAYMENT` header). The Crypto.com/Cronos dialect's decoded
 * `paymentHeader` has this shape too, with the EIP-3009 fields flat in `payload`.
 */
export interface PaymentPayloadV1 {
  x402Version: 1;
  scheme: string;
  network: Network;
  payload: Record<string, unknown>;
}

/** x402 v2 `PAYMENT-REQUIRED` header. */
export interface PaymentRequired {
  x402Version: number;
  error?: string;
  resource: ResourceInfo;
  accepts: PaymentRequirements[];
  extensions?: Record<string, unknown>;
}

/** `PAYMENT-RESPONSE` (v2) and `X-PAYMENT-RESPONSE` (v1): a settlement response. */
export interface SettleResponse {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  /** Transaction hash; `""` when nothing was sent. */
  transaction: string;
  network: Network;
  amount?: string;
  extensions?: Record<string, unknown>;
}

/** An EIP-3009 `TransferWithAuthorization`; integers as decimal strings (numbers are accepted). */
export interface Eip3009Authorization {
  from: string;
  to: string;
  value: string | number;
  validAfter: string | number;
  validBefore: string | number;
  nonce: string;
}

/** An EIP-712 domain as viem writes it. */
export interface Eip712Domain {
  name: string;
  version: string;
  chainId: number | string;
  verifyingContract: string;
}

/** What every package's verify options have. */
export interface VerifyOptionsBase {
  /** The time to check the payment's time window against: unix seconds or a Date. Default: now. */
  now?: number | Date;
  /** A JSON-RPC endpoint (or several, tried in order) of the payment's chain: the chain checks run too. */
  rpcUrl?: string | string[];
  /** How long one RPC request may take, in ms (default 10000). */
  timeoutMs?: number;
  /** The fetch to use (default `globalThis.fetch`). */
  fetch?: typeof globalThis.fetch;
}

export interface VerifyOptions extends VerifyOptionsBase {
  /**
   * With it, the chain checks run too, exactly as the facilitator runs them (one batched JSON-RPC
   * request): the token, the nonce, the balance, a simulation of the transfer, and contract-wallet
   * signatures (ERC-1271). Solana: a `simulateTransaction` of the client's transaction (without
   * signature verification: the fee payer has not signed yet; the client's signatures are checked
   * offline).
   */
  rpcUrl?: string | string[];
  /**
   * With `rpcUrl`: the ERC-6492 factories through which a counterfactual wallet may be deployed, as the
   * facilitator's `EIP6492_ALLOWED_FACTORIES` (default none: such wallets are refused until deployed).
   */
  allowedFactories?: string[];
  /**
   * `upto` payments: the facilitator's addresses (its `/supported` signers) that a permit's spender
   * must be one of. Without it the spender is not checked (`spenderChecked: false`).
   */
  spenders?: string[];
  /**
   * Solana payments: the facilitator's fee payers (its `/supported` `signers["solana:*"]`) that
   * `extra.feePayer` must be one of. Without it `extra.feePayer` is taken as given
   * (`feePayerChecked: false`); the fee-payer rules are checked against it either way.
   */
  feePayers?: string[];
}

/** The facilitator's `/verify` answer, plus what this verify could look at (every package). */
export interface VerifyResultBase {
  isValid: boolean;
  /** The facilitator's reason code: v2 codes for v2 payloads, v1 codes for v1 and Cronos. */
  invalidReason?: string;
  invalidMessage?: string;
  payer?: string;
  /**
   * True when only the chain can decide: `isValid` is then false, with the reason the facilitator
   * gives if the chain shows nothing more. Pass `rpcUrl` to decide.
   */
  needsChain: boolean;
  /** Whether the chain checks ran (`rpcUrl` was given). */
  chainChecked: boolean;
}

/**
 * `needsChain` here: a contract wallet's signature (ERC-1271 or ERC-6492), or a v1 token whose EIP-712
 * domain is not given. `upto` verify makes no chain call.
 */
export interface VerifyResult extends VerifyResultBase {
  /** `upto`: the session the permit opens, as the facilitator names it. */
  sessionId?: string;
  /** `upto`: whether the permit's spender was checked against `options.spenders`. */
  spenderChecked?: boolean;
  /** Solana: whether `extra.feePayer` was checked against `options.feePayers`. */
  feePayerChecked?: boolean;
}
