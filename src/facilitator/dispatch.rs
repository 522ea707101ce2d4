//! The facilitator's dispatch: each scheme of the registry ([`crate::schemes::Scheme`]) to its
//! orchestration (`evm.rs`, `upto.rs`, `svm.rs`, `starknet.rs`). The only place that lists them.

use super::core::Facilitator;
use super::host::Host;
use super::outcome::{Failure, Settled, Verified};
use crate::network::{Family, Network};
use crate::ports::EvmSigner;
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::schemes::{Payload, PaymentRequest};

impl<P: Host> Facilitator<P> {
    pub(super) async fn verify_payment(&self, request: &PaymentRequest) -> Result<Verified, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(payload) => self.verify_eip3009(request, payload).await,
            Payload::Permit(permit) => self.verify_upto(request, permit).await,
            Payload::Svm(payload) => self.verify_svm(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::Starknet(payload) => self.verify_starknet(request, payload).await,
        }
    }

    /// An `exact` payment is settled once through the ledger; an `upto` one is captured into its
    /// session (see [`upto`]).
    pub(super) async fn settle_once(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(p) => self.settle_eip3009(request, p).await,
            Payload::Permit(permit) => self.settle_upto(request, permit).await,
            Payload::Svm(payload) => self.settle_svm(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::Starknet(payload) => self.settle_starknet(request, payload).await,
        }
    }

    /// One kind per (version, scheme, network) served; signers grouped by CAIP family.
    pub fn supported(&self) -> SupportedResponse {
        let mut response = SupportedResponse::default();
        let evm: Vec<&Network> =
            self.config.evm_networks.iter().map(|c| c.network).filter(|n| self.serves(n)).collect();
        for network in &evm {
            response.kinds.push(kind(2, "exact", network.caip2));
        }
        for network in evm.iter().filter(|n| n.v1) {
            response.kinds.push(kind(1, "exact", network.name));
        }
        // The spender a daydreams upto client signs for is `signers["eip155:*"][0]`.
        for network in &evm {
            response.kinds.push(kind(2, "upto", network.caip2));
        }
        if !evm.is_empty() {
            let addresses = self.config.evm_signers.iter().map(|s| s.address().to_checksum(None)).collect();
            response.signers.insert(Family::Evm.caip_family().to_string(), addresses);
        }
        self.supported_svm(&mut response);
        self.supported_starknet(&mut response);
        response
    }
}

/// Built without the `starknet` feature, nothing Starknet is advertised (and no payload decodes).
#[cfg(not(feature = "starknet"))]
impl<P: Host> Facilitator<P> {
    fn supported_starknet(&self, _: &mut SupportedResponse) {}
}

pub(super) fn kind(version: u8, scheme: &str, network: &str) -> SupportedKind {
    SupportedKind { x402_version: version, scheme: scheme.into(), network: network.into(), extra: None }
}
