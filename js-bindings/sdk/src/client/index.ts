// `@x402-edge/sdk/client`: one paying `fetch` for every scheme the x402-edge facilitator serves, on the
// official SDK's registry (`x402Client`): exact EVM (EIP-3009 and Permit2, `@x402/evm`), `upto` sessions
// (this package's `UptoEvmClientScheme`, with the standard Permit2 `upto` of `@x402/evm` behind it), exact
// Solana (`@x402/svm`), and any scheme passed in `schemes` (e.g. a Starknet client).
//
// The fetch loop is the one of `@x402/fetch` plus what sessions need: a paid request refused with
// `cap_exhausted` or `session_closed` (in PAYMENT-REQUIRED's `error` when refused at verify, in
// PAYMENT-RESPONSE's `errorReason` when the capture failed) invalidates the session's permit and is paid
// once more with a new one; `settling_in_progress` waits (backing off) and sends the same payment again.

import {
  x402Client,
  x402HTTPClient,
  type PaymentPolicy,
  type SelectPaymentRequirements,
  type SpendControls,
} from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import type { Network, PaymentRequired, SchemeNetworkClient } from '@x402/core/types';
import type { ClientEvmSigner } from '@x402/evm';
import { registerExactEvmScheme } from '@x402/evm/exact/client';
import { UptoEvmScheme as UptoPermit2EvmScheme } from '@x402/evm/upto/client';
import { type ClientSvmSigner, ExactSvmScheme } from '@x402/svm';
import type { Account } from 'viem';

import { UptoEvmClientScheme, type UptoEvmClientOptions } from '../upto/client.js';
import { evmChainId, type Hex, UPTO_RESIGN_REASONS, UPTO_SCHEME, UPTO_SETTLING_IN_PROGRESS } from '../upto/shared.js';

/** A viem wallet client (with an account), as an alternative to a `ClientEvmSigner` / `LocalAccount`. */
export interface EvmWalletClientLike {
  readonly account?: Account;
  signTypedData(args: {
    account: Account;
    domain: Record<string, unknown>;
    types: Record<string, unknown>;
    primaryType: string;
    message: Record<string, unknown>;
  }): Promise<Hex>;
  readContract?: ClientEvmSigner['readContract'];
}

export type EvmSignerInput = ClientEvmSigner | EvmWalletClientLike;

export interface UnifiedClientConfig {
  /** Pays `exact` (EIP-3009, Permit2) and `upto` on every `eip155:*` network. */
  evm?: EvmSignerInput;
  /** Pays `exact` on every `solana:*` network. */
  svm?: ClientSvmSigner;
  /**
   * JSON-RPC endpoints by CAIP-2 network: EVM ones for chain reads (the `upto` permit nonce, Permit2
   * allowances), Solana ones for the transaction's blockhash and mint.
   */
  rpcUrls?: Record<string, string>;
  /** `upto` session options (`false`: no sessions). `facilitatorUrl` pins the permit spender. */
  upto?: Omit<UptoEvmClientOptions, 'signer' | 'rpcUrl' | 'permit2' | 'fetch'> | false;
  /** Further schemes to register, e.g. `{ network: "starknet:*", client: myStarknetScheme }`. */
  schemes?: { network: Network; client: SchemeNetworkClient; x402Version?: 1 | 2 }[];
  /** `x402Client` spend controls (default: default assets only, $1 per payment; `false`: none). */
  spendControls?: SpendControls | false;
  policies?: PaymentPolicy[];
  paymentRequirementsSelector?: SelectPaymentRequirements;
  /** The transport (default `globalThis.fetch`). */
  fetch?: typeof fetch;
  /** How often a payment refused with `settling_in_progress` is sent again (default 10). */
  settlingRetries?: number;
}

export interface UnifiedClient {
  /** `fetch` that pays 402 answers. */
  fetch: typeof fetch;
  /** The same function, under the daydreams name. */
  fetchWithPayment: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  client: x402Client;
  httpClient: x402HTTPClient;
  /** The session scheme, when an EVM signer is given: `forceNewPermit()`, `permitsSigned`. */
  upto?: UptoEvmClientScheme;
}

