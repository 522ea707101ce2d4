// The tracking admin API: who paid for what, and how it went. Behind the admin key (a Worker secret),
// compared in constant time; malformed filters and paging are a 400 naming the parameter.
//
//   GET /__x402/payments?from=&to=&network=&payer=&path=&verify=&settle=&limit=&cursor=
//   GET /__x402/stats?from=&to=
//   GET /__x402/budgets[?agent=]    PUT /__x402/budgets {payer | apiKey | agent, network, asset, limit, windowSeconds}
//   DELETE /__x402/budgets?agent=&network=&asset=
//   GET /__x402/findings[?limit=]   POST /__x402/indexer/run   (the payment indexer)
//   GET /__x402/series?from=&to=&buckets=   GET /__x402/dashboard (the page; its data needs the key)
//   GET /__x402/metrics (Prometheus text: records by outcome, findings by kind)
//
// `from`/`to`: milliseconds since the epoch or an ISO 8601 date; `to` is exclusive. Stats default to the
// last 24 hours.

import type { SettleOutcome, VerifyOutcome } from './record.js';
import { type BudgetStore, budgetAmount, keyAgent, payerAgent } from './budgets.js';
import type { Finding, IndexPass } from './indexer.js';
import { dashboardPage } from './dashboard.js';
import { decodeCursor, InvalidQuery, MAX_BUCKETS, MAX_PAGE, type PaymentQuery, type SqlTrackingStore } from './store.js';

export const PAYMENTS_PATH = '/__x402/payments';
export const STATS_PATH = '/__x402/stats';
export const BUDGETS_PATH = '/__x402/budgets';
export const FINDINGS_PATH = '/__x402/findings';
export const INDEXER_RUN_PATH = '/__x402/indexer/run';
export const SERIES_PATH = '/__x402/series';
export const DASHBOARD_PATH = '/__x402/dashboard';
export const METRICS_PATH = '/__x402/metrics';
/** The paths `handleTrackingAdmin` answers. */
export const ADMIN_PATHS: readonly string[] = [PAYMENTS_PATH, STATS_PATH, BUDGETS_PATH, FINDINGS_PATH, INDEXER_RUN_PATH, SERIES_PATH, DASHBOARD_PATH, METRICS_PATH];

