// POST / {payload, requirements, options} → {result, roundTrip}: verifyPayment of @x402-edge/verify and a
// header round trip in workerd, with the package imported by name; POST /starknet the same with
// @x402-edge/verify-starknet (both in one Worker: each package's wasm is its own module). GET /health → 200
// once the modules (and their wasm) loaded.
import * as verify from '@x402-edge/verify';
import * as verifyStarknet from '@x402-edge/verify-starknet';

const PACKAGES = { '/': verify, '/starknet': verifyStarknet };

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/health') return new Response('ok');
    const x402 = PACKAGES[url.pathname];
    if (request.method !== 'POST' || !x402) return new Response('not found', { status: 404 });
    const { payload, requirements, options } = await request.json();
    try {
      const header = x402.encodePaymentHeader(payload);
      const roundTrip = JSON.stringify(x402.decodePaymentHeader(header)) === JSON.stringify(payload);
      const result = await x402.verifyPayment(payload, requirements, options);
      return Response.json({ result, roundTrip });
    } catch (e) {
      if (e instanceof x402.X402Error) return Response.json({ error: { reason: e.reason, message: e.message } }, { status: 400 });
      throw e;
    }
  },
};
