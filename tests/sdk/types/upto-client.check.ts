// Type checks (tsc -p tests/sdk/types, no run): the SDK's schemes fit the official registries, and the
// unified client takes the signers users have (a viem account, a viem wallet client, @x402/evm's signer).
import { x402Client, type x402HTTPClient } from '@x402/core/client';
import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import type { SchemeNetworkClient, SchemeNetworkServer } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import { UptoEvmScheme } from '@x402/evm/upto/client';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { createUnifiedClient, paymentFailureReason, wrapFetchWithPayment, type UnifiedClient } from '@x402-edge/sdk/client';
import { UptoEvmClientScheme, UptoEvmServerScheme } from '@x402-edge/sdk/upto';

const account = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const publicClient = createPublicClient({ transport: http('http://127.0.0.1:8545') });

const server: SchemeNetworkServer = new UptoEvmServerScheme({ paymentsPerSession: 50 });
new x402ResourceServer(new HTTPFacilitatorClient({ url: 'http://127.0.0.1:8787' })).register('eip155:84532', server);

const scheme: SchemeNetworkClient = new UptoEvmClientScheme({
  signer: toClientEvmSigner(account, publicClient),
  facilitatorUrl: 'http://127.0.0.1:8787',
  permit2: new UptoEvmScheme(toClientEvmSigner(account, publicClient)),
});
new x402Client().register('eip155:*', scheme);

const fromAccount: UnifiedClient = createUnifiedClient({ evm: account, rpcUrls: { 'eip155:84532': 'http://127.0.0.1:8545' } });
const fromWallet = createUnifiedClient({ evm: createWalletClient({ account, transport: http('http://127.0.0.1:8545') }), upto: false });
const httpClient: x402HTTPClient = fromWallet.httpClient;
const paying: typeof fetch = wrapFetchWithPayment(fetch, fromAccount.client, { upto: fromAccount.upto });

export async function use(): Promise<string | undefined> {
  fromAccount.upto?.forceNewPermit();
  const count: number | undefined = fromAccount.upto?.permitsSigned;
  void [httpClient, count];
  return paymentFailureReason(await paying('http://127.0.0.1:8788/metered'));
}