export interface TrackingAdminOptions {
  store: SqlTrackingStore;
  /** Session budgets, when the host enforces them (`/__x402/budgets` answers 404 otherwise). */
  budgets?: BudgetStore;
  /** The payment indexer, when the host runs it (its paths answer 404 otherwise). */
  indexer?: { run(): Promise<IndexPass>; findings(limit: number): Promise<Finding[]>; findingCounts(): Promise<Partial<Record<string, number>>> };
  /** The admin key (`ADMIN_API_KEY`); without one the admin API answers 403. */
  adminKey: string | undefined;
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const VERIFY: readonly VerifyOutcome[] = ['valid', 'invalid', 'error'];
const SETTLE: readonly SettleOutcome[] = ['settled', 'failed', 'error', 'not_attempted'];
const LIST_PARAMS = new Set(['from', 'to', 'network', 'payer', 'path', 'verify', 'settle', 'limit', 'cursor']);
const STATS_PARAMS = new Set(['from', 'to']);
const SERIES_PARAMS = new Set(['from', 'to', 'buckets']);

/** The admin API's answer when `request` is one of its paths, else null (the caller serves it). */
export async function handleTrackingAdmin(request: Request, options: TrackingAdminOptions): Promise<Response | null> {
  const url = new URL(request.url);
  if (!ADMIN_PATHS.includes(url.pathname)) return null;
  if (url.pathname === DASHBOARD_PATH) return dashboard(request);
  if (!options.adminKey) return json(403, { error: 'admin_disabled', message: 'the admin API is off: set the ADMIN_API_KEY secret' });
  if (!(await authorized(request, options.adminKey))) return json(401, { error: 'unauthorized', message: 'Authorization: Bearer <admin key> required' });
  const budgets = url.pathname === BUDGETS_PATH;
  const indexing = url.pathname === FINDINGS_PATH || url.pathname === INDEXER_RUN_PATH;
  if (budgets && !options.budgets) return json(404, { error: 'not_found', message: 'this host has no session budgets' });
  if (indexing && !options.indexer) return json(404, { error: 'not_found', message: 'this host runs no payment indexer' });
  const methods = budgets ? ['GET', 'PUT', 'DELETE'] : url.pathname === INDEXER_RUN_PATH ? ['POST'] : ['GET'];
  if (!methods.includes(request.method)) return json(405, { error: 'method_not_allowed', message: methods.join(', ') });
  const now = options.now ?? Date.now;
  try {
    if (budgets && options.budgets) return await budgetRequest(request, url, options.budgets, now());
    if (url.pathname === INDEXER_RUN_PATH && options.indexer) return json(200, await options.indexer.run());
    if (url.pathname === FINDINGS_PATH && options.indexer) {
      const params = checked(url.searchParams, new Set(['limit']));
      const limit = params.get('limit') === undefined ? 100 : Number(params.get('limit'));
      if (!/^\d+$/.test(params.get('limit') ?? '100') || limit < 1 || limit > MAX_PAGE) throw new InvalidQuery('limit', `an integer from 1 to ${MAX_PAGE}`);
      return json(200, { findings: await options.indexer.findings(limit) });
    }
    if (url.pathname === PAYMENTS_PATH) return json(200, await options.store.list(listQuery(url.searchParams)));
    if (url.pathname === METRICS_PATH) return await metrics(options);
    const series = url.pathname === SERIES_PATH;
    const params = checked(url.searchParams, series ? SERIES_PARAMS : STATS_PARAMS);
    const to = time(params, 'to') ?? now();
    const from = time(params, 'from') ?? to - DAY_MS;
    if (from >= to) throw new InvalidQuery('from', 'not before to');
    if (!series) return json(200, await options.store.stats(from, to));
    const buckets = params.get('buckets') ?? '48';
    if (!/^\d{1,4}$/.test(buckets) || Number(buckets) < 1 || Number(buckets) > MAX_BUCKETS) throw new InvalidQuery('buckets', `an integer from 1 to ${MAX_BUCKETS}`);
    return json(200, await options.store.series(from, to, Number(buckets)));
  } catch (e) {
    if (e instanceof InvalidQuery) return json(400, { error: 'invalid_query', parameter: e.parameter, message: e.message });
    // Never the driver's text: it may carry a connection string.
    console.error('x402-edge tracking: the admin query failed', e instanceof Error ? e.name : typeof e);
    return json(503, { error: 'tracking_unavailable', message: 'the tracking store did not answer' });
  }
}

const MAX_BUDGET_WINDOW_SECONDS = 366 * 24 * 3600;

async function budgetRequest(request: Request, url: URL, store: BudgetStore, now: number): Promise<Response> {
  if (request.method === 'GET') {
    const params = checked(url.searchParams, new Set(['agent']));
    return json(200, { budgets: await store.list(now, text(params, 'agent')) });
  }
  if (request.method === 'DELETE') {
    const params = checked(url.searchParams, new Set(['agent', 'network', 'asset']));
    const [agent, network, asset] = (['agent', 'network', 'asset'] as const).map((name) => {
      const v = text(params, name);
      if (v === undefined) throw new InvalidQuery(name, 'required');
      return v;
    });
    const removed = await store.remove(agent!, network!, asset!);
    return json(removed ? 200 : 404, { removed });
  }
  const body = await readJson(request);
  const field = (name: string) => (typeof body[name] === 'string' && body[name] !== '' && (body[name] as string).length <= 256 ? (body[name] as string) : undefined);
  const named = [field('payer'), field('apiKey'), field('agent')].filter((v) => v !== undefined).length;
  if (named !== 1) throw new InvalidQuery('agent', 'give exactly one of payer, apiKey (stored as its SHA-256) or agent (an id listed here)');
  const agent = field('payer') ? payerAgent(field('payer')!) : field('apiKey') ? await keyAgent(field('apiKey')!) : field('agent')!;
  if (!/^(payer|key):/.test(agent)) throw new InvalidQuery('agent', 'an id starting payer: or key:');
  const network = field('network');
  if (!network || !/^[a-z0-9-]+:[A-Za-z0-9_-]+$/.test(network)) throw new InvalidQuery('network', 'a CAIP-2 id');
  const asset = field('asset');
  if (!asset) throw new InvalidQuery('asset', 'the token address');
  const limit = typeof body.limit === 'string' ? budgetAmount(body.limit) : null;
  if (limit === null) throw new InvalidQuery('limit', 'base units as a decimal string, below 10^33');
  const windowSeconds = body.windowSeconds;
  if (!Number.isSafeInteger(windowSeconds) || (windowSeconds as number) < 1 || (windowSeconds as number) > MAX_BUDGET_WINDOW_SECONDS) {
    throw new InvalidQuery('windowSeconds', `a whole number of seconds from 1 to ${MAX_BUDGET_WINDOW_SECONDS}`);
  }
  await store.set({ agent, network, asset, limit, windowSeconds: windowSeconds as number, now });
  const [budget] = (await store.list(now, agent)).filter((b) => b.network === network && b.asset === (/^0x[0-9a-fA-F]{40}$/.test(asset) ? asset.toLowerCase() : asset));
  return json(200, { budget });
}

/** A JSON object body of at most 4 KiB, else a 400. */
async function readJson(request: Request): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.length > 4096) throw new InvalidQuery('body', 'at most 4096 bytes');
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new InvalidQuery('body', 'a JSON object');
}

