// The resource-server half of `upto` sessions on the official SDK's scheme registry:
// `new x402ResourceServer(facilitator).register("eip155:84532", new UptoEvmServerScheme())`.
//
// A route's price is what one request costs (`amount`); the requirements also carry the session cap the
// client signs its EIP-2612 permit for (`extra.maxAmountRequired`), the token's EIP-712 domain
// (`extra.name`, `extra.version`) and the facilitator's spender (`extra.facilitatorAddress`, from the
// `upto` kind of the facilitator's `/supported`). The facilitator captures each settled request into the
// session and its sweeper settles the session's sum in one batch.

import type {
  AssetAmount,
  MoneyParser,
  Network,
  PaymentFlowConfig,
  PaymentRequirements,
  Price,
  SchemeNetworkServer,
  SupportedKind,
} from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/server';

import { isAddress, toUint, UPTO_SCHEME } from './shared.js';

/** The payload kind a facilitator lists in its `upto` kind's `extra.payloads` when it serves sessions. */
export const UPTO_SESSION_PAYLOAD = 'eip2612-session';

export interface UptoEvmServerSchemeOptions {
  /**
   * The session cap (atomic units) for routes whose `extra` gives no `maxAmountRequired`. Without it the
   * cap is `paymentsPerSession` times the route's price.
   */
  cap?: string | bigint;
  /** How many requests at the route's price one permit covers when no cap is given (default 100). */
  paymentsPerSession?: number;
  /**
   * The permit spender to name when the facilitator's `upto` kind carries no `extra.facilitatorAddress`
   * (it must be the facilitator's EVM signer, `signers["eip155:*"][0]` of its `/supported`).
   */
  spender?: string;
}

const DEFAULT_PAYMENTS_PER_SESSION = 100;

/** `SchemeNetworkServer` for `upto` sessions (the daydreams contract) on EVM networks. */
export class UptoEvmServerScheme implements SchemeNetworkServer {
  readonly scheme = UPTO_SCHEME;
  /** Sessions have no on-wire `assetTransferMethod` (the standard `upto` has `permit2`). */
  readonly defaultAssetTransferMethod = 'default';
  /** Verified before the handler, captured (settled) after it: nothing is charged for a failed handler. */
  readonly paymentFlows: Readonly<Record<string, PaymentFlowConfig>> = {
    default: { supported: ['authorization'], default: 'authorization' },
  };

  private readonly moneyParsers: MoneyParser[] = [];
  /** Prices given as money (`"$0.001"`) resolve to the network's default stablecoin as for `exact`. */
  private readonly exact = new ExactEvmScheme();
  private readonly cap?: bigint;
  private readonly paymentsPerSession: bigint;
  private readonly spender?: string;

  constructor(options: UptoEvmServerSchemeOptions = {}) {
    if (options.cap !== undefined) {
      this.cap = toUint(options.cap);
      if (!this.cap) throw new Error(`UptoEvmServerScheme: cap must be a positive integer (atomic units), got ${String(options.cap)}`);
    }
    const perSession = options.paymentsPerSession ?? DEFAULT_PAYMENTS_PER_SESSION;
    if (!Number.isSafeInteger(perSession) || perSession < 1) {
      throw new Error(`UptoEvmServerScheme: paymentsPerSession must be a positive integer, got ${perSession}`);
    }
    this.paymentsPerSession = BigInt(perSession);
    if (options.spender !== undefined && !isAddress(options.spender)) {
      throw new Error(`UptoEvmServerScheme: spender must be an EVM address, got ${options.spender}`);
    }
    this.spender = options.spender;
  }

  /** Registers a parser tried first for money prices (as `ExactEvmScheme.registerMoneyParser`). */
  registerMoneyParser(parser: MoneyParser): this {
    this.moneyParsers.push(parser);
    return this;
  }

  getAssetDecimals(asset: string, network: Network): number | undefined {
    return this.exact.getAssetDecimals(asset, network);
  }

