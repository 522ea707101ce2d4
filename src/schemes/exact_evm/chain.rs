//! The chain reads of one verify (or settle) in one batched JSON-RPC round trip, and the diagnosis of a
//! failed simulation in the reference's order.

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use serde_json::Value;

use super::checks::{Domain, SignatureProof};
use super::{EvmContext, ExactEvmError, Prepared};
use crate::chains::evm::contracts::{
    revert_reason, IEip3009Token, IMulticall3, ERC1271_MAGIC_VALUE, IERC1271, MULTICALL3,
};
use crate::chains::evm::rpc;
use crate::chains::evm::signature::Erc6492Signature;
use crate::chains::evm::tx::Fees;
use crate::chains::jsonrpc::{RpcCall, RpcError};
use crate::ports::{Clock, HttpTransport};
use crate::schemes::evm_tx::{self, Read};

pub struct ChainReads {
    chain_id: Result<Value, RpcError>,
    simulation: Result<Value, RpcError>,
    authorization_state: Result<Value, RpcError>,
    balance: Result<Value, RpcError>,
    name: Result<Value, RpcError>,
    version: Result<Value, RpcError>,
    /// `eth_getCode(from)` and `isValidSignature` when the signature is a contract wallet's.
    wallet: Option<[Result<Value, RpcError>; 2]>,
    /// For an ERC-6492 signature: the simulation of deployment then payment (Multicall3), and for a
    /// settle the deployment's gas estimate.
    deployment: Option<(Read, Option<Read>)>,
    /// Present when the reads were made for a settle.
    settle: Option<[Result<Value, RpcError>; 4]>,
}

/// Whether the payer's account can be paid from as it is, or must be deployed first (an undeployed
/// ERC-6492 wallet whose factory is allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerAccount {
    Ready,
    Undeployed,
}

/// What a simulation said.
enum Simulated {
    Passed,
    Reverted(String),
    NodeFailed(RpcError),
}

impl Simulated {
    fn of(result: &Result<Value, RpcError>) -> Simulated {
        let error = match result {
            Ok(_) => return Simulated::Passed,
            Err(e) if !is_revert(e) => return Simulated::NodeFailed(e.clone()),
            Err(e) => e,
        };
        Simulated::Reverted(match error.revert_data().and_then(|d| rpc::data(&Value::String(d.to_string())).ok()) {
            Some(data) if !data.is_empty() => revert_reason(&data),
            _ => error.to_string(),
        })
    }
}

/// Multicall3 `aggregate3([factory(factoryCalldata), token.transferWithAuthorization(…)])`: the payment
/// as it will run once the wallet exists.
fn deploy_then_pay(wrapped: &Erc6492Signature, token: Address, transfer: &[u8]) -> Vec<u8> {
    let call = |target, data: &[u8]| IMulticall3::Call3 { target, allowFailure: true, callData: data.to_vec().into() };
    let calls = vec![call(wrapped.factory, &wrapped.factory_calldata), call(token, transfer)];
    IMulticall3::aggregate3Call { calls }.abi_encode()
}

fn decoded<C: SolCall>(result: &Result<Value, RpcError>) -> Option<C::Return> {
    let bytes = rpc::data(result.as_ref().ok()?).ok()?;
    C::abi_decode_returns(&bytes).ok()
}

/// Reads the token's own domain, for v1 requests that name none.
pub async fn read_domain<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    asset: Address,
) -> Result<Domain, ExactEvmError> {
    let calls = [
        rpc::eth_call(None, asset, &IEip3009Token::nameCall {}.abi_encode()),
        rpc::eth_call(None, asset, &IEip3009Token::versionCall {}.abi_encode()),
    ];
    let results = ctx.rpc.batch(&calls).await?;
    let name = decoded::<IEip3009Token::nameCall>(&results[0]);
    let version = decoded::<IEip3009Token::versionCall>(&results[1]);
    match (name, version) {
        (Some(name), Some(version)) => Ok(Domain { name, version }),
        _ => Err(ExactEvmError::MissingDomain),
    }
}