export interface PayingFetchOptions {
  /** The session scheme whose permit is invalidated on `cap_exhausted` / `session_closed`. */
  upto?: Pick<UptoEvmClientScheme, 'invalidatePermit'>;
  settlingRetries?: number;
  /** Delay before the `attempt`-th resend after `settling_in_progress`, ms (default 250·2^attempt, ≤ 2 s). */
  settlingDelayMs?: (attempt: number) => number;
}

/** Builds an `x402Client` with every scheme the signers given can pay, and its paying fetch. */
export function createUnifiedClient(config: UnifiedClientConfig): UnifiedClient {
  const fetchFn = config.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw new Error('createUnifiedClient: no fetch');
  if (!config.evm && !config.svm && !config.schemes?.length) {
    throw new Error('createUnifiedClient: give at least one of evm, svm, schemes');
  }
  const client = new x402Client(config.paymentRequirementsSelector);
  if (config.spendControls !== undefined) client.setSpendControls(config.spendControls);
  for (const policy of config.policies ?? []) client.registerPolicy(policy);

  let upto: UptoEvmClientScheme | undefined;
  if (config.evm) upto = registerEvm(client, toEvmSigner(config.evm), config, fetchFn);
  if (config.svm) registerSvm(client, config.svm, config.rpcUrls ?? {});
  for (const { network, client: scheme, x402Version } of config.schemes ?? []) {
    if (x402Version === 1) client.registerV1(network, scheme);
    else client.register(network, scheme);
  }

  const payingFetch = wrapFetchWithPayment(fetchFn, client, { upto, settlingRetries: config.settlingRetries });
  return { fetch: payingFetch as typeof fetch, fetchWithPayment: payingFetch, client, httpClient: new x402HTTPClient(client), upto };
}

/**
 * Wraps `fetchFn` so that a 402 is paid with `client` and the request sent again, with the session
 * retries described at the top of this module.
 */
export function wrapFetchWithPayment(
  fetchFn: typeof fetch,
  client: x402Client | x402HTTPClient,
  options: PayingFetchOptions = {},
): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response> {
  const httpClient = client instanceof x402HTTPClient ? client : new x402HTTPClient(client);
  const settlingRetries = options.settlingRetries ?? 10;
  const delay = options.settlingDelayMs ?? ((attempt: number) => Math.min(250 * 2 ** attempt, 2000));

  return async (input, init) => {
    const request = new Request(input, init);
    const send = (headers?: Record<string, string>) => fetchFn(withHeaders(request, headers));
    const unpaid = await send();
    if (unpaid.status !== 402) return unpaid;
    const required = await paymentRequiredOf(httpClient, unpaid);
    if (!required) return unpaid;

    const hookHeaders = await httpClient.handlePaymentRequired(required, request.url);
    if (hookHeaders) {
      const answered = await send(hookHeaders);
      if (answered.status !== 402) return answered;
    }

    let payload = await httpClient.createPaymentPayload(required);
    let resigned = false;
    for (let settling = 0; ; ) {
      const paid = await send(httpClient.encodePaymentSignatureHeader(payload));
      if (paid.status !== 402 || payload.accepted?.scheme !== UPTO_SCHEME || !options.upto) return paid;
      const reason = await paymentFailureReason(paid);
      if (reason && UPTO_RESIGN_REASONS.includes(reason) && !resigned) {
        resigned = true;
        const signature = (payload.payload as { signature?: unknown }).signature;
        options.upto.invalidatePermit(payload.accepted.network, payload.accepted.asset, typeof signature === 'string' ? signature : undefined);
        payload = await httpClient.createPaymentPayload((await paymentRequiredOf(httpClient, paid)) ?? required);
        continue;
      }
      if (reason === UPTO_SETTLING_IN_PROGRESS && settling < settlingRetries) {
        await new Promise((resolve) => setTimeout(resolve, delay(settling++)));
        continue;
      }
      return paid;
    }
  };
}

