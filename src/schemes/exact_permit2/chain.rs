//! The chain reads of one verify (or settle) in one batched JSON-RPC round trip, and their verdict
//! in the reference's order: asset code, signature, extension, nonce, proxy, then the simulation,
//! whose failure the balance and allowance explain (`diagnosePermit2SimulationFailure`). Either x402
//! Permit2 proxy: the call is the [`ProxyCall`] the scheme prepared.

use alloy_primitives::{Address, U256};
use alloy_sol_types::SolCall;
use serde_json::{json, Value};

use super::checks::{ApprovalTx, Prepared, Sponsoring};
use super::error::ExactPermit2Error;
use crate::chains::evm::contracts::{ERC1271_MAGIC_VALUE, IERC1271, MULTICALL3, MULTICALL3_CODE};
use crate::chains::evm::permit2::{
    self, nonce_position, IErc20, IPermit2, IX402ExactPermit2Proxy, IX402UptoPermit2Proxy, PERMIT2,
};
use crate::chains::evm::rpc::{self, is_revert};
use crate::chains::evm::tx::Fees;
use crate::chains::evm::value_probe::{call as probe_call, Movement, ProbeError};
use crate::chains::jsonrpc::{RpcCall, RpcError};
use crate::ports::{Clock, HttpTransport};
use crate::schemes::evm_tx::{self, EvmContext, Read};

/// What to do once the reads passed.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Send the simulated proxy call.
    Settle,
    /// Broadcast the payer's approval first; the allowance it sets makes the settle possible.
    ApproveFirst(ApprovalTx),
}

pub struct ChainReads {
    chain_id: Read,
    asset_code: Read,
    payer_code: Read,
    /// `from.isValidSignature(digest, signature)`, decisive only when `from` has code.
    wallet_verdict: Read,
    nonce_bitmap: Read,
    proxy_permit2: Read,
    allowance: Read,
    balance: Read,
    simulation: Read,
    /// The proxy call through Multicall3 between balance reads: the amount must move.
    probe: Read,
    /// For an approval to relay: the payer's mined transaction count and ETH balance.
    approval: Option<[Read; 2]>,
    /// For a settle: latest block, tip, gas price and the gas estimate.
    settle: Option<[Read; 4]>,
}

/// What a simulation said.
enum Simulated {
    Passed,
    /// The upto proxy's own refusal of the call (the charge above the cap, another caller than
    /// `witness.facilitator`): decisive, whatever the balance and allowance say.
    Refused(ExactPermit2Error),
    Reverted(String),
    NodeFailed(RpcError),
}

impl Simulated {
    fn of(result: &Read) -> Simulated {
        let error = match result {
            Ok(_) => return Simulated::Passed,
            Err(e) if !is_revert(e) => return Simulated::NodeFailed(e.clone()),
            Err(e) => e,
        };
        if let Some(refusal) = proxy_refusal(error) {
            return Simulated::Refused(refusal);
        }
        let data = error.revert_data().and_then(|d| rpc::data(&Value::String(d.to_string())).ok());
        Simulated::Reverted(match data {
            Some(data) if !data.is_empty() => permit2::revert_reason(&data),
            _ => error.to_string(),
        })
    }
}

/// The upto proxy's refusals, from a revert's data (`@x402/evm` `mapSettleError` maps them by name).
fn proxy_refusal(error: &RpcError) -> Option<ExactPermit2Error> {
    use alloy_sol_types::SolError;
    use IX402UptoPermit2Proxy::{AmountExceedsPermitted, UnauthorizedFacilitator};
    let data = rpc::data(&Value::String(error.revert_data()?.to_string())).ok()?;
    match data.get(..4)? {
        s if s == AmountExceedsPermitted::SELECTOR => Some(ExactPermit2Error::AmountExceedsPermitted),
        s if s == UnauthorizedFacilitator::SELECTOR => Some(ExactPermit2Error::UnauthorizedFacilitator),
        _ => None,
    }
}

fn decoded<C: SolCall>(result: &Read) -> Option<C::Return> {
    let bytes = rpc::data(result.as_ref().ok()?).ok()?;
    C::abi_decode_returns(&bytes).ok()
}

/// A read whose node failed is an RPC error; one that answered is decoded (or not).
fn answered<C: SolCall>(result: &Read) -> Result<Option<C::Return>, ExactPermit2Error> {
    match result {
        Err(e) if !is_revert(e) => Err(ExactPermit2Error::Rpc(e.clone())),
        _ => Ok(decoded::<C>(result)),
    }
}

/// The value the payment must move: `amount` of the token from `from` to `witness.to`.
fn movement(prepared: &Prepared<'_>) -> Movement {
    let p = prepared.payload;
    Movement { token: prepared.asset, payer: p.from, payee: p.to, amount: p.amount }
}

