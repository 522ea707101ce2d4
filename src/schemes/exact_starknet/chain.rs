//! `exact` on Starknet against a node: the account itself judges its signature (SNIP-6
//! `is_valid_signature`) and its outside-execution nonce, the token the balance; then the settle
//! submits `execute_from_outside_v2` from the sponsor account in an INVOKE v3 transaction signed here,
//! and waits until it is accepted on L2. An RPC that fails is an error, never a pass.

use alloy_primitives::U256;
use serde_json::{json, Value};

use super::spec::ExpectedTransfer;
use super::{ExactStarknetError, VerifiedStarknet};
use crate::chains::jsonrpc::{JsonRpcClient, RpcCall, RpcError};
use crate::chains::starknet::felt::felt_to_u256;
use crate::chains::starknet::{
    execute_calldata, parse_felt, selector, AllResourceBounds, Call, DataAvailabilityMode, Felt, InvokeTransactionV3,
    ResourceBounds, StarkKey,
};
use crate::ports::{Clock, HttpTransport};

/// `'VALID'`: what a SNIP-6 account's `is_valid_signature` answers (older accounts answer 1).
const VALID: Felt = Felt::from_hex_unchecked("0x56414c4944");
/// How often a settle asks for its transaction's status.
const STATUS_POLL_MS: u64 = 1_000;
/// Fee estimates are multiplied by this (in percent) for the resource bounds, as wallets do.
const FEE_MARGIN_PERCENT: u128 = 150;
/// The block the sponsor's nonce and the fee estimate are read at: the one being built (RPC 0.9+
/// `pre_confirmed`, 0.8 `pending`), else `latest`. At `latest`, concurrent settles all read the same
/// nonce until the next block (seconds on Starknet), and past their retries fail.
const PENDING_BLOCK_TAGS: [&str; 3] = ["pre_confirmed", "pending", "latest"];

pub struct StarknetContext<'a, H, C> {
    pub rpc: JsonRpcClient<'a, H, C>,
    pub clock: &'a C,
    pub chain_id: Felt,
    /// How long a settle waits for `ACCEPTED_ON_L2`.
    pub confirm_timeout_secs: u64,
    /// The most the sponsor's transaction may be charged, in fri (`STARKNET_MAX_FEE[_<NAME>]`).
    pub max_fee_fri: u128,
}

fn call_request(contract: Felt, entry_point: &str, calldata: &[Felt]) -> RpcCall {
    let calldata: Vec<String> = calldata.iter().map(|f| format!("{f:#x}")).collect();
    let request = json!({"contract_address": format!("{contract:#x}"), "entry_point_selector": format!("{:#x}", selector(entry_point)), "calldata": calldata});
    RpcCall::new("starknet_call", json!({"request": request, "block_id": "latest"}))
}

/// The chain's reads of a verify, in one batch: the time of the block being built (the outside
/// execution runs only after `execute_after`, by the chain's clock, which may lag the wall clock), the
/// signature, the nonce, the balance.
pub async fn check_on_chain<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    verified: &VerifiedStarknet,
) -> Result<(), ExactStarknetError> {
    let mut signature_args = vec![verified.message_hash, Felt::from(verified.signature.len())];
    signature_args.extend_from_slice(&verified.signature);
    let calls = [
        block_request(PENDING_BLOCK_TAGS[0]),
        call_request(verified.account, "is_valid_signature", &signature_args),
        call_request(verified.account, "is_valid_outside_execution_nonce", &[verified.execution.nonce]),
        call_request(verified.token, "balance_of", &[verified.account]),
    ];
    let mut results = ctx.rpc.batch(&calls).await.map_err(rpc_error)?.into_iter();
    let mut next = || results.next().unwrap_or_else(|| Err(RpcError::Malformed("missing batch answer".into())));
    let block_time = match next() {
        Ok(block) => block_timestamp(&block)?,
        // A node without the first tag: the tags after it, in a round trip of their own.
        Err(RpcError::Server { code: -32602 | 24, .. }) => pending_block_time(ctx).await?,
        Err(e) => return Err(rpc_error(e)),
    };
    check_started(verified.execution.execute_after, block_time)?;
    check_signature(next())?;
    let (nonce, balance) = (next(), next());
    if felts(&nonce.map_err(rpc_error)?)?.first() != Some(&Felt::ONE) {
        return Err(ExactStarknetError::NonceUsed);
    }
    check_balance(&felts(&balance.map_err(rpc_error)?)?, verified.amount)
}

