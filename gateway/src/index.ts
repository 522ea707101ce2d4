// x402-edge gateway: a Worker that sells an existing HTTP API. Protected routes answer 402 until paid;
// a paid request is verified, forwarded to the origin, and settled only when the origin answered 2xx, so
// a failed call charges nothing. Built on the official SDK's x402HTTPResourceServer (the same flow as
// @x402/hono), with the facilitator reached over a Service Binding. See gateway/README.md.

import { decodePaymentRequiredHeader, decodePaymentResponseHeader, encodePaymentRequiredHeader } from '@x402/core/http';
import {
  FacilitatorResponseError,
  RouteConfigurationError,
  getFacilitatorResponseError,
  withPrivateCacheControl,
  x402HTTPResourceServer,
  x402ResourceServer,
} from '@x402/core/server';
import type { HTTPAdapter, HTTPRequestContext, HTTPResponseInstructions, RouteConfig, RoutesConfig } from '@x402/core/server';
import type { PaymentRequired } from '@x402/core/types';
import { bazaarResourceServerExtension, declareDiscoveryExtension } from '@x402/extensions/bazaar';
import { PaymentTrace, type WaitUntil } from '@x402-edge/sdk/tracking';

import { withinBudget } from './budgets';
import { type GatewayConfig, type GatewayEnv, readConfig } from './config';
import { cronosCall, cronosRequirements, type CronosSettleResponse, type CronosVerifyResponse, decodeCronosHeader } from './cronos';
import { declaredTerms, entitlementExtension, grantEntitlement, setEntitlementHeaders, useEntitlement } from './entitlements';
import { runIndexer } from './indexer';
import { callOrigin } from './origin';
import { checkPaymentHeader, ENTITLEMENT_HEADER, PAYMENT_HEADERS } from './payment-header';
import { json, settleAnswer, unsettledOriginAnswer, withoutSettlementOverrides } from './responses';
import { facilitatorClient, knownSchemes, paywallProvider, serverScheme } from './seams';
import { payerOf, type Tracking, trackingAdmin, trackingFor, type TrackingMessage, writeQueued } from './tracking';

/** The gateway's own path (never forwarded): configuration and facilitator status. */
const HEALTH_PATH = '/__x402/health';

interface Gateway {
  config: GatewayConfig;
  http: x402HTTPResourceServer;
  initialized: Promise<void> | null;
  /** Null while no tracking store is bound. */
  tracking: Tracking | null;
}

type Built = { ok: true; gateway: Gateway } | { ok: false; problems: string[] };

/** One gateway per isolate and env: configuration is read once, not per request. */
const built = new WeakMap<object, Built>();

/** Payment headers being served in this isolate: a concurrent copy is refused before it reaches the origin. */
const inFlight = new Set<string>();

export default {
  async fetch(request: Request, env: GatewayEnv, ctx: WaitUntil): Promise<Response> {
    try {
      return await handle(request, env, ctx);
    } catch (e) {
      console.error('x402-edge gateway: unexpected error', e);
      return json(500, { error: 'internal_error', message: 'the gateway failed unexpectedly; see its log' });
    }
  },

  /** The TRACKING_QUEUE consumer: records whose write failed, written again (the queue retries what still fails). */
  async queue(batch: { messages: readonly TrackingMessage[] }, env: GatewayEnv): Promise<void> {
    const state = gatewayFor(env);
    const tracking = state.ok ? state.gateway.tracking : null;
    const retry = /^\d+$/.test(env.TRACKING_RETRY_SECONDS ?? '') ? Number(env.TRACKING_RETRY_SECONDS) : 30;
    if (!tracking) {
      for (const m of batch.messages) m.retry({ delaySeconds: retry });
      return;
    }
    await writeQueued(tracking, batch.messages, retry);
  },

  /** The cron trigger: one payment indexer pass (with a tracking store and RPC_URLS). */
  async scheduled(_controller: unknown, env: GatewayEnv, ctx: WaitUntil): Promise<void> {
    const state = gatewayFor(env);
    const tracking = state.ok ? state.gateway.tracking : null;
    if (!state.ok || !tracking || !state.gateway.config.rpcUrls) return;
    const { config } = state.gateway;
    ctx.waitUntil(
      runIndexer(tracking.indexer, config, tracking.ready).then(
        (pass) => console.log(`x402-edge gateway: indexer pass: ${pass.logs} transfers over ${pass.targets} targets, ${pass.findings} new findings`),
        // The indexer's errors name the RPC method, never its URL (which may hold a provider's key).
        (e) => console.error('x402-edge gateway: the indexer pass failed', e instanceof Error ? e.message : typeof e),
      ),
    );
  },
};

