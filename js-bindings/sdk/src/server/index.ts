// `@x402-edge/sdk/server`: the resource-server side. No `node:` imports: Node, workerd and browsers.
export { EdgeFacilitatorClient } from './facilitator.js';
export type { EdgeFacilitatorOptions, FacilitatorBinding } from './facilitator.js';