/// SRC-9 runs an outside execution only when `execute_after < block timestamp`.
fn check_started(execute_after: u64, block_time: u64) -> Result<(), ExactStarknetError> {
    if execute_after >= block_time {
        return Err(ExactStarknetError::NotYetValid { execute_after, now: block_time });
    }
    Ok(())
}

/// The timestamp of the block being built (see [`PENDING_BLOCK_TAGS`]): what the execution will see.
async fn pending_block_time<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
) -> Result<u64, ExactStarknetError> {
    let block = at_pending_block(ctx, BLOCK_METHOD, |tag| block_request(tag).params).await?.0;
    block_timestamp(&block)
}

const BLOCK_METHOD: &str = "starknet_getBlockWithTxHashes";

fn block_request(tag: &str) -> RpcCall {
    RpcCall::new(BLOCK_METHOD, json!({"block_id": tag}))
}

fn block_timestamp(block: &Value) -> Result<u64, ExactStarknetError> {
    let timestamp = block.get("timestamp").and_then(Value::as_u64);
    timestamp.ok_or_else(|| ExactStarknetError::Rpc(format!("the block has no timestamp: {block}")))
}

/// `method` at the first of [`PENDING_BLOCK_TAGS`] the node knows, and that tag. A node that does not
/// know a tag refuses its params (-32602) or the block (24, BLOCK_NOT_FOUND).
async fn at_pending_block<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    method: &'static str,
    params: impl Fn(&str) -> Value,
) -> Result<(Value, &'static str), ExactStarknetError> {
    let mut refusal = None;
    for tag in PENDING_BLOCK_TAGS {
        match ctx.rpc.call(method, params(tag)).await {
            Ok(value) => return Ok((value, tag)),
            Err(e @ RpcError::Server { code: -32602 | 24, .. }) => refusal = Some(e),
            Err(e) => return Err(rpc_error(e)),
        }
    }
    Err(rpc_error(refusal.unwrap_or_else(|| RpcError::Malformed("no block tag".into()))))
}

/// `VALID` (or 1) passes; a zero answer or the account's own refusal (a contract error) is an
/// invalid signature; anything else (no answer, a node error) is an RPC failure, never a pass.
fn check_signature(result: Result<Value, RpcError>) -> Result<(), ExactStarknetError> {
    match result {
        Ok(value) => match felts(&value)?.first() {
            Some(answer) if *answer == VALID || *answer == Felt::ONE => Ok(()),
            _ => Err(ExactStarknetError::InvalidSignature(String::new())),
        },
        // Starknet JSON-RPC: 20 contract not found, 40 contract error (the account reverted).
        Err(RpcError::Server { code: 20, .. }) => Err(ExactStarknetError::AccountNotDeployed),
        Err(RpcError::Server { code: 40, message, .. }) => {
            Err(ExactStarknetError::InvalidSignature(format!(" (the account reverted: {message})")))
        }
        Err(e) => Err(rpc_error(e)),
    }
}

fn check_balance(balance: &[Felt], amount: U256) -> Result<(), ExactStarknetError> {
    let [low, high] = balance else {
        return Err(ExactStarknetError::Rpc(format!("balance_of answered {} felts, not a u256", balance.len())));
    };
    let balance: U256 = (felt_to_u256(high) << 128usize) | felt_to_u256(low);
    if balance < amount {
        return Err(ExactStarknetError::InsufficientFunds { balance: balance.to_string(), amount: amount.to_string() });
    }
    Ok(())
}

/// A `starknet_call` result: hex felts.
fn felts(value: &Value) -> Result<Vec<Felt>, ExactStarknetError> {
    let items = value.as_array().ok_or_else(|| ExactStarknetError::Rpc("starknet_call answered no list".into()))?;
    items
        .iter()
        .map(|item| {
            let text =
                item.as_str().ok_or_else(|| ExactStarknetError::Rpc("starknet_call answered a non-felt".into()))?;
            parse_felt(text).map_err(|e| ExactStarknetError::Rpc(format!("starknet_call answered {e}")))
        })
        .collect()
}

/// The sponsor account that submits outside executions and pays their fees.
pub struct Sponsor<'a> {
    pub address: Felt,
    pub key: &'a StarkKey,
}

/// A signed INVOKE v3, ready to broadcast (and to broadcast again: the same nonce, the same hash).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedInvoke {
    pub hash: Felt,
    /// The `starknet_addInvokeTransaction` parameter.
    pub json: Value,
}