  async parsePrice(price: Price, network: Network): Promise<AssetAmount> {
    if (typeof price === 'object' && price !== null && 'amount' in price) {
      if (!price.asset) throw new Error(`Asset address must be specified for AssetAmount on network ${network}`);
      return { amount: price.amount, asset: price.asset, extra: price.extra ?? {} };
    }
    for (const parser of this.moneyParsers) {
      const parsed = await parser(moneyAmount(price), network);
      if (parsed !== null) return parsed;
    }
    const parsed = await this.exact.parsePrice(price, network);
    return { ...parsed, extra: withoutTransferMethod(parsed.extra ?? {}) };
  }

  async enhancePaymentRequirements(
    requirements: PaymentRequirements,
    supportedKind: SupportedKind,
    _facilitatorExtensions: string[],
  ): Promise<PaymentRequirements> {
    const extra = withoutTransferMethod(requirements.extra ?? {});
    if (typeof extra.name !== 'string' || typeof extra.version !== 'string') {
      throw new Error(
        `upto on ${requirements.network}: the price needs the token's EIP-712 domain (extra.name, extra.version) for the permit`,
      );
    }
    const amount = toUint(requirements.amount);
    if (amount === undefined || amount === 0n) {
      throw new Error(`upto on ${requirements.network}: the price must be a positive integer amount, got ${requirements.amount}`);
    }
    const cap = this.sessionCap(extra.maxAmountRequired, amount, requirements.network);
    const spender = this.spenderOf(supportedKind);
    return { ...requirements, extra: { ...extra, maxAmountRequired: cap.toString(), facilitatorAddress: spender } };
  }

  /** Refuses at `initialize()` a facilitator whose `upto` kind does not take session permits. */
  validateFacilitatorSupport(network: Network, supportedKind: SupportedKind): string | void {
    const payloads = supportedKind.extra?.payloads;
    if (Array.isArray(payloads) && !payloads.includes(UPTO_SESSION_PAYLOAD)) {
      return `the facilitator's upto kind on ${network} takes ${payloads.join(', ')}, not ${UPTO_SESSION_PAYLOAD} (sessions)`;
    }
    try {
      this.spenderOf(supportedKind);
    } catch (error) {
      return (error as Error).message;
    }
  }

  private sessionCap(routeCap: unknown, amount: bigint, network: string): bigint {
    const cap = routeCap !== undefined ? toUint(routeCap) : (this.cap ?? amount * this.paymentsPerSession);
    if (cap === undefined) {
      throw new Error(`upto on ${network}: extra.maxAmountRequired must be an integer (atomic units), got ${String(routeCap)}`);
    }
    if (cap < amount) throw new Error(`upto on ${network}: the session cap ${cap} is below the price ${amount}`);
    return cap;
  }

  private spenderOf(kind: SupportedKind): string {
    const named = kind.extra?.facilitatorAddress;
    const spender = named ?? this.spender;
    if (!isAddress(spender)) {
      throw new Error(
        `upto on ${kind.network}: the facilitator's /supported names no spender (extra.facilitatorAddress); pass UptoEvmServerScheme({ spender })`,
      );
    }
    return spender;
  }
}

/** The decimal amount of a money price (`"$0.01"`, `"0.01"`, `0.01`), for custom money parsers. */
function moneyAmount(price: Price): number {
  const text = typeof price === 'number' ? String(price) : String(price).replace(/^\$/, '').trim().split(/\s+/)[0];
  const amount = Number(text);
  if (!Number.isFinite(amount) || amount < 0) throw new Error(`Invalid price: ${String(price)}`);
  return amount;
}

/** Drops `assetTransferMethod`: a `permit2` there would make clients pay the standard Permit2 `upto`. */
function withoutTransferMethod(extra: Record<string, unknown>): Record<string, unknown> {
  const { assetTransferMethod: _dropped, ...rest } = extra;
  return rest;
}
