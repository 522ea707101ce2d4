//! The one list of the schemes this crate implements. `protocol` hands over a request with its payload
//! raw; [`Scheme::select`] picks the scheme by (family, scheme name, version, payload shape) and the scheme
//! decodes its own payload into [`Payload`]. The facilitator's dispatch, `/supported`, the ledger identity
//! and the JS verifier all start from here: adding a scheme is its folder, a variant here and its arm in
//! each `match` the compiler then asks for.

use alloy_primitives::U256;
use serde_json::Value;

use super::{exact_evm, exact_svm, upto_evm};
#[cfg(feature = "permit2")]
use super::{exact_permit2, upto_permit2};
use crate::network::{self, Family, Network};
pub use crate::policy::PaymentFacts;
use crate::protocol::model::{self, Version};
use crate::protocol::normalize::{self, Rejection, RequestError};

#[cfg(feature = "starknet")]
use super::exact_starknet;

/// A verify or settle request whose payload its scheme decoded.
pub type PaymentRequest = model::PaymentRequest<Payload>;

/// The schemes, as `/supported` names them and the registry selects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `exact` on EVM with an EIP-3009 `transferWithAuthorization` (and the Cronos dialect).
    ExactEip3009,
    /// `exact` on EVM through Permit2 and the x402 exact proxy (`permit2Authorization`).
    #[cfg(feature = "permit2")]
    ExactPermit2,
    /// `upto` on EVM as `@x402/evm` ships it: Permit2 through the x402 upto proxy
    /// (`permit2Authorization` with the facilitator in its witness).
    #[cfg(feature = "permit2")]
    UptoPermit2,
    /// `upto` on EVM as daydreams' EIP-2612 permit sessions (`authorization` and a signature).
    UptoSession,
    /// `exact` on Solana: a partially signed SPL `TransferChecked` transaction.
    ExactSvm,
    /// `exact` on Starknet: a SNIP-9 outside execution (the x402-starknet dialect).
    #[cfg(feature = "starknet")]
    ExactStarknet,
    /// `exact` on Starknet in the registered spec's dialect (`{from, outsideExecution}`).
    #[cfg(feature = "starknet")]
    ExactStarknetSpec,
}

