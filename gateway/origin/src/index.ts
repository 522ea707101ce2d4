// The demo origin: an API with no payment code. `npm start` serves it behind the gateway, which sells
// GET /premium (exact) and GET /metered (upto sessions). Its other paths exist for the gateway's tests:
// /headers shows what the gateway forwarded, /fail answers 500, /slow?ms=N answers after N ms.

const MAX_SLOW_MS = 120_000;

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/':
        return json(200, { name: 'x402-edge demo origin', paid: ['GET /premium', 'GET /metered'], free: ['GET /free'] });
      case '/free':
        return json(200, { free: true, message: 'served without payment' });
      case '/premium':
        return json(200, { premium: true, message: 'the paid content', servedAt: new Date().toISOString() });
      case '/metered':
        return json(200, { metered: true, message: 'one metered call', servedAt: new Date().toISOString() });
      case '/headers':
        return json(200, { method: request.method, headers: Object.fromEntries(request.headers) });
      case '/fail':
        return json(500, { error: 'the origin failed on purpose' });
      case '/slow': {
        const ms = Math.min(Number(url.searchParams.get('ms')) || 0, MAX_SLOW_MS);
        await new Promise((resolve) => setTimeout(resolve, ms));
        return json(200, { slow: true, waitedMs: ms });
      }
      default:
        return json(404, { error: 'not_found' });
    }
  },
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
