//! Networks the facilitator knows: v1 names ↔ CAIP-2 ids ↔ chain ids, default stablecoins and the RPC
//! providers' host names (protocol digest §3, §10; the daydreams facilitator's `networks.ts`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Evm,
    Solana,
    Starknet,
}

impl Family {
    /// The CAIP family pattern used to group signers in `/supported`.
    pub const fn caip_family(self) -> &'static str {
        match self {
            Family::Evm => "eip155:*",
            Family::Solana => "solana:*",
            Family::Starknet => "starknet:*",
        }
    }
}

/// A token a network is known to use by default, with its EIP-712 domain where it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefaultAsset {
    pub address: &'static str,
    pub name: &'static str,
    /// `None` where no source we trust records the version: clients must send `extra.version`, or (v1)
    /// it is read from the token.
    pub version: Option<&'static str>,
    pub decimals: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The v1 / daydreams name, also the `<NAME>` of `EVM_RPC_URL_<NAME>` (upper-cased, `-` → `_`).
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub caip2: &'static str,
    pub family: Family,
    /// EVM chain id.
    pub chain_id: Option<u64>,
    /// Whether x402 v1 clients know this network by name (`@x402/evm/v1` `NETWORKS`, or the Cronos dialect).
    pub v1: bool,
    pub asset: Option<DefaultAsset>,
    /// `https://<alchemy>/<ALCHEMY_API_KEY>`.
    pub alchemy: Option<&'static str>,
    /// `https://<infura>/<INFURA_API_KEY>`.
    pub infura: Option<&'static str>,
    /// Solana: `https://<helius>/?api-key=<HELIUS_API_KEY>`.
    pub helius: Option<&'static str>,
    pub public_rpc: &'static str,
    /// Seconds between blocks, roughly: 12 on Ethereum and Sepolia, 6 on Cronos, 2 or less elsewhere
    /// (what [`Network::expiry_margin_secs`] must outlast).
    pub block_secs: u64,
}

impl Network {
    /// This network with blocks `secs` apart.
    const fn with_block_secs(self, secs: u64) -> Network {
        Network { block_secs: secs, ..self }
    }

    /// How long before its expiry an EVM authorization (EIP-3009 `validBefore`, a Permit2 or EIP-2612
    /// `deadline`) is no longer taken: the reference's 6 s, or two blocks where blocks are slower, so
    /// that a transaction sent after the checks still lands before the authorization expires (one that
    /// lands after it reverts, and the facilitator pays for it).
    pub const fn expiry_margin_secs(&self) -> u64 {
        let two_blocks = 2 * self.block_secs;
        if two_blocks > 6 {
            two_blocks
        } else {
            6
        }
    }

    /// The `<NAME>` suffix of per-network environment variables.
    pub fn env_suffix(&self) -> String {
        self.name.to_ascii_uppercase().replace('-', "_")
    }

    /// The stablecoins settled without `ASSET_ALLOWLIST_<NAME>`: the default asset, and those known
    /// without an EIP-712 domain we trust ([`MORE_STABLECOINS`]).
    pub fn known_stablecoins(&self) -> impl Iterator<Item = &'static str> + '_ {
        let more = MORE_STABLECOINS.iter().filter(|(network, _)| *network == self.name).map(|(_, asset)| *asset);
        self.asset.map(|a| a.address).into_iter().chain(more)
    }

    /// The network's id as a response of the given version names it.
    pub fn wire_id(&self, v1: bool) -> &'static str {
        if v1 {
            self.name
        } else {
            self.caip2
        }
    }
}

const fn usdc(address: &'static str, name: &'static str, version: Option<&'static str>) -> Option<DefaultAsset> {
    Some(DefaultAsset { address, name, version, decimals: 6 })
}

/// The block time of a chain not set otherwise ([`Network::with_block_secs`]).
const FAST_BLOCK_SECS: u64 = 2;