impl Scheme {
    /// Every scheme of this build.
    pub const ALL: &'static [Scheme] = &[
        Scheme::ExactEip3009,
        #[cfg(feature = "permit2")]
        Scheme::ExactPermit2,
        #[cfg(feature = "permit2")]
        Scheme::UptoPermit2,
        Scheme::UptoSession,
        Scheme::ExactSvm,
        #[cfg(feature = "starknet")]
        Scheme::ExactStarknet,
        #[cfg(feature = "starknet")]
        Scheme::ExactStarknetSpec,
    ];

    /// The scheme's name on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::UptoSession => "upto",
            #[cfg(feature = "permit2")]
            Scheme::UptoPermit2 => "upto",
            _ => "exact",
        }
    }

    pub const fn family(self) -> Family {
        match self {
            Scheme::ExactEip3009 | Scheme::UptoSession => Family::Evm,
            #[cfg(feature = "permit2")]
            Scheme::ExactPermit2 | Scheme::UptoPermit2 => Family::Evm,
            Scheme::ExactSvm => Family::Solana,
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknet | Scheme::ExactStarknetSpec => Family::Starknet,
        }
    }

    /// The x402 versions the scheme is served under.
    pub const fn versions(self) -> &'static [Version] {
        match self {
            // The reference pays through Permit2 under x402 v2 only.
            Scheme::UptoSession => &[Version::V2],
            #[cfg(feature = "permit2")]
            Scheme::ExactPermit2 | Scheme::UptoPermit2 => &[Version::V2],
            _ => &[Version::V1, Version::V2],
        }
    }

    /// Whether this scheme takes a payment named `scheme` on a network of `family` under `version`,
    /// whose payload is `payload`.
    fn takes(self, family: Family, scheme: &str, version: Version, payload: &Value) -> bool {
        let shape = match self {
            // Both `exact` EVM payloads come under one kind, and both `upto` ones under another; the
            // payload's shape tells them apart.
            Scheme::ExactEip3009 | Scheme::UptoSession => !is_permit2(payload),
            #[cfg(feature = "permit2")]
            Scheme::ExactPermit2 | Scheme::UptoPermit2 => is_permit2(payload),
            // The two Starknet dialects, told apart by shape whichever spelling names the network.
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknet => payload.get("outsideExecution").is_none(),
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknetSpec => payload.get("outsideExecution").is_some(),
            _ => true,
        };
        self.family() == family && self.name() == scheme && self.versions().contains(&version) && shape
    }

    /// The scheme of a request: by family, scheme name, version and payload shape.
    pub fn select(request: &model::PaymentRequest) -> Result<Scheme, RequestError> {
        let (family, requirements) = (request.network.family, &request.requirements);
        let payload = &request.payload.payload;
        if let Some(scheme) =
            Scheme::ALL.iter().copied().find(|s| s.takes(family, &requirements.scheme, request.version, payload))
        {
            return Ok(scheme);
        }
        if family == Family::Starknet && requirements.scheme == "exact" {
            return Err(RequestError::NotServed("Starknet"));
        }
        if family == Family::Evm && requirements.scheme == "exact" && is_permit2(payload) {
            return Err(RequestError::UnsupportedPayloadType(
                "exact EVM via Permit2 (served under x402 v2, by the facilitator)",
            ));
        }
        Err(RequestError::UnsupportedScheme {
            scheme: requirements.scheme.clone(),
            network: requirements.network.clone(),
        })
    }

    /// Decodes the payload of a request this scheme takes.
    fn decode(self, request: &model::PaymentRequest) -> Result<Payload, RequestError> {
        let payload = &request.payload.payload;
        Ok(match self {
            Scheme::ExactEip3009 => Payload::Eip3009(exact_evm::payload::decode(payload)?),
            #[cfg(feature = "permit2")]
            Scheme::ExactPermit2 => {
                let extensions = request.payload.envelope.get("extensions");
                let decoded = exact_permit2::Permit2Payload::decode(payload, extensions);
                let refused = |e: exact_permit2::ExactPermit2Error| RequestError::Scheme {
                    reason: e.reason(),
                    message: e.to_string(),
                };
                Payload::Permit2(Box::new(decoded.map_err(refused)?))
            }
            #[cfg(feature = "permit2")]
            Scheme::UptoPermit2 => {
                let extensions = request.payload.envelope.get("extensions");
                let decoded = upto_permit2::UptoPermit2Payload::decode(payload, extensions);
                let refused = |e: upto_permit2::UptoPermit2Error| RequestError::Scheme {
                    reason: e.reason(),
                    message: e.to_string(),
                };
                Payload::UptoPermit2(Box::new(decoded.map_err(refused)?))
            }
            Scheme::UptoSession => Payload::Permit(upto_evm::payload::decode(&request.accepted, payload)?),
            Scheme::ExactSvm => Payload::Svm(exact_svm::payload::decode(payload)?),
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknet => {
                Payload::Starknet(exact_starknet::payload::decode(payload, &request.payload.envelope)?)
            }
            // The spec compares `accepted` fields the model does not keep: it reads the whole paymentPayload.
            #[cfg(feature = "starknet")]
            Scheme::ExactStarknetSpec => {
                let mut whole = request.payload.envelope.clone();
                whole.insert("payload".into(), payload.clone());
                Payload::StarknetSpec(exact_starknet::payload::decode_spec(&Value::Object(whole))?)
            }
        })
    }
}

/// A payload, decoded by its scheme.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Eip3009(exact_evm::Eip3009Payload),
    /// Boxed: with its extensions it is several times the size of the others.
    #[cfg(feature = "permit2")]
    Permit2(Box<exact_permit2::Permit2Payload>),
    /// Boxed, as `Permit2`.
    #[cfg(feature = "permit2")]
    UptoPermit2(Box<upto_permit2::UptoPermit2Payload>),
    Permit(upto_evm::PermitPayload),
    Svm(exact_svm::SvmPayload),
    #[cfg(feature = "starknet")]
    Starknet(exact_starknet::StarknetPayload),
    #[cfg(feature = "starknet")]
    StarknetSpec(exact_starknet::SpecPayload),
}

impl Payload {
    pub fn scheme(&self) -> Scheme {
        match self {
            Payload::Eip3009(_) => Scheme::ExactEip3009,
            #[cfg(feature = "permit2")]
            Payload::Permit2(_) => Scheme::ExactPermit2,
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(_) => Scheme::UptoPermit2,
            Payload::Permit(_) => Scheme::UptoSession,
            Payload::Svm(_) => Scheme::ExactSvm,
            #[cfg(feature = "starknet")]
            Payload::Starknet(_) => Scheme::ExactStarknet,
            #[cfg(feature = "starknet")]
            Payload::StarknetSpec(_) => Scheme::ExactStarknetSpec,
        }
    }

    /// The paying address, as responses report it.
    pub fn payer(&self) -> String {
        match self {
            Payload::Eip3009(p) => p.authorization.from.to_checksum(None),
            #[cfg(feature = "permit2")]
            Payload::Permit2(p) => p.from.to_checksum(None),
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(p) => p.permit.from.to_checksum(None),
            Payload::Permit(p) => p.owner.to_checksum(None),
            Payload::Svm(p) => p.payer().unwrap_or_default(),
            #[cfg(feature = "starknet")]
            Payload::Starknet(p) => p.from.clone(),
            #[cfg(feature = "starknet")]
            Payload::StarknetSpec(p) => format!("{:#x}", p.from),
        }
    }
}

