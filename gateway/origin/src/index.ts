// The demo origin: an API with no payment code. `npm start` serves it behind the gateway, which sells
// GET /premium (exact) and GET /metered (upto sessions); everything else passes through unpaid.

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case '/':
        return json(200, { name: 'x402-edge demo origin', paid: ['GET /premium', 'GET /metered'], free: ['GET /', 'GET /free'] });
      case '/free':
        return json(200, { free: true, message: 'served without payment' });
      case '/premium':
        return json(200, { premium: true, message: 'the paid content', servedAt: new Date().toISOString() });
      case '/metered':
        return json(200, { metered: true, message: 'one metered call', servedAt: new Date().toISOString() });
      default:
        return json(404, { error: 'not_found' });
    }
  },
};

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
