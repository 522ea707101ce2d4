//! The facilitator's dispatch: each scheme of the registry ([`crate::schemes::Scheme`]) to its
//! orchestration (`evm.rs`, `permit2.rs`, `upto_permit2.rs`, `upto.rs`, `svm.rs`, `starknet.rs`). The
//! only place that lists them.

use serde_json::{json, Value};

use super::core::Facilitator;
use super::host::Host;
use super::outcome::{Failure, Settled, Verified};
use crate::network::{Family, Network};
use crate::ports::EvmSigner;
use crate::protocol::response::{SupportedKind, SupportedResponse};
use crate::schemes::{Payload, PaymentRequest, Scheme};

impl<P: Host> Facilitator<P> {
    pub(super) async fn verify_payment(&self, request: &PaymentRequest) -> Result<Verified, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(payload) => self.verify_eip3009(request, payload).await,
            #[cfg(feature = "permit2")]
            Payload::Permit2(payload) => self.verify_permit2(request, payload).await,
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(payload) => self.verify_upto_permit2(request, payload).await,
            Payload::Permit(permit) => self.verify_upto(request, permit).await,
            Payload::Svm(payload) => self.verify_svm(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::Starknet(payload) => self.verify_starknet(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::StarknetSpec(payload) => self.verify_starknet_spec(request, payload).await,
        }
    }

    /// An `exact` or standard `upto` payment is settled once through the ledger; an `upto` session
    /// payment is captured into its session (see [`upto`]).
    pub(super) async fn settle_once(&self, request: &PaymentRequest) -> Result<Settled, Failure> {
        self.check_pay_to_allowed(request)?;
        self.check_payment_policy(request)?;
        match &request.payload {
            Payload::Eip3009(p) => self.settle_eip3009(request, p).await,
            #[cfg(feature = "permit2")]
            Payload::Permit2(p) => self.settle_permit2(request, p).await,
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(p) => self.settle_upto_permit2(request, p).await,
            Payload::Permit(permit) => self.settle_upto(request, permit).await,
            Payload::Svm(payload) => self.settle_svm(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::Starknet(payload) => self.settle_starknet(request, payload).await,
            #[cfg(feature = "starknet")]
            Payload::StarknetSpec(payload) => self.settle_starknet_spec(request, payload).await,
        }
    }

    /// One kind per (version, scheme, network) served; signers grouped by CAIP family.
    pub fn supported(&self) -> SupportedResponse {
        let mut response = SupportedResponse::default();
        for scheme in Scheme::ALL {
            self.advertise(*scheme, &mut response);
        }
        if self.config.discovery {
            response.extensions.push(crate::discovery::BAZAAR.to_string());
        }
        response
    }

    /// What `/supported` says of one scheme: its kinds, signers and extensions.
    fn advertise(&self, scheme: Scheme, response: &mut SupportedResponse) {
        match scheme {
            Scheme::ExactEip3009 => self.supported_exact_evm(response),
            #[cfg(feature = "permit2")]
            Scheme::ExactPermit2 => self.supported_permit2(response),
            #[cfg(feature = "permit2")]
            Scheme::UptoPermit2 => self.supported_upto(response, UPTO_PERMIT2_PAYLOAD),
            Scheme::UptoSession => self.supported_upto(response, UPTO_SESSION_PAYLOAD),
            Scheme::ExactSvm => self.supported_svm(response),
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknet => self.supported_starknet(response),
            // The spec dialect comes under the same kinds (their `extra.feePayer` serves both).
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknetSpec => {}
        }
    }

    /// The EVM networks served (configured, with a signer).
    pub(super) fn evm_served(&self) -> Vec<&'static Network> {
        self.config.evm_networks.iter().map(|c| c.network).filter(|n| self.serves(n)).collect()
    }

    /// `exact` on every EVM network served (v2, and v1 where v1 names it), and the signers.
    fn supported_exact_evm(&self, response: &mut SupportedResponse) {
        let evm = self.evm_served();
        response.kinds.extend(evm.iter().map(|n| kind(2, "exact", n.caip2)));
        response.kinds.extend(evm.iter().filter(|n| n.v1).map(|n| kind(1, "exact", n.name)));
        if !evm.is_empty() {
            let addresses = self.config.evm_signers.iter().map(|s| s.address().to_checksum(None)).collect();
            response.signers.insert(Family::Evm.caip_family().to_string(), addresses);
        }
    }

    /// Permit2 payments come under the `exact` kind (as in the reference); what is listed is the
    /// gas-sponsoring extensions that give a payer its allowance to Permit2.
    #[cfg(feature = "permit2")]
    fn supported_permit2(&self, response: &mut SupportedResponse) {
        if self.evm_served().is_empty() {
            return;
        }
        response.extensions.push("eip2612GasSponsoring".into());
        if self.config.permit2_erc20_approval {
            response.extensions.push("erc20ApprovalGasSponsoring".into());
        }
    }

    /// The one `upto` kind per EVM network served, shared by the two `upto` schemes, each adding the
    /// payload it takes to `extra.payloads`. `extra.facilitatorAddress` is the first EVM signer: the
    /// standard client names it in its witness (the reference's resource server copies it into the
    /// requirements), and it is `signers["eip155:*"][0]`, the spender a daydreams client signs for.
    fn supported_upto(&self, response: &mut SupportedResponse, payload: &str) {
        let facilitator = self.config.evm_signers.first().map(|s| s.address().to_checksum(None));
        for network in self.evm_served() {
            let listed = response.kinds.iter_mut().find(|k| k.scheme == "upto" && k.network == network.caip2);
            let payloads = listed.and_then(|k| k.extra.as_mut()).and_then(|e| e.get_mut("payloads"));
            match payloads.and_then(Value::as_array_mut) {
                Some(payloads) => payloads.push(json!(payload)),
                None => response.kinds.push(SupportedKind {
                    extra: Some(json!({"facilitatorAddress": facilitator, "payloads": [payload]})),
                    ..kind(2, "upto", network.caip2)
                }),
            }
        }
    }
}

/// `/supported` `kinds[].extra.payloads` of the `upto` kind: the standard Permit2 payload
/// (`permit2Authorization`), and daydreams' EIP-2612 session permit (`authorization` + signature).
#[cfg(feature = "permit2")]
pub const UPTO_PERMIT2_PAYLOAD: &str = "permit2";
pub const UPTO_SESSION_PAYLOAD: &str = "eip2612-session";

pub(super) fn kind(version: u8, scheme: &str, network: &str) -> SupportedKind {
    SupportedKind { x402_version: version, scheme: scheme.into(), network: network.into(), extra: None }
}
