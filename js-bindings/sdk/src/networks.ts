// Network ids as the facilitator knows them (src/network.rs): the v1 name, its aliases and the CAIP-2 id.
// Resource servers key settings either way (`base-sepolia` or `eip155:84532`) while x402 v2 requirements
// always carry the CAIP-2 id, so a lookup must try both.

const NETWORKS: ReadonlyArray<readonly [caip2: string, ...names: string[]]> = [
  ['eip155:8453', 'base'],
  ['eip155:84532', 'base-sepolia'],
  ['eip155:1', 'ethereum', 'mainnet'],
  ['eip155:11155111', 'sepolia'],
  ['eip155:10', 'optimism'],
  ['eip155:11155420', 'optimism-sepolia'],
  ['eip155:42161', 'arbitrum', 'arbitrum-one'],
  ['eip155:421614', 'arbitrum-sepolia'],
  ['eip155:137', 'polygon'],
  ['eip155:80002', 'polygon-amoy'],
  ['eip155:43114', 'avalanche'],
  ['eip155:43113', 'avalanche-fuji'],
  ['eip155:2741', 'abstract'],
  ['eip155:11124', 'abstract-testnet'],
  ['eip155:25', 'cronos', 'cronos-mainnet'],
  ['eip155:338', 'cronos-testnet'],
  ['solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp', 'solana'],
  ['solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1', 'solana-devnet'],
  ['solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z', 'solana-testnet'],
  ['starknet:SN_MAIN', 'starknet-mainnet', 'starknet:mainnet'],
  ['starknet:SN_SEPOLIA', 'starknet-sepolia', 'starknet:sepolia'],
];

/** Every id a network is known by (the given one first), or just `network` when it is not in the table. */
export function networkIds(network: string): string[] {
  const entry = NETWORKS.find((ids) => ids.includes(network));
  return entry ? [network, ...entry.filter((id) => id !== network)] : [network];
}

/** The value `table` holds for `network` under any of its ids. */
export function lookupNetwork<T>(table: Readonly<Record<string, T>> | undefined, network: string): T | undefined {
  if (!table) return undefined;
  for (const id of networkIds(network)) {
    if (Object.prototype.hasOwnProperty.call(table, id)) return table[id];
  }
  return undefined;
}
