// The gateway's configuration, read from the Worker's variables once per isolate. Every problem is collected
// (not only the first), so that a misconfigured deployment says everything that is wrong in one 500.

import type { Network, Price } from '@x402/core/types';

/** One way to pay for a route: one scheme on one network, paid to `payTo`. */
export interface PaymentOptionConfig {
  scheme: string;
  network: Network;
  payTo: string;
  price: Price;
  maxTimeoutSeconds?: number;
  extra?: Record<string, unknown>;
}

/** A protected route: `METHOD /path/pattern` (the official SDK's route syntax: `*`, `:param`, `[param]`). */
export interface RouteConfigEntry {
  pattern: string;
  accepts: PaymentOptionConfig[];
  description?: string;
  mimeType?: string;
  /** What a settled payment grants beyond the paid request (an `X-Payment-Id`); needs a tracking store. */
  entitlement?: EntitlementTerms;
  /** Listed in the facilitator's discovery catalog (the bazaar extension): an example input and output. */
  discovery?: DiscoveryDeclaration;
}

/** What a discoverable route tells the catalog: an example query input and an example output. */
export interface DiscoveryDeclaration {
  input?: Record<string, unknown>;
  output?: { example?: unknown };
}

/** `uses` further requests of the same resource, within `windowSeconds` of the payment; one or both. */
export interface EntitlementTerms {
  uses?: number;
  windowSeconds?: number;
}

const MAX_ENTITLEMENT_USES = 1_000_000;
const MAX_ENTITLEMENT_WINDOW_SECONDS = 366 * 24 * 3600;

export interface GatewayConfig {
  routes: RouteConfigEntry[];
  /** The origin's base URL: a request's path and query are appended to its path. */
  originUrl: URL;
  originTimeoutMs: number;
  /** Send PAYMENT-SIGNATURE / X-PAYMENT on to the origin (default false: the origin never sees payments). */
  forwardPaymentHeader: boolean;
  /** Paths no route protects: `true` passes them through to the origin, `false` answers 404. */
  passThrough: boolean;
  /** The largest payment header accepted, in bytes; a bigger one is refused with 402 before decoding. */
  maxPaymentHeaderBytes: number;
  facilitatorUrl?: string;
  /** RPC_URLS: network (CAIP-2 or v1 name) → RPC URL(s), for the chain checks of in-process verify. */
  rpcUrls?: Record<string, string | string[]>;
  /** Session budgets are enforced (BUDGETS=true; needs a tracking store). */
  budgets: boolean;
}

/** The Worker bindings the gateway reads (wrangler.toml `[vars]`, `[[services]]` and secrets). */
export interface GatewayEnv {
  ROUTES?: string;
  ORIGIN_URL?: string;
  ORIGIN_TIMEOUT_MS?: string;
  FORWARD_PAYMENT_HEADER?: string;
  PASS_THROUGH?: string;
  MAX_PAYMENT_HEADER_BYTES?: string;
  FACILITATOR_URL?: string;
  /** JSON: network → RPC URL or list; verify then checks the chain too (balance, nonce) before the origin runs. */
  RPC_URLS?: string;
  /** Secret: sent as `Authorization: Bearer …` to the facilitator. */
  FACILITATOR_API_KEY?: string;
  /** Service Binding to the x402-edge facilitator Worker. */
  FACILITATOR?: ServiceBinding;
  /** Optional Service Binding to an origin that is itself a Worker (requests keep ORIGIN_URL's URL). */
  ORIGIN?: ServiceBinding;
  /** Tracking (optional): a D1 database, or else Hyperdrive in front of PostgreSQL; a record per paid request. */
  TRACKING_DB?: unknown;
  TRACKING_HYPERDRIVE?: unknown;
  /** Optional Queue producer: records whose write failed go there and are written by this Worker's consumer. */
  TRACKING_QUEUE?: unknown;
  /** Seconds before a queued record whose write failed again is retried (default 30). */
  TRACKING_RETRY_SECONDS?: string;
  /** What a record keeps of the client: `ip`, `user-agent` (default), both comma-separated, or `none`. */
  TRACKING_CLIENT_FIELDS?: string;
  /** Secret: the key of the tracking admin API (`Authorization: Bearer …`); without it the API answers 403. */
  ADMIN_API_KEY?: string;
  /** `true`: enforce session budgets (set through the admin API) before a payment is verified. */
  BUDGETS?: string;
  /** The payment indexer: blocks left behind the head (default 3), and where it starts (default 10,000 back). */
  INDEXER_CONFIRMATIONS?: string;
  INDEXER_START_BLOCK?: string;
  INDEXER_SETTLE_GRACE_MS?: string;
  INDEXER_MAX_LOGS_PER_PASS?: string;
  [name: string]: unknown;
}

