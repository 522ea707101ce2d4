//! Configuration from environment variables, named as users of the daydreams facilitator know them
//! (protocol digest §10). Parsing never fails: problems are collected by variable name, and the API
//! reports them on every request until they are fixed. Values are never echoed (RPC URLs and keys are
//! secrets).

//!
//! One file per concern, each reading and checking its own variables: `evm`, `svm`, `starknet`, `upto`,
//! `access` (keys, limits, the payment policy); `values` has the readers they share.

mod access;
mod evm;
#[cfg(feature = "starknet")]
mod starknet;
mod svm;
#[cfg(test)]
mod tests;
mod upto;
mod values;

use alloy_primitives::Address;

pub use access::{Access, PayToAllowlist};
pub use evm::{EvmNetworkConfig, GasLimits, Settings, DEFAULT_EVM_NETWORKS};
#[cfg(feature = "starknet")]
pub use starknet::{StarknetNetworkConfig, StarknetSettlement};
pub use svm::{SvmNetworkConfig, SvmSettings, DEFAULT_SVM_NETWORKS};
pub use upto::{UptoConfig, UptoSettleMode, DEFAULT_UPTO_MAX_SESSIONS_PER_OWNER};

use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::svm::Keypair;
use crate::network::Network;
use crate::policy::PaymentPolicy;
use values::integer;
pub use values::ConfigProblem;

#[derive(Debug)]
pub struct Config {
    pub upto: UptoConfig,
    /// Which assets are settled and their least amounts (`ALLOW_ANY_ASSET`, `ASSET_ALLOWLIST_<NAME>`,
    /// `MIN_AMOUNT[_<NAME>]`).
    pub policy: PaymentPolicy,
    pub access: Access,
    pub evm_networks: Vec<EvmNetworkConfig>,
    /// The facilitator's EVM accounts (`EVM_PRIVATE_KEY`, comma-separated); settles are spread over them.
    pub evm_signers: Vec<LocalEvmSigner>,
    /// `EVM_LOCATION_HINT`: where the signer objects (and the EIP-3009 ledger entries they keep) are
    /// created, near the RPC provider.
    pub evm_location_hint: Option<&'static str>,
    /// `EVM_SYNC_SEND` (`on` by default): broadcast with EIP-7966's `eth_sendRawTransactionSync`
    /// where the node has it. `off` for a provider that mishandles it, or a host whose transport
    /// cannot be interrupted (the wait is bounded by racing it).
    pub evm_sync_send: bool,
    /// `EIP6492_ALLOWED_FACTORIES`: the only factories through which the facilitator deploys a payer's
    /// counterfactual wallet (it pays that gas). Empty, the default, refuses every undeployed wallet.
    pub eip6492_factories: Vec<Address>,
    /// `PERMIT2_ERC20_APPROVAL_SPONSORING`: the `erc20ApprovalGasSponsoring` extension is on.
    pub permit2_erc20_approval: bool,
    pub settings: Settings,
    pub svm_networks: Vec<SvmNetworkConfig>,
    /// The facilitator's Solana fee payers (`SVM_PRIVATE_KEY`, comma-separated base58 secret keys).
    pub svm_fee_payers: Vec<Keypair>,
    pub svm: SvmSettings,
    /// `STARKNET_NETWORKS` (opt-in: none by default), each with its sponsor and settlement mode.
    #[cfg(feature = "starknet")]
    pub starknet_networks: Vec<StarknetNetworkConfig>,
    /// `STARKNET_CONFIRM_TIMEOUT_SECONDS`: how long a settle waits for `ACCEPTED_ON_L2`.
    pub starknet_confirm_timeout_secs: u64,
    /// The host keeps a discovery catalog (the Worker with its `DISCOVERY_DB` binding): `/supported`
    /// advertises the `bazaar` extension. Not a variable: the host sets it.
    pub discovery: bool,
    pub problems: Vec<ConfigProblem>,
}

/// What a build without Starknet or Permit2 (`WORKER_FEATURES`) is asked to serve is a problem, never
/// silently not served.
fn not_built(get: &impl Fn(&str) -> Option<String>, erc20_approval: bool, problem: &mut impl FnMut(&str, String)) {
    let missing = |feature: &str| format!("this Worker was built without {feature} (WORKER_FEATURES)");
    if cfg!(not(feature = "starknet")) && get("STARKNET_NETWORKS").is_some() {
        problem("STARKNET_NETWORKS", missing("Starknet"));
    }
    if cfg!(not(feature = "permit2")) && erc20_approval {
        problem("PERMIT2_ERC20_APPROVAL_SPONSORING", missing("Permit2"));
    }
}