/// Builds, prices and signs the sponsor's transaction running the payer's outside execution.
pub async fn sponsor_transaction<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    sponsor: &Sponsor<'_>,
    call: &Call,
) -> Result<SignedInvoke, ExactStarknetError> {
    let (nonce, block_id) = pending_nonce(ctx, sponsor.address).await?;
    let mut tx = InvokeTransactionV3 {
        sender_address: sponsor.address,
        calldata: execute_calldata(std::slice::from_ref(call)),
        chain_id: ctx.chain_id,
        nonce,
        resource_bounds: AllResourceBounds::default(),
        tip: 0,
        paymaster_data: Vec::new(),
        account_deployment_data: Vec::new(),
        nonce_data_availability_mode: DataAvailabilityMode::L1,
        fee_data_availability_mode: DataAvailabilityMode::L1,
    };
    let estimate = ctx
        .rpc
        .call(
            "starknet_estimateFee",
            json!({"request": [invoke_json(&tx, &[], true)], "simulation_flags": ["SKIP_VALIDATE"], "block_id": block_id}),
        )
        .await
        .map_err(|e| match e {
            // 52, or an execution error naming the nonce: another transaction of the sponsor took it.
            RpcError::Server { code: 52, .. } => ExactStarknetError::StaleNonce,
            RpcError::Server { data: Some(data), .. } if names_a_stale_nonce(&data) => ExactStarknetError::StaleNonce,
            // The execution itself fails (the account refuses the outside execution): nothing to send.
            RpcError::Server { code: 41 | 40, message, data } => {
                ExactStarknetError::Rpc(format!("the transaction would fail: {message} {}", data.unwrap_or_default()))
            }
            other => rpc_error(other),
        })?;
    tx.resource_bounds = bounds_from_estimate(&estimate)?;
    check_fee_ceiling(&tx.resource_bounds, ctx.max_fee_fri)?;
    let hash = tx.hash();
    let signature = sponsor.key.sign(&hash).map_err(|e| ExactStarknetError::Rpc(e.to_string()))?;
    Ok(SignedInvoke { hash, json: invoke_json(&tx, &[signature.r, signature.s], false) })
}

/// Whether a node's error text says the transaction's nonce is not the sender's current one.
fn names_a_stale_nonce(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.contains("nonce is invalid") || lower.contains("invalid transaction nonce")
}

/// The sponsor's nonce at the block being built (see [`at_pending_block`]), and the tag it was read at.
async fn pending_nonce<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    sponsor: Felt,
) -> Result<(Felt, &'static str), ExactStarknetError> {
    let params = |tag: &str| json!({"block_id": tag, "contract_address": format!("{sponsor:#x}")});
    let (nonce, tag) = at_pending_block(ctx, "starknet_getNonce", params).await?;
    Ok((felt_text(&nonce)?, tag))
}

/// Sends a signed transaction; a transport failure leaves its fate to the status poll. A refusal
/// (the node's validation, a stale sponsor nonce) means nothing was accepted.
pub async fn broadcast<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    signed: &SignedInvoke,
) -> Result<(), ExactStarknetError> {
    let params = json!({"invoke_transaction": signed.json});
    match ctx.rpc.broadcast("starknet_addInvokeTransaction", params).await {
        Ok(result) => match result.get("transaction_hash").and_then(Value::as_str).map(parse_felt) {
            Some(Ok(hash)) if hash == signed.hash => Ok(()),
            _ => Err(ExactStarknetError::Rpc(format!("starknet_addInvokeTransaction answered {result}"))),
        },
        // 52: INVALID_TRANSACTION_NONCE (another transaction of the sponsor took it).
        Err(RpcError::Server { code: 52, .. }) => Err(ExactStarknetError::StaleNonce),
        Err(RpcError::Server { message, data, .. }) => {
            Err(ExactStarknetError::Refused(format!("{message} {}", data.unwrap_or_default()).trim().to_string()))
        }
        Err(_) => Err(ExactStarknetError::NotAcceptedInTime(format!("{:#x}", signed.hash))),
    }
}

