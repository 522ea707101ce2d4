//! What this facilitator settles at all, whatever the scheme (issue 13, "no free gas"): which tokens
//! (per network), the least amount, and never a payment to oneself. Pure: the facilitator runs these
//! checks before verify or settle looks at a chain, so a refused payment costs nothing.

use alloy_primitives::U256;

use crate::chains::svm::Pubkey;
use crate::network::{Family, Network};
use crate::protocol::model::PaymentRequest;
use crate::protocol::normalize::parse_evm_address;
use crate::protocol::Reason;

/// The least amount (atomic units) when `MIN_AMOUNT` is not set: a zero-value payment is refused.
pub const DEFAULT_MIN_AMOUNT: u64 = 1;

/// Which assets are settled and the least amount of each (`ALLOW_ANY_ASSET`, `ASSET_ALLOWLIST_<NAME>`,
/// `MIN_AMOUNT`, `MIN_AMOUNT_<NAME>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPolicy {
    /// `ALLOW_ANY_ASSET=true`: any token on every network (private deployments, local tests).
    pub allow_any_asset: bool,
    /// `ASSET_ALLOWLIST_<NAME>`: `(network name, canonical asset)` settled besides the known stablecoins.
    pub allowed_assets: Vec<(&'static str, String)>,
    /// `MIN_AMOUNT`: the least amount on every network and asset without its own.
    pub min_amount: U256,
    /// `MIN_AMOUNT_<NAME>`: `(network name, canonical asset or None for the whole network, minimum)`.
    pub min_amounts: Vec<(&'static str, Option<String>, U256)>,
}

impl Default for PaymentPolicy {
    fn default() -> Self {
        PaymentPolicy {
            allow_any_asset: false,
            allowed_assets: Vec::new(),
            min_amount: U256::from(DEFAULT_MIN_AMOUNT),
            min_amounts: Vec::new(),
        }
    }
}

/// Why a payment is not one this facilitator settles. Each variant maps to one reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefusal {
    #[error(
        "asset {asset} is not settled on {network} by this facilitator (its known stablecoins and ASSET_ALLOWLIST_{suffix} are)"
    )]
    AssetNotAllowed { asset: String, network: &'static str, suffix: String },
    #[error("amount {amount} is below the minimum {minimum}")]
    AmountBelowMinimum { amount: U256, minimum: U256 },
    #[error("payTo {pay_to} is the payer")]
    SelfPayment { pay_to: String },
}

impl PolicyRefusal {
    pub fn reason(&self) -> Reason {
        match self {
            PolicyRefusal::AssetNotAllowed { .. } => Reason::AssetNotAllowed,
            PolicyRefusal::AmountBelowMinimum { .. } => Reason::AmountBelowMinimum,
            PolicyRefusal::SelfPayment { .. } => Reason::SelfPayment,
        }
    }
}

/// What the policy reads of a decoded payload (the scheme registry's `Payload` answers it).
pub trait PaymentFacts {
    /// Who pays, in any spelling [`canonical_address`] reads (responses report the payer in their own).
    fn payer_address(&self) -> String;
    /// The amount the payer signed, when the payload states one apart from the requirements.
    fn signed_amount(&self) -> Option<U256>;
    /// The most the payment may move, when the payer signed a cap and the requirements' amount is the
    /// charge (the standard `upto`: the cap at verify, the charge at settle, which may be zero).
    fn cap(&self) -> Option<U256> {
        None
    }
}

impl PaymentPolicy {
    /// Every rule, as the facilitator runs them before verify or settle: the asset, then
    /// [`PaymentPolicy::check_amounts_and_payer`].
    pub fn check<P: PaymentFacts>(&self, request: &PaymentRequest<P>) -> Result<(), PolicyRefusal> {
        self.check_asset(request.network, &request.requirements.asset)?;
        self.check_amounts_and_payer(request)
    }

    /// The rules that need no asset list (the npm verifiers run them with the default policy): the
    /// requirements' amount and a signed EIP-3009 value at least the minimum, the payer not `payTo`.
    /// A capped payment's cap must reach the minimum, and its charge too unless it is zero (a zero
    /// charge sends nothing, so it costs no gas).
    pub fn check_amounts_and_payer<P: PaymentFacts>(&self, request: &PaymentRequest<P>) -> Result<(), PolicyRefusal> {
        let (network, required) = (request.network, &request.requirements);
        let cap = request.payload.cap();
        if cap.is_none() || !required.amount.is_zero() {
            self.check_amount(network, &required.asset, required.amount)?;
        }
        if let Some(signed) = request.payload.signed_amount().or(cap) {
            self.check_amount(network, &required.asset, signed)?;
        }
        check_not_self_payment(network.family, &request.payload.payer_address(), &required.pay_to)
    }