/**
 * Why a paid request was answered 402: PAYMENT-REQUIRED's `error` (refused at verify), PAYMENT-RESPONSE's
 * `errorReason` (the settlement failed), else the JSON body's `error` / `errorReason` / `invalidReason`.
 */
export async function paymentFailureReason(response: Response): Promise<string | undefined> {
  const required = response.headers.get('PAYMENT-REQUIRED');
  if (required) {
    try {
      const error = decodePaymentRequiredHeader(required).error;
      if (error) return error;
    } catch {
      /* not a valid header: look further */
    }
  }
  const settled = response.headers.get('PAYMENT-RESPONSE') ?? response.headers.get('X-PAYMENT-RESPONSE');
  if (settled) {
    try {
      const reason = decodePaymentResponseHeader(settled).errorReason;
      if (reason) return reason;
    } catch {
      /* not a valid header: look further */
    }
  }
  const body = await jsonBody(response);
  for (const field of ['error', 'errorReason', 'invalidReason', 'code'] as const) {
    const value = body?.[field];
    if (typeof value === 'string' && value) return value;
  }
  return undefined;
}

/** A viem `LocalAccount` / `ClientEvmSigner` as it is; a wallet client through its account. */
export function toEvmSigner(input: EvmSignerInput): ClientEvmSigner {
  if ('address' in input && typeof input.address === 'string') return input as ClientEvmSigner;
  const wallet = input as EvmWalletClientLike;
  const account = wallet.account;
  if (!account) throw new Error('createUnifiedClient: the EVM wallet client has no account');
  return {
    address: account.address,
    signTypedData: (message) => wallet.signTypedData({ ...message, account }),
    ...(wallet.readContract ? { readContract: wallet.readContract.bind(wallet) } : {}),
  };
}

function registerEvm(
  client: x402Client,
  signer: ClientEvmSigner,
  config: UnifiedClientConfig,
  fetchFn: typeof fetch,
): UptoEvmClientScheme | undefined {
  const evmRpc: Record<number, { rpcUrl: string }> = {};
  for (const [network, rpcUrl] of Object.entries(config.rpcUrls ?? {})) {
    const chainId = evmChainId(network);
    if (chainId !== undefined) evmRpc[chainId] = { rpcUrl };
  }
  registerExactEvmScheme(client, { signer, schemeOptions: evmRpc });
  const permit2 = new UptoPermit2EvmScheme(signer, evmRpc);
  if (config.upto === false) {
    client.register('eip155:*', permit2);
    return undefined;
  }
  const upto = new UptoEvmClientScheme({ ...config.upto, signer, rpcUrl: config.rpcUrls, permit2, fetch: fetchFn });
  client.register('eip155:*', upto);
  return upto;
}

function registerSvm(client: x402Client, signer: ClientSvmSigner, rpcUrls: Record<string, string>): void {
  client.register('solana:*', new ExactSvmScheme(signer));
  for (const [network, rpcUrl] of Object.entries(rpcUrls)) {
    if (network.startsWith('solana:')) client.register(network as Network, new ExactSvmScheme(signer, { rpcUrl }));
  }
}

async function paymentRequiredOf(httpClient: x402HTTPClient, response: Response): Promise<PaymentRequired | undefined> {
  try {
    return httpClient.getPaymentRequiredResponse((name) => response.headers.get(name), await jsonBody(response));
  } catch {
    return undefined;
  }
}

/** The response's JSON body (read from a clone, so the caller still gets the body), else undefined. */
async function jsonBody(response: Response): Promise<Record<string, unknown> | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    const body: unknown = await response.clone().json();
    return typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function withHeaders(request: Request, headers?: Record<string, string>): Request {
  const copy = request.clone();
  if (!headers) return copy;
  const merged = new Headers(copy.headers);
  for (const [name, value] of Object.entries(headers)) merged.set(name, value);
  return new Request(copy, { headers: merged });
}