async function handle(request: Request, env: GatewayEnv, ctx: WaitUntil): Promise<Response> {
  const state = gatewayFor(env);
  const path = new URL(request.url).pathname;
  if (!state.ok) return misconfigured(state.problems);
  const { gateway } = state;
  if (path === HEALTH_PATH) return health(gateway);
  const admin = await trackingAdmin(request, env, gateway.config, gateway.tracking);
  if (admin) return admin;

  const adapter = new RequestAdapter(request, false);
  const context: HTTPRequestContext = { adapter, path, method: request.method };
  if (!gateway.http.requiresPayment(context)) return unprotected(env, gateway.config, request);

  const ready = await initialize(gateway);
  if (ready) return ready;

  const entitlementId = request.headers.get(ENTITLEMENT_HEADER);
  if (entitlementId !== null && !request.headers.has('payment-signature') && !request.headers.has('x-payment')) {
    return useEntitlement(env, gateway.config, gateway.tracking, request, entitlementId.trim(), (reason, message) => refuse(gateway, request, reason, message));
  }

  const trace = tracked(gateway, request, ctx);
  const cronos = await cronosPayment(env, gateway, request, trace);
  if (cronos) return trace.done(cronos);

  const check = checkPaymentHeader(request.headers, gateway.config.maxPaymentHeaderBytes);
  if (check.kind === 'refused') {
    trace.step?.verified('invalid', check.reason, 0);
    return trace.done(await refuse(gateway, request, check.reason, check.message));
  }
  if (check.kind === 'payment') {
    const paid = { ...context, paymentHeader: check.header };
    trace.step?.requirements(check.payload.accepted).payer(payerOf(check.payload));
    const busy = () => {
      trace.step?.verified('invalid', 'duplicate_settlement', 0);
      return refuse(gateway, request, 'duplicate_settlement', 'this payment is being used by another request');
    };
    const served = () => serve(env, gateway, request, paid, trace.step);
    const budgeted = () =>
      withinBudget(gateway.config.budgets ? gateway.tracking : null, request, check.payload, trace.step, (reason, message) => refuse(gateway, request, reason, message), served);
    return trace.done(await exclusively(check.header, budgeted, busy));
  }
  return serve(env, gateway, request, context);
}

/**
 * The record of a request that carries a payment (`step` is null without one or without tracking);
 * `done` hands it to the tracker beside the response and returns the response.
 */
function tracked(gateway: Gateway, request: Request, ctx: WaitUntil): { step: PaymentTrace | null; done: (r: Response) => Response } {
  const paid = request.headers.has('payment-signature') || request.headers.has('x-payment');
  const tracking = gateway.tracking;
  if (!tracking || !paid) return { step: null, done: (r) => r };
  const step = new PaymentTrace(request, tracking.fields);
  return {
    step,
    done: (response) => {
      tracking.tracker.track(ctx, step.finish());
      return response;
    },
  };
}

/** The Cronos flavour's answer when the request pays a Cronos route with X-PAYMENT alone, else null. */
async function cronosPayment(env: GatewayEnv, gateway: Gateway, request: Request, trace: { step: PaymentTrace | null }): Promise<Response | null> {
  const header = request.headers.get('x-payment')?.trim();
  if (!header || request.headers.has('payment-signature') || header.length > gateway.config.maxPaymentHeaderBytes) return null;
  const unpaid = await unpaidRequired(gateway, request);
  if (unpaid instanceof Response) return unpaid;
  if (cronosRequirements(unpaid.required).length === 0) return null;
  return exclusively(header, () => serveCronos(env, gateway, request, unpaid, header, trace.step));
}

/**
 * Runs `fn` unless `header` is already being served in this isolate; then `busy` answers (by default
 * the route's 402 with `duplicate_settlement`), so a copy never reaches the origin while the first is in flight.
 */
