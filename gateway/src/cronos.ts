// The Cronos flavour (Crypto.com's facilitator dialect, as RelayCore's paid routes use it): a route priced
// on a Cronos network is also paid with `X-PAYMENT`, the Crypto.com SDK's header (x402 v1, a flat EIP-3009
// payload with numeric time bounds). The gateway verifies and settles it through the facilitator's Cronos
// endpoints (`/v2/x402/verify`, `/v2/x402/settle`), with the same rule as the v2 flow: the origin first,
// the settle only on its 2xx answer.

import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';

import type { GatewayConfig, GatewayEnv } from './config';

/** The Cronos chains by CAIP-2 id: the v1 names the Crypto.com SDK and the facilitator use for each. */
const CRONOS_NAMES: Record<string, string[]> = {
  'eip155:338': ['cronos-testnet'],
  'eip155:25': ['cronos-mainnet', 'cronos'],
};

export const isCronosNetwork = (network: string): boolean => network in CRONOS_NAMES;

/** The decoded X-PAYMENT of the Crypto.com SDK. */
export interface CronosPaymentHeader {
  x402Version: 1;
  scheme: string;
  network: string;
  payload: { from: string; to: string; value: string; validAfter: number | string; validBefore: number | string; nonce: string; signature: string; asset?: string };
}

/** The v1 requirements of the Cronos dialect (RelayCore's 402 body carries them as `paymentRequirements`). */
export interface CronosRequirements {
  scheme: string;
  network: string;
  payTo: string;
  asset: string;
  maxAmountRequired: string;
  maxTimeoutSeconds: number;
  resource?: string;
  description?: string;
  mimeType?: string;
  extra?: Record<string, unknown>;
}

export type CronosDecode = { ok: true; header: CronosPaymentHeader } | { ok: false; message: string };

/** Decodes X-PAYMENT as the Crypto.com SDK builds it, or says what is wrong with it. */
export function decodeCronosHeader(text: string): CronosDecode {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) throw new Error('not base64');
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0))));
  } catch (e) {
    return { ok: false, message: `X-PAYMENT is not base64-encoded JSON: ${(e as Error).message}` };
  }
  const h = parsed as Partial<CronosPaymentHeader> | null;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) return { ok: false, message: 'X-PAYMENT is not a JSON object' };
  if (h.x402Version !== 1) return { ok: false, message: `X-PAYMENT has x402Version ${JSON.stringify(h.x402Version)}; the Cronos dialect is x402 v1` };
  if (typeof h.scheme !== 'string' || typeof h.network !== 'string') return { ok: false, message: 'X-PAYMENT has no scheme or network' };
  const p = h.payload as Record<string, unknown> | undefined;
  if (typeof p !== 'object' || p === null) return { ok: false, message: 'X-PAYMENT has no payload' };
  for (const field of ['from', 'to', 'value', 'nonce', 'signature']) {
    if (typeof p[field] !== 'string') return { ok: false, message: `X-PAYMENT payload.${field} is missing` };
  }
  return { ok: true, header: h as CronosPaymentHeader };
}

/**
 * The Cronos requirements among a route's v2 requirements (the SDK resolved its prices), named as the
 * client names the chain when it is one of the chain's names. `asset` picks the client's token.
 */
export function cronosRequirements(required: PaymentRequired, clientNetwork?: string, asset?: string): CronosRequirements[] {
  return required.accepts
    .filter((r) => isCronosNetwork(r.network))
    .filter((r) => !asset || r.asset.toLowerCase() === asset.toLowerCase())
    .map((r) => toCronos(r, required, clientNetwork));
}

function toCronos(r: PaymentRequirements, required: PaymentRequired, clientNetwork?: string): CronosRequirements {
  const names = CRONOS_NAMES[r.network];
  const network = clientNetwork && names.includes(clientNetwork) ? clientNetwork : names[0];
  return {
    scheme: r.scheme,
    network,
    payTo: r.payTo,
    asset: r.asset,
    maxAmountRequired: r.amount,
    maxTimeoutSeconds: r.maxTimeoutSeconds,
    resource: required.resource?.url,
    description: required.resource?.description,
    mimeType: required.resource?.mimeType,
    ...(r.extra && Object.keys(r.extra).length ? { extra: r.extra } : {}),
  };
}

export interface CronosVerifyResponse {
  isValid: boolean;
  invalidReason: string | null;
}

export interface CronosSettleResponse {
  x402Version: 1;
  event: 'payment.settled' | 'payment.failed';
  txHash?: string;
  from?: string;
  to?: string;
  value?: string;
  blockNumber?: number;
  network: string;
  timestamp: string;
  error?: string;
}

/** POSTs one Cronos-dialect call to the facilitator (its binding, else its URL) and reads its JSON answer. */
export async function cronosCall<T>(env: GatewayEnv, config: GatewayConfig, path: '/v2/x402/verify' | '/v2/x402/settle', paymentHeader: string, requirements: CronosRequirements): Promise<T> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X402-Version': '1' };
  if (env.FACILITATOR_API_KEY) headers.Authorization = `Bearer ${env.FACILITATOR_API_KEY}`;
  const base = env.FACILITATOR ? 'https://facilitator.service-binding.invalid' : config.facilitatorUrl;
  const request = new Request(`${base}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ x402Version: 1, paymentHeader, paymentRequirements: requirements }),
    signal: AbortSignal.timeout(60_000),
  });
  const response = await (env.FACILITATOR ? env.FACILITATOR.fetch(request) : fetch(request));
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`the facilitator answered ${path} with ${response.status}: ${text.slice(0, 200)}`);
  }
}