/// One batch: the reads, the simulation and the probe from `signer` (else the proxy's bound caller,
/// else the facilitator), plus fees and gas for a settle by `signer`. The probe of a caller-bound
/// proxy runs as that caller: Multicall3's code put at its address ([`MULTICALL3_CODE`]).
pub async fn read<H: HttpTransport, C: Clock>(
    ctx: &EvmContext<'_, H, C>,
    prepared: &Prepared<'_>,
    signer: Option<Address>,
) -> Result<ChainReads, ExactPermit2Error> {
    let (p, call) = (prepared.payload, &prepared.call);
    let (asset, proxy, caller) = (prepared.asset, call.proxy, signer.or(call.bound_caller).or(ctx.facilitator));
    let verdict = IERC1271::isValidSignatureCall {
        hash: prepared.signature.digest,
        signature: prepared.signature.signature.clone(),
    };
    let bitmap = IPermit2::nonceBitmapCall { owner: p.from, wordPos: nonce_position(p.nonce).0 };
    let probe = movement(prepared).aggregate3(Vec::new(), vec![probe_call(proxy, &call.simulated)]);
    let mut calls: Vec<RpcCall> = vec![
        rpc::chain_id(),
        rpc::get_code(asset),
        rpc::get_code(p.from),
        rpc::eth_call(None, p.from, &verdict.abi_encode()),
        rpc::eth_call(None, PERMIT2, &bitmap.abi_encode()),
        rpc::eth_call(None, proxy, &IX402ExactPermit2Proxy::PERMIT2Call {}.abi_encode()),
        rpc::eth_call(None, asset, &IErc20::allowanceCall { owner: p.from, spender: PERMIT2 }.abi_encode()),
        rpc::eth_call(None, asset, &IErc20::balanceOfCall { account: p.from }.abi_encode()),
        rpc::eth_call(caller, proxy, &call.simulated),
        match call.bound_caller {
            None => rpc::eth_call(caller, MULTICALL3, &probe),
            Some(bound) => rpc::eth_call_as(bound, MULTICALL3_CODE, &probe),
        },
    ];
    let relays = matches!(prepared.sponsoring, Ok(Sponsoring::Erc20Approval(_)));
    if relays {
        calls.push(RpcCall::new("eth_getTransactionCount", json!([p.from, "latest"])));
        calls.push(RpcCall::new("eth_getBalance", json!([p.from, "latest"])));
    }
    if let Some(signer) = signer {
        calls.extend(evm_tx::fee_calls());
        calls.push(rpc::estimate_gas(signer, proxy, &call.sent));
    }
    let mut results = ctx.rpc.batch(&calls).await?.into_iter();
    let mut next = || results.next().unwrap_or_else(|| Err(RpcError::Malformed("short batch".into())));
    Ok(ChainReads {
        chain_id: next(),
        asset_code: next(),
        payer_code: next(),
        wallet_verdict: next(),
        nonce_bitmap: next(),
        proxy_permit2: next(),
        allowance: next(),
        balance: next(),
        simulation: next(),
        probe: next(),
        approval: relays.then(|| [next(), next()]),
        settle: signer.map(|_| [next(), next(), next(), next()]),
    })
}

impl ChainReads {
    /// Ok when the payment can be settled as simulated (or after relaying the payer's approval);
    /// else the first refusal in the reference's order.
    pub fn diagnose(&self, prepared: &Prepared<'_>, expected_chain: u64) -> Result<Plan, ExactPermit2Error> {
        let actual = rpc::quantity_u64(self.chain_id.as_ref().map_err(Clone::clone)?)?;
        if actual != expected_chain {
            return Err(ExactPermit2Error::WrongChain { expected: expected_chain, actual });
        }
        if rpc::data(self.asset_code.as_ref().map_err(Clone::clone)?)?.is_empty() {
            return Err(ExactPermit2Error::AssetNotDeployed(prepared.asset));
        }
        self.check_signature(prepared)?;
        let sponsoring = prepared.sponsoring.clone()?;
        self.check_nonce(prepared)?;
        self.check_proxy(prepared.call.proxy)?;
        let required = prepared.payload.amount;
        let allowance = answered::<IErc20::allowanceCall>(&self.allowance)?;
        let balance = answered::<IErc20::balanceOfCall>(&self.balance)?;
        if let Sponsoring::Erc20Approval(tx) = sponsoring {
            if allowance.is_none_or(|a| a < required) {
                self.check_approval(&tx, balance, required)?;
                return Ok(Plan::ApproveFirst(tx));
            }
        }
        match Simulated::of(&self.simulation) {
            Simulated::Passed => self.check_value_moved(prepared).map(|_| Plan::Settle),
            Simulated::Refused(refusal) => Err(refusal),
            Simulated::NodeFailed(e) => Err(ExactPermit2Error::Rpc(e)),
            Simulated::Reverted(reason) => Err(explain(reason, allowance, balance, required)),
        }
    }

    /// As Permit2 checks it: `ecrecover` when `from` has no code, else only the wallet's ERC-1271
    /// answer (an ERC-7702 account's delegate decides, as on chain).
    fn check_signature(&self, prepared: &Prepared<'_>) -> Result<(), ExactPermit2Error> {
        let code = rpc::data(self.payer_code.as_ref().map_err(Clone::clone)?)?;
        if code.is_empty() {
            return prepared.signature.ecdsa.clone();
        }
        match answered::<IERC1271::isValidSignatureCall>(&self.wallet_verdict)? {
            Some(magic) if magic.0 == ERC1271_MAGIC_VALUE => Ok(()),
            _ => Err(ExactPermit2Error::ContractSignatureRejected),
        }
    }

