// EVM payments from the page: the injected EIP-1193 wallet (`window.ethereum`, else the first wallet that
// announces itself through EIP-6963) signs, the official @x402/evm client scheme builds the payload
// (EIP-3009 `transferWithAuthorization`), exactly as @x402/fetch would.
import type { ClientEvmSigner } from '@x402/evm';

/** The part of EIP-1193 the page uses. */
export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

declare global {
  interface Window {
    ethereum?: Eip1193Provider;
  }
}

/** The first wallet that answered EIP-6963 discovery (wallets that leave `window.ethereum` to another). */
let announced: Eip1193Provider | undefined;

/** Starts EIP-6963 discovery: each wallet answers `eip6963:requestProvider` with `eip6963:announceProvider`. */
export function discoverEvmWallets(onChange: () => void): void {
  window.addEventListener('eip6963:announceProvider', (event) => {
    const provider = (event as CustomEvent<{ provider?: Eip1193Provider }>).detail?.provider;
    if (!announced && typeof provider?.request === 'function') announced = provider;
    onChange();
  });
  window.dispatchEvent(new Event('eip6963:requestProvider'));
}

/** The injected EVM wallet, if the browser has one. */
export function injectedEvmWallet(): Eip1193Provider | undefined {
  return typeof window.ethereum?.request === 'function' ? window.ethereum : announced;
}

/** `eip155:84532` → 84532; null for anything else. */
export function evmChainId(network: string): number | null {
  const m = /^eip155:(\d+)$/.exec(network);
  return m ? Number(m[1]) : null;
}

/** The EIP-712 domain fields in their canonical order, as wallets expect `types.EIP712Domain`. */
const DOMAIN_FIELDS: Array<[string, string]> = [
  ['name', 'string'],
  ['version', 'string'],
  ['chainId', 'uint256'],
  ['verifyingContract', 'address'],
  ['salt', 'bytes32'],
];

/** JSON for `eth_signTypedData_v4`: bigints as decimal strings, `EIP712Domain` listed (wallets require it). */
export function typedDataJson(data: { domain: Record<string, unknown>; types: Record<string, unknown>; primaryType: string; message: Record<string, unknown> }): string {
  const EIP712Domain = DOMAIN_FIELDS.filter(([name]) => data.domain[name] !== undefined).map(([name, type]) => ({ name, type }));
  return JSON.stringify({ ...data, types: { EIP712Domain, ...data.types } }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * Connects the wallet (`eth_requestAccounts`), asks it to switch to `chainId` when it is elsewhere, and
 * returns a signer for the official client scheme whose signatures come from `eth_signTypedData_v4`.
 */
export async function connectEvm(wallet: Eip1193Provider, chainId: number): Promise<ClientEvmSigner> {
  const accounts = (await wallet.request({ method: 'eth_requestAccounts' })) as string[];
  const address = accounts?.[0];
  if (!address || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error('the wallet gave no account');
  const current = Number.parseInt(String(await wallet.request({ method: 'eth_chainId' })), 16);
  if (current !== chainId) {
    await wallet.request({ method: 'wallet_switchEthereumChain', params: [{ chainId: `0x${chainId.toString(16)}` }] });
  }
  return {
    address: address as `0x${string}`,
    async signTypedData(data) {
      const signature = await wallet.request({ method: 'eth_signTypedData_v4', params: [address, typedDataJson(data)] });
      if (typeof signature !== 'string' || !/^0x[0-9a-fA-F]+$/.test(signature)) throw new Error('the wallet returned no signature');
      return signature as `0x${string}`;
    },
  };
}
