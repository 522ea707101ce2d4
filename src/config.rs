//! Configuration from environment variables, named as users of the daydreams facilitator know them
//! (protocol digest §10). Parsing never fails: problems are collected by variable name, and the API
//! reports them on every request until they are fixed. Values are never echoed (RPC URLs and keys are
//! secrets).

use std::fmt;

use crate::access::ApiKeys;
use crate::chains::evm::signer::LocalEvmSigner;
use crate::chains::svm::{Keypair, Pubkey};
use crate::network::{self, Family, Network};
use crate::policy::{canonical_address, PaymentPolicy};
use crate::ports::EvmSigner;
use crate::protocol::normalize::parse_evm_address;
use alloy_primitives::{Address, U256};

pub const DEFAULT_EVM_NETWORKS: &str = "base,base-sepolia";
pub const DEFAULT_SVM_NETWORKS: &str = "solana-devnet";
const DEFAULT_RECEIPT_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    pub variable: String,
    pub problem: String,
}

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

/// How a Starknet network's payments are submitted.
#[cfg(feature = "starknet")]
pub enum StarknetSettlement {
    /// The facilitator's own account submits `execute_from_outside_v2` and pays the fee.
    SelfSponsored { key: crate::chains::starknet::StarkKey },
    /// A SNIP-29 paymaster executes the signed typed data (`paymaster_executeTransaction`).
    Paymaster { endpoint: String, api_key: Option<String> },
}

/// One Starknet network the facilitator serves.
#[cfg(feature = "starknet")]
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

#[cfg(feature = "starknet")]
impl fmt::Debug for StarknetNetworkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.settlement {
            StarknetSettlement::SelfSponsored { .. } => "self-sponsored",
            StarknetSettlement::Paymaster { .. } => "paymaster",
        };
        write!(f, "StarknetNetworkConfig({}, {mode}, rpc: <redacted>)", self.network.name)
    }
}

/// What the facilitator pays for as a Solana fee payer, and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvmSettings {
    /// The highest compute unit limit a payment may ask for: with the spec's price cap (5 lamports
    /// per unit) it bounds the priority fee the fee payer pays per transaction.
    pub max_compute_unit_limit: u32,
    /// How long a settle polls `getSignatureStatuses` before answering that the outcome is unknown.
    pub confirm_timeout_secs: u64,
}

/// A TransferChecked uses about 6k compute units, 30k with Token-2022 extensions; `@x402/svm` asks for 20k.
/// At the spec's price cap (5 lamports per unit) 50k units bound the priority fee to 250,000 lamports.
const DEFAULT_SVM_MAX_COMPUTE_UNIT_LIMIT: u64 = 50_000;
/// The reference polls once a second, 30 times (digest §5.3).
const DEFAULT_SVM_CONFIRM_TIMEOUT_SECS: u64 = 30;

/// Guard rails on what one settle may spend in gas: a transaction above either is never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GasLimits {
    pub max_fee_per_gas_wei: u128,
    pub max_gas_per_settle: u64,
    /// The gas limit of deploying a payer's counterfactual wallet (ERC-6492), which settles pay first.
    pub max_gas_per_deployment: u64,
}

const GWEI: u128 = 1_000_000_000;
const DEFAULT_MAX_FEE_PER_GAS_GWEI: u64 = 1_000;
const DEFAULT_MAX_GAS_PER_SETTLE: u64 = 300_000;
/// Typical ERC-4337 account deployments take 150k to 350k gas.
const DEFAULT_MAX_GAS_PER_DEPLOYMENT: u64 = 500_000;
const DEFAULT_RPC_TIMEOUT_MS: u64 = 10_000;
/// Longer than a block on every chain served (Ethereum's is 12 s), so a bump means the fee was too low.
const DEFAULT_FEE_BUMP_AFTER_SECS: u64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a settle waits for its receipt before answering that the outcome is unknown.
    pub receipt_timeout_secs: u64,
    /// How long one RPC request may take before it fails over to the next endpoint.
    pub rpc_timeout_ms: u64,
    /// How long a settle's transaction may sit unmined before it is replaced with a fee bump.
    pub fee_bump_after_secs: u64,
}

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

