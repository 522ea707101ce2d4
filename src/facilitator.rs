//! The facilitator: picks the scheme for a normalized request and runs verify, settle and supported.
//! Host-neutral; the worker and the native tests give it their transport and clock.

use std::collections::BTreeMap;

use crate::chains::jsonrpc::JsonRpcClient;
use crate::config::Config;
use crate::network::{Family, Network};
use crate::ports::{Clock, EvmSigner, HttpTransport};
use crate::protocol::model::PaymentRequest;
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::protocol::Reason;
use crate::schemes::exact_evm::{self, EvmContext, ExactEvmError};

/// Why a payment was refused or not settled: one reason code and a message for humans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    /// The transaction a failed settle concerns, when one was sent.
    pub transaction: Option<String>,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        Failure {
            reason,
            message: message.into(),
            transaction: None,
        }
    }
}

impl From<ExactEvmError> for Failure {
    fn from(e: ExactEvmError) -> Self {
        Failure {
            reason: e.reason(),
            message: e.to_string(),
            transaction: e.transaction().map(|h| h.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub payer: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub transaction: String,
    pub payer: String,
    pub block_number: Option<u64>,
}

pub struct Facilitator<H, C> {
    pub config: Config,
    http: H,
    clock: C,
}

impl<H: HttpTransport, C: Clock> Facilitator<H, C> {
    pub fn new(config: Config, http: H, clock: C) -> Self {
        Facilitator {
            config,
            http,
            clock,
        }
    }

    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// Whether this facilitator settles on `network` (configured, with a signer).
    pub fn serves(&self, network: &Network) -> bool {
        self.config.evm(network).is_some()
    }

    pub async fn verify(&self, request: &PaymentRequest) -> Result<Verified, Failure> {
        let ctx = self.evm_context(request)?;
        let verified = exact_evm::verify(&ctx, request).await?;
        Ok(Verified {
            payer: verified.payer.to_checksum(None),
        })
    }

    pub async fn settle(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        let ctx = self.evm_context(request)?;
        let signer = self
            .config
            .evm_signer
            .as_ref()
            .ok_or_else(|| Failure::from(ExactEvmError::NoSigner))?;
        match exact_evm::settle(&ctx, signer, request).await {
            Ok(s) => Ok(Settled {
                transaction: s.transaction.to_string(),
                payer: s.payer.to_checksum(None),
                block_number: s.block_number,
            }),
            Err(e) => {
                let mut failure = Failure::from(e);
                if failure.reason == Reason::UnexpectedVerifyError {
                    failure.reason = Reason::UnexpectedSettleError;
                }
                Err(failure)
            }
        }
    }

    /// One kind per (version, scheme, network) served; signers grouped by CAIP family.
    pub fn supported(&self) -> SupportedResponse {
        let mut response = SupportedResponse::default();
        let Some(signer) = &self.config.evm_signer else {
            return response;
        };
        let served: Vec<&Network> = self.config.evm_networks.iter().map(|c| c.network).collect();
        for network in &served {
            response.kinds.push(kind(2, network.caip2));
        }
        for network in served.iter().filter(|n| n.v1) {
            response.kinds.push(kind(1, network.name));
        }
        if !served.is_empty() {
            let signers = BTreeMap::from([(
                Family::Evm.caip_family().to_string(),
                vec![signer.address().to_checksum(None)],
            )]);
            response.signers = signers;
        }
        response
    }

    fn evm_context(&self, request: &PaymentRequest) -> Result<EvmContext<'_, H, C>, Failure> {
        let config = self.config.evm(request.network).ok_or_else(|| {
            Failure::new(
                Reason::InvalidNetwork,
                format!(
                    "network `{}` is not served here",
                    request.requirements.network
                ),
            )
        })?;
        Ok(EvmContext {
            network: config.network,
            rpc: JsonRpcClient::new(&self.http, &config.rpc_url),
            clock: &self.clock,
            settings: self.config.settings,
            facilitator: self.config.evm_signer.as_ref().map(|s| s.address()),
        })
    }
}

fn kind(version: u8, network: &str) -> SupportedKind {
    SupportedKind {
        x402_version: version,
        scheme: "exact".into(),
        network: network.into(),
        extra: None,
    }
}