async function exclusively(header: string, fn: () => Promise<Response>, busy?: () => Promise<Response>): Promise<Response> {
  if (inFlight.has(header)) return busy ? busy() : json(402, { error: 'duplicate_settlement', message: 'this payment is being used by another request' });
  inFlight.add(header);
  try {
    return await fn();
  } finally {
    inFlight.delete(header);
  }
}

/**
 * The Cronos flavour: X-PAYMENT as the Crypto.com SDK builds it, on a route priced on a Cronos network.
 * Verify and settle through the facilitator's Cronos endpoints; settle only on the origin's 2xx answer.
 */
async function serveCronos(env: GatewayEnv, gateway: Gateway, request: Request, unpaid: Unpaid, header: string, trace: PaymentTrace | null): Promise<Response> {
  const refused = (reason: string, message: string) => {
    trace?.verified('invalid', reason, 0);
    return cronosRefusal(unpaid, reason, message);
  };
  const decoded = decodeCronosHeader(header);
  if (!decoded.ok) return refused('invalid_payment_header', decoded.message);
  const { network, payload } = decoded.header;
  const [requirements] = cronosRequirements(unpaid.required, network, payload.asset);
  if (!requirements) {
    return refused('no_matching_payment_requirements', `X-PAYMENT pays on ${network} in ${payload.asset ?? 'no named asset'}, which this route does not accept`);
  }
  trace?.requirements(requirements).payer(payload.from);
  let verified: CronosVerifyResponse;
  const verifying = PaymentTrace.timer();
  try {
    verified = await cronosCall<CronosVerifyResponse>(env, gateway.config, '/v2/x402/verify', header, requirements);
    if (typeof verified.isValid !== 'boolean') throw new Error(`the facilitator's verify answer has no isValid: ${JSON.stringify(verified).slice(0, 200)}`);
  } catch (e) {
    trace?.verified('error', 'facilitator_unavailable', verifying());
    return facilitatorFailure(e);
  }
  if (!verified.isValid) {
    trace?.verified('invalid', verified.invalidReason ?? 'invalid_payment', verifying());
    return cronosRefusal(unpaid, verified.invalidReason ?? 'invalid_payment', 'the facilitator refused the payment');
  }
  trace?.verified('valid', null, verifying());

  const origin = await callTracedOrigin(env, gateway, request, trace);
  if (!origin.ok) return json(origin.status, { error: origin.reason, message: origin.message });
  const response = origin.response;
  if (response.status < 200 || response.status >= 300) return unsettledOriginAnswer(response);

  let settled: CronosSettleResponse;
  const settling = PaymentTrace.timer();
  try {
    settled = await cronosCall<CronosSettleResponse>(env, gateway.config, '/v2/x402/settle', header, requirements);
  } catch (e) {
    trace?.settled('error', 'facilitator_unavailable', null, settling());
    await response.body?.cancel();
    return facilitatorFailure(e);
  }
  if (settled.event !== 'payment.settled') {
    trace?.settled('failed', settled.error ?? 'settlement_failed', null, settling());
    await response.body?.cancel();
    return cronosRefusal(unpaid, settled.error ?? 'settlement_failed', 'the settlement failed', { 'X-PAYMENT-RESPONSE': base64Json(settled) });
  }
  trace?.settled('settled', null, settled.txHash ?? null, settling());
  const served = withoutSettlementOverrides(response);
  served.headers.set('X-PAYMENT-RESPONSE', base64Json(settled));
  served.headers.set('Cache-Control', withPrivateCacheControl(response.headers.get('Cache-Control')));
  return served;
}

/** A refused Cronos payment: 402, the route's requirements (v2 header and RelayCore's `paymentRequirements`) and why. */
function cronosRefusal(unpaid: Unpaid, reason: string, message: string, extraHeaders: Record<string, string> = {}): Response {
  const required = { ...unpaid.required, error: reason };
  const headers = { ...unpaid.headers, 'Content-Type': 'application/json', 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(required), ...extraHeaders };
  const [paymentRequirements] = cronosRequirements(unpaid.required);
  return new Response(JSON.stringify({ ...required, message, paymentRequirements }), { status: 402, headers });
}

const base64Json = (value: unknown): string => btoa(String.fromCharCode(...new TextEncoder().encode(JSON.stringify(value))));

