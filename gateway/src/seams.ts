// The three places where the parts being built beside the gateway plug in (issue 15): the facilitator
// client, the paywall, and the server schemes. Each is one small function over the Worker's env.

import type { FacilitatorClient, PaywallProvider } from '@x402/core/server';
import type { Network, SchemeNetworkServer } from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { ExactSvmScheme } from '@x402/svm/exact/server';
import { edgePaywall } from '@x402-edge/sdk/paywall';
import { EdgeFacilitatorClient } from '@x402-edge/sdk/server';
import { UptoEvmServerScheme } from '@x402-edge/sdk/upto';

import type { GatewayConfig, GatewayEnv } from './config';

/** How long one call to the facilitator may take (a settle on a slow chain included). */
const FACILITATOR_TIMEOUT_MS = 60_000;

/**
 * The facilitator client. With RPC_URLS, verify runs in this Worker: the facilitator's Rust checks in wasm
 * plus the chain reads (signature, amount, balance, a nonce already used on chain), no hop to the
 * facilitator. Without RPC_URLS it asks the facilitator's /verify, which also sees the chain and its
 * ledger: in-process checks alone cannot see a payment already settled, and a replayed header would reach
 * the origin (uncharged, its answer withheld) before settle refuses it. Settle and /supported go over the
 * FACILITATOR Service Binding (no public hop), else FACILITATOR_URL.
 */
export function facilitatorClient(env: GatewayEnv, config: GatewayConfig): FacilitatorClient {
  return new EdgeFacilitatorClient({
    binding: env.FACILITATOR,
    url: config.facilitatorUrl,
    apiKey: env.FACILITATOR_API_KEY,
    rpcUrls: config.rpcUrls,
    verify: config.rpcUrls ? 'local' : 'remote',
    timeoutMs: FACILITATOR_TIMEOUT_MS,
  });
}

/** The runtime's fetch: the gateway reaches the origin with it. */
export const originFetch: typeof fetch = globalThis.fetch.bind(globalThis);

/** The paywall served to browsers (`Accept: text/html`): EVM and Solana wallets, self-contained. */
export function paywallProvider(_env: GatewayEnv): PaywallProvider | undefined {
  return edgePaywall({ appName: 'x402-edge gateway' });
}

/**
 * The server scheme of each (scheme, network family): what turns a route's price into payment requirements.
 * A route with another scheme is a configuration change once its factory is listed here.
 */
const SERVER_SCHEMES: Record<string, Record<string, () => SchemeNetworkServer>> = {
  exact: {
    eip155: () => new ExactEvmScheme(),
    solana: () => new ExactSvmScheme(),
  },
  // Metered APIs: one EIP-2612 permit per session (cap: 100 requests at the route's price), each request
  // captured after the origin's 2xx, the sum settled in one batch by the facilitator's sweeper.
  upto: {
    eip155: () => new UptoEvmServerScheme(),
  },
};

/** The server scheme for `scheme` on `network`, or undefined when the gateway has none. */
export function serverScheme(scheme: string, network: Network): SchemeNetworkServer | undefined {
  const family = network.split(':')[0];
  return SERVER_SCHEMES[scheme]?.[family]?.();
}

/** The schemes the gateway can price, for configuration errors. */
export function knownSchemes(): string[] {
  return Object.entries(SERVER_SCHEMES).flatMap(([scheme, families]) => Object.keys(families).map((f) => `${scheme} on ${f}:*`));
}
