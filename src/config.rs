//! Configuration from environment variables, named as users of the daydreams facilitator know them
//! (protocol digest §10). Parsing never fails: problems are collected by variable name, and the API
//! reports them on every request until they are fixed. Values are never echoed (RPC URLs and keys are
//! secrets).

use std::fmt;

use crate::chains::evm::signer::LocalEvmSigner;
use crate::network::{self, Family, Network};

pub const DEFAULT_EVM_NETWORKS: &str = "base,base-sepolia";
const DEFAULT_RECEIPT_TIMEOUT_SECS: u64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigProblem {
    pub variable: String,
    pub problem: String,
}

/// One EVM network the facilitator serves.
pub struct EvmNetworkConfig {
    pub network: &'static Network,
    /// May carry an API key: never log it.
    pub rpc_url: String,
}

impl fmt::Debug for EvmNetworkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EvmNetworkConfig({}, rpc: <redacted>)",
            self.network.name
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How long a settle waits for its receipt before answering that the outcome is unknown.
    pub receipt_timeout_secs: u64,
}

#[derive(Debug)]
pub struct Config {
    pub evm_networks: Vec<EvmNetworkConfig>,
    pub evm_signer: Option<LocalEvmSigner>,
    pub settings: Settings,
    pub problems: Vec<ConfigProblem>,
}

impl Config {
    /// Reads the configuration through `get` (Worker vars and secrets, or process env).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Config {
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let mut problem = |variable: &str, text: String| {
            problems.push(ConfigProblem {
                variable: variable.to_string(),
                problem: text,
            })
        };

        let evm_signer = get("EVM_PRIVATE_KEY").and_then(|key| {
            if key.contains(',') {
                problem(
                    "EVM_PRIVATE_KEY",
                    "holds several keys; one key is supported".into(),
                );
                return None;
            }
            LocalEvmSigner::from_hex(&key)
                .map_err(|e| problem("EVM_PRIVATE_KEY", e.to_string()))
                .ok()
        });

        let names = get("EVM_NETWORKS").unwrap_or_else(|| DEFAULT_EVM_NETWORKS.to_string());
        let mut evm_networks: Vec<EvmNetworkConfig> = Vec::new();
        for name in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let Some(network) = network::find(name).filter(|n| n.family == Family::Evm) else {
                problem(
                    "EVM_NETWORKS",
                    format!("`{name}` is not a known EVM network"),
                );
                continue;
            };
            if evm_networks.iter().any(|c| c.network == network) {
                continue;
            }
            match evm_rpc_url(network, &get) {
                Ok(rpc_url) => evm_networks.push(EvmNetworkConfig { network, rpc_url }),
                Err(p) => problem(&p.variable, p.problem),
            }
        }

        let receipt_timeout_secs = match get("EVM_RECEIPT_TIMEOUT_SECONDS") {
            None => DEFAULT_RECEIPT_TIMEOUT_SECS,
            Some(text) => text
                .parse()
                .ok()
                .filter(|s| (1..=600).contains(s))
                .unwrap_or_else(|| {
                    problem(
                        "EVM_RECEIPT_TIMEOUT_SECONDS",
                        "must be an integer from 1 to 600".into(),
                    );
                    DEFAULT_RECEIPT_TIMEOUT_SECS
                }),
        };

        Config {
            evm_networks,
            evm_signer,
            settings: Settings {
                receipt_timeout_secs,
            },
            problems,
        }
    }

    /// The configuration of a network this facilitator serves, if it does.
    pub fn evm(&self, network: &Network) -> Option<&EvmNetworkConfig> {
        self.evm_signer.as_ref()?;
        self.evm_networks.iter().find(|c| c.network == network)
    }

    /// Networks that are listed but cannot be served, and why.
    pub fn unserved(&self) -> Vec<String> {
        if self.evm_signer.is_some() {
            return Vec::new();
        }
        self.evm_networks
            .iter()
            .map(|c| {
                format!(
                    "{}: EVM_PRIVATE_KEY is not set, so it cannot settle",
                    c.network.name
                )
            })
            .collect()
    }
}

/// `EVM_RPC_URL_<NAME>`, else Alchemy, else Infura, else the network's public RPC.
fn evm_rpc_url(
    network: &Network,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigProblem> {
    let variable = format!("EVM_RPC_URL_{}", network.env_suffix());
    if let Some(url) = get(&variable) {
        if url.contains(',') {
            return Err(ConfigProblem {
                variable,
                problem: "holds several URLs; one URL is supported".into(),
            });
        }
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigProblem {
                variable,
                problem: "must be an http:// or https:// URL".into(),
            });
        }
        return Ok(url);
    }
    if let (Some(key), Some(host)) = (get("ALCHEMY_API_KEY"), network.alchemy) {
        return Ok(format!("https://{host}/{key}"));
    }
    if let (Some(key), Some(host)) = (get("INFURA_API_KEY"), network.infura) {
        return Ok(format!("https://{host}/{key}"));
    }
    Ok(network.public_rpc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_to_base_and_base_sepolia_on_public_rpcs() {
        let c = config(&[("EVM_PRIVATE_KEY", KEY)]);
        assert!(c.problems.is_empty());
        let names: Vec<_> = c.evm_networks.iter().map(|n| n.network.name).collect();
        assert_eq!(names, ["base", "base-sepolia"]);
        assert_eq!(c.evm_networks[1].rpc_url, "https://sepolia.base.org");
    }

    #[test]
    fn rpc_priority_is_explicit_then_alchemy_then_infura_then_public() {
        let c = config(&[
            ("EVM_NETWORKS", "base-sepolia, polygon,avalanche,abstract"),
            ("EVM_RPC_URL_BASE_SEPOLIA", "http://127.0.0.1:8545"),
            ("ALCHEMY_API_KEY", "alk"),
            ("INFURA_API_KEY", "ifk"),
        ]);
        let urls: Vec<_> = c.evm_networks.iter().map(|n| n.rpc_url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:8545",
                "https://polygon-mainnet.g.alchemy.com/v2/alk",
                "https://avax-mainnet.g.alchemy.com/v2/alk",
                "https://abstract-mainnet.g.alchemy.com/v2/alk",
            ]
        );
        let c = config(&[
            ("EVM_NETWORKS", "avalanche-fuji"),
            ("INFURA_API_KEY", "ifk"),
        ]);
        assert_eq!(
            c.evm_networks[0].rpc_url,
            "https://avalanche-fuji.infura.io/v3/ifk"
        );
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
            [
                "EVM_PRIVATE_KEY",
                "EVM_RPC_URL_BASE",
                "EVM_NETWORKS",
                "EVM_NETWORKS",
                "EVM_RECEIPT_TIMEOUT_SECONDS"
            ]
        );
        let text = serde_json::to_string(&c.problems).unwrap();
        assert!(!text.contains("secret-host") && !text.contains("deadbeef"));
    }

    #[test]
    fn without_a_key_nothing_is_served() {
        let c = config(&[]);
        assert!(c.problems.is_empty());
        assert!(c.evm(network::find("base").unwrap()).is_none());
        assert_eq!(c.unserved().len(), 2);
        let c = config(&[("EVM_PRIVATE_KEY", KEY)]);
        assert!(c.evm(network::find("base").unwrap()).is_some());
        assert!(c.evm(network::find("polygon").unwrap()).is_none());
    }
}
