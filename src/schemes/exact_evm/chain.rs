//! The chain reads of one verify (or settle) in one batched JSON-RPC round trip, and the diagnosis of a
//! failed simulation in the reference's order.

use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use serde_json::Value;

use super::checks::{Domain, SignatureProof};
use super::{EvmContext, ExactEvmError, Prepared};
use crate::chains::evm::contracts::{revert_reason, IEip3009Token, ERC1271_MAGIC_VALUE, IERC1271};
use crate::chains::evm::rpc;
use crate::chains::evm::tx::Fees;
use crate::chains::jsonrpc::{RpcCall, RpcError};
use crate::ports::{Clock, HttpTransport};

/// Gas limit = estimate plus this margin, in percent.
const GAS_MARGIN_PERCENT: u64 = 25;
/// Fallback tip when the node has no `eth_maxPriorityFeePerGas`.
const FALLBACK_TIP_WEI: u128 = 1_000_000_000;

/// What a settle needs beyond the verify reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettleReads {
    pub fees: Fees,
    pub gas_limit: u64,
}

pub struct ChainReads {
    chain_id: Result<Value, RpcError>,
    simulation: Result<Value, RpcError>,
    authorization_state: Result<Value, RpcError>,
    balance: Result<Value, RpcError>,
    name: Result<Value, RpcError>,
    version: Result<Value, RpcError>,
    /// `eth_getCode(from)` and `isValidSignature` when the signature is a contract wallet's.
    wallet: Option<[Result<Value, RpcError>; 2]>,
    /// Present when the reads were made for a settle.
    settle: Option<[Result<Value, RpcError>; 4]>,
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
        calls.extend([
            rpc::latest_block(),
            rpc::max_priority_fee(),
            rpc::gas_price(),
            rpc::estimate_gas(signer, token, &prepared.calldata),
        ]);
    }
    let wallet = match &prepared.proof {
        SignatureProof::Contract { digest, .. } => {
            let check = IERC1271::isValidSignatureCall { hash: *digest, signature: prepared.signature.to_vec().into() };
            calls.extend([rpc::get_code(a.from), rpc::eth_call(None, a.from, &check.abi_encode())]);
            true
        }
        SignatureProof::Eoa(_) => false,
    };
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
        wallet: wallet.then(|| [next(), next()]),
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
    /// Ok when the token implements EIP-3009 and the simulation succeeded; else the reference's
    /// diagnosis: EIP-3009 support, nonce, token name, version, balance, then the revert reason.
    pub fn diagnose(&self, prepared: &Prepared<'_>, expected_chain: u64) -> Result<(), ExactEvmError> {
        let actual = rpc::quantity_u64(self.chain_id.as_ref().map_err(Clone::clone)?)?;
        if actual != expected_chain {
            return Err(ExactEvmError::WrongChain { expected: expected_chain, actual });
        }
        self.check_contract_signature(prepared)?;
        // Checked even when the simulation succeeds: a call to an address without code "succeeds" too,
        // and settling there would report a payment that moved nothing.
        let used = decoded::<IEip3009Token::authorizationStateCall>(&self.authorization_state)
            .ok_or(ExactEvmError::Eip3009NotSupported)?;
        let error = match &self.simulation {
            Ok(_) if !used => return Ok(()),
            Ok(_) => return Err(ExactEvmError::NonceAlreadyUsed),
            Err(e) if !is_revert(e) => return Err(ExactEvmError::Rpc(e.clone())),
            Err(e) => e,
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
        let reason = match error.revert_data().and_then(|d| rpc::data(&Value::String(d.to_string())).ok()) {
            Some(data) if !data.is_empty() => revert_reason(&data),
            _ => error.to_string(),
        };
        Err(ExactEvmError::SimulationFailed(reason))
    }

    /// A contract wallet's signature: `from` must have code and accept the signature (ERC-1271).
    fn check_contract_signature(&self, prepared: &Prepared<'_>) -> Result<(), ExactEvmError> {
        let SignatureProof::Contract { eoa_error, .. } = &prepared.proof else { return Ok(()) };
        let [code, verdict] = self.wallet.as_ref().ok_or(ExactEvmError::ContractSignatureRejected)?;
        let code = rpc::data(code.as_ref().map_err(Clone::clone)?)?;
        if code.is_empty() {
            return Err(eoa_error.clone());
        }
        match decoded::<IERC1271::isValidSignatureCall>(verdict) {
            Some(magic) if magic.0 == ERC1271_MAGIC_VALUE => Ok(()),
            _ => Err(ExactEvmError::ContractSignatureRejected),
        }
    }

    /// Fees and gas limit for the settle transaction (after [`Self::diagnose`] passed).
    pub fn settle_reads(&self) -> Result<SettleReads, ExactEvmError> {
        let [block, tip, gas_price, estimate] = self.settle.as_ref().ok_or(ExactEvmError::NoSigner)?;
        let estimate = match estimate {
            Ok(v) => rpc::quantity_u64(v)?,
            Err(e) => return Err(ExactEvmError::SimulationFailed(format!("gas estimation failed: {e}"))),
        };
        let gas_limit = estimate.saturating_add(estimate * GAS_MARGIN_PERCENT / 100);
        let gas_price = gas_price.as_ref().ok().map(rpc::quantity).transpose()?;
        let fees = match rpc::base_fee(block.as_ref().map_err(Clone::clone)?)? {
            Some(base) => {
                let tip = match tip {
                    Ok(v) => rpc::quantity(v)?,
                    Err(_) => gas_price.map(|p| p.saturating_sub(base)).unwrap_or(FALLBACK_TIP_WEI),
                };
                Fees::Eip1559 {
                    max_fee_per_gas: base.saturating_mul(2).saturating_add(tip),
                    max_priority_fee_per_gas: tip,
                }
            }
            None => Fees::Legacy {
                gas_price: gas_price.ok_or_else(|| RpcError::Malformed("no gas price for a legacy chain".into()))?,
            },
        };
        Ok(SettleReads { fees, gas_limit })
    }
}