/// Hands the signed outside execution to a SNIP-29 paymaster (`paymaster_executeTransaction`, sponsored
/// fee mode, as x402-starknet calls it) and answers the transaction hash it submitted. Refusals keep
/// the paymaster's code; a read retry is safe because the account accepts the nonce once.
pub async fn paymaster_execute<H: HttpTransport, C: Clock>(
    paymaster: &JsonRpcClient<'_, H, C>,
    verified: &VerifiedStarknet,
    typed_data: &Value,
) -> Result<Felt, ExactStarknetError> {
    let signature: Vec<String> = verified.signature.iter().map(|f| format!("{f:#x}")).collect();
    let params = json!({
        "transaction": {"type": "invoke", "invoke": {
            "user_address": format!("{:#x}", verified.account), "typed_data": typed_data, "signature": signature,
        }},
        "parameters": {"version": "0x1", "fee_mode": {"mode": "sponsored"}},
    });
    match paymaster.call("paymaster_executeTransaction", params).await {
        Ok(result) => match result.get("transaction_hash").and_then(Value::as_str).map(parse_felt) {
            Some(Ok(hash)) => Ok(hash),
            _ => Err(ExactStarknetError::Paymaster(format!("it answered without a transaction hash: {result}"))),
        },
        Err(RpcError::Server { code, message, .. }) => Err(ExactStarknetError::Paymaster(format!("{code} {message}"))),
        Err(e) => Err(ExactStarknetError::Paymaster(e.to_string())),
    }
}

/// What the node says of a transaction now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Accepted,
    Pending,
    Unknown,
}

pub async fn status<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    hash: &str,
) -> Result<Status, ExactStarknetError> {
    let result = ctx.rpc.call("starknet_getTransactionStatus", json!({"transaction_hash": hash})).await;
    let value = match result {
        Ok(value) => value,
        // 29: TXN_HASH_NOT_FOUND.
        Err(RpcError::Server { code: 29, .. }) => return Ok(Status::Unknown),
        Err(e) => return Err(rpc_error(e)),
    };
    let finality = value.get("finality_status").and_then(Value::as_str).unwrap_or_default();
    let execution = value.get("execution_status").and_then(Value::as_str).unwrap_or_default();
    match (finality, execution) {
        (_, "REVERTED") | ("REJECTED", _) => Err(ExactStarknetError::TransactionFailed {
            hash: hash.to_string(),
            reason: value.get("failure_reason").and_then(Value::as_str).unwrap_or("reverted").to_string(),
        }),
        ("ACCEPTED_ON_L2" | "ACCEPTED_ON_L1", _) => Ok(Status::Accepted),
        _ => Ok(Status::Pending),
    }
}

/// Polls until the transaction is accepted on L2, reverted, or the timeout passes.
pub async fn confirm<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    hash: &str,
) -> Result<(), ExactStarknetError> {
    let deadline = ctx.clock.now_millis() + ctx.confirm_timeout_secs * 1000;
    loop {
        match status(ctx, hash).await {
            Ok(Status::Accepted) => return Ok(()),
            Ok(_) | Err(ExactStarknetError::Rpc(_)) if ctx.clock.now_millis() < deadline => {
                ctx.clock.sleep_millis(STATUS_POLL_MS).await
            }
            Ok(_) | Err(ExactStarknetError::Rpc(_)) => return Err(ExactStarknetError::NotAcceptedInTime(hash.into())),
            Err(e) => return Err(e),
        }
    }
}

/// Simulates `calls` sent by `sender` (validation and fee charge skipped, at the block being built)
/// and requires that it does not revert and makes exactly `expected`: the spec's rule 8. A node that
/// does not answer is an RPC error, never a verdict on the payment.
pub async fn simulate<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    sender: Felt,
    calls: &[Call],
    expected: &ExpectedTransfer,
) -> Result<(), ExactStarknetError> {
    let (nonce, block_id) = pending_nonce(ctx, sender).await?;
    let tx = InvokeTransactionV3 {
        sender_address: sender,
        calldata: execute_calldata(calls),
        chain_id: ctx.chain_id,
        nonce,
        resource_bounds: AllResourceBounds::default(),
        tip: 0,
        paymaster_data: Vec::new(),
        account_deployment_data: Vec::new(),
        nonce_data_availability_mode: DataAvailabilityMode::L1,
        fee_data_availability_mode: DataAvailabilityMode::L1,
    };
    let params = json!({
        "block_id": block_id,
        "transactions": [invoke_json(&tx, &[], true)],
        "simulation_flags": ["SKIP_VALIDATE", "SKIP_FEE_CHARGE"],
    });
    let simulated = ctx.rpc.call("starknet_simulateTransactions", params).await.map_err(|e| match e {
        // The sender's nonce moved between its read and the simulation (another of its transactions).
        RpcError::Server { code: 52, .. } => ExactStarknetError::StaleNonce,
        RpcError::Server { data: Some(data), .. } if names_a_stale_nonce(&data) => ExactStarknetError::StaleNonce,
        // The execution itself fails (the account or the token refuses it).
        RpcError::Server { code: 40 | 41, message, data } => {
            ExactStarknetError::SimulationFailed(format!("fails: {message} {}", data.unwrap_or_default()))
        }
        other => rpc_error(other),
    })?;
    let invocation = simulated.pointer("/0/transaction_trace/execute_invocation").ok_or_else(|| {
        ExactStarknetError::Rpc(format!("starknet_simulateTransactions answered no execution trace: {simulated}"))
    })?;
    if let Some(reason) = invocation.get("revert_reason").and_then(Value::as_str) {
        return Err(ExactStarknetError::SimulationFailed(format!("reverts: {reason}")));
    }
    let mut events = Vec::new();
    collect_trace_events(invocation, 0, &mut events)?;
    exact_transfer(&events, expected).map_err(ExactStarknetError::SimulationFailed)
}

