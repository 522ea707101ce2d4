// Helpers shared by the benchmark scripts (scripts/bench-*.mjs).

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Option `--name`'s value as a positive integer, or an error that names the option. */
export function positive(name, value) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: a positive integer, not ${value}`);
  return n;
}

/**
 * `count` /settle bodies (JSON text) of fresh v2 payments for `requirements`, signed one after another,
 * each payload by a call of `pay()` (e.g. [clientsInTurn]).
 */
export async function settleBodies(count, requirements, pay) {
  const bodies = [];
  for (let i = 0; i < count; i++) {
    const paymentPayload = await pay();
    bodies.push(JSON.stringify({ x402Version: 2, paymentPayload, paymentRequirements: requirements }));
  }
  return bodies;
}

/**
 * A `pay` for [settleBodies]: the official clients (`x402Client`s) in turn, the next one at each call,
 * each paying `requirements` for `resource`.
 */
export function clientsInTurn(clients, requirements, resource) {
  let next = 0;
  return () => clients[next++ % clients.length].createPaymentPayload({ x402Version: 2, resource, accepts: [requirements] });
}

/**
 * POSTs `bodies` to `${url}/settle` with at most `inFlight` outstanding. A settle succeeds when it answers
 * 200 with `success: true`. Returns the wall time (ms), each success's `transaction`, each settle's
 * latency (ms) and a line per failure.
 */
export async function burst(url, bodies, inFlight) {
  let next = 0;
  const transactions = [];
  const latencies = [];
  const failures = [];
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const sent = performance.now();
      try {
        const res = await fetch(`${url}/settle`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const json = await res.json().catch(() => null);
        if (res.status === 200 && json?.success === true) transactions.push(json.transaction);
        else failures.push(`HTTP ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, bodies.length) }, worker));
  return { wallMs: performance.now() - started, transactions, latencies, failures };
}