/// What `/settle` of an `upto` payment does (`UPTO_SETTLE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UptoSettleMode {
    /// Capture the amount into the session; the sweeper settles batches (the default).
    Capture,
    /// Settle the amount on chain at once, for resource servers that keep their own sessions.
    Immediate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UptoConfig {
    pub mode: UptoSettleMode,
    pub thresholds: crate::upto::Thresholds,
    /// `UPTO_REQUIRE_API_KEY` (default: on when `FACILITATOR_API_KEYS` is set): a session belongs to
    /// the API key that opened it; payments, reads and closes under another key find no session.
    pub require_api_key: bool,
    /// `UPTO_MAX_SESSIONS_PER_OWNER`: sessions one permit owner may have open at once.
    pub max_sessions_per_owner: usize,
}

/// Sessions one owner may have open at once, by default: one per (network, token, spender) is all an
/// owner ever needs; this bounds what one payer can make the sweeper look at.
pub const DEFAULT_UPTO_MAX_SESSIONS_PER_OWNER: u64 = 8;
/// 1 STRK: a sponsored transfer costs about a hundredth of that on Starknet today.
#[cfg(feature = "starknet")]
const DEFAULT_STARKNET_MAX_FEE_FRI: u128 = 1_000_000_000_000_000_000;

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
    /// `EIP6492_ALLOWED_FACTORIES`: the only factories through which the facilitator deploys a payer's
    /// counterfactual wallet (it pays that gas). Empty, the default, refuses every undeployed wallet.
    pub eip6492_factories: Vec<Address>,
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
    pub problems: Vec<ConfigProblem>,
}

impl Config {
    /// Reads the configuration through `get` (Worker vars and secrets, or process env).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Config {
        let get = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let mut problems = Vec::new();
        let mut problem = |variable: &str, text: String| {
            problems.push(ConfigProblem { variable: variable.to_string(), problem: text })
        };

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

        let max_gas_per_settle =
            integer(&get, &mut problem, "EVM_MAX_GAS_PER_SETTLE", DEFAULT_MAX_GAS_PER_SETTLE, 21_000..=30_000_000);
        let max_gas_per_deployment = integer(
            &get,
            &mut problem,
            "EVM_MAX_GAS_PER_DEPLOYMENT",
            DEFAULT_MAX_GAS_PER_DEPLOYMENT,
            21_000..=30_000_000,
        );
        let default_fee_cap =
            integer(&get, &mut problem, "EVM_MAX_FEE_PER_GAS_GWEI", DEFAULT_MAX_FEE_PER_GAS_GWEI, 1..=1_000_000);
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
            let fee_cap_gwei = integer(&get, &mut problem, &fee_cap_variable, default_fee_cap, 1..=1_000_000);
            let max_fee_per_gas_wei = u128::from(fee_cap_gwei) * GWEI;
            let gas = GasLimits { max_fee_per_gas_wei, max_gas_per_settle, max_gas_per_deployment };
            match evm_rpc_urls(network, &get) {
                Ok(rpc_urls) => evm_networks.push(EvmNetworkConfig { network, gas, rpc_urls }),
                Err(p) => problem(&p.variable, p.problem),
            }
        }

        let receipt_timeout_secs =
            integer(&get, &mut problem, "EVM_RECEIPT_TIMEOUT_SECONDS", DEFAULT_RECEIPT_TIMEOUT_SECS, 1..=600);
        let rpc_timeout_ms = integer(&get, &mut problem, "EVM_RPC_TIMEOUT_MS", DEFAULT_RPC_TIMEOUT_MS, 100..=120_000);
        let fee_bump_after_secs =
            integer(&get, &mut problem, "EVM_FEE_BUMP_SECONDS", DEFAULT_FEE_BUMP_AFTER_SECS, 1..=600);
        let access = access(&get, &mut problem);
        let upto = upto(&get, &mut problem, !access.api_keys.is_empty());
        let policy = payment_policy(&get, &mut problem);
        let eip6492_factories = addresses(&get, &mut problem, "EIP6492_ALLOWED_FACTORIES").unwrap_or_default();
        let svm_fee_payers = svm_fee_payers(&get, &mut problem);
        let svm_networks = svm_networks(&get, &mut problem);
        let svm = SvmSettings {
            max_compute_unit_limit: integer(
                &get,
                &mut problem,
                "SVM_MAX_COMPUTE_UNIT_LIMIT",
                DEFAULT_SVM_MAX_COMPUTE_UNIT_LIMIT,
                1..=1_400_000,
            ) as u32,
            confirm_timeout_secs: integer(
                &get,
                &mut problem,
                "SVM_CONFIRM_TIMEOUT_SECONDS",
                DEFAULT_SVM_CONFIRM_TIMEOUT_SECS,
                1..=600,
            ),
        };
        #[cfg(feature = "starknet")]
        let starknet_networks = starknet_networks(&get, &mut problem);
        let starknet_confirm_timeout_secs =
            integer(&get, &mut problem, "STARKNET_CONFIRM_TIMEOUT_SECONDS", 60, 1..=600);
        Config {
            upto,
            policy,
            access,
            evm_networks,
            evm_signers,
            eip6492_factories,
            settings: Settings { receipt_timeout_secs, rpc_timeout_ms, fee_bump_after_secs },
            svm_networks,
            svm_fee_payers,
            svm,
            #[cfg(feature = "starknet")]
            starknet_networks,
            starknet_confirm_timeout_secs,
            problems,
        }
    }

    /// The configuration of a network this facilitator serves, if it does.
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