/// An event with the contract that emitted it.
struct Event<'v> {
    emitter: Option<&'v Value>,
    keys: &'v [Value],
    data: &'v [Value],
}

/// How deep a trace's nested calls are followed (a transfer inside an outside execution is 3 deep).
const MAX_TRACE_DEPTH: usize = 32;

/// Every event of a function invocation and the calls under it; the emitter is the frame's contract.
fn collect_trace_events<'v>(
    invocation: &'v Value,
    depth: usize,
    out: &mut Vec<Event<'v>>,
) -> Result<(), ExactStarknetError> {
    if depth > MAX_TRACE_DEPTH {
        return Err(ExactStarknetError::Rpc("the simulated trace nests too deep to read".into()));
    }
    let emitter = invocation.get("contract_address");
    for event in invocation.get("events").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        out.push(event_of(event, emitter));
    }
    for call in invocation.get("calls").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        collect_trace_events(call, depth + 1, out)?;
    }
    Ok(())
}

fn event_of<'v>(event: &'v Value, emitter: Option<&'v Value>) -> Event<'v> {
    let list = |key| event.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Event { emitter: event.get("from_address").or(emitter), keys: list("keys"), data: list("data") }
}

/// Exactly one `Transfer` from the asset sent by the payer, and it is `expected`. Transfers by others
/// (the sponsor's fee, when the asset is the fee token) do not count; a `Transfer` of the asset in
/// neither standard layout fails closed.
fn exact_transfer(events: &[Event<'_>], expected: &ExpectedTransfer) -> Result<(), String> {
    let felt = |v: &Value| v.as_str().and_then(|t| parse_felt(t).ok());
    let transfer = selector("Transfer");
    let mut sent = Vec::new();
    for event in events {
        let from_asset = event.emitter.and_then(felt) == Some(expected.token);
        if !from_asset || event.keys.first().and_then(felt) != Some(transfer) {
            continue;
        }
        let felts: Option<Vec<Felt>> = event.keys[1..].iter().chain(event.data).map(felt).collect();
        // Keyed (Cairo 1: keys [Transfer, from, to], data [low, high]) or not (Cairo 0: data [from, to, low, high]).
        let parsed = match (event.keys.len(), event.data.len(), felts.as_deref()) {
            (3, 2, Some([from, to, low, high])) | (1, 4, Some([from, to, low, high])) => (*from, *to, (*low, *high)),
            _ => return Err("shows a Transfer of the asset in no standard layout".into()),
        };
        if parsed.0 == expected.from {
            sent.push(parsed);
        }
    }
    let [(_, to, (low, high))] = sent.as_slice() else {
        return Err(format!("shows {} transfers of the asset from the payer, not exactly 1", sent.len()));
    };
    let amount = (felt_to_u256(high) << 128usize) | felt_to_u256(low);
    let limb = U256::from(u128::MAX);
    if *to != expected.to || felt_to_u256(low) > limb || felt_to_u256(high) > limb || amount != expected.amount {
        return Err(format!("transfers {amount} to {to:#x}, not {} to {:#x}", expected.amount, expected.to));
    }
    Ok(())
}

/// The receipt of an accepted transaction: it succeeded and made exactly `expected`; answers its block.
pub async fn check_receipt<H: HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    hash: &str,
    expected: &ExpectedTransfer,
) -> Result<Option<u64>, ExactStarknetError> {
    let receipt = ctx
        .rpc
        .call("starknet_getTransactionReceipt", json!({"transaction_hash": hash}))
        .await
        .map_err(|_| ExactStarknetError::NotAcceptedInTime(hash.to_string()))?;
    let mismatch = |problem: String| ExactStarknetError::ReceiptMismatch { hash: hash.to_string(), problem };
    if receipt.get("execution_status").and_then(Value::as_str) != Some("SUCCEEDED") {
        return Err(mismatch(format!("did not succeed: {}", receipt.get("revert_reason").unwrap_or(&Value::Null))));
    }
    let events: Vec<Event<'_>> = receipt
        .get("events")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|event| event_of(event, None))
        .collect();
    exact_transfer(&events, expected).map_err(|e| mismatch(e.replacen("shows", "has", 1)))?;
    Ok(receipt.get("block_number").and_then(Value::as_u64))
}

