//! The EVM chains: networks and their RPC endpoints and gas ceilings, the facilitator's keys, and how
//! settles wait (`EVM_*`, `EIP6492_ALLOWED_FACTORIES`).

use std::fmt;

use alloy_primitives::Address;

use super::values::{addresses, flag, integer, url_list, ConfigProblem, URL_LIST_PROBLEM};
use crate::chains::evm::signer::LocalEvmSigner;
use crate::network::{self, Family, Network};
use crate::ports::EvmSigner;
pub use crate::schemes::evm_tx::{GasLimits, Settings};

pub const DEFAULT_EVM_NETWORKS: &str = "base,base-sepolia";
const DEFAULT_RECEIPT_TIMEOUT_SECS: u64 = 30;
pub(super) const GWEI: u128 = 1_000_000_000;
const DEFAULT_MAX_FEE_PER_GAS_GWEI: u64 = 1_000;
const DEFAULT_MAX_GAS_PER_SETTLE: u64 = 300_000;
/// Typical ERC-4337 account deployments take 150k to 350k gas.
const DEFAULT_MAX_GAS_PER_DEPLOYMENT: u64 = 500_000;
const DEFAULT_RPC_TIMEOUT_MS: u64 = 10_000;
/// Longer than a block on every chain served (Ethereum's is 12 s), so a bump means the fee was too low.
const DEFAULT_FEE_BUMP_AFTER_SECS: u64 = 15;

/// One EVM network the facilitator serves.
pub struct EvmNetworkConfig {
    pub network: &'static Network,
    pub gas: GasLimits,
    /// Endpoints in order of preference; later ones are failovers. May carry API keys: never log them.
    pub rpc_urls: Vec<String>,
}

impl fmt::Debug for EvmNetworkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EvmNetworkConfig({}, rpc: <redacted>)", self.network.name)
    }
}

