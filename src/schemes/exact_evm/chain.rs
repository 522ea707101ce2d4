//! The chain reads of one verify (or settle) in one batched JSON-RPC round trip, and the diagnosis of a
//! failed simulation in the reference's order.

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use serde_json::Value;

use super::checks::Prepared;
use super::checks::{Domain, SignatureProof};
use super::error::ExactEvmError;
use crate::chains::evm::contracts::{
    revert_reason, IEip3009Token, IMulticall3, ERC1271_MAGIC_VALUE, IERC1271, MULTICALL3,
};
use crate::chains::evm::rpc::{self, is_revert};
use crate::chains::evm::signature::Erc6492Signature;
use crate::chains::evm::tx::Fees;
use crate::chains::evm::value_probe::{call, Movement, ProbeError};
use crate::chains::jsonrpc::{RpcCall, RpcError};
use crate::ports::{Clock, HttpTransport};
use crate::schemes::evm_tx::EvmContext;
use crate::schemes::evm_tx::{self, Read};

pub struct ChainReads {
    chain_id: Result<Value, RpcError>,
    simulation: Result<Value, RpcError>,
    authorization_state: Result<Value, RpcError>,
    balance: Result<Value, RpcError>,
    name: Result<Value, RpcError>,
    version: Result<Value, RpcError>,
    /// The payment simulated through Multicall3 between balance reads: the value must move.
    probe: Read,
    /// `eth_getCode(from)` and `isValidSignature` when the signature is a contract wallet's.
    wallet: Option<[Result<Value, RpcError>; 2]>,
    /// For an ERC-6492 signature: the simulation of the deployment, the deployed wallet's ERC-1271
    /// check, and the payment between balance reads (one Multicall3 call), and for a settle the
    /// deployment's gas estimate.
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

/// The value the payment must move: `value` of the token from `from` to `to`.
fn movement(prepared: &Prepared<'_>) -> Movement {
    let a = prepared.authorization;
    Movement { token: prepared.asset, payer: a.from, payee: a.to, amount: a.value }
}

/// The calls of a probe before the balances: none for a payer that exists.
const PLAIN: usize = 0;
/// For an undeployed wallet: the factory call, then `from.isValidSignature` (which proves that the
/// factory deployed `from` itself and that the deployed wallet accepts the signature).
const DEPLOYMENT: usize = 2;

/// Multicall3: the `before` calls, the balances, `transferWithAuthorization`, the balances again.
fn pay_probe(prepared: &Prepared<'_>, before: Vec<IMulticall3::Call3>) -> Vec<u8> {
    movement(prepared).aggregate3(before, vec![call(prepared.asset, &prepared.calldata)])
}

/// Multicall3: the factory call, `from.isValidSignature(digest, inner signature)`, then the payment
/// as in [`pay_probe`]: the payment as it will run once the wallet exists.
fn deploy_then_pay_probe(prepared: &Prepared<'_>, wrapped: &Erc6492Signature, hash: alloy_primitives::B256) -> Vec<u8> {
    let check = IERC1271::isValidSignatureCall { hash, signature: wrapped.signature.clone() };
    let from = prepared.authorization.from;
    pay_probe(prepared, vec![call(wrapped.factory, &wrapped.factory_calldata), call(from, &check.abi_encode())])
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
        rpc::eth_call(signer.or(ctx.facilitator), MULTICALL3, &pay_probe(prepared, Vec::new())),
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
        SignatureProof::Counterfactual { wrapped, digest, .. } => Some((wrapped, *digest)),
        _ => None,
    };
    if let Some((wrapped, digest)) = wrapped {
        let simulation = deploy_then_pay_probe(prepared, wrapped, digest);
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
        probe: next(),
        settle: signer.map(|_| [next(), next(), next(), next()]),
        wallet: digest.map(|_| [next(), next()]),
        deployment: wrapped.map(|_| (next(), signer.map(|_| next()))),
    })
}