/// The INVOKE v3 as JSON-RPC takes it (`query`: the estimate-only version).
fn invoke_json(tx: &InvokeTransactionV3, signature: &[Felt], query: bool) -> Value {
    let hex = |f: &Felt| format!("{f:#x}");
    let bound = |b: &ResourceBounds| json!({"max_amount": format!("{:#x}", b.max_amount), "max_price_per_unit": format!("{:#x}", b.max_price_per_unit)});
    let mode = |m: DataAvailabilityMode| if m == DataAvailabilityMode::L1 { "L1" } else { "L2" };
    let b = &tx.resource_bounds;
    json!({
        "type": "INVOKE",
        "version": if query { "0x100000000000000000000000000000003" } else { "0x3" },
        "sender_address": hex(&tx.sender_address),
        "calldata": tx.calldata.iter().map(hex).collect::<Vec<_>>(),
        "signature": signature.iter().map(hex).collect::<Vec<_>>(),
        "nonce": hex(&tx.nonce),
        "resource_bounds": {"l1_gas": bound(&b.l1_gas), "l2_gas": bound(&b.l2_gas), "l1_data_gas": bound(&b.l1_data_gas)},
        "tip": format!("{:#x}", tx.tip),
        "paymaster_data": [],
        "account_deployment_data": [],
        "nonce_data_availability_mode": mode(tx.nonce_data_availability_mode),
        "fee_data_availability_mode": mode(tx.fee_data_availability_mode),
    })
}

/// The most the sponsor can be charged (each resource's bounds, amount × price) is within the ceiling.
fn check_fee_ceiling(bounds: &AllResourceBounds, ceiling_fri: u128) -> Result<(), ExactStarknetError> {
    let fee = bounds.max_fee();
    if fee > ceiling_fri {
        return Err(ExactStarknetError::FeeAboveCeiling { fee, ceiling: ceiling_fri });
    }
    Ok(())
}

/// Each resource's bounds: the estimated amount and price with a margin.
fn bounds_from_estimate(estimate: &Value) -> Result<AllResourceBounds, ExactStarknetError> {
    let fee = estimate.get(0).ok_or_else(|| ExactStarknetError::Rpc("starknet_estimateFee answered nothing".into()))?;
    let number = |key: &str| -> Result<u128, ExactStarknetError> {
        let value = fee.get(key).ok_or_else(|| ExactStarknetError::Rpc(format!("the fee estimate has no {key}")))?;
        let felt = match value {
            Value::String(text) => parse_felt(text).map_err(|e| ExactStarknetError::Rpc(e.to_string()))?,
            Value::Number(n) => Felt::from(n.as_u64().unwrap_or_default()),
            _ => return Err(ExactStarknetError::Rpc(format!("the fee estimate's {key} is not a number"))),
        };
        u128::try_from(felt_to_u256(&felt)).map_err(|_| ExactStarknetError::Rpc(format!("{key} is out of range")))
    };
    let bound = |amount: &str, price: &str| -> Result<ResourceBounds, ExactStarknetError> {
        let amount = number(amount)?.saturating_mul(FEE_MARGIN_PERCENT) / 100;
        Ok(ResourceBounds {
            max_amount: u64::try_from(amount).unwrap_or(u64::MAX),
            max_price_per_unit: number(price)?.saturating_mul(FEE_MARGIN_PERCENT) / 100,
        })
    };
    Ok(AllResourceBounds {
        l1_gas: bound("l1_gas_consumed", "l1_gas_price")?,
        l2_gas: bound("l2_gas_consumed", "l2_gas_price")?,
        l1_data_gas: bound("l1_data_gas_consumed", "l1_data_gas_price")?,
    })
}

fn felt_text(value: &Value) -> Result<Felt, ExactStarknetError> {
    let text = value.as_str().ok_or_else(|| ExactStarknetError::Rpc(format!("expected a felt, got {value}")))?;
    parse_felt(text).map_err(|e| ExactStarknetError::Rpc(e.to_string()))
}

