//! Who may call the facilitator and what it settles: API keys, rate limits, the `payTo` allowlist,
//! and the payment policy (assets and least amounts).

use alloy_primitives::{Address, U256};

use super::values::{entries, flag, integer};
use crate::access::ApiKeys;
use crate::chains::svm::Pubkey;
use crate::network::{self, Family};
use crate::policy::{canonical_address, PaymentPolicy};
use crate::protocol::normalize::parse_evm_address;

/// Access control; everything off when unset (local development).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// `FACILITATOR_API_KEYS` (secret): when set, verify, settle and status need one of them.
    pub api_keys: ApiKeys,
    /// `RATE_LIMIT_PER_MINUTE`: per API key and per client address.
    pub rate_limit_per_minute: Option<u32>,
    /// `PAY_TO_ALLOWLIST`: when set, only these recipients are served.
    pub pay_to_allowlist: Option<PayToAllowlist>,
}

/// Recipients a facilitator serves: EVM addresses and Solana wallets, in one comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayToAllowlist {
    pub evm: Vec<Address>,
    pub solana: Vec<Pubkey>,
}

impl PayToAllowlist {
    pub fn allows(&self, family: Family, pay_to: &str) -> bool {
        match family {
            Family::Evm => parse_evm_address(pay_to).is_some_and(|a| self.evm.contains(&a)),
            Family::Solana => pay_to.parse::<Pubkey>().is_ok_and(|k| self.solana.contains(&k)),
            Family::Starknet => false,
        }
    }
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> Access {
    let api_keys = get("FACILITATOR_API_KEYS").unwrap_or_default();
    let api_keys = ApiKeys::new(api_keys.split(',').map(str::trim).filter(|k| !k.is_empty()));
    let rate_limit_per_minute =
        get("RATE_LIMIT_PER_MINUTE").map(|_| integer(get, problem, "RATE_LIMIT_PER_MINUTE", 60, 1..=1_000_000) as u32);
    let pay_to_allowlist = get("PAY_TO_ALLOWLIST").map(|list| {
        let mut allowlist = PayToAllowlist::default();
        for (index, entry) in list.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            if let Some(address) = parse_evm_address(entry) {
                allowlist.evm.push(address);
            } else if let Ok(key) = entry.parse::<Pubkey>() {
                allowlist.solana.push(key);
            } else {
                problem("PAY_TO_ALLOWLIST", format!("entry #{} is not an EVM or Solana address", index + 1));
            }
        }
        allowlist
    });
    Access { api_keys, rate_limit_per_minute, pay_to_allowlist }
}

/// `ALLOW_ANY_ASSET`, `ASSET_ALLOWLIST_<NAME>` (addresses, mints or felts, comma-separated), `MIN_AMOUNT`
/// (atomic units, default 1) and `MIN_AMOUNT_<NAME>` (`<amount>` for the network, `<asset>:<amount>` for
/// one asset, comma-separated), for every known network.
pub(super) fn payment_policy(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
) -> PaymentPolicy {
    let allow_any_asset = flag(get, problem, "ALLOW_ANY_ASSET");
    let mut policy = PaymentPolicy { allow_any_asset, ..PaymentPolicy::default() };
    if let Some(text) = get("MIN_AMOUNT") {
        match text.parse::<U256>() {
            Ok(amount) => policy.min_amount = amount,
            Err(_) => problem("MIN_AMOUNT", "must be an amount in atomic units".into()),
        }
    }
    for network in network::NETWORKS {
        let variable = format!("ASSET_ALLOWLIST_{}", network.env_suffix());
        for (index, entry) in entries(get(&variable)).iter().enumerate() {
            match canonical_address(network.family, entry) {
                Some(asset) => policy.allowed_assets.push((network.name, asset)),
                None => problem(&variable, format!("entry #{} is not a token address of {}", index + 1, network.name)),
            }
        }
        let variable = format!("MIN_AMOUNT_{}", network.env_suffix());
        for (index, entry) in entries(get(&variable)).iter().enumerate() {
            let (asset, amount) = match entry.rsplit_once(':') {
                Some((asset, amount)) => (canonical_address(network.family, asset).ok_or(()).map(Some), amount),
                None => (Ok(None), entry.as_str()),
            };
            match (asset, amount.trim().parse::<U256>()) {
                (Ok(asset), Ok(amount)) => policy.min_amounts.push((network.name, asset, amount)),
                _ => problem(&variable, format!("entry #{} is not `<amount>` or `<asset>:<amount>`", index + 1)),
            }
        }
    }
    policy
}
