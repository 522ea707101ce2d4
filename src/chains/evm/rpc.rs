//! Typed Ethereum JSON-RPC requests and result decoding. Requests are values ([`RpcCall`]) so a caller
//! can put several in one batch.

use alloy_primitives::{Address, Bytes, B256};
use serde_json::{json, Value};

use crate::chains::jsonrpc::{RpcCall, RpcError};

fn call_object(from: Option<Address>, to: Address, data: &[u8]) -> Value {
    let mut object = json!({"to": to, "data": format!("0x{}", hex::encode(data))});
    if let Some(from) = from {
        object["from"] = json!(from);
    }
    object
}

pub fn eth_call(from: Option<Address>, to: Address, data: &[u8]) -> RpcCall {
    RpcCall::new("eth_call", json!([call_object(from, to, data), "latest"]))
}

/// `eth_call` to `to` with `code` in place of `to`'s own code for this one call (a state override, the
/// third parameter of geth's `eth_call`, which anvil, reth, erigon and the major providers accept).
pub fn eth_call_as(to: Address, code_hex: &str, data: &[u8]) -> RpcCall {
    let overrides = json!({ to.to_string(): {"code": code_hex} });
    RpcCall::new("eth_call", json!([call_object(None, to, data), "latest", overrides]))
}

pub fn estimate_gas(from: Address, to: Address, data: &[u8]) -> RpcCall {
    RpcCall::new("eth_estimateGas", json!([call_object(Some(from), to, data)]))
}

pub fn get_code(address: Address) -> RpcCall {
    RpcCall::new("eth_getCode", json!([address, "latest"]))
}

pub fn chain_id() -> RpcCall {
    RpcCall::new("eth_chainId", json!([]))
}

pub fn pending_nonce(address: Address) -> RpcCall {
    RpcCall::new("eth_getTransactionCount", json!([address, "pending"]))
}

pub fn latest_block() -> RpcCall {
    RpcCall::new("eth_getBlockByNumber", json!(["latest", false]))
}

pub fn max_priority_fee() -> RpcCall {
    RpcCall::new("eth_maxPriorityFeePerGas", json!([]))
}

pub fn gas_price() -> RpcCall {
    RpcCall::new("eth_gasPrice", json!([]))
}

pub fn send_raw_transaction(raw: &[u8]) -> RpcCall {
    RpcCall::new("eth_sendRawTransaction", json!([format!("0x{}", hex::encode(raw))]))
}

/// EIP-7966: broadcasts and answers the receipt once mined, within the node's own timeout (no
/// timeout parameter: anvil refuses one, and the node's default suits its block time).
pub fn send_raw_transaction_sync(raw: &[u8]) -> RpcCall {
    RpcCall::new("eth_sendRawTransactionSync", json!([format!("0x{}", hex::encode(raw))]))
}

pub fn transaction_by_hash(hash: B256) -> RpcCall {
    RpcCall::new("eth_getTransactionByHash", json!([hash]))
}

pub fn transaction_receipt(hash: B256) -> RpcCall {
    RpcCall::new("eth_getTransactionReceipt", json!([hash]))
}

fn malformed(what: &str) -> RpcError {
    RpcError::Malformed(format!("expected {what}"))
}

/// A hex quantity (`0x1a`) as u128.
pub fn quantity(value: &Value) -> Result<u128, RpcError> {
    let text = value.as_str().and_then(|s| s.strip_prefix("0x")).ok_or_else(|| malformed("a hex quantity"))?;
    if text.is_empty() {
        return Ok(0);
    }
    u128::from_str_radix(text, 16).map_err(|_| malformed("a hex quantity below 2^128"))
}

pub fn quantity_u64(value: &Value) -> Result<u64, RpcError> {
    u64::try_from(quantity(value)?).map_err(|_| malformed("a hex quantity below 2^64"))
}

/// Hex data (`0x…`) as bytes.
pub fn data(value: &Value) -> Result<Bytes, RpcError> {
    let text = value.as_str().and_then(|s| s.strip_prefix("0x")).ok_or_else(|| malformed("hex data"))?;
    hex::decode(text).map(Bytes::from).map_err(|_| malformed("hex data"))
}

pub fn hash(value: &Value) -> Result<B256, RpcError> {
    let bytes = data(value)?;
    (bytes.len() == 32).then(|| B256::from_slice(&bytes)).ok_or_else(|| malformed("a 32-byte hash"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    pub success: bool,
    pub block_number: Option<u64>,
}

/// `None` while the transaction is not yet mined.
pub fn receipt(value: &Value) -> Result<Option<Receipt>, RpcError> {
    if value.is_null() {
        return Ok(None);
    }
    let status = value.get("status").ok_or_else(|| malformed("a receipt status"))?;
    let block_number = value.get("blockNumber").map(quantity_u64).transpose()?;
    Ok(Some(Receipt { success: quantity(status)? == 1, block_number }))
}

/// The base fee of a block, if the chain has EIP-1559.
pub fn base_fee(block: &Value) -> Result<Option<u128>, RpcError> {
    block.get("baseFeePerGas").filter(|v| !v.is_null()).map(quantity).transpose()
}

/// Whether a call's error is the contract reverting; any other error is the node failing.
pub fn is_revert(error: &RpcError) -> bool {
    match error {
        RpcError::Server { code, message, data } => {
            *code == 3
                || message.to_ascii_lowercase().contains("revert")
                || data.as_deref().is_some_and(|d| d.len() > 2)
        }
        _ => false,
    }
}