fn access(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> Access {
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
fn payment_policy(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> PaymentPolicy {
    let allow_any_asset = match get("ALLOW_ANY_ASSET").as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => {
            problem("ALLOW_ANY_ASSET", "must be `true` or `false`".into());
            false
        }
    };
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

/// The non-empty entries of a comma-separated variable.
fn entries(list: Option<String>) -> Vec<String> {
    let list = list.unwrap_or_default();
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(String::from).collect()
}

fn upto(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String), keys: bool) -> UptoConfig {
    let require_api_key = match get("UPTO_REQUIRE_API_KEY").as_deref() {
        None => keys,
        Some("true") if !keys => {
            problem("UPTO_REQUIRE_API_KEY", "is `true` but FACILITATOR_API_KEYS sets no key".into());
            true
        }
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            problem("UPTO_REQUIRE_API_KEY", "must be `true` or `false`".into());
            keys
        }
    };
    let max_sessions_per_owner =
        integer(get, problem, "UPTO_MAX_SESSIONS_PER_OWNER", DEFAULT_UPTO_MAX_SESSIONS_PER_OWNER, 1..=1_000) as usize;
    let mode = match get("UPTO_SETTLE_MODE").as_deref() {
        None | Some("capture") => UptoSettleMode::Capture,
        Some("immediate") => UptoSettleMode::Immediate,
        Some(_) => {
            problem("UPTO_SETTLE_MODE", "must be `capture` or `immediate`".into());
            UptoSettleMode::Capture
        }
    };
    let d = crate::upto::Thresholds::default();
    let mut secs =
        |variable: &str, default_ms: u64| integer(get, problem, variable, default_ms / 1000, 1..=86_400) * 1000;
    let idle_settle_ms = secs("UPTO_IDLE_SETTLE_SECONDS", d.idle_settle_ms);
    let long_idle_close_ms = secs("UPTO_LONG_IDLE_CLOSE_SECONDS", d.long_idle_close_ms);
    let settling_timeout_ms = secs("UPTO_SETTLING_TIMEOUT_SECONDS", d.settling_timeout_ms);
    let deadline_buffer_secs = secs("UPTO_DEADLINE_BUFFER_SECONDS", d.deadline_buffer_secs * 1000) / 1000;
    let cap_percent = integer(get, problem, "UPTO_CAP_THRESHOLD_PERCENT", d.cap_percent, 1..=100);
    let thresholds = crate::upto::Thresholds {
        idle_settle_ms,
        deadline_buffer_secs,
        cap_percent,
        long_idle_close_ms,
        settling_timeout_ms,
    };
    UptoConfig { mode, thresholds, require_api_key, max_sessions_per_owner }
}

/// A comma-separated list of EVM addresses, when the variable is set.
fn addresses(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
    variable: &str,
) -> Option<Vec<Address>> {
    get(variable).map(|list| {
        let mut addresses = Vec::new();
        for (index, entry) in list.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            match parse_evm_address(entry) {
                Some(address) => addresses.push(address),
                None => problem(variable, format!("entry #{} is not an EVM address", index + 1)),
            }
        }
        addresses
    })
}

