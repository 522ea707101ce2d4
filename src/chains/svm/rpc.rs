//! Typed Solana JSON-RPC requests and result decoding: what verifying and settling an `exact` payment
//! needs (simulate, send, signature statuses, blockhash validity).

use serde_json::{json, Value};

use base64::Engine;

use super::Pubkey;
use crate::chains::jsonrpc::{RpcCall, RpcError};

/// Simulates with the transaction's own blockhash. The facilitator verifies signatures too, as the
/// reference does (protocol digest §5.2 step 13), so a simulation that passes is the signed bytes; a
/// verifier without the fee payer's key cannot (`sig_verify: false`).
pub fn simulate_transaction(wire_base64: &str, sig_verify: bool) -> RpcCall {
    let options = json!({
        "sigVerify": sig_verify, "replaceRecentBlockhash": false, "commitment": "confirmed", "encoding": "base64",
    });
    RpcCall::new("simulateTransaction", json!([wire_base64, options]))
}

/// Sends after preflight at `confirmed`: a transaction the node refuses outright never lands.
pub fn send_transaction(wire_base64: &str) -> RpcCall {
    let options = json!({"encoding": "base64", "preflightCommitment": "confirmed", "maxRetries": 5});
    RpcCall::new("sendTransaction", json!([wire_base64, options]))
}

pub fn signature_status(signature: &str) -> RpcCall {
    RpcCall::new("getSignatureStatuses", json!([[signature], {"searchTransactionHistory": true}]))
}

/// At `finalized`: every block still to come descends from the finalized one, so a blockhash too old
/// there can never land again. At `processed` (the tip of one fork) it expires first, while a block of
/// another fork may still take it.
pub fn is_blockhash_valid(blockhash: &str) -> RpcCall {
    RpcCall::new("isBlockhashValid", json!([blockhash, {"commitment": "finalized"}]))
}

/// A token account's state, base64, at `confirmed`.
pub fn account_info(address: &str) -> RpcCall {
    RpcCall::new("getAccountInfo", json!([address, {"encoding": "base64", "commitment": "confirmed"}]))
}

/// Whether `getAccountInfo` found the account (`value` is `null` for an address that holds nothing).
pub fn account_exists(result: &Value) -> Result<bool, RpcError> {
    result.get("value").map(|v| !v.is_null()).ok_or_else(|| malformed("getAccountInfo"))
}

/// The owner of a token account (SPL Token and Token-2022 alike: bytes 32..64 of its data), `None`
/// when the account does not exist or is too short to be one.
pub fn token_account_owner(result: &Value) -> Result<Option<Pubkey>, RpcError> {
    let value = result.get("value").ok_or_else(|| malformed("getAccountInfo"))?;
    if value.is_null() {
        return Ok(None);
    }
    let data =
        value.get("data").and_then(|d| d.get(0)).and_then(Value::as_str).ok_or_else(|| malformed("getAccountInfo"))?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).map_err(|_| malformed("getAccountInfo"))?;
    Ok(bytes.get(32..64).and_then(|owner| owner.try_into().ok()).map(Pubkey))
}

/// What a simulation found: `err` is the transaction error, as JSON, when it would fail.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    pub err: Option<Value>,
    pub logs: Vec<String>,
}

impl Simulation {
    /// The cluster has processed this very transaction already (`TransactionError::AlreadyProcessed`):
    /// a replay of one that landed.
    pub fn already_processed(&self) -> bool {
        self.err.as_ref().is_some_and(is_already_processed)
    }
}

/// `err` is `TransactionError::AlreadyProcessed`, as the RPC writes it (a bare variant name).
pub fn is_already_processed(err: &Value) -> bool {
    err.as_str() == Some("AlreadyProcessed")
}

/// A `sendTransaction` refusal whose preflight found the transaction processed already: its
/// `data.err`, or the message the node writes for it.
pub fn refused_as_already_processed(message: &str, data: Option<&str>) -> bool {
    let data_err = data.and_then(|d| serde_json::from_str::<Value>(d).ok()).and_then(|d| d.get("err").cloned());
    data_err.as_ref().is_some_and(is_already_processed) || message.contains("already been processed")
}