fn rpc_error(e: RpcError) -> ExactStarknetError {
    ExactStarknetError::Rpc(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::ports::{Clockless, TransportError};

    /// A Starknet node of another RPC version (none runs here): it knows the block tags `known` and
    /// answers others as `refusal` does; records every request body.
    struct Node {
        known: &'static [&'static str],
        refusal: &'static str,
        seen: RefCell<Vec<Value>>,
    }

    impl HttpTransport for Node {
        async fn post_json(&self, _: &str, _: &[(&str, &str)], body: String) -> Result<String, TransportError> {
            let request: Value = serde_json::from_str(&body).map_err(|e| TransportError::Failed(e.to_string()))?;
            let tag = request["params"]["block_id"].as_str().unwrap_or_default().to_string();
            self.seen.borrow_mut().push(request);
            Ok(if self.known.contains(&tag.as_str()) {
                r#"{"jsonrpc":"2.0","id":1,"result":"0x7"}"#.to_string()
            } else {
                self.refusal.to_string()
            })
        }
    }

    const INVALID_PARAMS: &str = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"Invalid params"}}"#;
    const BLOCK_NOT_FOUND: &str = r#"{"jsonrpc":"2.0","id":1,"error":{"code":24,"message":"Block not found"}}"#;
    const CONTRACT_NOT_FOUND: &str = r#"{"jsonrpc":"2.0","id":1,"error":{"code":20,"message":"Contract not found"}}"#;

    fn nonce_at(node: &Node) -> Result<(Felt, &'static str), ExactStarknetError> {
        let urls = ["http://node".to_string()];
        let ctx = StarknetContext {
            rpc: JsonRpcClient::new(node, &Clockless, &urls),
            clock: &Clockless,
            chain_id: Felt::ZERO,
            confirm_timeout_secs: 0,
            max_fee_fri: 0,
        };
        pollster::block_on(pending_nonce(&ctx, Felt::from(0xabcu64)))
    }

    fn tags(node: &Node) -> Vec<String> {
        let seen = node.seen.borrow();
        for request in seen.iter() {
            assert_eq!(request["method"], "starknet_getNonce");
            assert_eq!(request["params"]["contract_address"], "0xabc");
        }
        seen.iter().map(|r| r["params"]["block_id"].as_str().unwrap_or_default().to_string()).collect()
    }

    #[test]
    fn the_sponsor_nonce_is_read_at_the_block_being_built() {
        let node =
            Node { known: &["pre_confirmed", "pending", "latest"], refusal: INVALID_PARAMS, seen: RefCell::default() };
        assert_eq!(nonce_at(&node), Ok((Felt::from(7u64), "pre_confirmed")));
        assert_eq!(tags(&node), ["pre_confirmed"]);
    }

    #[test]
    fn an_rpc_0_8_node_is_asked_at_pending_and_one_without_either_at_latest() {
        let v0_8 = Node { known: &["pending", "latest"], refusal: INVALID_PARAMS, seen: RefCell::default() };
        assert_eq!(nonce_at(&v0_8).map(|(_, tag)| tag), Ok("pending"));
        assert_eq!(tags(&v0_8), ["pre_confirmed", "pending"]);
        let latest_only = Node { known: &["latest"], refusal: BLOCK_NOT_FOUND, seen: RefCell::default() };
        assert_eq!(nonce_at(&latest_only).map(|(_, tag)| tag), Ok("latest"));
        assert_eq!(tags(&latest_only), ["pre_confirmed", "pending", "latest"]);
    }

    #[test]
    fn other_refusals_are_errors_at_once_never_a_nonce() {
        let missing = Node { known: &[], refusal: CONTRACT_NOT_FOUND, seen: RefCell::default() };
        assert!(matches!(nonce_at(&missing), Err(ExactStarknetError::Rpc(_))));
        assert_eq!(tags(&missing), ["pre_confirmed"]);
        let none = Node { known: &[], refusal: INVALID_PARAMS, seen: RefCell::default() };
        assert!(matches!(nonce_at(&none), Err(ExactStarknetError::Rpc(_))));
        assert_eq!(tags(&none).len(), 3);
    }

    #[test]
    fn an_outside_execution_starts_after_the_block_time_not_the_wall_clock() {
        let refused = check_started(1_000, 1_000).unwrap_err();
        assert_eq!(refused, ExactStarknetError::NotYetValid { execute_after: 1_000, now: 1_000 });
        let code = refused.reason().code(crate::protocol::Version::V2);
        assert_eq!(code, "invalid_exact_starknet_payload_authorization_not_yet_valid");
        assert_eq!(check_started(999, 1_000), Ok(()));
    }

    const TOKEN: &str = "0x4718";
    const PAYER: &str = "0xa11ce";
    const PAY_TO: &str = "0xb0b";

    fn expected() -> ExpectedTransfer {
        let f = |t| parse_felt(t).unwrap();
        ExpectedTransfer { token: f(TOKEN), from: f(PAYER), to: f(PAY_TO), amount: U256::from(500) }
    }

    /// A Cairo 1 Transfer (keys [Transfer, from, to], data [low, high]) emitted by `emitter`.
    fn keyed(emitter: &str, from: &str, to: &str, low: &str) -> Value {
        let transfer = format!("{:#x}", selector("Transfer"));
        json!({"from_address": emitter, "keys": [transfer, from, to], "data": [low, "0x0"]})
    }

    fn judged(events: &[Value]) -> Result<(), String> {
        let events: Vec<Event<'_>> = events.iter().map(|e| event_of(e, None)).collect();
        exact_transfer(&events, &expected())
    }

    #[test]
    fn exactly_the_payers_one_transfer_passes_in_either_layout() {
        assert_eq!(judged(&[keyed(TOKEN, PAYER, PAY_TO, "0x1f4")]), Ok(()));
        let transfer = format!("{:#x}", selector("Transfer"));
        let unkeyed = json!({"from_address": TOKEN, "keys": [transfer], "data": [PAYER, PAY_TO, "0x1f4", "0x0"]});
        assert_eq!(judged(&[unkeyed]), Ok(()));
        // The sponsor's fee (the asset is the fee token) and other tokens' transfers do not count.
        let fee = keyed(TOKEN, "0x5905", "0x1000", "0x99");
        let other_token = keyed("0x49d3", PAYER, "0x666", "0x1");
        assert_eq!(judged(&[fee, keyed(TOKEN, PAYER, PAY_TO, "0x1f4"), other_token]), Ok(()));
    }

    #[test]
    fn anything_but_the_payers_one_exact_transfer_fails() {
        let right = keyed(TOKEN, PAYER, PAY_TO, "0x1f4");
        assert!(judged(&[]).unwrap_err().contains("0 transfers"));
        assert!(judged(&[right.clone(), right.clone()]).unwrap_err().contains("2 transfers"));
        assert!(judged(&[keyed(TOKEN, PAYER, "0x666", "0x1f4")]).is_err(), "another recipient");
        assert!(judged(&[keyed(TOKEN, PAYER, PAY_TO, "0x1f5")]).is_err(), "another amount");
        let mut odd = right.clone();
        odd["data"] = json!(["0x1f4"]);
        assert!(
            judged(&[odd, right]).unwrap_err().contains("no standard layout"),
            "an unreadable Transfer fails closed"
        );
    }

    #[test]
    fn a_trace_is_read_with_each_frames_contract_as_the_emitter() {
        let transfer = format!("{:#x}", selector("Transfer"));
        let trace = json!({"contract_address": "0x5905", "events": [], "calls": [{"contract_address": PAYER, "calls": [
            {"contract_address": TOKEN, "events": [{"keys": [transfer, PAYER, PAY_TO], "data": ["0x1f4", "0x0"]}], "calls": []}]}]});
        let mut events = Vec::new();
        collect_trace_events(&trace, 0, &mut events).unwrap();
        assert_eq!(exact_transfer(&events, &expected()), Ok(()));
        let mut deep = json!({"calls": []});
        for _ in 0..=MAX_TRACE_DEPTH {
            deep = json!({"calls": [deep]});
        }
        assert!(matches!(collect_trace_events(&deep, 0, &mut Vec::new()), Err(ExactStarknetError::Rpc(_))));
    }

    #[test]
    fn a_fee_above_the_ceiling_is_refused_with_its_reason() {
        let bound = |max_amount, max_price_per_unit| ResourceBounds { max_amount, max_price_per_unit };
        let bounds = AllResourceBounds { l1_gas: bound(0, 10), l2_gas: bound(1_000, 3), l1_data_gas: bound(10, 100) };
        assert_eq!(bounds.max_fee(), 4_000);
        assert_eq!(check_fee_ceiling(&bounds, 4_000), Ok(()));
        let refused = check_fee_ceiling(&bounds, 3_999).unwrap_err();
        assert_eq!(refused.reason().code(crate::protocol::Version::V2), "gas_ceiling_exceeded");
        let huge = AllResourceBounds { l2_gas: bound(u64::MAX, u128::MAX), ..bounds };
        assert_eq!(huge.max_fee(), u128::MAX, "saturates, never wraps");
    }
}