/** What a Service Binding offers the gateway: a `fetch` that reaches the bound Worker without the public Internet. */
export interface ServiceBinding {
  fetch(request: Request): Promise<Response>;
}

export const DEFAULT_ORIGIN_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PAYMENT_HEADER_BYTES = 32 * 1024;
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', '*']);

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; problems: string[] };

/** Reads and checks the configuration; `problems` lists every variable that is wrong and why. */
export function readConfig(env: GatewayEnv): ConfigResult {
  const problems: string[] = [];
  const routes = readRoutes(env.ROUTES, problems);
  const originUrl = readOrigin(env.ORIGIN_URL, problems);
  const originTimeoutMs = readPositiveInt('ORIGIN_TIMEOUT_MS', env.ORIGIN_TIMEOUT_MS, DEFAULT_ORIGIN_TIMEOUT_MS, problems);
  const maxPaymentHeaderBytes = readPositiveInt('MAX_PAYMENT_HEADER_BYTES', env.MAX_PAYMENT_HEADER_BYTES, DEFAULT_MAX_PAYMENT_HEADER_BYTES, problems);
  const forwardPaymentHeader = readBool('FORWARD_PAYMENT_HEADER', env.FORWARD_PAYMENT_HEADER, false, problems);
  const passThrough = readBool('PASS_THROUGH', env.PASS_THROUGH, true, problems);
  const facilitatorUrl = readFacilitator(env, problems);
  const rpcUrls = readRpcUrls(env.RPC_URLS, problems);
  checkClientFields(env.TRACKING_CLIENT_FIELDS, problems);
  const budgets = readBool('BUDGETS', env.BUDGETS, false, problems);
  if (problems.length || !originUrl) return { ok: false, problems };
  return {
    ok: true,
    config: { routes, originUrl, originTimeoutMs, forwardPaymentHeader, passThrough, maxPaymentHeaderBytes, facilitatorUrl, rpcUrls, budgets },
  };
}

function readOrigin(value: string | undefined, problems: string[]): URL | undefined {
  if (!value?.trim()) {
    problems.push('ORIGIN_URL is not set: the base URL of the API the gateway sells (e.g. https://api.example.com)');
    return undefined;
  }
  try {
    const url = new URL(value.trim());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    if (url.search || url.hash) throw new Error('it may not have a query or fragment');
    return url;
  } catch (e) {
    problems.push(`ORIGIN_URL ${JSON.stringify(value)} is not an http(s) URL: ${(e as Error).message}`);
    return undefined;
  }
}

function readFacilitator(env: GatewayEnv, problems: string[]): string | undefined {
  const url = env.FACILITATOR_URL?.trim();
  if (url) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch (e) {
      problems.push(`FACILITATOR_URL ${JSON.stringify(url)} is not an http(s) URL: ${(e as Error).message}`);
    }
  }
  if (!url && !env.FACILITATOR) {
    problems.push('no facilitator: bind the x402-edge Worker as the FACILITATOR service (wrangler.toml [[services]]) or set FACILITATOR_URL');
  }
  if (typeof env.FACILITATOR_API_KEY === 'string' && /[\r\n]/.test(env.FACILITATOR_API_KEY)) {
    problems.push('FACILITATOR_API_KEY contains a line break');
  }
  return url?.replace(/\/+$/, '') || undefined;
}

function readRpcUrls(value: string | undefined, problems: string[]): Record<string, string | string[]> | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const problem = 'RPC_URLS must be a JSON object of network → http(s) URL or list of URLs';
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    problems.push(`${problem} (it is not JSON)`);
    return undefined;
  }
  const isUrl = (u: unknown) => typeof u === 'string' && /^https?:\/\//.test(u);
  const valid =
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    Object.values(parsed).every((v) => isUrl(v) || (Array.isArray(v) && v.length > 0 && v.every(isUrl)));
  if (!valid) {
    problems.push(problem);
    return undefined;
  }
  return parsed as Record<string, string | string[]>;
}

