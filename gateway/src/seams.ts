// The three places where the parts being built beside the gateway plug in (issue 15): the facilitator
// client, the paywall, and the server schemes. Each is one small function over the Worker's env.

import { HTTPFacilitatorClient } from '@x402/core/http';
import type { FacilitatorClient, PaywallProvider } from '@x402/core/server';
import type { Network, SchemeNetworkServer } from '@x402/core/types';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { ExactSvmScheme } from '@x402/svm/exact/server';

import type { GatewayConfig, GatewayEnv, ServiceBinding } from './config';

/** How long one call to the facilitator may take (a settle on a slow chain included). */
const FACILITATOR_TIMEOUT_MS = 60_000;

/**
 * The facilitator client the resource server verifies and settles through: the Service Binding when
 * FACILITATOR is bound (no public hop), else FACILITATOR_URL.
 */
// TODO(lead): EdgeFacilitatorClient: verify in-process with @x402-edge/verify, settle over the binding/URL.
export function facilitatorClient(env: GatewayEnv, config: GatewayConfig): FacilitatorClient {
  const key = env.FACILITATOR_API_KEY;
  const createAuthHeaders = key
    ? async () => {
        const headers = { Authorization: `Bearer ${key}` };
        return { verify: headers, settle: headers, supported: headers };
      }
    : undefined;
  const url = env.FACILITATOR ? routeToBinding(env.FACILITATOR) : config.facilitatorUrl;
  return new HTTPFacilitatorClient({ url, createAuthHeaders, timeoutMs: FACILITATOR_TIMEOUT_MS });
}

/**
 * HTTPFacilitatorClient calls the global `fetch` with its URL; a Service Binding is an object with its own
 * `fetch`. This gives the binding a private origin and routes only that origin's requests to it (every
 * other request keeps the runtime's fetch). Replaced by EdgeFacilitatorClient's `binding` option at merge.
 */
const BINDING_ORIGIN = 'https://facilitator.service-binding.invalid';
let boundFacilitator: ServiceBinding | undefined;
function routeToBinding(binding: ServiceBinding): string {
  if (!boundFacilitator) {
    const runtimeFetch = globalThis.fetch.bind(globalThis);
    globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      if (boundFacilitator && new URL(request.url).origin === BINDING_ORIGIN) return boundFacilitator.fetch(request);
      return runtimeFetch(request);
    };
  }
  boundFacilitator = binding;
  return BINDING_ORIGIN;
}

/** The runtime's fetch, as it was before any routing: the gateway reaches the origin with it. */
export const originFetch: typeof fetch = globalThis.fetch.bind(globalThis);

/**
 * The paywall served to browsers (`Accept: text/html`). Undefined: @x402/core's built-in fallback page.
 */
// TODO(lead): the x402-edge paywall (a PaywallProvider for EVM and Solana wallets).
export function paywallProvider(_env: GatewayEnv): PaywallProvider | undefined {
  return undefined;
}

/**
 * The server scheme of each (scheme, network family): what turns a route's price into payment requirements.
 * A route with another scheme is a configuration change once its factory is listed here.
 */
// TODO(lead): 'upto' (daydreams sessions) for eip155:* for the metered route.
const SERVER_SCHEMES: Record<string, Record<string, () => SchemeNetworkServer>> = {
  exact: {
    eip155: () => new ExactEvmScheme(),
    solana: () => new ExactSvmScheme(),
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
