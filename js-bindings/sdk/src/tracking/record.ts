// One paid request's record, built while the request runs (`PaymentTrace`) and written once after it.

/** What the verify step concluded: the payment is valid, refused (with a reason), or could not be checked. */
export type VerifyOutcome = 'valid' | 'invalid' | 'error';

/** What the settle step did: settled, refused by the facilitator, failed to reach it, or not tried. */
export type SettleOutcome = 'settled' | 'failed' | 'error' | 'not_attempted';

export interface PaymentRecord {
  /** Unique per request; a retried write of the same record is a no-op. */
  id: string;
  /** When the request arrived, in milliseconds since the epoch. */
  atMs: number;
  method: string;
  path: string;
  /** The URL bought (without its query). */
  resource: string;
  clientIp: string | null;
  userAgent: string | null;
  scheme: string | null;
  network: string | null;
  asset: string | null;
  payTo: string | null;
  /** The price in the asset's base units (a decimal string). */
  amount: string | null;
  /** The accepted payment requirements, as JSON. */
  requirements: string | null;
  payer: string | null;
  verifyOutcome: VerifyOutcome;
  verifyReason: string | null;
  /** Whether the paid handler (the origin) was called. */
  handlerRan: boolean;
  originStatus: number | null;
  settleOutcome: SettleOutcome;
  settleReason: string | null;
  transaction: string | null;
  verifyMs: number | null;
  handlerMs: number | null;
  settleMs: number | null;
  totalMs: number;
}

/** The requirement a payment was made against, as far as the record needs it. */
export interface TracedRequirements {
  scheme?: string;
  network?: string;
  asset?: string;
  payTo?: string;
  amount?: string;
  maxAmountRequired?: string;
}

/** Which request details a record keeps: the user agent by default, the client IP only when asked. */
export interface ClientFields {
  clientIp: boolean;
  userAgent: boolean;
}

/**
 * A record under construction. Each step reports once; `finish` freezes it. Durations are measured with the
 * host clock (`Date.now()`, which in Workers advances across I/O, the thing being timed).
 */
export class PaymentTrace {
  private readonly started = Date.now();
  private readonly record: PaymentRecord;

  constructor(request: Request, fields: ClientFields, id: string = crypto.randomUUID()) {
    const url = new URL(request.url);
    this.record = {
      id,
      atMs: this.started,
      method: request.method,
      path: url.pathname,
      resource: `${url.origin}${url.pathname}`,
      clientIp: fields.clientIp ? request.headers.get('cf-connecting-ip') ?? request.headers.get('x-real-ip') : null,
      userAgent: fields.userAgent ? (request.headers.get('user-agent')?.slice(0, 512) ?? null) : null,
      scheme: null,
      network: null,
      asset: null,
      payTo: null,
      amount: null,
      requirements: null,
      payer: null,
      verifyOutcome: 'error',
      verifyReason: null,
      handlerRan: false,
      originStatus: null,
      settleOutcome: 'not_attempted',
      settleReason: null,
      transaction: null,
      verifyMs: null,
      handlerMs: null,
      settleMs: null,
      totalMs: 0,
    };
  }

  /** Starts timing a step; the returned function gives its milliseconds. */
  static timer(): () => number {
    const t0 = Date.now();
    return () => Date.now() - t0;
  }

  requirements(accepted: TracedRequirements | undefined | null): this {
    if (!accepted) return this;
    const r = this.record;
    r.scheme = str(accepted.scheme);
    r.network = str(accepted.network);
    r.asset = str(accepted.asset);
    r.payTo = str(accepted.payTo);
    r.amount = str(accepted.amount ?? accepted.maxAmountRequired);
    r.requirements = JSON.stringify(accepted).slice(0, 8192);
    return this;
  }

  payer(payer: string | null | undefined): this {
    if (payer) this.record.payer = payer.slice(0, 128);
    return this;
  }

  verified(outcome: VerifyOutcome, reason: string | null, ms: number | null): this {
    Object.assign(this.record, { verifyOutcome: outcome, verifyReason: reason, verifyMs: ms });
    return this;
  }

  handled(originStatus: number | null, ms: number): this {
    Object.assign(this.record, { handlerRan: true, originStatus, handlerMs: ms });
    return this;
  }

  settled(outcome: SettleOutcome, reason: string | null, transaction: string | null, ms: number | null): this {
    Object.assign(this.record, { settleOutcome: outcome, settleReason: reason, transaction: transaction || null, settleMs: ms });
    return this;
  }

  finish(): PaymentRecord {
    return { ...this.record, totalMs: Date.now() - this.started };
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, 256) : null);

/** Digits per chunk of an amount: sums of chunks stay exact as 64-bit integers in SQL for 9e9 rows. */
const CHUNK_DIGITS = 9;
const CHUNKS = 4;

/**
 * An amount as four base-10^9 chunks, least significant first, so that SQL sums it exactly on both
 * stores (amounts are uint256; no SQL integer holds one). Null for an amount that is not a decimal
 * integer or has more than 36 digits: recorded, not summed.
 */
export function amountChunks(amount: string | null): (number | null)[] {
  if (amount === null || !/^\d{1,36}$/.test(amount)) return Array(CHUNKS).fill(null);
  const padded = amount.padStart(CHUNK_DIGITS * CHUNKS, '0');
  return Array.from({ length: CHUNKS }, (_, i) => {
    const end = padded.length - i * CHUNK_DIGITS;
    return Number(padded.slice(end - CHUNK_DIGITS, end));
  });
}

/** The inverse over sums: chunk sums (as decimal strings or numbers, null for none) to the exact total. */
export function sumOfChunks(sums: readonly (string | number | bigint | null | undefined)[]): bigint {
  return sums.reduce<bigint>((total, s, i) => total + BigInt(s ?? 0) * 10n ** BigInt(i * CHUNK_DIGITS), 0n);
}