impl Config {
    /// Reads the configuration through `get` (Worker vars and secrets, or process env).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Config {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        let mut problem = |variable: &str, text: String| {
            problems.push(ConfigProblem { variable: variable.to_string(), problem: text })
        };

        let evm_signers = evm::signers(&get, &mut problem);
        let evm_networks = evm::networks(&get, &mut problem);
        let settings = evm::settings(&get, &mut problem);
        let evm_location_hint = evm::location_hint(&get, &mut problem);
        let evm_sync_send = evm::sync_send(&get, &mut problem);
        let access = access::read(&get, &mut problem);
        let upto = upto::read(&get, &mut problem, !access.api_keys.is_empty());
        let policy = access::payment_policy(&get, &mut problem);
        let eip6492_factories = evm::factories(&get, &mut problem);
        let permit2_erc20_approval = evm::erc20_approval_sponsoring(&get, &mut problem);
        not_built(&get, permit2_erc20_approval, &mut problem);
        let svm_fee_payers = svm::fee_payers(&get, &mut problem);
        let svm_networks = svm::networks(&get, &mut problem);
        let svm = svm::settings(&get, &mut problem);
        #[cfg(feature = "starknet")]
        let starknet_networks = starknet::networks(&get, &mut problem);
        let starknet_confirm_timeout_secs =
            integer(&get, &mut problem, "STARKNET_CONFIRM_TIMEOUT_SECONDS", 60, 1..=600);
        Config {
            upto,
            policy,
            access,
            evm_networks,
            evm_signers,
            evm_location_hint,
            evm_sync_send,
            eip6492_factories,
            permit2_erc20_approval,
            settings,
            svm_networks,
            svm_fee_payers,
            svm,
            #[cfg(feature = "starknet")]
            starknet_networks,
            starknet_confirm_timeout_secs,
            discovery: false,
            problems,
        }
    }

    /// The configuration of a network this facilitator serves, if it does.
    /// How long a synchronous send may wait for its receipt, or `None` for plain sends.
    pub fn evm_sync_send_wait_ms(&self) -> Option<u64> {
        self.evm_sync_send.then(|| self.settings.sync_send_wait_ms())
    }

    pub fn evm(&self, network: &Network) -> Option<&EvmNetworkConfig> {
        self.evm_signers.first()?;
        self.evm_networks.iter().find(|c| c.network == network)
    }

    /// The configuration of a Solana network this facilitator serves (it has a fee payer), if it does.
    pub fn svm(&self, network: &Network) -> Option<&SvmNetworkConfig> {
        self.svm_fee_payers.first()?;
        self.svm_networks.iter().find(|c| c.network == network)
    }

    /// The configuration of a Starknet network this facilitator serves, if it does.
    #[cfg(feature = "starknet")]
    pub fn starknet(&self, network: &Network) -> Option<&StarknetNetworkConfig> {
        self.starknet_networks.iter().find(|c| c.network == network)
    }

    #[cfg(feature = "starknet")]
    fn serves_starknet(&self, network: &Network) -> bool {
        self.starknet(network).is_some()
    }

    /// Built without Starknet, no Starknet network is served.
    #[cfg(not(feature = "starknet"))]
    fn serves_starknet(&self, _network: &Network) -> bool {
        false
    }

    /// Whether this facilitator settles on `network` (configured, with a key to settle with).
    pub fn serves(&self, network: &Network) -> bool {
        self.evm(network).is_some() || self.svm(network).is_some() || self.serves_starknet(network)
    }

    /// The networks served, EVM first, then Solana, then Starknet, in configuration order.
    pub fn served(&self) -> Vec<&'static Network> {
        let evm = self.evm_networks.iter().map(|c| c.network);
        let svm = self.svm_networks.iter().map(|c| c.network);
        #[cfg(feature = "starknet")]
        let starknet: Vec<&'static Network> = self.starknet_networks.iter().map(|c| c.network).collect();
        #[cfg(not(feature = "starknet"))]
        let starknet: Vec<&'static Network> = Vec::new();
        evm.chain(svm).chain(starknet).filter(|n| self.serves(n)).collect()
    }

    /// Networks that are listed but cannot be served, and why.
    pub fn unserved(&self) -> Vec<String> {
        let missing =
            |network: &Network, variable: &str| format!("{}: {variable} is not set, so it cannot settle", network.name);
        let evm = self.evm_networks.iter().filter(|_| self.evm_signers.is_empty());
        let svm = self.svm_networks.iter().filter(|_| self.svm_fee_payers.is_empty());
        evm.map(|c| missing(c.network, "EVM_PRIVATE_KEY"))
            .chain(svm.map(|c| missing(c.network, "SVM_PRIVATE_KEY")))
            .collect()
    }
}