function readPositiveInt(name: string, value: string | undefined, fallback: number, problems: string[]): number {
  if (value === undefined || String(value).trim() === '') return fallback;
  const n = Number(String(value).trim());
  if (!Number.isSafeInteger(n) || n <= 0) {
    problems.push(`${name} must be a positive whole number, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return n;
}

function checkClientFields(value: string | undefined, problems: string[]): void {
  if (value === undefined) return;
  const names = value.split(',').map((s) => s.trim().toLowerCase());
  const unknown = names.filter((n) => !['ip', 'user-agent', 'none'].includes(n));
  if (unknown.length) problems.push(`TRACKING_CLIENT_FIELDS: ${JSON.stringify(unknown)} unknown; a comma list of ip, user-agent, or none`);
}

function readBool(name: string, value: string | undefined, fallback: boolean, problems: string[]): boolean {
  if (value === undefined || String(value).trim() === '') return fallback;
  const v = String(value).trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  problems.push(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return fallback;
}

/**
 * ROUTES: a JSON object from route pattern to route. A route names its payment either inline
 * (`scheme`, `network` (one or a list), `payTo`, `price`) or as `accepts`, a list of such options
 * (one `payTo` per network family), plus `description` and `mimeType`.
 */
function readRoutes(value: string | undefined, problems: string[]): RouteConfigEntry[] {
  if (!value?.trim()) {
    problems.push('ROUTES is not set: a JSON object such as {"GET /premium": {"scheme": "exact", "network": "eip155:8453", "payTo": "0x…", "price": "$0.01"}}');
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    problems.push(`ROUTES is not valid JSON: ${(e as Error).message}`);
    return [];
  }
  if (!isObject(parsed) || Object.keys(parsed).length === 0) {
    problems.push('ROUTES must be a non-empty JSON object from "METHOD /path" to a route');
    return [];
  }
  const routes: RouteConfigEntry[] = [];
  for (const [pattern, route] of Object.entries(parsed)) {
    const entry = readRoute(pattern, route, problems);
    if (entry) routes.push(entry);
  }
  return routes;
}

function readRoute(pattern: string, route: unknown, problems: string[]): RouteConfigEntry | undefined {
  const where = `ROUTES[${JSON.stringify(pattern)}]`;
  const parts = pattern.trim().split(/\s+/);
  const [method, path] = parts.length === 2 ? parts : ['*', parts[0]];
  if (parts.length > 2 || !METHODS.has(method.toUpperCase()) || !path?.startsWith('/')) {
    problems.push(`${where}: the key must be "METHOD /path" (METHOD one of ${[...METHODS].join(', ')}) or "/path"`);
    return undefined;
  }
  if (!isObject(route)) {
    problems.push(`${where}: must be an object`);
    return undefined;
  }
  const optionSources: unknown[] = route.accepts !== undefined ? (Array.isArray(route.accepts) ? route.accepts : [route.accepts]) : [route];
  if (optionSources.length === 0) problems.push(`${where}.accepts is empty`);
  const accepts = optionSources.flatMap((o, i) => readOptions(route.accepts !== undefined ? `${where}.accepts[${i}]` : where, o, problems));
  const description = optionalString(`${where}.description`, route.description, problems);
  const mimeType = optionalString(`${where}.mimeType`, route.mimeType, problems);
  const entitlement = readEntitlement(`${where}.entitlement`, route.entitlement, problems);
  const discovery = readDiscovery(`${where}.discovery`, route.discovery, problems);
  return { pattern: `${method.toUpperCase()} ${path}`, accepts, description, mimeType, ...(entitlement ? { entitlement } : {}), ...(discovery ? { discovery } : {}) };
}

/** `true`, or `{"input": {...}, "output": {"example": ...}}`: declared to the catalog, at most 8 KiB. */
function readDiscovery(where: string, value: unknown, problems: string[]): DiscoveryDeclaration | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  const ok =
    isObject(value) &&
    Object.keys(value).every((k) => k === 'input' || k === 'output') &&
    (value.input === undefined || isObject(value.input)) &&
    (value.output === undefined || isObject(value.output)) &&
    JSON.stringify(value).length <= 8192;
  if (!ok) {
    problems.push(`${where} must be true or {"input": {...}, "output": {"example": ...}} (at most 8 KiB), got ${JSON.stringify(value).slice(0, 200)}`);
    return undefined;
  }
  return value as DiscoveryDeclaration;
}

function readEntitlement(where: string, value: unknown, problems: string[]): EntitlementTerms | undefined {
  if (value === undefined) return undefined;
  const whole = (v: unknown, max: number) => v === undefined || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= max);
  if (!isObject(value) || (value.uses === undefined && value.windowSeconds === undefined) || !whole(value.uses, MAX_ENTITLEMENT_USES) || !whole(value.windowSeconds, MAX_ENTITLEMENT_WINDOW_SECONDS) || Object.keys(value).some((k) => k !== 'uses' && k !== 'windowSeconds')) {
    problems.push(`${where} must be {"uses": 1..${MAX_ENTITLEMENT_USES}, "windowSeconds": 1..${MAX_ENTITLEMENT_WINDOW_SECONDS}} (one or both), got ${JSON.stringify(value)}`);
    return undefined;
  }
  return { ...(value.uses !== undefined ? { uses: value.uses as number } : {}), ...(value.windowSeconds !== undefined ? { windowSeconds: value.windowSeconds as number } : {}) };
}

/** One option per network when `network` is a list. */
function readOptions(where: string, o: unknown, problems: string[]): PaymentOptionConfig[] {
  if (!isObject(o)) {
    problems.push(`${where}: must be an object`);
    return [];
  }
  const before = problems.length;
  const scheme = typeof o.scheme === 'string' && o.scheme ? o.scheme : 'exact';
  const networks = (Array.isArray(o.network) ? o.network : [o.network]) as unknown[];
  if (networks.length === 0 || networks.some((n) => typeof n !== 'string' || !/^[a-z0-9-]+:[A-Za-z0-9_-]+$/.test(n))) {
    problems.push(`${where}.network must be a CAIP-2 id such as "eip155:8453" or a list of them, got ${JSON.stringify(o.network)}`);
  }
  if (typeof o.payTo !== 'string' || !o.payTo.trim()) problems.push(`${where}.payTo must be the address paid`);
  const price = readPrice(`${where}.price`, o.price, problems);
  let maxTimeoutSeconds: number | undefined;
  if (o.maxTimeoutSeconds !== undefined) {
    if (!Number.isSafeInteger(o.maxTimeoutSeconds) || (o.maxTimeoutSeconds as number) <= 0) {
      problems.push(`${where}.maxTimeoutSeconds must be a positive whole number`);
    } else maxTimeoutSeconds = o.maxTimeoutSeconds as number;
  }
  if (o.extra !== undefined && !isObject(o.extra)) problems.push(`${where}.extra must be an object`);
  if (problems.length > before || !price) return [];
  return (networks as Network[]).map((network) => ({
    scheme,
    network,
    payTo: (o.payTo as string).trim(),
    price,
    maxTimeoutSeconds,
    ...(isObject(o.extra) ? { extra: o.extra } : {}),
  }));
}

/** `"$0.01"` / `0.01` (the network's default USDC), or `{amount, asset, extra}` in the token's base units. */
function readPrice(where: string, price: unknown, problems: string[]): Price | undefined {
  if (typeof price === 'number' && price > 0) return price;
  if (typeof price === 'string' && /^\$?\d+(\.\d+)?$/.test(price.trim()) && Number(price.trim().replace('$', '')) > 0) return price.trim();
  if (isObject(price) && typeof price.amount === 'string' && /^\d+$/.test(price.amount) && BigInt(price.amount) > 0n && typeof price.asset === 'string' && price.asset) {
    if (price.extra !== undefined && !isObject(price.extra)) {
      problems.push(`${where}.extra must be an object`);
      return undefined;
    }
    return { amount: price.amount, asset: price.asset, ...(isObject(price.extra) ? { extra: price.extra } : {}) };
  }
  problems.push(`${where} must be a positive money amount ("$0.01") or {"amount": "<base units>", "asset": "<token>"}, got ${JSON.stringify(price)}`);
  return undefined;
}

function optionalString(where: string, v: unknown, problems: string[]): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    problems.push(`${where} must be a string`);
    return undefined;
  }
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
