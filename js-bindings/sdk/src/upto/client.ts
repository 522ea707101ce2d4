// The client half of `upto` sessions on the official SDK's scheme registry:
// `new x402Client().register("eip155:*", new UptoEvmClientScheme({ signer, rpcUrl }))`.
//
// One EIP-2612 permit per (network, asset, owner, facilitator spender) is signed for the session cap and
// reused for every payment until it comes close to its deadline: N paid requests cost one signature, and
// the facilitator settles their sum in one batch. After `cap_exhausted` or `session_closed` the caller
// (`createUnifiedClient`'s fetch) invalidates the permit and pays once more with a new one.

import type {
  Network,
  PaymentPayloadContext,
  PaymentPayloadResult,
  PaymentRequirements,
  SchemeNetworkClient,
} from '@x402/core/types';

import { evmChainId, type Hex, isAddress, NONCES_ABI, PERMIT_TYPES, toUint, UPTO_SCHEME } from './shared.js';

/** What signs a permit: a viem `LocalAccount`, or `@x402/evm`'s `ClientEvmSigner` (`toClientEvmSigner`). */
export interface UptoEvmSigner {
  readonly address: Hex;
  signTypedData(message: {
    domain: Record<string, unknown>;
    types: Record<string, unknown>;
    primaryType: string;
    message: Record<string, unknown>;
  }): Promise<Hex>;
  /** Reads the token's `nonces(owner)` when present (a `ClientEvmSigner` composed with a public client). */
  readContract?(args: {
    address: Hex;
    abi: readonly unknown[];
    functionName: string;
    args?: readonly unknown[];
  }): Promise<unknown>;
}

export interface UptoEvmClientOptions {
  signer: UptoEvmSigner;
  /**
   * The facilitator the client trusts: its `/supported` names the spender the permit is signed for, and a
   * resource server naming another spender is refused. Without it the spender is the requirements'
   * `extra.facilitatorAddress`, i.e. the resource server is trusted with the cap.
   */
  facilitatorUrl?: string;
  /** JSON-RPC endpoint(s) for the token's `nonces(owner)`: one URL, or one per CAIP-2 network. */
  rpcUrl?: string | Record<string, string>;
  /** How long a permit lives, in seconds (default: the requirements' `maxTimeoutSeconds`, at least 600). */
  permitSeconds?: number;
  /**
   * A cached permit is not used this close to its deadline, in seconds (default 120: the facilitator
   * settles and closes a session 60 s before the deadline, on a sweeper pass that runs every minute).
   */
  deadlineBufferSeconds?: number;
  /** The largest cap (atomic units) the client signs; a route asking more is refused. */
  maxCap?: string | bigint;
  /**
   * Pays requirements that ask for the standard Permit2 `upto` (`extra.assetTransferMethod: "permit2"`),
   * e.g. `new UptoEvmScheme(signer)` of `@x402/evm/upto/client`: both share the `upto` scheme name.
   */
  permit2?: SchemeNetworkClient;
  /** The clock, in milliseconds (tests). */
  now?: () => number;
  fetch?: typeof fetch;
}

interface CachedPermit {
  cap: bigint;
  nonce: bigint;
  deadline: bigint;
  payload: Record<string, unknown>;
}

const MIN_PERMIT_SECONDS = 600;

/** `SchemeNetworkClient` for `upto` sessions: signs, caches and re-signs the session's permit. */
export class UptoEvmClientScheme implements SchemeNetworkClient {
  readonly scheme = UPTO_SCHEME;

  private readonly permits = new Map<string, CachedPermit>();
  /** The deadline of the last permit per key: a re-signed permit must differ from the one it replaces. */
  private readonly lastDeadline = new Map<string, bigint>();
  /** Permits being signed, per key: concurrent first payments share one signature. */
  private readonly signing = new Map<string, Promise<CachedPermit>>();
  /** Spenders named by the trusted facilitator's `/supported`, per network. */
  private readonly spenders = new Map<string, Promise<Hex>>();
  private readonly maxCap?: bigint;
  private signed = 0;

  constructor(private readonly options: UptoEvmClientOptions) {
    if (!isAddress(options.signer?.address) || typeof options.signer.signTypedData !== 'function') {
      throw new Error('UptoEvmClientScheme: signer needs an address and signTypedData (a viem account or ClientEvmSigner)');
    }
    if (options.maxCap !== undefined) {
      this.maxCap = toUint(options.maxCap);
      if (this.maxCap === undefined) throw new Error(`UptoEvmClientScheme: maxCap must be an integer, got ${String(options.maxCap)}`);
    }
  }