impl PaymentFacts for Payload {
    /// An EVM payer in lowercase hex: its checksum (a keccak) is for responses only.
    fn payer_address(&self) -> String {
        match self {
            Payload::Eip3009(p) => format!("{:#x}", p.authorization.from),
            #[cfg(feature = "permit2")]
            Payload::Permit2(p) => format!("{:#x}", p.from),
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(p) => format!("{:#x}", p.permit.from),
            Payload::Permit(p) => format!("{:#x}", p.owner),
            _ => Payload::payer(self),
        }
    }

    fn signed_amount(&self) -> Option<U256> {
        match self {
            Payload::Eip3009(p) => Some(p.authorization.value),
            #[cfg(feature = "permit2")]
            Payload::Permit2(p) => Some(p.amount),
            // Its signed amount is a cap, not what is paid: see `cap`.
            _ => None,
        }
    }

    fn cap(&self) -> Option<U256> {
        match self {
            #[cfg(feature = "permit2")]
            Payload::UptoPermit2(p) => Some(p.permit.amount),
            _ => None,
        }
    }
}

/// The payment's key in the settlement ledger: its identity on chain, as its scheme defines it. A
/// Starknet payment is keyed by the scheme once its fields are read (`exact_starknet::ledger_key`), an
/// `upto` session payment is captured into its session (its batches have keys of their own). Both
/// Permit2 schemes share one key space, Permit2's nonces: a nonce is never settled through both.
pub fn ledger_key(request: &PaymentRequest) -> String {
    let caip2 = request.network.caip2;
    match &request.payload {
        Payload::Eip3009(p) => exact_evm::payload::ledger_key(
            caip2,
            &request.requirements.asset,
            p.authorization.from,
            p.authorization.nonce,
        ),
        #[cfg(feature = "permit2")]
        Payload::Permit2(p) => exact_permit2::ledger_key(request.network.chain_id.unwrap_or_default(), p),
        #[cfg(feature = "permit2")]
        Payload::UptoPermit2(p) => upto_permit2::ledger_key(request.network.chain_id.unwrap_or_default(), p),
        Payload::Permit(p) => format!("upto/{}", p.session_id),
        Payload::Svm(p) => exact_svm::payload_key(caip2, p),
        #[cfg(feature = "starknet")]
        Payload::Starknet(p) => format!("starknet/{caip2}/{}/unverified", p.from),
        #[cfg(feature = "starknet")]
        Payload::StarknetSpec(p) => format!("starknet/{caip2}/{:#x}/unverified", p.from),
    }
}

/// The network of a payment whose ledger key names the account that settles it there: an EIP-3009
/// payment's (`eip155:…/…`), a Permit2 one's (`permit2/eip155:…/…`, both Permit2 schemes) or a
/// Starknet one's (`starknet/starknet:…/…`). A host keeps such an entry at that account's home
/// (`crate::facilitator::home`); every other key (Solana, `upto` sessions, wallet deployments) is
/// `None`.
pub fn settling_network(key: &str) -> Option<&'static Network> {
    let (first, rest) = key.split_once('/')?;
    let (caip2, family) = match first {
        "permit2" => (rest.split('/').next()?, Family::Evm),
        "starknet" => (rest.split('/').next()?, Family::Starknet),
        caip2 => (caip2, Family::Evm),
    };
    network::NETWORKS.iter().find(|n| n.caip2 == caip2 && n.family == family)
}

/// Picks the request's scheme and decodes its payload.
pub fn decode(request: model::PaymentRequest) -> Result<PaymentRequest, RequestError> {
    let payload = Scheme::select(&request)?.decode(&request)?;
    Ok(request.with_payload(payload))
}

/// Parses a `/verify` or `/settle` body in any supported version or dialect, and decodes its payload.
pub fn parse_request(body: &[u8]) -> Result<PaymentRequest, Rejection> {
    decode_normalized(normalize::parse_request(body)?)
}

/// [`parse_request`] of a body already parsed.
pub fn parse_request_value(body: Value) -> Result<PaymentRequest, Rejection> {
    decode_normalized(normalize::parse_request_value(body)?)
}

fn decode_normalized(request: model::PaymentRequest) -> Result<PaymentRequest, Rejection> {
    let (version, dialect, network) = (request.version, request.dialect, request.requirements.network.clone());
    decode(request).map_err(|error| Rejection { error, version, dialect, network })
}

/// A Permit2 payload (`permit2Authorization`), `exact` or `upto`: the reference's routing key.
fn is_permit2(payload: &Value) -> bool {
    payload.get("permit2Authorization").is_some()
}