/// `EVM_PRIVATE_KEY`: the facilitator's accounts, comma-separated; settles are spread over them.
pub(super) fn signers(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<LocalEvmSigner> {
    let mut evm_signers: Vec<LocalEvmSigner> = Vec::new();
    for (index, key) in get("EVM_PRIVATE_KEY").unwrap_or_default().split(',').map(str::trim).enumerate() {
        if key.is_empty() {
            continue;
        }
        match LocalEvmSigner::from_hex(key) {
            Ok(signer) if evm_signers.iter().all(|s| s.address() != signer.address()) => evm_signers.push(signer),
            Ok(_) => problem("EVM_PRIVATE_KEY", format!("key #{} repeats an earlier key", index + 1)),
            Err(e) => problem("EVM_PRIVATE_KEY", format!("key #{}: {e}", index + 1)),
        }
    }
    evm_signers
}

/// `EVM_NETWORKS`, each with its RPC endpoints and gas ceilings.
pub(super) fn networks(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Vec<EvmNetworkConfig> {
    let max_gas_per_settle =
        integer(get, problem, "EVM_MAX_GAS_PER_SETTLE", DEFAULT_MAX_GAS_PER_SETTLE, 21_000..=30_000_000);
    let max_gas_per_deployment =
        integer(get, problem, "EVM_MAX_GAS_PER_DEPLOYMENT", DEFAULT_MAX_GAS_PER_DEPLOYMENT, 21_000..=30_000_000);
    let default_fee_cap =
        integer(get, problem, "EVM_MAX_FEE_PER_GAS_GWEI", DEFAULT_MAX_FEE_PER_GAS_GWEI, 1..=1_000_000);
    let names = get("EVM_NETWORKS").unwrap_or_else(|| DEFAULT_EVM_NETWORKS.to_string());
    let mut evm_networks: Vec<EvmNetworkConfig> = Vec::new();
    for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(network) = network::find(name).filter(|n| n.family == Family::Evm) else {
            problem("EVM_NETWORKS", format!("`{name}` is not a known EVM network"));
            continue;
        };
        if evm_networks.iter().any(|c| c.network == network) {
            continue;
        }
        let fee_cap_variable = format!("EVM_MAX_FEE_PER_GAS_GWEI_{}", network.env_suffix());
        let fee_cap_gwei = integer(get, problem, &fee_cap_variable, default_fee_cap, 1..=1_000_000);
        let max_fee_per_gas_wei = u128::from(fee_cap_gwei) * GWEI;
        let gas = GasLimits { max_fee_per_gas_wei, max_gas_per_settle, max_gas_per_deployment };
        match evm_rpc_urls(network, get) {
            Ok(rpc_urls) => evm_networks.push(EvmNetworkConfig { network, gas, rpc_urls }),
            Err(p) => problem(&p.variable, p.problem),
        }
    }
    evm_networks
}

/// How settles wait for receipts, fail over and bump fees.
pub(super) fn settings(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> Settings {
    let receipt_timeout_secs =
        integer(get, problem, "EVM_RECEIPT_TIMEOUT_SECONDS", DEFAULT_RECEIPT_TIMEOUT_SECS, 1..=600);
    let rpc_timeout_ms = integer(get, problem, "EVM_RPC_TIMEOUT_MS", DEFAULT_RPC_TIMEOUT_MS, 100..=120_000);
    let fee_bump_after_secs = integer(get, problem, "EVM_FEE_BUMP_SECONDS", DEFAULT_FEE_BUMP_AFTER_SECS, 1..=600);
    Settings { receipt_timeout_secs, rpc_timeout_ms, fee_bump_after_secs }
}

/// Cloudflare's Durable Object location hints.
const LOCATION_HINTS: [&str; 9] = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"];

/// `EVM_LOCATION_HINT`: one of [`LOCATION_HINTS`], or unset (the objects are created where first used).
pub(super) fn location_hint(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> Option<&'static str> {
    let text = get("EVM_LOCATION_HINT")?;
    let hint = LOCATION_HINTS.iter().find(|h| h.eq_ignore_ascii_case(text.trim())).copied();
    if hint.is_none() {
        problem("EVM_LOCATION_HINT", format!("not a location hint; one of {}", LOCATION_HINTS.join(", ")));
    }
    hint
}

/// `EVM_SYNC_SEND`: `on` (the default) or `off`.
pub(super) fn sync_send(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> bool {
    match get("EVM_SYNC_SEND").as_deref().map(str::trim) {
        None | Some("on") => true,
        Some("off") => false,
        Some(_) => {
            problem("EVM_SYNC_SEND", "`on` or `off`".into());
            true
        }
    }
}

/// `EIP6492_ALLOWED_FACTORIES`.
pub(super) fn factories(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> Vec<Address> {
    addresses(get, problem, "EIP6492_ALLOWED_FACTORIES").unwrap_or_default()
}

/// `EVM_RPC_URL_<NAME>` (a comma-separated list: the first is preferred, the others are failovers),
/// else Alchemy, else Infura, else the network's public RPC.
fn evm_rpc_urls(network: &Network, get: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigProblem> {
    let variable = format!("EVM_RPC_URL_{}", network.env_suffix());
    if let Some(list) = get(&variable) {
        return url_list(&list).ok_or(ConfigProblem { variable, problem: URL_LIST_PROBLEM.into() });
    }
    if let (Some(key), Some(host)) = (get("ALCHEMY_API_KEY"), network.alchemy) {
        return Ok(vec![format!("https://{host}/{key}")]);
    }
    if let (Some(key), Some(host)) = (get("INFURA_API_KEY"), network.infura) {
        return Ok(vec![format!("https://{host}/{key}")]);
    }
    Ok(vec![network.public_rpc.to_string()])
}

/// `PERMIT2_ERC20_APPROVAL_SPONSORING`: relay a payer's signed `approve(Permit2, …)` before its Permit2
/// settle (the `erc20ApprovalGasSponsoring` extension). Off by default: the payer pays that gas.
pub(super) fn erc20_approval_sponsoring(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> bool {
    flag(get, problem, "PERMIT2_ERC20_APPROVAL_SPONSORING")
}