  /** How many permits this scheme has signed. */
  get permitsSigned(): number {
    return this.signed;
  }

  async createPaymentPayload(
    x402Version: number,
    requirements: PaymentRequirements,
    context?: PaymentPayloadContext,
  ): Promise<PaymentPayloadResult> {
    if (requirements.extra?.assetTransferMethod === 'permit2') {
      if (!this.options.permit2) {
        throw new Error('upto: these requirements ask for the standard Permit2 upto; pass UptoEvmClientScheme({ permit2 })');
      }
      return this.options.permit2.createPaymentPayload(x402Version, requirements, context);
    }
    const { network, asset, cap, amount } = this.check(requirements);
    const owner = this.options.signer.address;
    const spender = await this.spenderFor(requirements);
    const key = permitKey(network, asset, owner, spender);
    const cached = this.permits.get(key);
    if (cached && this.usable(cached, cap, amount)) return { x402Version, payload: cached.payload };
    const pending = this.signing.get(key);
    if (pending) {
      const shared = await pending.catch(() => undefined);
      if (shared && this.permits.get(key) === shared && this.usable(shared, cap, amount)) {
        return { x402Version, payload: shared.payload };
      }
    }
    const signing = this.sign(requirements, { key, network, asset, owner, spender, cap }).then((permit) => {
      this.permits.set(key, permit);
      return permit;
    });
    this.signing.set(key, signing);
    try {
      return { x402Version, payload: (await signing).payload };
    } finally {
      if (this.signing.get(key) === signing) this.signing.delete(key);
    }
  }

  /**
   * Drops the cached permits of the owner for `network`/`asset` (after `cap_exhausted`, `session_closed`);
   * with `signature`, only the permit that carries it: a request refused under a permit another request
   * has already replaced does not drop the replacement.
   */
  invalidatePermit(network: string, asset: string, signature?: string): void {
    const prefix = `${network}|${asset.toLowerCase()}|${this.options.signer.address.toLowerCase()}|`;
    for (const [key, permit] of [...this.permits]) {
      if (key.startsWith(prefix) && (signature === undefined || permit.payload.signature === signature)) this.permits.delete(key);
    }
  }

  /** The next payment (on `network`/`asset`, or any) signs a new permit. */
  forceNewPermit(network?: string, asset?: string): void {
    if (network && asset) return this.invalidatePermit(network, asset);
    for (const key of [...this.permits.keys()]) if (!network || key.startsWith(`${network}|`)) this.permits.delete(key);
  }

  private check(requirements: PaymentRequirements) {
    const { network, asset, extra = {} } = requirements;
    if (requirements.scheme !== UPTO_SCHEME) throw new Error(`upto: cannot pay scheme ${requirements.scheme}`);
    if (evmChainId(network) === undefined) throw new Error(`upto: ${network} is not an eip155 network`);
    if (!isAddress(asset)) throw new Error(`upto: asset ${asset} is not an EVM address`);
    if (typeof extra.name !== 'string' || typeof extra.version !== 'string') {
      throw new Error("upto: the requirements miss the token's EIP-712 domain (extra.name, extra.version)");
    }
    const amount = toUint(requirements.amount);
    const cap = toUint(extra.maxAmountRequired ?? extra.maxAmount ?? requirements.amount);
    if (amount === undefined || cap === undefined) throw new Error('upto: amount and extra.maxAmountRequired must be integers');
    if (cap < amount) throw new Error(`upto: the cap ${cap} is below the amount ${amount}`);
    if (this.maxCap !== undefined && cap > this.maxCap) {
      throw new Error(`upto: the route asks a cap of ${cap}, above this client's maxCap ${this.maxCap}`);
    }
    return { network: network as Network, asset: asset as Hex, cap, amount };
  }

  private usable(permit: CachedPermit, cap: bigint, amount: bigint): boolean {
    const now = BigInt(Math.floor(this.now() / 1000));
    const buffer = BigInt(this.options.deadlineBufferSeconds ?? 120);
    return permit.deadline > now + buffer && permit.cap >= cap && permit.cap >= amount;
  }

