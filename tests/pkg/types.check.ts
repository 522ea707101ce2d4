// Type-level test (tsc --noEmit -p tests/pkg): @x402/core's payment types are accepted as they are,
// and the results are assignable to @x402/core's VerifyResponse, in both packages.
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from '@x402/core/types';
import type { PaymentPayloadV1, PaymentRequirementsV1 } from '@x402/core/types/v1';

import {
  decodePaymentHeader,
  encodePaymentHeader,
  encodePaymentResponseHeader,
  verifyPayment,
  verifyPaymentOffline,
  X402Error,
} from '../../pkg/dist/index.js';
import * as starknetPackage from '../../pkg-starknet/dist/index.js';

export async function v2(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
  const header: string = encodePaymentHeader(payload);
  const decoded = decodePaymentHeader(header);
  void decoded.x402Version;
  return verifyPayment(payload, requirements, { now: new Date(), rpcUrl: 'http://127.0.0.1:8545' });
}

export function v1(payload: PaymentPayloadV1, requirements: PaymentRequirementsV1): VerifyResponse {
  return verifyPaymentOffline(payload, requirements, { now: 1_800_000_000 });
}

export function response(r: SettleResponse): string {
  return encodePaymentResponseHeader(r);
}

export function reasonOf(e: unknown): string | undefined {
  return e instanceof X402Error ? e.reason : undefined;
}

// @x402-edge/verify-starknet takes the same @x402/core objects.
export async function starknet(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
  const header: string = starknetPackage.encodePaymentHeader(payload);
  void starknetPackage.decodePaymentHeader(header);
  return starknetPackage.verifyPayment(payload, requirements, { now: new Date(), rpcUrl: 'http://127.0.0.1:5050/rpc', sponsors: ['0x1'] });
}
