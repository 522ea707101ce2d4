//! Solana: networks and their RPC endpoints, the fee payers, and what a payment may cost them
//! (`SVM_*`).

use std::fmt;

use super::values::{integer, url_list, URL_LIST_PROBLEM};
use crate::chains::svm::Keypair;
use crate::network::{self, Family, Network};
pub use crate::schemes::exact_svm::chain::SvmSettings;

pub const DEFAULT_SVM_NETWORKS: &str = "solana-devnet";
/// A TransferChecked uses about 6k compute units, 30k with Token-2022 extensions; `@x402/svm` asks for 20k.
/// At the spec's price cap (5 lamports per unit) 50k units bound the priority fee to 250,000 lamports.
const DEFAULT_SVM_MAX_COMPUTE_UNIT_LIMIT: u64 = 50_000;
/// The spec's cap (5 lamports per unit); `@x402/svm` clients set 1 micro-lamport.
const DEFAULT_SVM_MAX_COMPUTE_UNIT_PRICE: u64 = crate::schemes::exact_svm::MAX_COMPUTE_UNIT_PRICE_MICRO_LAMPORTS;
/// The reference polls once a second, 30 times (digest §5.3).
const DEFAULT_SVM_CONFIRM_TIMEOUT_SECS: u64 = 30;

/// One Solana network the facilitator serves.
pub struct SvmNetworkConfig {
    pub network: &'static Network,
    /// Endpoints in order of preference. May carry API keys: never log them.
    pub rpc_urls: Vec<String>,
}

impl fmt::Debug for SvmNetworkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SvmNetworkConfig({}, rpc: <redacted>)", self.network.name)
    }
}

/// The compute and confirmation limits of Solana settles.
pub(super) fn settings(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> SvmSettings {
    SvmSettings {
        max_compute_unit_limit: integer(
            get,
            problem,
            "SVM_MAX_COMPUTE_UNIT_LIMIT",
            DEFAULT_SVM_MAX_COMPUTE_UNIT_LIMIT,
            1..=1_400_000,
        ) as u32,
        max_compute_unit_price_micro_lamports: integer(
            get,
            problem,
            "SVM_MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS",
            DEFAULT_SVM_MAX_COMPUTE_UNIT_PRICE,
            0..=DEFAULT_SVM_MAX_COMPUTE_UNIT_PRICE,
        ),
        confirm_timeout_secs: integer(
            get,
            problem,
            "SVM_CONFIRM_TIMEOUT_SECONDS",
            DEFAULT_SVM_CONFIRM_TIMEOUT_SECS,
            1..=600,
        ),
    }
}

pub(super) fn fee_payers(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<Keypair> {
    let mut fee_payers: Vec<Keypair> = Vec::new();
    let keys = get("SVM_PRIVATE_KEY").unwrap_or_default();
    for (index, key) in split_keys(&keys).enumerate() {
        match Keypair::from_secret(key) {
            Ok(k) if fee_payers.iter().all(|f| f.pubkey() != k.pubkey()) => fee_payers.push(k),
            Ok(_) => problem("SVM_PRIVATE_KEY", format!("key #{} repeats an earlier key", index + 1)),
            Err(e) => problem("SVM_PRIVATE_KEY", format!("key #{}: {e}", index + 1)),
        }
    }
    fee_payers
}

/// The keys of a comma-separated list, where a key may be a key file's JSON byte array (`[12,34,…]`),
/// whose own commas do not separate keys. Empty entries are skipped.
fn split_keys(list: &str) -> impl Iterator<Item = &str> {
    let mut depth = 0usize;
    list.split(move |c: char| {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        c == ',' && depth == 0
    })
    .map(str::trim)
    .filter(|key| !key.is_empty())
}

/// `SVM_NETWORKS` (default `solana-devnet`), each on `SVM_RPC_URL_<NAME>`, else Helius with
/// `HELIUS_API_KEY`, else the public RPC.
pub(super) fn networks(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<SvmNetworkConfig> {
    let names = get("SVM_NETWORKS").unwrap_or_else(|| DEFAULT_SVM_NETWORKS.to_string());
    let mut networks: Vec<SvmNetworkConfig> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(network) = network::find(name).filter(|n| n.family == Family::Solana) else {
            problem("SVM_NETWORKS", format!("`{name}` is not a known Solana network"));
            continue;
        };
        if networks.iter().any(|c| c.network == network) {
            continue;
        }
        let variable = format!("SVM_RPC_URL_{}", network.env_suffix());
        let rpc_urls = match get(&variable) {
            Some(list) => match url_list(&list) {
                Some(urls) => urls,
                None => {
                    problem(&variable, URL_LIST_PROBLEM.into());
                    continue;
                }
            },
            None => match (get("HELIUS_API_KEY"), network.helius) {
                (Some(key), Some(host)) => vec![format!("https://{host}/?api-key={key}")],
                _ => vec![network.public_rpc.to_string()],
            },
        };
        networks.push(SvmNetworkConfig { network, rpc_urls });
    }
    networks
}
