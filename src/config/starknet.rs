//! Starknet (opt-in): networks, the sponsor account or paymaster of each, and the fee ceiling
//! (`STARKNET_*`).

use std::fmt;

use super::values::{url_list, URL_LIST_PROBLEM};
use crate::network::{self, Family, Network};

/// How a Starknet network's payments are submitted.
pub enum StarknetSettlement {
    /// The facilitator's own account submits `execute_from_outside_v2` and pays the fee.
    SelfSponsored { key: crate::chains::starknet::StarkKey },
    /// A SNIP-29 paymaster executes the signed typed data (`paymaster_executeTransaction`).
    Paymaster { endpoint: String, api_key: Option<String> },
}

/// One Starknet network the facilitator serves.
pub struct StarknetNetworkConfig {
    pub network: &'static Network,
    /// Endpoints in order of preference. May carry API keys: never log them.
    pub rpc_urls: Vec<String>,
    /// `STARKNET_SPONSOR_ADDRESS`: the account that submits (self-sponsored) or that `/supported` names.
    pub sponsor_address: crate::chains::starknet::Felt,
    pub settlement: StarknetSettlement,
    /// `STARKNET_MAX_FEE[_<NAME>]`: the most (in fri, 10^-18 STRK) the sponsor's transaction may be
    /// charged (its resource bounds); a settle priced above it is refused before it is sent.
    pub max_fee_fri: u128,
}

impl fmt::Debug for StarknetNetworkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.settlement {
            StarknetSettlement::SelfSponsored { .. } => "self-sponsored",
            StarknetSettlement::Paymaster { .. } => "paymaster",
        };
        write!(f, "StarknetNetworkConfig({}, {mode}, rpc: <redacted>)", self.network.name)
    }
}

/// 1 STRK: a sponsored transfer costs about a hundredth of that on Starknet today.
pub(super) const DEFAULT_STARKNET_MAX_FEE_FRI: u128 = 1_000_000_000_000_000_000;

/// `STARKNET_NETWORKS` (none by default). Each network needs `STARKNET_SPONSOR_ADDRESS[_<NAME>]` and
/// either `STARKNET_PAYMASTER_ENDPOINT[_<NAME>]` (a SNIP-29 paymaster executes) or
/// `STARKNET_SPONSOR_PRIVATE_KEY[_<NAME>]` (the sponsor account submits itself); RPCs from
/// `STARKNET_RPC_URL_<NAME>`, else Alchemy, else the public endpoint.
pub(super) fn networks(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<StarknetNetworkConfig> {
    use crate::chains::starknet::{parse_felt, StarkKey};
    let mut networks: Vec<StarknetNetworkConfig> = Vec::new();
    for name in get("STARKNET_NETWORKS").unwrap_or_default().split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(network) = network::find(name).filter(|n| n.family == Family::Starknet) else {
            problem("STARKNET_NETWORKS", format!("`{name}` is not a known Starknet network"));
            continue;
        };
        if networks.iter().any(|c| c.network == network) {
            continue;
        }
        let suffix = network.env_suffix();
        // The per-network variable, else the shared one; reported under the name that was read.
        let scoped = |base: &str| {
            let own = format!("{base}_{suffix}");
            match get(&own) {
                Some(value) => Some((own, value)),
                None => get(base).map(|value| (base.to_string(), value)),
            }
        };
        let rpc_variable = format!("STARKNET_RPC_URL_{suffix}");
        let rpc_urls = match get(&rpc_variable) {
            Some(list) => match url_list(&list) {
                Some(urls) => urls,
                None => {
                    problem(&rpc_variable, URL_LIST_PROBLEM.into());
                    continue;
                }
            },
            None => match (get("ALCHEMY_API_KEY"), network.alchemy) {
                (Some(key), Some(host)) => vec![format!("https://{host}/{key}")],
                _ => vec![network.public_rpc.to_string()],
            },
        };
        let Some((variable, address)) = scoped("STARKNET_SPONSOR_ADDRESS") else {
            problem("STARKNET_SPONSOR_ADDRESS", format!("is required to serve {}", network.name));
            continue;
        };
        let Ok(sponsor_address) = parse_felt(&address) else {
            problem(&variable, "is not a Starknet address".into());
            continue;
        };
        let settlement = match (scoped("STARKNET_PAYMASTER_ENDPOINT"), scoped("STARKNET_SPONSOR_PRIVATE_KEY")) {
            (Some((variable, endpoint)), _) => match url_list(&endpoint).filter(|u| u.len() == 1) {
                Some(mut urls) => StarknetSettlement::Paymaster {
                    endpoint: urls.remove(0),
                    api_key: scoped("STARKNET_PAYMASTER_API_KEY").map(|(_, key)| key),
                },
                None => {
                    problem(&variable, "must be one http:// or https:// URL".into());
                    continue;
                }
            },
            (None, Some((variable, key))) => match StarkKey::from_text(&key) {
                Ok(key) => StarknetSettlement::SelfSponsored { key },
                Err(_) => {
                    problem(&variable, "is not a Stark private key".into());
                    continue;
                }
            },
            (None, None) => {
                let text = "is required (or STARKNET_PAYMASTER_ENDPOINT, to settle through a paymaster)";
                problem("STARKNET_SPONSOR_PRIVATE_KEY", format!("{text} to serve {}", network.name));
                continue;
            }
        };
        let max_fee_fri = match scoped("STARKNET_MAX_FEE") {
            None => DEFAULT_STARKNET_MAX_FEE_FRI,
            Some((variable, text)) => match text.parse::<u128>() {
                Ok(fee) if fee > 0 => fee,
                _ => {
                    problem(&variable, "must be a positive integer (fri, 10^-18 STRK)".into());
                    DEFAULT_STARKNET_MAX_FEE_FRI
                }
            },
        };
        networks.push(StarknetNetworkConfig { network, rpc_urls, sponsor_address, settlement, max_fee_fri });
    }
    networks
}
