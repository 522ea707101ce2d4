// `@x402-edge/sdk/upto`: `upto` sessions (one EIP-2612 permit per session, each request captured by the
// facilitator and settled in one batch by its sweeper) for resource servers and clients, on the official
// SDK's scheme registry (`x402ResourceServer.register`, `x402Client.register`).
export { UptoEvmServerScheme, UPTO_SESSION_PAYLOAD, type UptoEvmServerSchemeOptions } from './server.js';
export { UptoEvmClientScheme, type UptoEvmClientOptions, type UptoEvmSigner } from './client.js';
export {
  UPTO_CAP_EXHAUSTED,
  UPTO_RESIGN_REASONS,
  UPTO_SCHEME,
  UPTO_SESSION_CLOSED,
  UPTO_SETTLING_IN_PROGRESS,
  PERMIT_TYPES,
} from './shared.js';