    /// The payment's bit in Permit2's nonce bitmap: set means it was settled (or the payer spent
    /// the nonce otherwise), and nothing may be sent.
    fn check_nonce(&self, prepared: &Prepared<'_>) -> Result<(), ExactPermit2Error> {
        let bit = nonce_position(prepared.payload.nonce).1;
        match answered::<IPermit2::nonceBitmapCall>(&self.nonce_bitmap)? {
            Some(bitmap) if bitmap.bit(bit) => Err(ExactPermit2Error::NonceUsed),
            Some(_) => Ok(()),
            None => Err(ExactPermit2Error::ProxyNotDeployed(format!("Permit2 does not answer at {PERMIT2}"))),
        }
    }

    /// The proxy answers `PERMIT2()` with the canonical Permit2 (a call to an address without code
    /// "succeeds", so the simulation alone cannot tell).
    fn check_proxy(&self, proxy: Address) -> Result<(), ExactPermit2Error> {
        match answered::<IX402ExactPermit2Proxy::PERMIT2Call>(&self.proxy_permit2)? {
            Some(permit2) if permit2 == PERMIT2 => Ok(()),
            Some(other) => Err(ExactPermit2Error::ProxyNotDeployed(format!("the proxy uses {other} as Permit2"))),
            None => Err(ExactPermit2Error::ProxyNotDeployed(format!("no x402 Permit2 proxy answers at {proxy}"))),
        }
    }

    /// The approval can be mined as signed, at the payer's expense: its nonce is the payer's next
    /// one and the payer holds the gas for it (the facilitator funds nothing). The payment itself
    /// is simulated only once the approval is mined (the reference checks proxy and balance here).
    fn check_approval(&self, tx: &ApprovalTx, balance: Option<U256>, required: U256) -> Result<(), ExactPermit2Error> {
        if let Some(balance) = balance.filter(|b| *b < required) {
            return Err(ExactPermit2Error::InsufficientBalance { balance, required });
        }
        let [count, eth] = self.approval.as_ref().ok_or(ExactPermit2Error::NoSigner)?;
        let next = rpc::quantity_u64(count.as_ref().map_err(Clone::clone)?)?;
        if tx.nonce != next {
            let why = format!("its nonce is {}, the payer's next nonce is {next}", tx.nonce);
            return Err(ExactPermit2Error::ApprovalNotMineable(why));
        }
        let eth = U256::from(rpc::quantity(eth.as_ref().map_err(Clone::clone)?)?);
        if eth < tx.max_cost {
            let why = format!("the payer holds {eth} wei, its gas may cost {} wei", tx.max_cost);
            return Err(ExactPermit2Error::ApprovalNotMineable(why));
        }
        Ok(())
    }

    /// The probe of the proxy call moved exactly the amount from the payer to `payTo`.
    fn check_value_moved(&self, prepared: &Prepared<'_>) -> Result<(), ExactPermit2Error> {
        let moved = movement(prepared);
        let results = match moved.results(&self.probe, 0, 1) {
            Ok(results) => results,
            Err(ProbeError::Node(e)) => return Err(ExactPermit2Error::Rpc(e)),
            Err(ProbeError::Undecodable(reason)) => return Err(ExactPermit2Error::ValueNotMoved(reason)),
        };
        if let Some(reason) = results.failed_step() {
            let reason = format!("the proxy call reverted through Multicall3: {reason}");
            return Err(ExactPermit2Error::ValueNotMoved(reason));
        }
        results.check_moved(moved.amount).map_err(ExactPermit2Error::ValueNotMoved)
    }

    /// Fees and gas limit for the settle transaction (after [`Self::diagnose`] passed).
    pub fn settle_reads(&self) -> Result<(Fees, u64), ExactPermit2Error> {
        let [block, tip, gas_price, estimate] = self.settle.as_ref().ok_or(ExactPermit2Error::NoSigner)?;
        if let Some(refusal) = estimate.as_ref().err().and_then(proxy_refusal) {
            return Err(refusal);
        }
        let fees = evm_tx::fees(block, tip, gas_price)?;
        Ok((fees, evm_tx::gas_limit(estimate)?))
    }
}

/// Why the simulation failed, as the reference diagnoses it: the balance, then the allowance to
/// Permit2, else the revert itself.
fn explain(reason: String, allowance: Option<U256>, balance: Option<U256>, required: U256) -> ExactPermit2Error {
    if let Some(balance) = balance.filter(|b| *b < required) {
        return ExactPermit2Error::InsufficientBalance { balance, required };
    }
    if let Some(allowance) = allowance.filter(|a| *a < required) {
        return ExactPermit2Error::AllowanceRequired { allowance, required };
    }
    ExactPermit2Error::SimulationFailed(reason)
}