    /// The asset is a known stablecoin of `network`, allowlisted for it, or any asset is allowed.
    pub fn check_asset(&self, network: &'static Network, asset: &str) -> Result<(), PolicyRefusal> {
        if self.allow_any_asset {
            return Ok(());
        }
        let canonical = canonical_address(network.family, asset);
        let known = network.known_stablecoins().any(|s| canonical_address(network.family, s) == canonical);
        let listed = || self.allowed_assets.iter().any(|(n, a)| *n == network.name && Some(a) == canonical.as_ref());
        if canonical.is_some() && (known || listed()) {
            return Ok(());
        }
        Err(PolicyRefusal::AssetNotAllowed {
            asset: asset.to_string(),
            network: network.name,
            suffix: network.env_suffix(),
        })
    }

    /// The least amount of `asset` on `network`: its own, else the network's, else `MIN_AMOUNT`; never
    /// below 1, whatever is configured: a zero-value payment is always refused.
    pub fn min_amount(&self, network: &Network, asset: &str) -> U256 {
        let canonical = canonical_address(network.family, asset);
        let on_network = || self.min_amounts.iter().filter(|(n, _, _)| *n == network.name);
        let own = on_network().find(|(_, a, _)| a.is_some() && *a == canonical);
        let network_wide = || on_network().find(|(_, a, _)| a.is_none());
        let configured = own.or_else(network_wide).map_or(self.min_amount, |(_, _, minimum)| *minimum);
        configured.max(U256::from(DEFAULT_MIN_AMOUNT))
    }

    pub fn check_amount(&self, network: &Network, asset: &str, amount: U256) -> Result<(), PolicyRefusal> {
        let minimum = self.min_amount(network, asset);
        if amount < minimum {
            return Err(PolicyRefusal::AmountBelowMinimum { amount, minimum });
        }
        Ok(())
    }
}

/// A payment whose payer is its recipient is refused (`payer` as the scheme reports it: the EIP-3009
/// `from`, the permit owner, the Solana transfer authority, the Starknet account).
pub fn check_not_self_payment(family: Family, payer: &str, pay_to: &str) -> Result<(), PolicyRefusal> {
    match (canonical_address(family, payer), canonical_address(family, pay_to)) {
        (Some(payer), Some(recipient)) if payer == recipient => {
            Err(PolicyRefusal::SelfPayment { pay_to: pay_to.to_string() })
        }
        _ => Ok(()),
    }
}

/// One spelling per address, to compare: EVM lowercase hex (any case accepted), Solana base58 (exact),
/// Starknet lowercase hex without leading zeros (a felt of up to 64 hex digits). `None` when `text` is
/// not an address of the family.
pub fn canonical_address(family: Family, text: &str) -> Option<String> {
    match family {
        Family::Evm => parse_evm_address(text.trim()).map(|a| format!("{a:#x}")),
        Family::Solana => text.trim().parse::<Pubkey>().ok().map(|k| k.to_base58()),
        Family::Starknet => canonical_felt(text.trim()),
    }
}