/** The payment flow of a protected route: 402, or verify → origin → settle on 2xx. */
async function serve(env: GatewayEnv, gateway: Gateway, request: Request, context: HTTPRequestContext, trace: PaymentTrace | null = null): Promise<Response> {
  let result: Awaited<ReturnType<x402HTTPResourceServer['processHTTPRequest']>>;
  const verifying = PaymentTrace.timer();
  try {
    result = await gateway.http.processHTTPRequest(context);
  } catch (e) {
    trace?.verified('error', 'facilitator_unavailable', verifying());
    return facilitatorFailure(e);
  }
  if (result.type === 'no-payment-required') return unprotected(env, gateway.config, request);
  if (result.type === 'payment-error') {
    trace?.verified('invalid', refusalReason(result.response), verifying());
    return fromInstructions(result.response);
  }

  const { cancellationDispatcher, beforeHandlerSettlement, paymentPayload, paymentRequirements, declaredExtensions } = result;
  trace?.requirements(paymentRequirements).verified('valid', null, verifying());
  const origin = await callTracedOrigin(env, gateway, request, trace);
  if (!origin.ok) {
    await cancellationDispatcher.cancel({ reason: 'handler_failed', responseStatus: origin.status });
    return json(origin.status, { error: origin.reason, message: origin.message });
  }
  const response = origin.response;
  if (response.status < 200 || response.status >= 300) {
    await cancellationDispatcher.cancel({ reason: 'handler_failed', responseStatus: response.status });
    return unsettledOriginAnswer(response);
  }

  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, key) => (responseHeaders[key] = value));
  let settled: Awaited<ReturnType<x402HTTPResourceServer['processSettlement']>>;
  const settling = PaymentTrace.timer();
  try {
    settled = await gateway.http.processSettlement(
      paymentPayload,
      paymentRequirements,
      declaredExtensions,
      { request: context, responseHeaders },
      undefined,
      beforeHandlerSettlement,
    );
  } catch (e) {
    trace?.settled('error', 'facilitator_unavailable', null, settling());
    await response.body?.cancel();
    return facilitatorFailure(e);
  }
  if (!settled.success) {
    const answer = settleAnswer(settled.response.headers);
    trace?.payer(answer?.payer).settled('failed', answer?.errorReason ?? 'settlement_failed', null, settling());
    await response.body?.cancel();
    return fromInstructions(settled.response);
  }
  const answer = settleAnswer(settled.headers);
  trace?.payer(answer?.payer).settled('settled', null, answer?.transaction ?? null, settling());
  const granted = await grantEntitlement(gateway.tracking, request, declaredTerms(declaredExtensions), answer);
  const served = withoutSettlementOverrides(response);
  for (const [key, value] of Object.entries(settled.headers)) served.headers.set(key, value);
  if (granted) setEntitlementHeaders(served.headers, granted);
  served.headers.set('Cache-Control', withPrivateCacheControl(response.headers.get('Cache-Control')));
  return served;
}

/** The origin call, timed into the trace (the origin's status, or none when it failed or timed out). */
async function callTracedOrigin(env: GatewayEnv, gateway: Gateway, request: Request, trace: PaymentTrace | null): ReturnType<typeof callOrigin> {
  const calling = PaymentTrace.timer();
  const origin = await callOrigin(env, gateway.config, request);
  trace?.handled(origin.ok ? origin.response.status : null, calling());
  return origin;
}

/** Why the SDK refused a payment: the `error` of the 402's PAYMENT-REQUIRED (or of its body). */
function refusalReason(instructions: HTTPResponseInstructions): string {
  const header = Object.entries(instructions.headers).find(([k]) => k.toLowerCase() === 'payment-required')?.[1];
  try {
    if (header) return decodePaymentRequiredHeader(header).error ?? 'payment_required';
  } catch {
    // the body may say
  }
  const body = instructions.body as { error?: unknown } | undefined;
  return typeof body?.error === 'string' ? body.error : 'payment_required';
}

/** A path no route protects: forwarded as is (PASS_THROUGH, the default), or 404. */
async function unprotected(env: GatewayEnv, config: GatewayConfig, request: Request): Promise<Response> {
  if (!config.passThrough) return json(404, { error: 'not_found', message: 'no paid route matches this request' });
  const origin = await callOrigin(env, config, request);
  if (!origin.ok) return json(origin.status, { error: origin.reason, message: origin.message });
  return origin.response;
}

/**
 * A refused payment header: the route's 402 (as an unpaid request gets it) with `reason` as its error, in
 * PAYMENT-REQUIRED and in the JSON body with `message`.
 */