/// After the factory call, `from.isValidSignature` answered the magic value: `from` has code (a call
/// to an address without code "succeeds" with no data) and accepts the signature.
fn check_deployed_wallet(verdict: &IMulticall3::Result, factory: Address) -> Result<(), ExactEvmError> {
    if verdict.success && verdict.returnData.is_empty() {
        return Err(ExactEvmError::FactoryDeploysAnotherWallet { factory });
    }
    let magic = verdict.success.then(|| IERC1271::isValidSignatureCall::abi_decode_returns(&verdict.returnData).ok());
    match magic.flatten() {
        Some(value) if value.0 == ERC1271_MAGIC_VALUE => Ok(()),
        _ => Err(ExactEvmError::ContractSignatureRejected),
    }
}

impl ChainReads {
    /// Ok when the token implements EIP-3009, the simulation succeeded (for an undeployed wallet, the
    /// simulation of its deployment and the payment) and it moved the value; else the reference's
    /// diagnosis of a failed simulation: EIP-3009 support, nonce, token name, version, balance, then the
    /// revert reason. The value moving is an extra condition on a simulation that passed.
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
            PayerAccount::Undeployed => self.deployment_simulation(prepared)?,
        };
        let reason = match simulated {
            Simulated::Passed if !used => return self.check_value_moved(account, prepared).map(|_| account),
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

    /// The Multicall3 simulation of an undeployed wallet: the factory call, then the deployed
    /// wallet's ERC-1271 check, then the payment. A factory call that leaves `from` without code (it
    /// deployed some other wallet) or a wallet that rejects the signature is refused here.
    fn deployment_simulation(&self, prepared: &Prepared<'_>) -> Result<Simulated, ExactEvmError> {
        let (Some((simulation, _)), SignatureProof::Counterfactual { wrapped, .. }) =
            (&self.deployment, &prepared.proof)
        else {
            return Ok(Simulated::Reverted("the deployment was not simulated".into()));
        };
        let results = match movement(prepared).results(simulation, DEPLOYMENT, 1) {
            Ok(results) => results,
            Err(ProbeError::Node(e)) => return Ok(Simulated::NodeFailed(e)),
            Err(ProbeError::Undecodable(reason)) => return Ok(Simulated::Reverted(reason)),
        };
        let [deploy, verdict] = &results.before[..] else {
            return Ok(Simulated::Reverted("the deployment simulation answered with too few results".into()));
        };
        if !deploy.success {
            let reason = format!("the wallet factory call failed: {}", revert_reason(&deploy.returnData));
            return Ok(Simulated::Reverted(reason));
        }
        check_deployed_wallet(verdict, wrapped.factory)?;
        Ok(match results.failed_step() {
            None => Simulated::Passed,
            Some(reason) => Simulated::Reverted(reason),
        })
    }

    /// The probe of the payment (with the deployment for an undeployed wallet) moved exactly the
    /// value from `from` to `payTo`.
    fn check_value_moved(&self, account: PayerAccount, prepared: &Prepared<'_>) -> Result<(), ExactEvmError> {
        let (probe, before) = match (account, &self.deployment) {
            (PayerAccount::Undeployed, Some((simulation, _))) => (simulation, DEPLOYMENT),
            _ => (&self.probe, PLAIN),
        };
        let moved = movement(prepared);
        let results = match moved.results(probe, before, 1) {
            Ok(results) => results,
            Err(ProbeError::Node(e)) => return Err(ExactEvmError::Rpc(e)),
            Err(ProbeError::Undecodable(reason)) => return Err(ExactEvmError::ValueNotMoved(reason)),
        };
        if let Some(reason) = results.failed_step() {
            return Err(ExactEvmError::ValueNotMoved(format!("the transfer reverted through Multicall3: {reason}")));
        }
        results.check_moved(moved.amount).map_err(ExactEvmError::ValueNotMoved)
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