fn canonical_felt(text: &str) -> Option<String> {
    let hex = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X"))?;
    let digits = hex.trim_start_matches('0').to_ascii_lowercase();
    if hex.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!("0x{}", if digits.is_empty() { "0" } else { &digits }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::find;

    const BASE_USDC: &str = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";
    const OTHER: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

    fn net(name: &str) -> &'static Network {
        find(name).unwrap()
    }

    #[test]
    fn by_default_only_the_known_stablecoins_are_settled() {
        let policy = PaymentPolicy::default();
        assert_eq!(policy.check_asset(net("base"), &BASE_USDC.to_lowercase()), Ok(()));
        let refused = policy.check_asset(net("base"), OTHER).unwrap_err();
        assert_eq!(refused.reason().code(crate::protocol::Version::V2), "asset_not_allowed");
        assert!(refused.to_string().contains("ASSET_ALLOWLIST_BASE"), "{refused}");
        // Base's USDC is not a stablecoin of Base Sepolia.
        assert!(policy.check_asset(net("base-sepolia"), BASE_USDC).is_err());
        let devnet_usdc = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
        assert_eq!(policy.check_asset(net("solana-devnet"), devnet_usdc), Ok(()));
        assert!(policy.check_asset(net("solana-devnet"), &devnet_usdc.to_lowercase()).is_err(), "base58 is exact");
        let sepolia_usdc = "0x53b40a647cedfca6ca84f542a0fe36736031905a9639a7f19a3c1e66bfd5080";
        assert_eq!(policy.check_asset(net("starknet-sepolia"), sepolia_usdc), Ok(()));
        assert_eq!(policy.check_asset(net("cronos-testnet"), "0xc01efaaf7c5c61bebfaeb358e1161b537b8bc0e0"), Ok(()));
        assert!(policy.check_asset(net("base"), "not an address").is_err());
    }

    #[test]
    fn the_allowlist_adds_assets_per_network_and_allow_any_asset_takes_every_token() {
        let policy = PaymentPolicy {
            allowed_assets: vec![
                ("base-sepolia", canonical_address(Family::Evm, OTHER).unwrap()),
                ("starknet-sepolia", canonical_address(Family::Starknet, "0x0004718F5A").unwrap()),
            ],
            ..PaymentPolicy::default()
        };
        assert_eq!(policy.check_asset(net("base-sepolia"), &OTHER.to_uppercase().replace("0X", "0x")), Ok(()));
        assert!(policy.check_asset(net("base"), OTHER).is_err(), "only on the network it names");
        assert_eq!(policy.check_asset(net("starknet-sepolia"), "0x4718f5a"), Ok(()));
        let any = PaymentPolicy { allow_any_asset: true, ..PaymentPolicy::default() };
        assert_eq!(any.check_asset(net("base"), OTHER), Ok(()));
        assert_eq!(any.check_asset(net("solana"), "11111111111111111111111111111111"), Ok(()));
    }

    #[test]
    fn the_minimum_is_the_assets_own_else_the_networks_else_the_default_which_refuses_zero() {
        let policy = PaymentPolicy::default();
        let refused = policy.check_amount(net("base"), BASE_USDC, U256::ZERO).unwrap_err();
        assert_eq!(refused.reason().code(crate::protocol::Version::V2), "amount_below_minimum");
        assert_eq!(refused.reason().code(crate::protocol::Version::V1), "invalid_payment_requirements");
        assert_eq!(policy.check_amount(net("base"), BASE_USDC, U256::from(1)), Ok(()));
        let policy = PaymentPolicy {
            min_amount: U256::from(5),
            min_amounts: vec![
                ("base", Some(canonical_address(Family::Evm, BASE_USDC).unwrap()), U256::from(1_000)),
                ("base", None, U256::from(100)),
            ],
            ..PaymentPolicy::default()
        };
        assert_eq!(policy.min_amount(net("base"), &BASE_USDC.to_lowercase()), U256::from(1_000));
        assert_eq!(policy.min_amount(net("base"), OTHER), U256::from(100));
        assert_eq!(policy.min_amount(net("base-sepolia"), OTHER), U256::from(5));
        assert!(policy.check_amount(net("base"), BASE_USDC, U256::from(999)).is_err());
        let zero_configured = PaymentPolicy {
            min_amount: U256::ZERO,
            min_amounts: vec![("base", None, U256::ZERO)],
            ..PaymentPolicy::default()
        };
        assert!(
            zero_configured.check_amount(net("base"), OTHER, U256::ZERO).is_err(),
            "MIN_AMOUNT=0 never admits zero"
        );
        assert!(zero_configured.check_amount(net("base-sepolia"), OTHER, U256::ZERO).is_err());
    }

    #[test]
    fn a_payment_to_oneself_is_refused_however_the_address_is_spelled() {
        let refused = check_not_self_payment(Family::Evm, OTHER, &OTHER.to_lowercase()).unwrap_err();
        assert_eq!(refused.reason().code(crate::protocol::Version::V2), "self_payment");
        assert_eq!(check_not_self_payment(Family::Evm, OTHER, BASE_USDC), Ok(()));
        assert!(check_not_self_payment(Family::Starknet, "0x00abc", "0xABC").is_err());
        let padded = format!("0x{}abc", "0".repeat(70));
        assert!(check_not_self_payment(Family::Starknet, &padded, "0xabc").is_err(), "any number of leading zeros");
        assert!(check_not_self_payment(Family::Starknet, "0xabc", "0xabd").is_ok());
        let key = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
        assert!(check_not_self_payment(Family::Solana, key, key).is_err());
        assert!(check_not_self_payment(Family::Solana, key, "11111111111111111111111111111111").is_ok());
    }
}
