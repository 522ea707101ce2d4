use super::evm::GWEI;
#[cfg(feature = "starknet")]
use super::starknet::DEFAULT_STARKNET_MAX_FEE_FRI;
use super::*;
use crate::chains::svm::Pubkey;
use crate::network::{self, Family};
use alloy_primitives::U256;
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
    let gas =
        GasLimits { max_fee_per_gas_wei: 1_000 * GWEI, max_gas_per_settle: 200_000, max_gas_per_deployment: 500_000 };
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
fn solana_keys_may_be_key_files_json_byte_arrays_in_the_list() {
    let (secret, pubkey) = svm_key();
    let seed_file = format!("{:?}", [7u8; 32]);
    let other = Keypair::from_seed(&[9u8; 32]);
    let mut keypair_file = vec![9u8; 32];
    keypair_file.extend(other.pubkey().0);
    let list = format!("{seed_file}, {secret}  ,{keypair_file:?}");
    let c = config(&[("SVM_PRIVATE_KEY", &list)]);
    let vars: Vec<_> = c.problems.iter().map(|p| (p.variable.as_str(), p.problem.as_str())).collect();
    assert_eq!(vars, [("SVM_PRIVATE_KEY", "key #2 repeats an earlier key")]);
    let payers: Vec<_> = c.svm_fee_payers.iter().map(Keypair::pubkey).collect();
    assert_eq!(payers, [pubkey, other.pubkey()]);
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
        ("SVM_MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS", "5000001"),
    ]);
    let vars: Vec<_> = c.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        vars,
        [
            "SVM_PRIVATE_KEY",
            "SVM_PRIVATE_KEY",
            "SVM_RPC_URL_SOLANA_DEVNET",
            "SVM_NETWORKS",
            "SVM_MAX_COMPUTE_UNIT_LIMIT",
            "SVM_MAX_COMPUTE_UNIT_PRICE_MICROLAMPORTS"
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
    let c = config(&[("STARKNET_NETWORKS", "starknet-sepolia"), ("STARKNET_SPONSOR_ADDRESS_STARKNET_SEPOLIA", "nope")]);
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

#[test]
fn the_location_hint_is_one_of_cloudflares() {
    assert_eq!(config(&[("EVM_LOCATION_HINT", "WEUR")]).evm_location_hint, Some("weur"));
    assert_eq!(config(&[]).evm_location_hint, None);
    let wrong = config(&[("EVM_LOCATION_HINT", "mars")]);
    assert_eq!(wrong.evm_location_hint, None);
    assert!(wrong.problems.iter().any(|p| p.variable == "EVM_LOCATION_HINT"), "{:?}", wrong.problems);
}

#[test]
fn sync_send_is_on_unless_turned_off() {
    assert_eq!(config(&[]).evm_sync_send_wait_ms(), Some(9_000), "0.9 x the default RPC timeout");
    let short = config(&[("EVM_RECEIPT_TIMEOUT_SECONDS", "2")]);
    assert_eq!(short.evm_sync_send_wait_ms(), Some(2_000), "never longer than the receipt wait");
    assert_eq!(config(&[("EVM_SYNC_SEND", "off")]).evm_sync_send_wait_ms(), None);
    assert!(config(&[("EVM_SYNC_SEND", "maybe")]).problems.iter().any(|p| p.variable == "EVM_SYNC_SEND"));
}

/// A build without a chain or scheme (`WORKER_FEATURES`) names what it is asked for and does not carry;
/// a build with everything takes the same variables as configuration.
#[test]
fn what_the_build_does_not_carry_is_a_problem_by_name() {
    let c = config(&[
        ("EVM_PRIVATE_KEY", KEY),
        ("STARKNET_NETWORKS", "starknet-sepolia"),
        ("STARKNET_SPONSOR_ADDRESS", "0x1"),
        ("STARKNET_SPONSOR_PRIVATE_KEY", "0x2"),
        ("PERMIT2_ERC20_APPROVAL_SPONSORING", "true"),
    ]);
    let named = |variable: &str| c.problems.iter().find(|p| p.variable == variable).map(|p| p.problem.as_str());
    let without = |feature: &str| Some(format!("this Worker was built without {feature} (WORKER_FEATURES)"));
    assert_eq!(
        named("STARKNET_NETWORKS").map(str::to_string),
        without("Starknet").filter(|_| cfg!(not(feature = "starknet")))
    );
    let permit2 = named("PERMIT2_ERC20_APPROVAL_SPONSORING").map(str::to_string);
    assert_eq!(permit2, without("Permit2").filter(|_| cfg!(not(feature = "permit2"))));
    let unconfigured = config(&[("EVM_PRIVATE_KEY", KEY)]);
    assert!(unconfigured.problems.is_empty(), "{:?}", unconfigured.problems);
}