  private async sign(
    requirements: PaymentRequirements,
    p: { key: string; network: Network; asset: Hex; owner: Hex; spender: Hex; cap: bigint },
  ): Promise<CachedPermit> {
    const nonce = await this.nonceOf(p.network, p.asset, p.owner);
    const lifetime = this.options.permitSeconds ?? Math.max(requirements.maxTimeoutSeconds ?? 0, MIN_PERMIT_SECONDS);
    let deadline = BigInt(Math.floor(this.now() / 1000) + lifetime);
    const last = this.lastDeadline.get(p.key);
    if (last !== undefined && deadline <= last) deadline = last + 1n;
    const extra = requirements.extra ?? {};
    const signature = await this.options.signer.signTypedData({
      domain: { name: extra.name, version: extra.version, chainId: evmChainId(p.network), verifyingContract: p.asset },
      types: PERMIT_TYPES,
      primaryType: 'Permit',
      message: { owner: p.owner, spender: p.spender, value: p.cap, nonce, deadline },
    });
    this.signed += 1;
    this.lastDeadline.set(p.key, deadline);
    const authorization = {
      from: p.owner,
      to: p.spender,
      value: p.cap.toString(),
      validBefore: deadline.toString(),
      nonce: nonce.toString(),
    };
    return { cap: p.cap, nonce, deadline, payload: { authorization, signature } };
  }

  /** The spender: the trusted facilitator's signer, else the one the requirements name. */
  private async spenderFor(requirements: PaymentRequirements): Promise<Hex> {
    const named = requirements.extra?.facilitatorAddress;
    if (!this.options.facilitatorUrl) {
      if (!isAddress(named)) throw new Error('upto: the requirements name no spender (extra.facilitatorAddress) and no facilitatorUrl is set');
      return named;
    }
    const trusted = await this.trustedSpender(requirements.network);
    if (named !== undefined && (!isAddress(named) || named.toLowerCase() !== trusted.toLowerCase())) {
      throw new Error(`upto: the resource server names spender ${String(named)}, the facilitator ${trusted}: refused`);
    }
    return trusted;
  }

  private trustedSpender(network: string): Promise<Hex> {
    let spender = this.spenders.get(network);
    if (!spender) {
      spender = this.fetchSpender(network);
      spender.catch(() => this.spenders.delete(network));
      this.spenders.set(network, spender);
    }
    return spender;
  }

  private async fetchSpender(network: string): Promise<Hex> {
    const base = this.options.facilitatorUrl!.replace(/\/+$/, '');
    const res = await this.fetch()(`${base}/supported`);
    if (!res.ok) throw new Error(`upto: ${base}/supported answered ${res.status}`);
    const supported = (await res.json()) as { signers?: Record<string, unknown> };
    const signers = supported.signers?.[network] ?? supported.signers?.['eip155:*'];
    const first = Array.isArray(signers) ? signers[0] : undefined;
    if (!isAddress(first)) throw new Error(`upto: ${base}/supported names no EVM signer for ${network}`);
    return first;
  }

  /** The token's EIP-2612 nonce of `owner`: through the signer's `readContract`, else `rpcUrl`. */
  private async nonceOf(network: string, asset: Hex, owner: Hex): Promise<bigint> {
    const { signer, rpcUrl } = this.options;
    const url = typeof rpcUrl === 'string' ? rpcUrl : rpcUrl?.[network];
    if (url) return readNonce(this.fetch(), url, asset, owner);
    if (signer.readContract) {
      const nonce = await signer.readContract({ address: asset, abi: NONCES_ABI, functionName: 'nonces', args: [owner] });
      const value = toUint(nonce);
      if (value === undefined) throw new Error(`upto: nonces(${owner}) of ${asset} answered ${String(nonce)}`);
      return value;
    }
    throw new Error(`upto: no way to read the token nonce on ${network}: pass rpcUrl, or a signer with readContract`);
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }

  private fetch(): typeof fetch {
    return this.options.fetch ?? globalThis.fetch;
  }
}

/** The cache key: one permit per (network, asset, owner, spender), as the facilitator has one session there. */
function permitKey(network: string, asset: string, owner: string, spender: string): string {
  return `${network}|${asset.toLowerCase()}|${owner.toLowerCase()}|${spender.toLowerCase()}`;
}

/** `nonces(owner)` over JSON-RPC `eth_call`. */
async function readNonce(fetchFn: typeof fetch, rpcUrl: string, asset: Hex, owner: Hex): Promise<bigint> {
  const data = `0x7ecebe00${owner.slice(2).toLowerCase().padStart(64, '0')}`;
  const res = await fetchFn(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: [{ to: asset, data }, 'latest'] }),
  });
  const reply = (await res.json()) as { result?: string; error?: { message?: string } };
  if (typeof reply.result !== 'string' || !/^0x[0-9a-fA-F]{1,64}$/.test(reply.result)) {
    throw new Error(`upto: nonces(${owner}) of ${asset}: ${reply.error?.message ?? 'no result'}`);
  }
  return BigInt(reply.result);
}
