//! The pure checks of an `exact` EVM payment, one function per rule, each returning one typed error.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolCall;

use super::error::ExactEvmError;
use super::payload::{Eip3009Authorization, Eip3009Payload};
use crate::chains::evm::contracts::IEip3009Token;
use crate::chains::evm::eip3009;
use crate::chains::evm::signature::{is_erc6492, EcdsaSignature, Erc6492Signature, SignatureError};
use crate::protocol::model::PaymentRequest;
use crate::protocol::model::{Dialect, Requirements, Version};
use crate::protocol::normalize::parse_evm_address;

/// The token's EIP-712 `name` and `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    pub name: String,
    pub version: String,
}

pub fn check_scheme<P>(request: &PaymentRequest<P>) -> Result<(), ExactEvmError> {
    if request.accepted.scheme != "exact" || request.requirements.scheme != "exact" {
        return Err(ExactEvmError::SchemeMismatch {
            accepted: request.accepted.scheme.clone(),
            required: request.requirements.scheme.clone(),
        });
    }
    Ok(())
}

pub fn parse_asset(requirements: &Requirements) -> Result<Address, ExactEvmError> {
    parse_evm_address(&requirements.asset).ok_or(ExactEvmError::InvalidAsset)
}

/// The domain from `extra`. v2 requires it, as the reference does. v1 and Cronos clients may omit it,
/// as the legacy facilitator allowed: the network's default asset supplies it when known, else
/// `None` asks the caller to read the token's own `name()` and `version()`.
pub fn domain_from_requirements<P>(
    request: &PaymentRequest<P>,
    asset: Address,
) -> Result<Option<Domain>, ExactEvmError> {
    let requirements = &request.requirements;
    if let (Some(name), Some(version)) = (requirements.extra_str("name"), requirements.extra_str("version")) {
        return Ok(Some(Domain { name: name.to_string(), version: version.to_string() }));
    }
    if request.version == Version::V2 && request.dialect == Dialect::Standard {
        return Err(ExactEvmError::MissingDomain);
    }
    let default = request.network.asset.filter(|a| parse_evm_address(a.address) == Some(asset));
    Ok(match default {
        Some(a) => a.version.map(|v| Domain { name: a.name.to_string(), version: v.to_string() }),
        None => None,
    })
}

pub fn check_network<P>(request: &PaymentRequest<P>) -> Result<(), ExactEvmError> {
    let same = crate::network::find(&request.accepted.network) == Some(request.network);
    if !same {
        return Err(ExactEvmError::NetworkMismatch {
            accepted: request.accepted.network.clone(),
            required: request.requirements.network.clone(),
        });
    }
    Ok(())
}

/// How the payer's signature is proven.
#[derive(Debug, Clone, PartialEq)]
pub enum SignatureProof {
    /// An EOA signature that recovers to `from`.
    Eoa(EcdsaSignature),
    /// Not an EOA signature of `from`: `from` must be a deployed contract wallet whose ERC-1271
    /// `isValidSignature(digest, signature)` accepts it (checked in the chain round trip). If `from`
    /// has no code, `eoa_error` is the answer.
    Contract { digest: B256, eoa_error: ExactEvmError },
    /// An ERC-6492 signature of a counterfactual wallet. Once `from` has code it is an ERC-1271 wallet
    /// with the inner signature. Before, it may be deployed only through an allowed factory: the
    /// simulation then runs the deployment and the payment together (Multicall3), and a settle deploys
    /// it first.
    Counterfactual { digest: B256, wrapped: Erc6492Signature, factory_allowed: bool },
}

impl SignatureProof {
    /// The signature a contract wallet is asked to accept (the inner one of an ERC-6492 wrapper).
    pub fn wallet_signature<'a>(&'a self, signature: &'a [u8]) -> &'a [u8] {
        match self {
            SignatureProof::Counterfactual { wrapped, .. } => &wrapped.signature,
            _ => signature,
        }
    }

    /// The EIP-712 digest a contract wallet is asked about, if the signature is a wallet's.
    pub fn wallet_digest(&self) -> Option<B256> {
        match self {
            SignatureProof::Contract { digest, .. } | SignatureProof::Counterfactual { digest, .. } => Some(*digest),
            SignatureProof::Eoa(_) => None,
        }
    }
}

