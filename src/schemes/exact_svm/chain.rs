//! `exact` on Solana against a cluster: the fee payer's co-signature checked by a simulation with
//! signature verification (verify), then the broadcast and the confirmation poll (settle). Which
//! settle may send is decided by the caller's ledger; this module only talks to the RPC.

use crate::chains::jsonrpc::{JsonRpcClient, RpcCall, RpcError};
use crate::chains::svm::rpc::{self, Landed};
use crate::chains::svm::{Keypair, Pubkey};
use crate::network::Network;
use crate::ports::{Clock, HttpTransport};

use super::{verify_transaction, ExactSvmError, SvmRequirements, VerifiedSvm};

/// How often a settle asks for its signature's status (the reference asks every second; a slot is 400 ms).
const STATUS_POLL_MS: u64 = 500;

/// What the facilitator pays for as a Solana fee payer, and how long it waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvmSettings {
    /// The highest compute unit limit a payment may ask for: with the spec's price cap (5 lamports
    /// per unit) it bounds the priority fee the fee payer pays per transaction.
    pub max_compute_unit_limit: u32,
    /// The highest compute unit price (micro-lamports) a payment may set: at most the spec's cap.
    pub max_compute_unit_price_micro_lamports: u64,
    /// How long a settle polls `getSignatureStatuses` before answering that the outcome is unknown.
    pub confirm_timeout_secs: u64,
}

pub struct SvmContext<'a, H, C> {
    pub network: &'static Network,
    pub rpc: JsonRpcClient<'a, H, C>,
    pub clock: &'a C,
    pub settings: SvmSettings,
}

/// A payment that passed every check, co-signed by the fee payer and simulated as signed.
#[derive(Debug, Clone)]
pub struct Signed {
    pub verified: VerifiedSvm,
    /// The wire transaction with both signatures (base64): what is broadcast.
    pub wire: String,
    /// The transaction id: the fee payer's signature, base58.
    pub signature: String,
    /// The message's recent blockhash, base58: the transaction dies with it.
    pub blockhash: String,
}

/// Every pure check, the compute cap, the fee payer's signature and a simulation with signature
/// verification: what `/verify` answers and what `/settle` re-runs before it sends.
pub async fn verify<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    transaction: &str,
    requirements: &SvmRequirements<'_>,
    fee_payers: &[Keypair],
) -> Result<Signed, ExactSvmError> {
    let managed: Vec<Pubkey> = fee_payers.iter().map(Keypair::pubkey).collect();
    let mut verified = verify_transaction(transaction, requirements, &managed)?;
    let cap = ctx.settings.max_compute_unit_limit;
    if verified.compute_unit_limit > cap {
        return Err(ExactSvmError::ComputeLimitTooHigh { units: verified.compute_unit_limit, cap });
    }
    let price_cap = ctx.settings.max_compute_unit_price_micro_lamports;
    if verified.compute_unit_price_micro_lamports > price_cap {
        let micro_lamports = verified.compute_unit_price_micro_lamports;
        return Err(ExactSvmError::ComputePriceTooHigh { micro_lamports, cap: price_cap });
    }
    let key = fee_payers.iter().find(|k| k.pubkey() == verified.fee_payer);
    let key = key.ok_or_else(|| ExactSvmError::FeePayerNotManaged(verified.fee_payer.to_base58()))?;
    let wire = verified.co_sign(key)?;
    // One round trip: the simulation (with every signature checked) and the destination account.
    let destination = verified.transfer.destination.to_base58();
    let calls = [rpc::simulate_transaction(&wire, true), rpc::account_info(&destination)];
    let mut answers = ctx.rpc.batch(&calls).await.map_err(rpc_error)?.into_iter();
    let mut next = || answers.next().unwrap_or_else(|| Err(RpcError::Malformed("short batch".into())));
    let simulated = check_simulation(&next().map_err(rpc_error)?);
    let account = next().map_err(rpc_error)?;
    // A missing destination fails the simulation too; this says why (a replay stays a replay).
    if matches!(simulated, Err(ExactSvmError::SimulationFailed(_))) {
        check_destination_exists(&account, &verified)?;
    }
    simulated?;
    check_destination_owner(&account, &verified)?;
    let signature = verified.transaction.id();
    let blockhash = Pubkey(verified.transaction.message().recent_blockhash).to_base58();
    Ok(Signed { verified, wire, signature, blockhash })
}

/// The destination (payTo's associated token account) exists: the transfer does not create it, and the
/// layout leaves no room for an instruction that would.
fn check_destination_exists(account: &serde_json::Value, verified: &VerifiedSvm) -> Result<(), ExactSvmError> {
    match rpc::account_exists(account).map_err(rpc_error)? {
        true => Ok(()),
        false => Err(ExactSvmError::DestinationAtaMissing(verified.transfer.destination)),
    }
}