/// One batch: chain id, the simulation, and the diagnosis reads; plus fees and gas for a settle
/// by `signer`.
pub async fn read<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    prepared: &Prepared<'_>,
    signer: Option<Address>,
) -> Result<ChainReads, ExactEvmError> {
    let a = prepared.authorization;
    let token = prepared.asset;
    let mut calls: Vec<RpcCall> = vec![
        rpc::chain_id(),
        rpc::eth_call(signer.or(ctx.facilitator), token, &prepared.calldata),
        rpc::eth_call(
            None,
            token,
            &IEip3009Token::authorizationStateCall { authorizer: a.from, nonce: a.nonce }.abi_encode(),
        ),
        rpc::eth_call(None, token, &IEip3009Token::balanceOfCall { account: a.from }.abi_encode()),
        rpc::eth_call(None, token, &IEip3009Token::nameCall {}.abi_encode()),
        rpc::eth_call(None, token, &IEip3009Token::versionCall {}.abi_encode()),
    ];
    if let Some(signer) = signer {
        calls.extend(evm_tx::fee_calls());
        calls.push(rpc::estimate_gas(signer, token, &prepared.calldata));
    }
    let digest = prepared.proof.wallet_digest();
    if let Some(hash) = digest {
        let signature = prepared.proof.wallet_signature(prepared.signature).to_vec().into();
        let check = IERC1271::isValidSignatureCall { hash, signature };
        calls.extend([rpc::get_code(a.from), rpc::eth_call(None, a.from, &check.abi_encode())]);
    }
    let wrapped = match &prepared.proof {
        SignatureProof::Counterfactual { wrapped, .. } => Some(wrapped),
        _ => None,
    };
    if let Some(wrapped) = wrapped {
        let simulation = deploy_then_pay(wrapped, token, &prepared.calldata);
        calls.push(rpc::eth_call(signer.or(ctx.facilitator), MULTICALL3, &simulation));
        if let Some(signer) = signer {
            calls.push(rpc::estimate_gas(signer, wrapped.factory, &wrapped.factory_calldata));
        }
    }
    let mut results = ctx.rpc.batch(&calls).await?.into_iter();
    let mut next = || results.next().unwrap_or_else(|| Err(RpcError::Malformed("short batch".into())));
    Ok(ChainReads {
        chain_id: next(),
        simulation: next(),
        authorization_state: next(),
        balance: next(),
        name: next(),
        version: next(),
        settle: signer.map(|_| [next(), next(), next(), next()]),
        wallet: digest.map(|_| [next(), next()]),
        deployment: wrapped.map(|_| (next(), signer.map(|_| next()))),
    })
}

/// A revert is the contract refusing; any other error is the node failing.
fn is_revert(error: &RpcError) -> bool {
    match error {
        RpcError::Server { code, message, data } => {
            *code == 3
                || message.to_ascii_lowercase().contains("revert")
                || data.as_deref().is_some_and(|d| d.len() > 2)
        }
        _ => false,
    }
}

impl ChainReads {
    /// Ok when the token implements EIP-3009 and the simulation succeeded (for an undeployed wallet,
    /// the simulation of its deployment and the payment); else the reference's diagnosis: EIP-3009
    /// support, nonce, token name, version, balance, then the revert reason.
    pub fn diagnose(&self, prepared: &Prepared<'_>, expected_chain: u64) -> Result<PayerAccount, ExactEvmError> {
        let actual = rpc::quantity_u64(self.chain_id.as_ref().map_err(Clone::clone)?)?;
        if actual != expected_chain {
            return Err(ExactEvmError::WrongChain { expected: expected_chain, actual });
        }
        let account = self.check_wallet(prepared)?;
        // Checked even when the simulation succeeds: a call to an address without code "succeeds" too,
        // and settling there would report a payment that moved nothing.
        let used = decoded::<IEip3009Token::authorizationStateCall>(&self.authorization_state)
            .ok_or(ExactEvmError::Eip3009NotSupported)?;
        let simulated = match account {
            PayerAccount::Ready => Simulated::of(&self.simulation),
            PayerAccount::Undeployed => self.deployment_simulation(),
        };
        let reason = match simulated {
            Simulated::Passed if !used => return Ok(account),
            Simulated::Passed => return Err(ExactEvmError::NonceAlreadyUsed),
            Simulated::NodeFailed(e) => return Err(ExactEvmError::Rpc(e)),
            Simulated::Reverted(reason) => reason,
        };
        if used {
            return Err(ExactEvmError::NonceAlreadyUsed);
        }
        let domain = &prepared.domain;
        if let Some(actual) = decoded::<IEip3009Token::nameCall>(&self.name).filter(|n| *n != domain.name) {
            return Err(ExactEvmError::TokenNameMismatch { expected: domain.name.clone(), actual });
        }
        if let Some(actual) = decoded::<IEip3009Token::versionCall>(&self.version).filter(|v| *v != domain.version) {
            return Err(ExactEvmError::TokenVersionMismatch { expected: domain.version.clone(), actual });
        }
        let required = prepared.authorization.value;
        if let Some(balance) = decoded::<IEip3009Token::balanceOfCall>(&self.balance).filter(|b| *b < required) {
            return Err(ExactEvmError::InsufficientBalance { balance, required });
        }
        Err(ExactEvmError::SimulationFailed(reason))
    }

