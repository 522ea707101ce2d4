// POST / {payload, requirements, options} → {result, header}: verifyPayment and a header round trip in
// workerd, with the package imported by name. GET /health → 200 once the module (and its wasm) loaded.
import { decodePaymentHeader, encodePaymentHeader, verifyPayment, X402Error } from '@x402-edge/verify';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname === '/health') return new Response('ok');
    if (request.method !== 'POST') return new Response('not found', { status: 404 });
    const { payload, requirements, options } = await request.json();
    try {
      const header = encodePaymentHeader(payload);
      const roundTrip = JSON.stringify(decodePaymentHeader(header)) === JSON.stringify(payload);
      const result = await verifyPayment(payload, requirements, options);
      return Response.json({ result, roundTrip });
    } catch (e) {
      if (e instanceof X402Error) return Response.json({ error: { reason: e.reason, message: e.message } }, { status: 400 });
      throw e;
    }
  },
};