#[allow(clippy::too_many_arguments)]
const fn evm(
    name: &'static str,
    aliases: &'static [&'static str],
    caip2: &'static str,
    chain_id: u64,
    v1: bool,
    asset: Option<DefaultAsset>,
    alchemy: Option<&'static str>,
    infura: Option<&'static str>,
    public_rpc: &'static str,
) -> Network {
    Network {
        name,
        aliases,
        caip2,
        family: Family::Evm,
        chain_id: Some(chain_id),
        v1,
        asset,
        alchemy,
        infura,
        helius: None,
        public_rpc,
        block_secs: FAST_BLOCK_SECS,
    }
}

const fn solana(
    name: &'static str,
    caip2: &'static str,
    usdc_mint: &'static str,
    helius: Option<&'static str>,
    public_rpc: &'static str,
) -> Network {
    Network {
        name,
        aliases: &[],
        caip2,
        family: Family::Solana,
        chain_id: None,
        v1: true,
        asset: usdc(usdc_mint, "USD Coin", None),
        alchemy: None,
        infura: None,
        helius,
        public_rpc,
        block_secs: FAST_BLOCK_SECS,
    }
}

const fn starknet(
    name: &'static str,
    aliases: &'static [&'static str],
    caip2: &'static str,
    alchemy: &'static str,
    public_rpc: &'static str,
) -> Network {
    Network {
        name,
        aliases,
        caip2,
        family: Family::Starknet,
        chain_id: None,
        v1: true,
        asset: None,
        alchemy: Some(alchemy),
        infura: None,
        helius: None,
        public_rpc,
        block_secs: FAST_BLOCK_SECS,
    }
}