    /// A contract wallet's signature: `from` must have code and accept the signature (ERC-1271), or
    /// be a counterfactual wallet that an allowed factory deploys.
    fn check_wallet(&self, prepared: &Prepared<'_>) -> Result<PayerAccount, ExactEvmError> {
        if prepared.proof.wallet_digest().is_none() {
            return Ok(PayerAccount::Ready);
        }
        let [code, verdict] = self.wallet.as_ref().ok_or(ExactEvmError::ContractSignatureRejected)?;
        let code = rpc::data(code.as_ref().map_err(Clone::clone)?)?;
        if code.is_empty() {
            return match &prepared.proof {
                SignatureProof::Counterfactual { factory_allowed: true, .. } => Ok(PayerAccount::Undeployed),
                SignatureProof::Counterfactual { wrapped, .. } => {
                    Err(ExactEvmError::FactoryNotAllowed { factory: wrapped.factory })
                }
                SignatureProof::Contract { eoa_error, .. } => Err(eoa_error.clone()),
                SignatureProof::Eoa(_) => Ok(PayerAccount::Ready),
            };
        }
        match decoded::<IERC1271::isValidSignatureCall>(verdict) {
            Some(magic) if magic.0 == ERC1271_MAGIC_VALUE => Ok(PayerAccount::Ready),
            _ => Err(ExactEvmError::ContractSignatureRejected),
        }
    }

    /// The Multicall3 simulation of an undeployed wallet: the factory call, then the payment.
    fn deployment_simulation(&self) -> Simulated {
        let Some((simulation, _)) = &self.deployment else {
            return Simulated::Reverted("the deployment was not simulated".into());
        };
        let Ok(data) = simulation else { return Simulated::of(simulation) };
        let results = rpc::data(data).ok().and_then(|d| IMulticall3::aggregate3Call::abi_decode_returns(&d).ok());
        match results.as_deref() {
            Some([deploy, _]) if !deploy.success => {
                Simulated::Reverted(format!("the wallet factory call failed: {}", revert_reason(&deploy.returnData)))
            }
            Some([_, pay]) if pay.success => Simulated::Passed,
            Some([_, pay]) => Simulated::Reverted(revert_reason(&pay.returnData)),
            _ => Simulated::Reverted(format!("no Multicall3 answered at {MULTICALL3} on this chain")),
        }
    }

    /// Fees and gas limit for the settle transaction (after [`Self::diagnose`] passed).
    pub fn settle_reads(&self) -> Result<(Fees, u64), ExactEvmError> {
        let [_, _, _, estimate] = self.settle.as_ref().ok_or(ExactEvmError::NoSigner)?;
        Ok((self.fees()?, evm_tx::gas_limit(estimate)?))
    }

    /// Fees and gas limit for deploying an undeployed wallet through its factory.
    pub fn deployment_reads(&self) -> Result<(Fees, u64), ExactEvmError> {
        let estimate = self.deployment.as_ref().and_then(|(_, estimate)| estimate.as_ref());
        let estimate = estimate.ok_or(ExactEvmError::NoSigner)?;
        Ok((self.fees()?, evm_tx::gas_limit(estimate)?))
    }

    fn fees(&self) -> Result<Fees, ExactEvmError> {
        let [block, tip, gas_price, _] = self.settle.as_ref().ok_or(ExactEvmError::NoSigner)?;
        Ok(evm_tx::fees(block, tip, gas_price)?)
    }
}