/// An integer variable within `range`, else its default and a problem.
fn integer(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
    variable: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> u64 {
    match get(variable) {
        None => default,
        Some(text) => text.parse().ok().filter(|v| range.contains(v)).unwrap_or_else(|| {
            problem(variable, format!("must be an integer from {} to {}", range.start(), range.end()));
            default
        }),
    }
}

fn svm_fee_payers(get: &impl Fn(&str) -> Option<String>, problem: &mut impl FnMut(&str, String)) -> Vec<Keypair> {
    let mut fee_payers: Vec<Keypair> = Vec::new();
    for (index, key) in get("SVM_PRIVATE_KEY").unwrap_or_default().split(',').map(str::trim).enumerate() {
        if key.is_empty() {
            continue;
        }
        match Keypair::from_secret(key) {
            Ok(k) if fee_payers.iter().all(|f| f.pubkey() != k.pubkey()) => fee_payers.push(k),
            Ok(_) => problem("SVM_PRIVATE_KEY", format!("key #{} repeats an earlier key", index + 1)),
            Err(e) => problem("SVM_PRIVATE_KEY", format!("key #{}: {e}", index + 1)),
        }
    }
    fee_payers
}

/// `SVM_NETWORKS` (default `solana-devnet`), each on `SVM_RPC_URL_<NAME>`, else Helius with
/// `HELIUS_API_KEY`, else the public RPC.
fn svm_networks(
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

/// `STARKNET_NETWORKS` (none by default). Each network needs `STARKNET_SPONSOR_ADDRESS[_<NAME>]` and
/// either `STARKNET_PAYMASTER_ENDPOINT[_<NAME>]` (a SNIP-29 paymaster executes) or
/// `STARKNET_SPONSOR_PRIVATE_KEY[_<NAME>]` (the sponsor account submits itself); RPCs from
/// `STARKNET_RPC_URL_<NAME>`, else Alchemy, else the public endpoint.
#[cfg(feature = "starknet")]
fn starknet_networks(
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

const URL_LIST_PROBLEM: &str = "must be http:// or https:// URLs, comma-separated";

/// A comma-separated list of http(s) URLs; `None` when empty or when one is not http(s).
fn url_list(list: &str) -> Option<Vec<String>> {
    let urls: Vec<String> = list.split(',').map(str::trim).filter(|u| !u.is_empty()).map(String::from).collect();
    let valid = !urls.is_empty() && urls.iter().all(|u| u.starts_with("http://") || u.starts_with("https://"));
    valid.then_some(urls)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_env(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_to_base_and_base_sepolia_on_public_rpcs() {
        let c = config(&[("EVM_PRIVATE_KEY", KEY)]);
        assert!(c.problems.is_empty());
        let names: Vec<_> = c.evm_networks.iter().map(|n| n.network.name).collect();
        assert_eq!(names, ["base", "base-sepolia"]);
        assert_eq!(c.evm_networks[1].rpc_urls, ["https://sepolia.base.org"]);
    }

    #[test]
    fn rpc_priority_is_explicit_then_alchemy_then_infura_then_public() {
        let c = config(&[
            ("EVM_NETWORKS", "base-sepolia, polygon,avalanche,abstract"),
            ("EVM_RPC_URL_BASE_SEPOLIA", "http://127.0.0.1:8545"),
            ("ALCHEMY_API_KEY", "alk"),
            ("INFURA_API_KEY", "ifk"),
        ]);
        let urls: Vec<_> = c.evm_networks.iter().map(|n| n.rpc_urls[0].as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:8545",
                "https://polygon-mainnet.g.alchemy.com/v2/alk",
                "https://avax-mainnet.g.alchemy.com/v2/alk",
                "https://abstract-mainnet.g.alchemy.com/v2/alk",
            ]
        );
        let c = config(&[("EVM_NETWORKS", "avalanche-fuji"), ("INFURA_API_KEY", "ifk")]);
        assert_eq!(c.evm_networks[0].rpc_urls, ["https://avalanche-fuji.infura.io/v3/ifk"]);
        let c = config(&[("EVM_NETWORKS", "base"), ("EVM_RPC_URL_BASE", "http://127.0.0.1:1, http://127.0.0.1:2")]);
        assert_eq!(c.evm_networks[0].rpc_urls, ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
    }

    #[test]
    fn problems_are_reported_by_name_without_values() {
        let c = config(&[
            ("EVM_NETWORKS", "base,notachain,solana"),
            ("EVM_RPC_URL_BASE", "ftp://secret-host"),
            ("EVM_PRIVATE_KEY", "0xdeadbeef"),
            ("EVM_RECEIPT_TIMEOUT_SECONDS", "forever"),
        ]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(
            vars,
            ["EVM_PRIVATE_KEY", "EVM_RPC_URL_BASE", "EVM_NETWORKS", "EVM_NETWORKS", "EVM_RECEIPT_TIMEOUT_SECONDS"]
        );
        let text = serde_json::to_string(&c.problems).unwrap();
        assert!(!text.contains("secret-host") && !text.contains("deadbeef"));
    }

    #[test]
    fn gas_ceilings_have_defaults_and_per_network_overrides() {
        let c = config(&[
            ("EVM_NETWORKS", "base,polygon"),
            ("EVM_MAX_FEE_PER_GAS_GWEI_POLYGON", "3000"),
            ("EVM_MAX_GAS_PER_SETTLE", "200000"),
        ]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let gas = GasLimits {
            max_fee_per_gas_wei: 1_000 * GWEI,
            max_gas_per_settle: 200_000,
            max_gas_per_deployment: 500_000,
        };
        assert_eq!(c.evm_networks[0].gas, gas);
        assert_eq!(c.evm_networks[1].gas.max_fee_per_gas_wei, 3_000 * GWEI);
        let c = config(&[("EVM_MAX_GAS_PER_SETTLE", "5"), ("EVM_RPC_TIMEOUT_MS", "0")]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(vars, ["EVM_MAX_GAS_PER_SETTLE", "EVM_RPC_TIMEOUT_MS"]);
    }

    #[test]
    fn several_keys_make_several_signers() {
        let other = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        let c = config(&[("EVM_PRIVATE_KEY", &format!("{KEY}, {other}"))]);
        assert!(c.problems.is_empty());
        assert_eq!(c.evm_signers.len(), 2);
        let c = config(&[("EVM_PRIVATE_KEY", &format!("{KEY},{KEY},0x12"))]);
        let problems: Vec<_> = c.problems.iter().map(|p| p.problem.as_str()).collect();
        assert_eq!(problems, ["key #2 repeats an earlier key", "key #3: not a 32-byte hex secp256k1 private key"]);
        assert_eq!(c.evm_signers.len(), 1);
    }

    #[test]
    fn upto_sessions_are_bound_to_api_keys_by_default_when_keys_are_set() {
        assert!(config(&[("FACILITATOR_API_KEYS", "fac_a")]).upto.require_api_key);
        let off = config(&[("FACILITATOR_API_KEYS", "fac_a"), ("UPTO_REQUIRE_API_KEY", "false")]);
        assert!(!off.upto.require_api_key && off.problems.is_empty());
        let keyless = config(&[("UPTO_REQUIRE_API_KEY", "true")]);
        let vars: Vec<_> = keyless.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(vars, ["UPTO_REQUIRE_API_KEY"]);
        let c = config(&[("UPTO_MAX_SESSIONS_PER_OWNER", "3")]);
        assert_eq!(c.upto.max_sessions_per_owner, 3);
        let c = config(&[("UPTO_MAX_SESSIONS_PER_OWNER", "0")]);
        assert_eq!(c.problems.iter().map(|p| p.variable.as_str()).collect::<Vec<_>>(), ["UPTO_MAX_SESSIONS_PER_OWNER"]);
    }

    #[test]
    fn upto_thresholds_default_to_the_daydreams_values_and_can_be_set() {
        let c = config(&[]);
        assert_eq!(
            c.upto,
            UptoConfig {
                mode: UptoSettleMode::Capture,
                thresholds: crate::upto::Thresholds::default(),
                require_api_key: false,
                max_sessions_per_owner: 8,
            }
        );
        let c = config(&[
            ("UPTO_SETTLE_MODE", "immediate"),
            ("UPTO_IDLE_SETTLE_SECONDS", "5"),
            ("UPTO_CAP_THRESHOLD_PERCENT", "50"),
        ]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.upto.mode, UptoSettleMode::Immediate);
        assert_eq!((c.upto.thresholds.idle_settle_ms, c.upto.thresholds.cap_percent), (5_000, 50));
        let c = config(&[("UPTO_SETTLE_MODE", "later"), ("UPTO_CAP_THRESHOLD_PERCENT", "0")]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(vars, ["UPTO_SETTLE_MODE", "UPTO_CAP_THRESHOLD_PERCENT"]);
    }

    /// A public test keypair (seed 7×32), base58 of seed ‖ public key.
    fn svm_key() -> (String, Pubkey) {
        let keypair = Keypair::from_seed(&[7u8; 32]);
        let mut bytes = vec![7u8; 32];
        bytes.extend(keypair.pubkey().0);
        (bs58::encode(bytes).into_string(), keypair.pubkey())
    }

    #[test]
    fn solana_defaults_to_devnet_and_takes_rpcs_explicit_then_helius_then_public() {
        let (secret, pubkey) = svm_key();
        let c = config(&[("SVM_PRIVATE_KEY", &secret)]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert_eq!(c.svm_fee_payers[0].pubkey(), pubkey);
        let devnet = network::find("solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1").unwrap();
        assert_eq!(c.svm(devnet).unwrap().rpc_urls, ["https://api.devnet.solana.com"]);
        assert_eq!(c.served().iter().map(|n| n.name).collect::<Vec<_>>(), ["solana-devnet"]);
        let c = config(&[
            ("SVM_PRIVATE_KEY", &secret),
            ("SVM_NETWORKS", "solana,solana-devnet,solana-testnet"),
            ("SVM_RPC_URL_SOLANA_DEVNET", "http://127.0.0.1:8899"),
            ("HELIUS_API_KEY", "hk"),
        ]);
        let urls: Vec<_> = c.svm_networks.iter().map(|n| n.rpc_urls[0].as_str()).collect();
        assert_eq!(
            urls,
            ["https://mainnet.helius-rpc.com/?api-key=hk", "http://127.0.0.1:8899", "https://api.testnet.solana.com"]
        );
        assert_eq!(c.svm.max_compute_unit_limit, 50_000);
        assert_eq!(c.svm.confirm_timeout_secs, 30);
    }

    #[test]
    fn bad_solana_settings_are_problems_that_never_echo_the_key() {
        let (secret, _) = svm_key();
        let truncated = &secret[..20];
        let c = config(&[
            ("SVM_PRIVATE_KEY", &format!("{secret},{truncated},{secret}")),
            ("SVM_NETWORKS", "solana-devnet,base"),
            ("SVM_RPC_URL_SOLANA_DEVNET", "ftp://x"),
            ("SVM_MAX_COMPUTE_UNIT_LIMIT", "2000000"),
        ]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(
            vars,
            [
                "SVM_PRIVATE_KEY",
                "SVM_PRIVATE_KEY",
                "SVM_RPC_URL_SOLANA_DEVNET",
                "SVM_NETWORKS",
                "SVM_MAX_COMPUTE_UNIT_LIMIT"
            ]
        );
        assert!(c.problems.iter().all(|p| !p.problem.contains(truncated)));
        assert_eq!(c.svm_fee_payers.len(), 1);
    }

    #[test]
    fn the_pay_to_allowlist_takes_evm_and_solana_addresses() {
        let (_, pubkey) = svm_key();
        let list = format!("0x0000000000000000000000000000000000000001, {pubkey}, nope");
        let c = config(&[("PAY_TO_ALLOWLIST", &list)]);
        let allowlist = c.access.pay_to_allowlist.as_ref().unwrap();
        assert!(allowlist.allows(Family::Solana, &pubkey.to_base58()));
        assert!(allowlist.allows(Family::Evm, "0x0000000000000000000000000000000000000001"));
        assert!(!allowlist.allows(Family::Solana, "0x0000000000000000000000000000000000000001"));
        assert_eq!(c.problems.len(), 1);
    }

    #[cfg(feature = "starknet")]
    #[test]
    fn starknet_is_opt_in_and_each_network_needs_a_sponsor_and_a_way_to_settle() {
        let c = config(&[]);
        assert!(c.starknet_networks.is_empty() && c.problems.is_empty());
        let key = "0x71d7bb07b9a64f6f78ac4c816aff4da9";
        let c = config(&[
            ("STARKNET_NETWORKS", "starknet:SN_SEPOLIA,starknet-mainnet"),
            ("STARKNET_SPONSOR_ADDRESS", "0x64b4"),
            ("STARKNET_SPONSOR_PRIVATE_KEY_STARKNET_SEPOLIA", key),
            ("STARKNET_PAYMASTER_ENDPOINT_STARKNET_MAINNET", "https://starknet.paymaster.avnu.fi"),
            ("STARKNET_PAYMASTER_API_KEY", "pk"),
            ("ALCHEMY_API_KEY", "alk"),
        ]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let [sepolia, mainnet] = c.starknet_networks.as_slice() else { panic!("two networks") };
        assert!(matches!(sepolia.settlement, StarknetSettlement::SelfSponsored { .. }));
        assert!(matches!(&mainnet.settlement, StarknetSettlement::Paymaster { api_key: Some(k), .. } if k == "pk"));
        assert!(sepolia.rpc_urls[0].ends_with("/alk"));
        assert!(!format!("{sepolia:?}").contains(key), "the key is never printed");
        // No EVM or Solana key: only the Starknet networks are served.
        assert_eq!(c.served().iter().map(|n| n.name).collect::<Vec<_>>(), ["starknet-sepolia", "starknet-mainnet"]);
    }

    #[cfg(feature = "starknet")]
    #[test]
    fn bad_starknet_settings_are_problems_by_name() {
        let c = config(&[("STARKNET_NETWORKS", "starknet-sepolia,moon")]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(vars, ["STARKNET_SPONSOR_ADDRESS", "STARKNET_NETWORKS"]);
        let c = config(&[("STARKNET_NETWORKS", "starknet-sepolia"), ("STARKNET_SPONSOR_ADDRESS", "0x1")]);
        assert_eq!(c.problems[0].variable, "STARKNET_SPONSOR_PRIVATE_KEY");
        let c =
            config(&[("STARKNET_NETWORKS", "starknet-sepolia"), ("STARKNET_SPONSOR_ADDRESS_STARKNET_SEPOLIA", "nope")]);
        assert_eq!(c.problems[0].variable, "STARKNET_SPONSOR_ADDRESS_STARKNET_SEPOLIA");
        let c = config(&[
            ("STARKNET_NETWORKS", "starknet-sepolia"),
            ("STARKNET_SPONSOR_ADDRESS", "0x1"),
            ("STARKNET_SPONSOR_PRIVATE_KEY", "0xsecret-but-not-hex"),
        ]);
        assert_eq!(c.problems[0].variable, "STARKNET_SPONSOR_PRIVATE_KEY");
        assert!(!c.problems[0].problem.contains("secret"));
        assert!(c.starknet_networks.is_empty());
    }

    #[test]
    fn the_asset_policy_reads_allow_any_asset_allowlists_and_minimums_per_network() {
        let c = config(&[]);
        assert_eq!(c.policy, PaymentPolicy::default());
        assert_eq!(c.policy.min_amount, U256::from(1));
        let token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
        let c = config(&[
            ("ALLOW_ANY_ASSET", "true"),
            ("ASSET_ALLOWLIST_BASE_SEPOLIA", &format!("{token}, ")),
            ("ASSET_ALLOWLIST_STARKNET_SEPOLIA", "0x04718f5a"),
            ("MIN_AMOUNT", "10"),
            ("MIN_AMOUNT_BASE_SEPOLIA", &format!("100,{token}:1000")),
        ]);
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        assert!(c.policy.allow_any_asset);
        let lower = token.to_lowercase();
        let listed = [("base-sepolia", lower.clone()), ("starknet-sepolia", "0x4718f5a".to_string())];
        assert_eq!(c.policy.allowed_assets, listed);
        assert_eq!(c.policy.min_amount, U256::from(10));
        let minimums = [("base-sepolia", None, U256::from(100)), ("base-sepolia", Some(lower), U256::from(1_000))];
        assert_eq!(c.policy.min_amounts, minimums);
    }

    #[test]
    fn bad_asset_policy_entries_are_problems_by_name() {
        let c = config(&[
            ("ALLOW_ANY_ASSET", "yes"),
            ("ASSET_ALLOWLIST_SOLANA_DEVNET", "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
            ("MIN_AMOUNT", "-1"),
            ("MIN_AMOUNT_BASE", "0x12:5"),
        ]);
        let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(vars, ["ALLOW_ANY_ASSET", "MIN_AMOUNT", "MIN_AMOUNT_BASE", "ASSET_ALLOWLIST_SOLANA_DEVNET"]);
        assert_eq!(c.policy, PaymentPolicy::default());
    }

    #[cfg(feature = "starknet")]
    #[test]
    fn the_starknet_fee_ceiling_defaults_to_one_strk_and_is_set_per_network() {
        let vars = |ceiling: &'static str| {
            config(&[
                ("STARKNET_NETWORKS", "starknet-sepolia,starknet-mainnet"),
                ("STARKNET_SPONSOR_ADDRESS", "0x1"),
                ("STARKNET_SPONSOR_PRIVATE_KEY", "0x71d7bb07b9a64f6f78ac4c816aff4da9"),
                ("STARKNET_MAX_FEE_STARKNET_MAINNET", ceiling),
            ])
        };
        let c = vars("50000000000000000");
        assert!(c.problems.is_empty(), "{:?}", c.problems);
        let ceilings: Vec<u128> = c.starknet_networks.iter().map(|n| n.max_fee_fri).collect();
        assert_eq!(ceilings, [DEFAULT_STARKNET_MAX_FEE_FRI, 50_000_000_000_000_000]);
        assert_eq!(vars("0").problems[0].variable, "STARKNET_MAX_FEE_STARKNET_MAINNET");
    }

    #[test]
    fn without_a_key_nothing_is_served() {
        let c = config(&[]);
        assert!(c.problems.is_empty());
        assert!(c.evm(network::find("base").unwrap()).is_none());
        assert!(c.svm(network::find("solana-devnet").unwrap()).is_none());
        assert_eq!(c.unserved().len(), 3, "base, base-sepolia and solana-devnet");
        let c = config(&[("EVM_PRIVATE_KEY", KEY)]);
        assert!(c.evm(network::find("base").unwrap()).is_some());
        assert!(c.evm(network::find("polygon").unwrap()).is_none());
    }
}