/// A 65-byte signature that recovers to `from` is an EOA's. An ERC-6492 wrapper is a counterfactual
/// wallet's, deployable only through one of `allowed_factories` (fail closed: none when empty).
/// Anything else may be a deployed contract wallet's (ERC-1271), to be settled through the `bytes`
/// overload.
pub fn check_signature(
    payload: &Eip3009Payload,
    domain: &Domain,
    chain_id: u64,
    asset: Address,
    allowed_factories: &[Address],
) -> Result<SignatureProof, ExactEvmError> {
    let bytes = payload.signature.as_ref();
    if bytes.is_empty() {
        return Err(ExactEvmError::MalformedSignature(SignatureError::Length(0)));
    }
    let eip712 = eip3009::domain(&domain.name, &domain.version, chain_id, asset);
    let digest = eip3009::signing_hash(&payload.authorization, &eip712);
    if is_erc6492(bytes) {
        let wrapped = Erc6492Signature::parse(bytes).map_err(ExactEvmError::MalformedSignature)?;
        let factory_allowed = allowed_factories.contains(&wrapped.factory);
        return Ok(SignatureProof::Counterfactual { digest, wrapped, factory_allowed });
    }
    let eoa_error = match EcdsaSignature::parse(bytes) {
        Err(SignatureError::Length(n)) if n > 65 => ExactEvmError::UndeployedSmartWallet(n),
        Err(e) => ExactEvmError::MalformedSignature(e),
        Ok(signature) => match signature.recover(&digest) {
            Ok(recovered) if recovered == payload.authorization.from => return Ok(SignatureProof::Eoa(signature)),
            Ok(recovered) => ExactEvmError::WrongSigner { recovered },
            Err(e) => ExactEvmError::MalformedSignature(e),
        },
    };
    Ok(SignatureProof::Contract { digest, eoa_error })
}

pub fn check_recipient(authorization: &Eip3009Authorization, requirements: &Requirements) -> Result<(), ExactEvmError> {
    let pay_to = parse_evm_address(&requirements.pay_to).ok_or(ExactEvmError::InvalidPayTo)?;
    if authorization.to != pay_to {
        return Err(ExactEvmError::RecipientMismatch { to: authorization.to, pay_to });
    }
    Ok(())
}

/// `validBefore` is at least `margin_secs` away (the reference keeps 6 s "for block time"; see
/// [`crate::network::Network::expiry_margin_secs`]).
pub fn check_valid_before(
    authorization: &Eip3009Authorization,
    now: u64,
    margin_secs: u64,
) -> Result<(), ExactEvmError> {
    if authorization.valid_before < U256::from(now) + U256::from(margin_secs) {
        return Err(ExactEvmError::Expired { valid_before: authorization.valid_before, now });
    }
    Ok(())
}

pub fn check_valid_after(authorization: &Eip3009Authorization, now: u64) -> Result<(), ExactEvmError> {
    if authorization.valid_after > U256::from(now) {
        return Err(ExactEvmError::NotYetValid { valid_after: authorization.valid_after, now });
    }
    Ok(())
}

pub fn check_amount(authorization: &Eip3009Authorization, requirements: &Requirements) -> Result<(), ExactEvmError> {
    if authorization.value != requirements.amount {
        return Err(ExactEvmError::ValueMismatch { value: authorization.value, required: requirements.amount });
    }
    Ok(())
}

/// `transferWithAuthorization(…, v, r, s)` for EOAs (every FiatToken version has it); the `bytes`
/// overload (FiatToken v2.2) for contract wallets, with the inner signature of an ERC-6492 wrapper.
pub fn transfer_calldata(a: &Eip3009Authorization, signature: &[u8], proof: &SignatureProof) -> Vec<u8> {
    match proof {
        SignatureProof::Eoa(ecdsa) => IEip3009Token::transferWithAuthorization_0Call {
            from: a.from,
            to: a.to,
            value: a.value,
            validAfter: a.valid_after,
            validBefore: a.valid_before,
            nonce: a.nonce,
            v: ecdsa.v(),
            r: ecdsa.r.into(),
            s: ecdsa.s.into(),
        }
        .abi_encode(),
        SignatureProof::Contract { .. } | SignatureProof::Counterfactual { .. } => {
            IEip3009Token::transferWithAuthorization_1Call {
                from: a.from,
                to: a.to,
                value: a.value,
                validAfter: a.valid_after,
                validBefore: a.valid_before,
                nonce: a.nonce,
                signature: proof.wallet_signature(signature).to_vec().into(),
            }
        }
        .abi_encode(),
    }
}

/// A payment that passed every pure check, ready for the chain.
pub struct Prepared<'r> {
    pub authorization: &'r Eip3009Authorization,
    pub signature: &'r [u8],
    pub asset: Address,
    pub domain: Domain,
    /// How the signature is proven (a contract wallet's is checked with the chain reads).
    pub proof: SignatureProof,
    /// Calldata of the `transferWithAuthorization` overload that fits the signature.
    pub calldata: Vec<u8>,
}