async function refuse(gateway: Gateway, request: Request, reason: string, message: string): Promise<Response> {
  const unpaid = await unpaidRequired(gateway, request);
  if (unpaid instanceof Response) return unpaid;
  const paymentRequired = { ...unpaid.required, error: reason };
  const headers = { ...unpaid.headers, 'Content-Type': 'application/json', 'PAYMENT-REQUIRED': encodePaymentRequiredHeader(paymentRequired) };
  return new Response(JSON.stringify({ ...paymentRequired, message }), { status: 402, headers });
}

/** What an unpaid request to this route is told: the PaymentRequired and the 402's headers. */
interface Unpaid {
  required: PaymentRequired;
  headers: Record<string, string>;
}

/** The route's 402 as an unpaid request gets it (payment headers hidden), or the error response. */
async function unpaidRequired(gateway: Gateway, request: Request): Promise<Unpaid | Response> {
  const adapter = new RequestAdapter(request, true);
  const path = new URL(request.url).pathname;
  let result: Awaited<ReturnType<x402HTTPResourceServer['processHTTPRequest']>>;
  try {
    result = await gateway.http.processHTTPRequest({ adapter, path, method: request.method });
  } catch (e) {
    return facilitatorFailure(e);
  }
  const header = result.type === 'payment-error' ? result.response.headers['PAYMENT-REQUIRED'] : undefined;
  if (result.type !== 'payment-error' || !header) return json(500, { error: 'internal_error', message: 'the route has no payment requirements' });
  return { required: decodePaymentRequiredHeader(header), headers: result.response.headers };
}

/**
 * The SDK's response instructions as a Response. A JSON 402 whose body the SDK left empty carries what
 * its header says (the PaymentRequired, or the failed settle), so that a client reading bodies sees why.
 */
function fromInstructions(instructions: HTTPResponseInstructions): Response {
  const headers = new Headers(instructions.headers);
  if (instructions.isHtml) return new Response(String(instructions.body ?? ''), { status: instructions.status, headers });
  let body = instructions.body ?? {};
  if (isEmptyObject(body)) {
    const required = headers.get('payment-required');
    const settle = headers.get('payment-response');
    if (required) {
      const paymentRequired = decodePaymentRequiredHeader(required);
      // RelayCore's 402 names one requirement as `paymentRequirements` (the Crypto.com SDK's v1 shape).
      const [cronos] = cronosRequirements(paymentRequired);
      body = cronos ? { ...paymentRequired, paymentRequirements: cronos } : paymentRequired;
    }
    else if (settle) {
      const s = decodePaymentResponseHeader(settle);
      body = { error: s.errorReason, message: s.errorMessage, payer: s.payer, network: s.network, transaction: s.transaction };
    }
  }
  return new Response(JSON.stringify(body), { status: instructions.status, headers });
}

/** The facilitator failed (unreachable, timed out, or answered something that is not x402): 502. */
function facilitatorFailure(e: unknown): Response {
  const facilitatorError = e instanceof FacilitatorResponseError ? e : getFacilitatorResponseError(e);
  const message = facilitatorError?.message ?? (e instanceof Error ? e.message : String(e));
  console.error('x402-edge gateway: facilitator failure', message);
  return json(502, { error: 'facilitator_unavailable', message });
}

/** Initializes the resource server once (the facilitator's /supported, the routes checked against it). */
async function initialize(gateway: Gateway): Promise<Response | null> {
  gateway.initialized ??= gateway.http.initialize();
  try {
    await gateway.initialized;
    return null;
  } catch (e) {
    gateway.initialized = null; // retried on the next request
    if (e instanceof RouteConfigurationError) return misconfigured(e.errors.map((x) => x.message));
    return facilitatorFailure(e);
  }
}

async function health(gateway: Gateway): Promise<Response> {
  const failure = await initialize(gateway);
  if (failure) return failure;
  return json(200, {
    ok: true,
    routes: gateway.config.routes.map((r) => r.pattern),
    facilitator: gateway.config.facilitatorUrl ?? 'service binding FACILITATOR',
  });
}

function misconfigured(problems: string[]): Response {
  return json(500, { error: 'gateway_misconfigured', problems });
}

