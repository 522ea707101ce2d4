// A JSON-RPC proxy on loopback that forwards every request to `target` and counts the calls by method
// (each call of a batch counts), the HTTP round trips (a batch is one) and the time spent waiting on the node. Tests put it between the facilitator and anvil to prove which requests
// make no chain call at all.

import * as http from 'node:http';

import { startStack } from './stack.mjs';

/**
 * @param {{target?: string}} [opts]  `target` may also be set later (before the first request)
 * @returns {Promise<{url: string, target: string|undefined, calls: Map<string, number>, roundTrips: number, nodeMs: number, total: () => number, reset: () => void, close: () => Promise<void>}>}
 */
export async function startRpcProxy({ target } = {}) {
  const calls = new Map();
  const proxy = {
    url: '',
    target,
    calls,
    /** HTTP requests received (a JSON-RPC batch is one). */
    roundTrips: 0,
    /** Milliseconds spent waiting on the node's answers, summed over round trips. */
    nodeMs: 0,
    total: () => [...calls.values()].reduce((a, b) => a + b, 0),
    reset: () => {
      calls.clear();
      proxy.roundTrips = 0;
      proxy.nodeMs = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      proxy.roundTrips++;
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const parsed = JSON.parse(body);
        for (const call of Array.isArray(parsed) ? parsed : [parsed]) {
          calls.set(call.method, (calls.get(call.method) ?? 0) + 1);
        }
      } catch {
        calls.set('<unparsable>', (calls.get('<unparsable>') ?? 0) + 1);
      }
      try {
        const sent = performance.now();
        const upstream = await fetch(proxy.target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const answer = await upstream.text();
        proxy.nodeMs += performance.now() - sent;
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(answer);
      } catch {
        res.writeHead(502);
        res.end();
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}

/**
 * A local stack whose worker reaches anvil only through a counting proxy. Both stop with `stop()`.
 * @param {Record<string, string>} [env]  more worker variables
 */
export async function startStackBehindProxy(env = {}) {
  const proxy = await startRpcProxy();
  try {
    const stack = await startStack({
      local: true,
      chainPort: 0,
      workerPort: 0,
      chainId: 84532,
      env: ({ rpcUrl }) => {
        proxy.target = rpcUrl;
        return { EVM_RPC_URL_BASE_SEPOLIA: proxy.url, ...env };
      },
    });
    const stopStack = stack.stop;
    stack.stop = async () => {
      await stopStack();
      await proxy.close();
    };
    return { stack, proxy };
  } catch (e) {
    await proxy.close();
    throw e;
  }
}