pub static NETWORKS: &[Network] = &[
    evm(
        "base",
        &[],
        "eip155:8453",
        8453,
        true,
        usdc("0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", "USD Coin", Some("2")),
        Some("base-mainnet.g.alchemy.com/v2"),
        Some("base-mainnet.infura.io/v3"),
        "https://mainnet.base.org",
    ),
    evm(
        "base-sepolia",
        &[],
        "eip155:84532",
        84532,
        true,
        usdc("0x036CbD53842c5426634e7929541eC2318f3dCF7e", "USDC", Some("2")),
        Some("base-sepolia.g.alchemy.com/v2"),
        Some("base-sepolia.infura.io/v3"),
        "https://sepolia.base.org",
    ),
    evm(
        "ethereum",
        &["mainnet"],
        "eip155:1",
        1,
        true,
        usdc("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "USD Coin", Some("2")),
        Some("eth-mainnet.g.alchemy.com/v2"),
        Some("mainnet.infura.io/v3"),
        "https://ethereum-rpc.publicnode.com",
    )
    .with_block_secs(12),
    evm(
        "sepolia",
        &[],
        "eip155:11155111",
        11155111,
        true,
        None,
        Some("eth-sepolia.g.alchemy.com/v2"),
        Some("sepolia.infura.io/v3"),
        "https://ethereum-sepolia-rpc.publicnode.com",
    )
    .with_block_secs(12),
    evm(
        "optimism",
        &[],
        "eip155:10",
        10,
        false,
        usdc("0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", "USD Coin", Some("2")),
        Some("opt-mainnet.g.alchemy.com/v2"),
        Some("optimism-mainnet.infura.io/v3"),
        "https://mainnet.optimism.io",
    ),
    evm(
        "optimism-sepolia",
        &[],
        "eip155:11155420",
        11155420,
        false,
        None,
        Some("opt-sepolia.g.alchemy.com/v2"),
        Some("optimism-sepolia.infura.io/v3"),
        "https://sepolia.optimism.io",
    ),
    evm(
        "arbitrum",
        &["arbitrum-one"],
        "eip155:42161",
        42161,
        false,
        usdc("0xaf88d065e77c8cC2239327C5EDb3A432268e5831", "USD Coin", Some("2")),
        Some("arb-mainnet.g.alchemy.com/v2"),
        Some("arbitrum-mainnet.infura.io/v3"),
        "https://arb1.arbitrum.io/rpc",
    ),
    evm(
        "arbitrum-sepolia",
        &[],
        "eip155:421614",
        421614,
        false,
        usdc("0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", "USD Coin", Some("2")),
        Some("arb-sepolia.g.alchemy.com/v2"),
        Some("arbitrum-sepolia.infura.io/v3"),
        "https://sepolia-rollup.arbitrum.io/rpc",
    ),
    evm(
        "polygon",
        &[],
        "eip155:137",
        137,
        true,
        usdc("0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", "USD Coin", Some("2")),
        Some("polygon-mainnet.g.alchemy.com/v2"),
        Some("polygon-mainnet.infura.io/v3"),
        "https://polygon-rpc.com",
    ),
    evm(
        "polygon-amoy",
        &[],
        "eip155:80002",
        80002,
        true,
        usdc("0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", "USDC", None),
        Some("polygon-amoy.g.alchemy.com/v2"),
        Some("polygon-amoy.infura.io/v3"),
        "https://rpc-amoy.polygon.technology",
    ),
    evm(
        "avalanche",
        &[],
        "eip155:43114",
        43114,
        true,
        usdc("0xB97EF9Ef8734C71904D8002F8b6Bc66Dd9c48a6E", "USD Coin", None),
        Some("avax-mainnet.g.alchemy.com/v2"),
        Some("avalanche-mainnet.infura.io/v3"),
        "https://api.avax.network/ext/bc/C/rpc",
    ),
    evm(
        "avalanche-fuji",
        &[],
        "eip155:43113",
        43113,
        true,
        usdc("0x5425890298aed601595a70AB815c96711a31Bc65", "USD Coin", None),
        Some("avax-fuji.g.alchemy.com/v2"),
        Some("avalanche-fuji.infura.io/v3"),
        "https://api.avax-test.network/ext/bc/C/rpc",
    ),
    evm(
        "abstract",
        &[],
        "eip155:2741",
        2741,
        true,
        usdc("0x84a71ccd554cc1b02749b35d22f684cc8ec987e1", "Bridged USDC", None),
        Some("abstract-mainnet.g.alchemy.com/v2"),
        None,
        "https://api.mainnet.abs.xyz",
    ),
    evm(
        "abstract-testnet",
        &[],
        "eip155:11124",
        11124,
        true,
        usdc("0xe4C7fBB0a626ed208021ccabA6Be1566905E2dFc", "Bridged USDC", None),
        Some("abstract-testnet.g.alchemy.com/v2"),
        None,
        "https://api.testnet.abs.xyz",
    ),
    // Cronos: the docs and the SDK disagree on the USDC.e EIP-712 domain (digest §8), so no name or
    // version is assumed; v1 requests without `extra` get the token's own `name()`/`version()`.
    evm("cronos", &["cronos-mainnet"], "eip155:25", 25, true, None, None, None, "https://evm.cronos.org")
        .with_block_secs(6),
    evm("cronos-testnet", &[], "eip155:338", 338, true, None, None, None, "https://evm-t3.cronos.org")
        .with_block_secs(6),
    // USDC mints: `@x402/svm` constants (digest §3.2); RPCs: the daydreams facilitator's order.
    solana(
        "solana",
        "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
        Some("mainnet.helius-rpc.com"),
        "https://api.mainnet-beta.solana.com",
    ),
    solana(
        "solana-devnet",
        "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
        "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
        Some("devnet.helius-rpc.com"),
        "https://api.devnet.solana.com",
    ),
    solana(
        "solana-testnet",
        "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
        "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU",
        None,
        "https://api.testnet.solana.com",
    ),
    // The daydreams canonical ids, with x402-starknet's as aliases (digest §3.3). RPC 0.8 paths.
    starknet(
        "starknet-mainnet",
        &["starknet:mainnet"],
        "starknet:SN_MAIN",
        "starknet-mainnet.g.alchemy.com/starknet/version/rpc/v0_8",
        "https://starknet-mainnet.public.blastapi.io/rpc/v0_8",
    ),
    starknet(
        "starknet-sepolia",
        &["starknet:sepolia"],
        "starknet:SN_SEPOLIA",
        "starknet-sepolia.g.alchemy.com/starknet/version/rpc/v0_8",
        "https://starknet-sepolia.public.blastapi.io/rpc/v0_8",
    ),
];

/// Stablecoins besides a network's default asset: Cronos USDC.e (digest §8; no EIP-712 domain assumed),
/// Starknet USDC (Circle's on mainnet and Sepolia, and the bridged USDC.e on mainnet).
const MORE_STABLECOINS: &[(&str, &str)] = &[
    ("cronos", "0xf951eC28187D9E5Ca673Da8FE6757E6f0Be5F77C"),
    ("cronos-testnet", "0xc01efAaF7C5C61bEbFAeb358E1161b537b8bC0e0"),
    ("starknet-mainnet", "0x033068f6539f8e6e6b131e6b2b814e6c34a5224bc66947c47dab9dfee93b35fb"),
    ("starknet-mainnet", "0x053c91253bc9682c04929ca02ed00b3e423f6710d2ee7e0d5ebb06f3ecf368a8"),
    ("starknet-sepolia", "0x053b40a647cedfca6ca84f542a0fe36736031905a9639a7f19a3c1e66bfd5080"),
];

/// Finds a network by v1 name, alias or CAIP-2 id (case-sensitive, as the wire is).
pub fn find(id: &str) -> Option<&'static Network> {
    NETWORKS.iter().find(|n| n.name == id || n.caip2 == id || n.aliases.contains(&id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_must_outlast_two_blocks_where_blocks_are_slow() {
        let margin = |name: &str| find(name).map(Network::expiry_margin_secs);
        assert_eq!((margin("ethereum"), margin("sepolia")), (Some(24), Some(24)));
        assert_eq!((margin("cronos-mainnet"), margin("cronos-testnet")), (Some(12), Some(12)));
        for rollup in ["base", "base-sepolia", "optimism", "arbitrum", "polygon", "avalanche", "abstract"] {
            assert_eq!(margin(rollup), Some(6), "{rollup}: the reference's 6 s");
        }
    }

    #[test]
    fn names_caip2_and_chain_ids_agree() {
        for n in NETWORKS.iter().filter(|n| n.family == Family::Evm) {
            let id = n.chain_id.unwrap();
            assert_eq!(n.caip2, format!("eip155:{id}"), "{}", n.name);
            assert!(n.public_rpc.starts_with("https://"), "{}", n.name);
        }
        assert_eq!(find("base-sepolia").unwrap().chain_id, Some(84532));
        assert_eq!(find("eip155:8453").unwrap().name, "base");
        assert_eq!(find("cronos-mainnet").unwrap().chain_id, Some(25));
        assert_eq!(find("cronos-testnet").unwrap().chain_id, Some(338));
        assert_eq!(find("starknet:sepolia").unwrap().caip2, "starknet:SN_SEPOLIA");
        assert!(find("Base").is_none());
    }

    #[test]
    fn the_daydreams_networks_are_all_there() {
        for name in [
            "base",
            "base-sepolia",
            "ethereum",
            "sepolia",
            "optimism",
            "optimism-sepolia",
            "arbitrum",
            "arbitrum-sepolia",
            "polygon",
            "polygon-amoy",
            "avalanche",
            "avalanche-fuji",
            "abstract",
            "abstract-testnet",
            "solana",
            "solana-devnet",
            "solana-testnet",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert_eq!(find("base-sepolia").unwrap().env_suffix(), "BASE_SEPOLIA");
    }
}