function listQuery(search: URLSearchParams): PaymentQuery {
  const params = checked(search, LIST_PARAMS);
  const limitText = params.get('limit');
  const limit = limitText === undefined ? 50 : Number(limitText);
  if (!/^\d+$/.test(limitText ?? '50') || limit < 1 || limit > MAX_PAGE) throw new InvalidQuery('limit', `an integer from 1 to ${MAX_PAGE}`);
  const verify = params.get('verify');
  if (verify !== undefined && !(VERIFY as readonly string[]).includes(verify)) throw new InvalidQuery('verify', `one of ${VERIFY.join(', ')}`);
  const settle = params.get('settle');
  if (settle !== undefined && !(SETTLE as readonly string[]).includes(settle)) throw new InvalidQuery('settle', `one of ${SETTLE.join(', ')}`);
  const cursor = params.get('cursor');
  if (cursor !== undefined) decodeCursor(cursor);
  const query: PaymentQuery = {
    limit,
    from: time(params, 'from'),
    to: time(params, 'to'),
    network: text(params, 'network'),
    payer: text(params, 'payer'),
    path: text(params, 'path'),
    verify: verify as VerifyOutcome | undefined,
    settle: settle as SettleOutcome | undefined,
    cursor,
  };
  return query;
}

/** Each parameter at most once and known: a typo is a 400, not a silently wider answer. */
function checked(search: URLSearchParams, allowed: ReadonlySet<string>): Map<string, string> {
  const params = new Map<string, string>();
  search.forEach((value, key) => {
    if (!allowed.has(key)) throw new InvalidQuery(key, `unknown parameter (known: ${[...allowed].join(', ')})`);
    if (params.has(key)) throw new InvalidQuery(key, 'given twice');
    params.set(key, value);
  });
  return params;
}

function time(params: Map<string, string>, name: string): number | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(v) ? Number(v) : /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(ms)) throw new InvalidQuery(name, 'milliseconds since the epoch or an ISO 8601 date');
  return ms;
}

function text(params: Map<string, string>, name: string): string | undefined {
  const v = params.get(name);
  if (v === undefined) return undefined;
  if (v.length === 0 || v.length > 256) throw new InvalidQuery(name, 'from 1 to 256 characters');
  return v;
}

/** Compares SHA-256 digests of the presented and the configured key byte by byte, without an early exit. */
async function authorized(request: Request, adminKey: string): Promise<boolean> {
  const presented = /^Bearer (.+)$/.exec(request.headers.get('authorization') ?? '')?.[1] ?? '';
  const digest = async (s: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s)));
  const [a, b] = await Promise.all([digest(presented), digest(adminKey)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0 && presented.length > 0;
}

/** Prometheus text from the store: records by outcome and, with the indexer, findings by kind. */
async function metrics(options: TrackingAdminOptions): Promise<Response> {
  const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = ['# HELP x402_tracked_payments Paid requests recorded, by verify and settle outcome.', '# TYPE x402_tracked_payments gauge'];
  for (const c of await options.store.outcomeCounts()) lines.push(`x402_tracked_payments{verify="${label(c.verify)}",settle="${label(c.settle)}"} ${c.count}`);
  if (options.indexer) {
    lines.push('# HELP x402_indexer_findings Payment indexer findings, by kind.', '# TYPE x402_indexer_findings gauge');
    const counts = await options.indexer.findingCounts();
    for (const kind of ['unrecorded_transfer', 'missing_transfer', 'amount_mismatch']) lines.push(`x402_indexer_findings{kind="${kind}"} ${counts[kind] ?? 0}`);
  }
  return new Response(`${lines.join('\n')}\n`, { headers: { 'Content-Type': 'text/plain; version=0.0.4', 'Cache-Control': 'no-store' } });
}

/** The dashboard page: no data in it (its script asks the API with the key), a fresh CSP nonce each time. */
function dashboard(request: Request): Response {
  if (request.method !== 'GET') return json(405, { error: 'method_not_allowed', message: 'GET' });
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  return new Response(dashboardPage(nonce), {
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Content-Security-Policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    },
  });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}