/** Reads the configuration and builds the resource server, once per env. */
function gatewayFor(env: GatewayEnv): Built {
  let state = built.get(env);
  if (!state) {
    state = build(env);
    if (!state.ok) console.error(`x402-edge gateway: configuration errors:\n  - ${state.problems.join('\n  - ')}`);
    built.set(env, state);
  }
  return state;
}

function build(env: GatewayEnv): Built {
  const read = readConfig(env);
  if (!read.ok) return read;
  const { config } = read;
  const problems: string[] = [];
  const server = new x402ResourceServer(facilitatorClient(env, config));
  // Discoverable routes: the bazaar extension adds the request's method to their declaration.
  if (config.routes.some((r) => r.discovery)) server.registerExtension(bazaarResourceServerExtension);
  const registered = new Set<string>();
  for (const option of config.routes.flatMap((r) => r.accepts)) {
    const key = `${option.scheme} ${option.network}`;
    if (registered.has(key)) continue;
    const scheme = serverScheme(option.scheme, option.network);
    if (!scheme) {
      problems.push(`no server scheme "${option.scheme}" for network ${option.network} (the gateway has: ${knownSchemes().join(', ')})`);
      continue;
    }
    server.register(option.network, scheme);
    registered.add(key);
  }
  const tracking = trackingFor(env);
  for (const route of config.routes) {
    if (route.entitlement && !tracking) problems.push(`ROUTES[${JSON.stringify(route.pattern)}].entitlement needs a store: bind TRACKING_DB (D1) or TRACKING_HYPERDRIVE`);
  }
  if (problems.length) return { ok: false, problems };
  const routes: RoutesConfig = Object.fromEntries(config.routes.map((r): [string, RouteConfig] => [r.pattern, toRouteConfig(r)]));
  try {
    const http = new x402HTTPResourceServer(server, routes);
    const paywall = paywallProvider(env);
    if (paywall) http.registerPaywallProvider(paywall);
    return { ok: true, gateway: { config, http, initialized: null, tracking } };
  } catch (e) {
    if (e instanceof RouteConfigurationError) return { ok: false, problems: e.errors.map((x) => x.message) };
    return { ok: false, problems: [`ROUTES: ${(e as Error).message}`] };
  }
}

function toRouteConfig(route: GatewayConfig['routes'][number]): RouteConfig {
  return {
    accepts: route.accepts.map((o) => ({ ...o })),
    ...(route.description !== undefined ? { description: route.description } : {}),
    ...(route.mimeType !== undefined ? { mimeType: route.mimeType } : {}),
    ...(route.entitlement || route.discovery
      ? { extensions: { ...(route.entitlement ? entitlementExtension(route.entitlement) : {}), ...(route.discovery ? declareDiscoveryExtension(route.discovery) : {}) } }
      : {}),
  };
}

/**
 * The SDK's view of a request. `hidePayment` hides the payment headers (to build the 402 of a refused
 * header). The issue asks for the paywall on `Accept: text/html` alone; the SDK also wants "Mozilla" in
 * the User-Agent, so a request that accepts HTML is presented as a browser.
 */
class RequestAdapter implements HTTPAdapter {
  private readonly url: URL;
  constructor(
    private readonly request: Request,
    private readonly hidePayment: boolean,
  ) {
    this.url = new URL(request.url);
  }
  getHeader(name: string): string | undefined {
    if (this.hidePayment && (PAYMENT_HEADERS as readonly string[]).includes(name.toLowerCase())) return undefined;
    return this.request.headers.get(name) ?? undefined;
  }
  getMethod(): string {
    return this.request.method;
  }
  getPath(): string {
    return this.url.pathname;
  }
  getUrl(): string {
    return this.request.url;
  }
  getAcceptHeader(): string {
    return this.request.headers.get('accept') ?? '';
  }
  getUserAgent(): string {
    const ua = this.request.headers.get('user-agent') ?? '';
    return this.getAcceptHeader().includes('text/html') && !ua.includes('Mozilla') ? `Mozilla/5.0 (${ua || 'unknown'})` : ua;
  }
  getQueryParams(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    for (const key of new Set(this.url.searchParams.keys())) {
      const values = this.url.searchParams.getAll(key);
      out[key] = values.length === 1 ? values[0] : values;
    }
    return out;
  }
  getQueryParam(name: string): string | string[] | undefined {
    const values = this.url.searchParams.getAll(name);
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  }
}

function isEmptyObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
}
