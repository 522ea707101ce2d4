// What the paywall knows about networks and assets, to show prices in human units. Only facts that never
// change (chain ids, canonical USDC addresses and their decimals); anything else comes from the options.

/** How an asset is shown: its symbol and the decimals of its base unit. */
export interface AssetInfo {
  symbol: string;
  decimals: number;
}

/** Display names of CAIP-2 networks (and the v1 names the same chains have). */
const NETWORK_NAMES: Record<string, string> = {
  'eip155:1': 'Ethereum',
  'eip155:11155111': 'Sepolia',
  'eip155:8453': 'Base',
  'eip155:84532': 'Base Sepolia',
  'eip155:10': 'Optimism',
  'eip155:11155420': 'Optimism Sepolia',
  'eip155:137': 'Polygon',
  'eip155:80002': 'Polygon Amoy',
  'eip155:42161': 'Arbitrum One',
  'eip155:421614': 'Arbitrum Sepolia',
  'eip155:43114': 'Avalanche',
  'eip155:43113': 'Avalanche Fuji',
  'eip155:25': 'Cronos',
  'eip155:338': 'Cronos Testnet',
  'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'Solana',
  'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1': 'Solana Devnet',
  'starknet:SN_MAIN': 'Starknet',
  'starknet:SN_SEPOLIA': 'Starknet Sepolia',
  base: 'Base',
  'base-sepolia': 'Base Sepolia',
  ethereum: 'Ethereum',
  sepolia: 'Sepolia',
  optimism: 'Optimism',
  'optimism-sepolia': 'Optimism Sepolia',
  polygon: 'Polygon',
  'polygon-amoy': 'Polygon Amoy',
  avalanche: 'Avalanche',
  'avalanche-fuji': 'Avalanche Fuji',
  'cronos-testnet': 'Cronos Testnet',
  'cronos-mainnet': 'Cronos',
  solana: 'Solana',
  'solana-devnet': 'Solana Devnet',
};

/** Circle's USDC (6 decimals) per network, lower-cased for EVM. */
const USDC: Record<string, string> = {
  'eip155:1': '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48',
  'eip155:11155111': '0x1c7d4b196cb0c7b01d743fbc6116a902379c7238',
  'eip155:8453': '0x833589fcd6edb6e08f4c7c32d4f71b54bda02913',
  'eip155:84532': '0x036cbd53842c5426634e7929541ec2318f3dcf7e',
  'eip155:10': '0x0b2c639c533813f4aa9d7837caf62653d097ff85',
  'eip155:11155420': '0x5fd84259d66cd46123540766be93dfe6d43130d7',
  'eip155:137': '0x3c499c542cef5e3811e1192ce70d8cc03d5c3359',
  'eip155:80002': '0x41e94eb019c0762f9bfcf9fb1e58725bfb0e7582',
  'eip155:42161': '0xaf88d065e77c8cc2239327c5edb3a432268e5831',
  'eip155:421614': '0x75faf114eafb1bdbe2f0316df893fd58ce46aa4d',
  'eip155:43114': '0xb97ef9ef8734c71904d8002f8b6bc66dd9c48a6e',
  'eip155:43113': '0x5425890298aed601595a70ab815c96711a31bc65',
  'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp': 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v',
  'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1': '4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU',
};

/** v1 network names → CAIP-2, for the v1 PaymentRequired a legacy middleware may pass. */
const V1_NETWORKS: Record<string, string> = {
  base: 'eip155:8453',
  'base-sepolia': 'eip155:84532',
  ethereum: 'eip155:1',
  sepolia: 'eip155:11155111',
  optimism: 'eip155:10',
  'optimism-sepolia': 'eip155:11155420',
  polygon: 'eip155:137',
  'polygon-amoy': 'eip155:80002',
  avalanche: 'eip155:43114',
  'avalanche-fuji': 'eip155:43113',
  'cronos-mainnet': 'eip155:25',
  'cronos-testnet': 'eip155:338',
  solana: 'solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp',
  'solana-devnet': 'solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1',
};

/** CAIP-2 of `network` (v1 names mapped; CAIP-2 as is). */
export const caip2 = (network: string): string => V1_NETWORKS[network] ?? network;

/** `eip155:8453` → "Base"; an unknown network is shown as it is. */
export function networkName(network: string): string {
  return NETWORK_NAMES[network] ?? NETWORK_NAMES[caip2(network)] ?? network;
}

/** The wallet family that pays `network` from the page, or null. */
export function family(network: string): 'evm' | 'svm' | null {
  const id = caip2(network);
  if (/^eip155:\d+$/.test(id)) return 'evm';
  if (/^solana:[1-9A-HJ-NP-Za-km-z]{32}$/.test(id)) return 'svm';
  return null;
}

/** Whether `a` and `b` name the same asset on a network of `fam` (EVM addresses are case-insensitive). */
export const sameAsset = (fam: 'evm' | 'svm' | null, a: string, b: string): boolean => (fam === 'evm' ? a.toLowerCase() === b.toLowerCase() : a === b);

/** USDC's display info when `asset` is Circle's USDC on `network`. */
export function knownAsset(network: string, asset: string): AssetInfo | undefined {
  const usdc = USDC[caip2(network)];
  return usdc && sameAsset(family(network), usdc, asset) ? { symbol: 'USDC', decimals: 6 } : undefined;
}