/// The destination token account is not the payer's. It is `payTo`'s associated account (a pure check),
/// but an SPL Token account's owner can be reassigned: one handed to the payer would return the payment.
fn check_destination_owner(account: &serde_json::Value, verified: &VerifiedSvm) -> Result<(), ExactSvmError> {
    match rpc::token_account_owner(account).map_err(rpc_error)? {
        Some(owner) if owner == verified.payer => Err(ExactSvmError::SelfTransfer { authority: verified.payer }),
        _ => Ok(()),
    }
}

/// Simulates `wire` (base64); `sig_verify` also checks every signature (the fee payer's included).
pub async fn simulate<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    wire: &str,
    sig_verify: bool,
) -> Result<(), ExactSvmError> {
    check_simulation(&call(ctx, rpc::simulate_transaction(wire, sig_verify)).await?)
}

/// What `simulateTransaction` answered: Ok when the transaction would succeed. One the cluster has
/// processed already is a replay of a settled payment, said in words rather than as a bare error.
fn check_simulation(result: &serde_json::Value) -> Result<(), ExactSvmError> {
    let simulation = rpc::simulation(result).map_err(rpc_error)?;
    if simulation.already_processed() {
        return Err(ExactSvmError::AlreadyProcessed);
    }
    match simulation.err {
        None => Ok(()),
        Some(err) => {
            let last_log = simulation.logs.last().map(|l| format!(" ({l})")).unwrap_or_default();
            Err(ExactSvmError::SimulationFailed(format!("{err}{last_log}")))
        }
    }
}

/// Broadcasts the co-signed bytes. A refusal by the node's own preflight means the transaction
/// cannot land as it is, unless it found it processed already: then this very transaction landed (an
/// earlier endpoint took it before its answer was lost), and the confirmation reads its status. A
/// transport failure leaves its fate unknown (the caller reconciles).
pub async fn broadcast<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    signed: &Signed,
) -> Result<(), ExactSvmError> {
    let call = rpc::send_transaction(&signed.wire);
    match ctx.rpc.broadcast(call.method, call.params).await {
        Ok(result) => match rpc::sent_signature(&result) {
            Ok(sent) if sent == signed.signature => Ok(()),
            Ok(other) => Err(ExactSvmError::Rpc(format!("sendTransaction answered signature {other}"))),
            Err(e) => Err(rpc_error(e)),
        },
        Err(RpcError::Server { message, data, .. }) if rpc::refused_as_already_processed(&message, data.as_deref()) => {
            Ok(())
        }
        Err(RpcError::Server { message, .. }) => Err(ExactSvmError::SimulationFailed(message)),
        Err(_) => Err(ExactSvmError::ConfirmationTimedOut(signed.signature.clone())),
    }
}

/// What the cluster says of a sent transaction now.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    Landed {
        slot: u64,
    },
    /// Still able to land (its blockhash is valid, or it is in a block not yet confirmed).
    Pending,
}

/// Looks the signature up; a transaction not seen whose blockhash expired never can land. The
/// blockhash is asked first: once it is invalid, a status read after it is final.
pub async fn fate<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    signature: &str,
    blockhash: &str,
) -> Result<Fate, ExactSvmError> {
    let valid = rpc::blockhash_valid(&call(ctx, rpc::is_blockhash_valid(blockhash)).await?).map_err(rpc_error)?;
    match rpc::landed(&call(ctx, rpc::signature_status(signature)).await?).map_err(rpc_error)? {
        Landed::Succeeded { slot } => Ok(Fate::Landed { slot }),
        Landed::Failed { err, .. } => {
            Err(ExactSvmError::TransactionFailed { signature: signature.to_string(), err: err.to_string() })
        }
        // In a block not yet confirmed: that block decides, however old the blockhash is by now.
        Landed::Processed => Ok(Fate::Pending),
        Landed::NotYet if valid => Ok(Fate::Pending),
        Landed::NotYet => Err(ExactSvmError::Expired(signature.to_string())),
    }
}

/// Polls until the transaction lands (its slot), fails, expires, or the confirmation timeout passes.
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    signature: &str,
    blockhash: &str,
) -> Result<u64, ExactSvmError> {
    let deadline = ctx.clock.now_millis() + ctx.settings.confirm_timeout_secs * 1000;
    loop {
        match fate(ctx, signature, blockhash).await {
            Ok(Fate::Landed { slot }) => return Ok(slot),
            // A failing status read is no answer: keep asking until the deadline.
            Ok(Fate::Pending) | Err(ExactSvmError::Rpc(_)) if ctx.clock.now_millis() < deadline => {
                ctx.clock.sleep_millis(STATUS_POLL_MS).await;
            }
            Ok(Fate::Pending) | Err(ExactSvmError::Rpc(_)) => {
                return Err(ExactSvmError::ConfirmationTimedOut(signature.to_string()))
            }
            Err(e) => return Err(e),
        }
    }
}

async fn call<H: HttpTransport, C: Clock>(
    ctx: &SvmContext<'_, H, C>,
    call: RpcCall,
) -> Result<serde_json::Value, ExactSvmError> {
    ctx.rpc.call(call.method, call.params).await.map_err(rpc_error)
}

fn rpc_error(e: RpcError) -> ExactSvmError {
    ExactSvmError::Rpc(e.to_string())
}