pub fn simulation(result: &Value) -> Result<Simulation, RpcError> {
    let value = result.get("value").filter(|v| v.is_object()).ok_or_else(|| malformed("simulateTransaction"))?;
    let err = value.get("err").filter(|e| !e.is_null()).cloned();
    let logs = value
        .get("logs")
        .and_then(Value::as_array)
        .map(|logs| logs.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    Ok(Simulation { err, logs })
}

/// What the cluster has seen of a transaction: nothing, a block at `processed`, or a block at
/// `confirmed` or better (success or failure).
#[derive(Debug, Clone, PartialEq)]
pub enum Landed {
    /// Not seen.
    NotYet,
    /// In a block seen only at `processed`: it may still be dropped with its fork, or be confirmed.
    Processed,
    Succeeded {
        slot: u64,
    },
    Failed {
        slot: u64,
        err: Value,
    },
}

pub fn landed(result: &Value) -> Result<Landed, RpcError> {
    let statuses = result.get("value").and_then(Value::as_array).ok_or_else(|| malformed("getSignatureStatuses"))?;
    let Some(status) = statuses.first().filter(|s| !s.is_null()) else { return Ok(Landed::NotYet) };
    let slot = status.get("slot").and_then(Value::as_u64).unwrap_or_default();
    let level = status.get("confirmationStatus").and_then(Value::as_str);
    // Nodes without `confirmationStatus` report `confirmations: null` once a block is rooted.
    let confirmed = match level {
        Some(level) => level == "confirmed" || level == "finalized",
        None => status.get("confirmations").is_some_and(Value::is_null),
    };
    if !confirmed {
        return Ok(Landed::Processed);
    }
    Ok(match status.get("err").filter(|e| !e.is_null()) {
        Some(err) => Landed::Failed { slot, err: err.clone() },
        None => Landed::Succeeded { slot },
    })
}

pub fn blockhash_valid(result: &Value) -> Result<bool, RpcError> {
    result.get("value").and_then(Value::as_bool).ok_or_else(|| malformed("isBlockhashValid"))
}

/// The signature `sendTransaction` answered (base58).
pub fn sent_signature(result: &Value) -> Result<String, RpcError> {
    result.as_str().map(str::to_string).ok_or_else(|| malformed("sendTransaction"))
}

fn malformed(method: &str) -> RpcError {
    RpcError::Malformed(format!("unexpected {method} result"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_below_confirmed_have_not_landed() {
        let at =
            |level: &str| json!({"value": [{"slot": 7, "confirmations": 1, "err": null, "confirmationStatus": level}]});
        assert_eq!(landed(&at("processed")).unwrap(), Landed::Processed);
        assert_eq!(landed(&at("confirmed")).unwrap(), Landed::Succeeded { slot: 7 });
        assert_eq!(landed(&at("finalized")).unwrap(), Landed::Succeeded { slot: 7 });
        assert_eq!(landed(&json!({"value": [null]})).unwrap(), Landed::NotYet);
        let failed = json!({"value": [{"slot": 9, "confirmations": null, "err": {"InstructionError": [2, "Custom"]}}]});
        assert!(matches!(landed(&failed).unwrap(), Landed::Failed { slot: 9, .. }));
        assert!(landed(&json!({"nope": 1})).is_err());
    }

    #[test]
    fn a_token_accounts_owner_is_read_from_its_data() {
        use base64::Engine;
        let mut data = vec![1u8; 32];
        data.extend([7u8; 32]);
        data.extend([0u8; 101]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
        let account =
            json!({"value": {"data": [encoded, "base64"], "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"}});
        assert_eq!(token_account_owner(&account).unwrap(), Some(Pubkey([7; 32])));
        assert_eq!(token_account_owner(&json!({"value": null})).unwrap(), None);
        let short = json!({"value": {"data": ["AAAA", "base64"]}});
        assert_eq!(token_account_owner(&short).unwrap(), None);
        assert!(token_account_owner(&json!({"value": {"data": ["%%", "base64"]}})).is_err());
    }

    #[test]
    fn an_absent_account_does_not_exist() {
        assert!(!account_exists(&json!({"context": {"slot": 1}, "value": null})).unwrap());
        assert!(account_exists(&json!({"value": {"data": ["", "base64"]}})).unwrap());
        assert!(account_exists(&json!({"nope": 1})).is_err());
    }

    #[test]
    fn a_processed_transaction_is_recognized_in_simulations_and_refusals() {
        let replay = simulation(&json!({"value": {"err": "AlreadyProcessed", "logs": []}})).unwrap();
        assert!(replay.already_processed());
        let other = simulation(&json!({"value": {"err": "BlockhashNotFound", "logs": []}})).unwrap();
        assert!(!other.already_processed());
        assert!(!simulation(&json!({"value": {"err": null}})).unwrap().already_processed());
        let failed = json!({"InstructionError": [2, {"Custom": 1}]});
        assert!(!is_already_processed(&failed));
        let data = r#"{"err":"AlreadyProcessed","logs":[]}"#;
        assert!(refused_as_already_processed("Transaction simulation failed", Some(data)));
        let message = "Transaction simulation failed: This transaction has already been processed";
        assert!(refused_as_already_processed(message, None));
        assert!(!refused_as_already_processed("Transaction simulation failed: Blockhash not found", Some("{}")));
    }

    #[test]
    fn simulation_errors_and_logs_are_read() {
        let ok = json!({"value": {"err": null, "logs": ["a", "b"]}});
        assert_eq!(simulation(&ok).unwrap(), Simulation { err: None, logs: vec!["a".into(), "b".into()] });
        let failed = json!({"value": {"err": "BlockhashNotFound", "logs": null}});
        assert_eq!(simulation(&failed).unwrap().err, Some(json!("BlockhashNotFound")));
        assert!(simulation(&json!(null)).is_err());
    }
}
