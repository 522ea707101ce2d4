//! A Starknet sponsor's own transactions (the INVOKE v3 that runs a payer's outside execution): each
//! takes the sponsor's next nonce from the chain, so they are priced, signed, recorded and sent one at a
//! time per sponsor ([`turns`]). Where that happens is the host's choice ([`SponsorTransactions`]): in
//! this process, or, in the Worker, in the sponsor's Durable Object, where the settles of every isolate
//! take their turns in one place.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::turns;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::starknet::{parse_felt, Call, Felt};
use crate::config::StarknetNetworkConfig;
use crate::ledger::{Ledger, LedgerOp};
use crate::network::Network;
use crate::ports::{Clock, HttpTransport};
use crate::schemes::exact_starknet::chain::{self, SignedInvoke, Sponsor, StarknetContext};
use crate::schemes::exact_starknet::{chain_id, ExactStarknetError};

/// A sponsor's transaction to send: the call it runs, for the payment under the ledger `key`.
pub struct SponsoredCall<'a> {
    pub network: &'static Network,
    pub key: &'a str,
    pub call: Call,
}

/// Sends a sponsor's transaction, recorded under the payment's ledger key before the broadcast, and
/// answers its hash.
pub trait SponsorTransactions {
    fn submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        ledger: &L,
        ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
    ) -> impl Future<Output = Result<String, ExactStarknetError>>;
}

/// The sponsor's transactions take turns in this process: enough for one process (a server, the
/// tests); concurrent processes race for the nonce, and the loser signs again.
#[derive(Debug, Default, Clone, Copy)]
pub struct InProcessSponsor;

impl SponsorTransactions for InProcessSponsor {
    async fn submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        ledger: &L,
        ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
    ) -> Result<String, ExactStarknetError> {
        submit_in_turn(ledger, ctx, sponsor, sponsored).await
    }
}

/// The chain calls of a Starknet network as `config` serves it; `None` for a network with no Starknet
/// chain id.
pub fn context<'a, H: HttpTransport, C: Clock>(
    http: &'a H,
    clock: &'a C,
    config: &'a StarknetNetworkConfig,
    confirm_timeout_secs: u64,
) -> Option<StarknetContext<'a, H, C>> {
    Some(StarknetContext {
        rpc: JsonRpcClient::new(http, clock, &config.rpc_urls),
        clock,
        chain_id: chain_id(config.network)?,
        confirm_timeout_secs,
        max_fee_fri: config.max_fee_fri,
    })
}

/// A sponsor's transaction as a host that sends it elsewhere (the Worker: to the sponsor's Durable
/// Object) carries it there: the call it runs (felts in hex) and the payment's ledger key.
#[derive(Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The network's v1 name.
    pub network: String,
    pub key: String,
    to: String,
    selector: String,
    calldata: Vec<String>,
}

/// The answer carried back: the transaction's hash, or the [`ExactStarknetError`] a submit can end with.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitReply {
    Sent {
        transaction: String,
    },
    StaleNonce,
    FeeAboveCeiling {
        fee: u128,
        ceiling: u128,
    },
    Refused(String),
    NotAcceptedInTime(String),
    Rpc(String),
    /// Any other error, as its message.
    Failed(String),
}

impl From<Result<String, ExactStarknetError>> for SubmitReply {
    fn from(result: Result<String, ExactStarknetError>) -> Self {
        match result {
            Ok(transaction) => SubmitReply::Sent { transaction },
            Err(ExactStarknetError::StaleNonce) => SubmitReply::StaleNonce,
            Err(ExactStarknetError::FeeAboveCeiling { fee, ceiling }) => SubmitReply::FeeAboveCeiling { fee, ceiling },
            Err(ExactStarknetError::Refused(why)) => SubmitReply::Refused(why),
            Err(ExactStarknetError::NotAcceptedInTime(hash)) => SubmitReply::NotAcceptedInTime(hash),
            Err(ExactStarknetError::Rpc(why)) => SubmitReply::Rpc(why),
            Err(other) => SubmitReply::Failed(other.to_string()),
        }
    }
}

impl From<SubmitReply> for Result<String, ExactStarknetError> {
    fn from(reply: SubmitReply) -> Self {
        Err(match reply {
            SubmitReply::Sent { transaction } => return Ok(transaction),
            SubmitReply::StaleNonce => ExactStarknetError::StaleNonce,
            SubmitReply::FeeAboveCeiling { fee, ceiling } => ExactStarknetError::FeeAboveCeiling { fee, ceiling },
            SubmitReply::Refused(why) => ExactStarknetError::Refused(why),
            SubmitReply::NotAcceptedInTime(hash) => ExactStarknetError::NotAcceptedInTime(hash),
            SubmitReply::Rpc(why) | SubmitReply::Failed(why) => ExactStarknetError::Rpc(why),
        })
    }
}

impl SubmitRequest {
    pub fn new(sponsored: &SponsoredCall<'_>) -> Self {
        let hex = |f: &Felt| format!("{f:#x}");
        let call = &sponsored.call;
        SubmitRequest {
            network: sponsored.network.name.to_string(),
            key: sponsored.key.to_string(),
            to: hex(&call.to),
            selector: hex(&call.selector),
            calldata: call.calldata.iter().map(hex).collect(),
        }
    }

    /// The call, parsed back.
    pub fn call(&self) -> Result<Call, ExactStarknetError> {
        let felt = |text: &str| parse_felt(text).map_err(|e| ExactStarknetError::Rpc(format!("a malformed call: {e}")));
        let calldata = self.calldata.iter().map(|f| felt(f)).collect::<Result<_, _>>()?;
        Ok(Call { to: felt(&self.to)?, selector: felt(&self.selector)?, calldata })
    }
}

/// How often a send signs again when the sponsor's nonce was taken meanwhile (by a transaction this
/// facilitator did not send in turn: another process's, or the sponsor's own from elsewhere).
const MAX_NONCE_RETRIES: u32 = 16;

/// Prices, signs, records and sends in the sponsor's turn; signs again with a fresh nonce when a
/// transaction sent from elsewhere took the nonce.
pub async fn submit_in_turn<L: Ledger, H: HttpTransport, C: Clock>(
    ledger: &L,
    ctx: &StarknetContext<'_, H, C>,
    sponsor: &Sponsor<'_>,
    sponsored: &SponsoredCall<'_>,
) -> Result<String, ExactStarknetError> {
    let SponsoredCall { key, call, .. } = sponsored;
    let mut attempts = 0;
    loop {
        let turn = turns::turn(format!("starknet/{:#x}/{:#x}", ctx.chain_id, sponsor.address), ctx.clock).await;
        let sent = match chain::sponsor_transaction(ctx, sponsor, call).await {
            Ok(signed) => record_and_broadcast(ledger, ctx, key, &signed).await,
            Err(e) => Err(e),
        };
        drop(turn);
        match sent {
            // Paused between attempts by an amount that differs between payments, so that racing
            // settles spread out.
            Err(ExactStarknetError::StaleNonce) if attempts < MAX_NONCE_RETRIES => {
                attempts += 1;
                ctx.clock.sleep_millis(nonce_retry_pause_ms(key, attempts)).await;
            }
            other => return other,
        }
    }
}

/// Records the signed transaction in the ledger, then broadcasts it: a settle cut off between the
/// two is found and reconciled.
async fn record_and_broadcast<L: Ledger, H: HttpTransport, C: Clock>(
    ledger: &L,
    ctx: &StarknetContext<'_, H, C>,
    key: &str,
    signed: &SignedInvoke,
) -> Result<String, ExactStarknetError> {
    let hash = format!("{:#x}", signed.hash);
    let record = LedgerOp::RecordTransaction { transaction: hash.clone(), raw: Some(signed.json.to_string()) };
    ledger.apply(key, record).await.map_err(|e| ExactStarknetError::Rpc(format!("ledger: {e}")))?;
    chain::broadcast(ctx, signed).await.map(|()| hash)
}

/// 50 to 250 ms, growing with the attempt, spread by the payment's key.
fn nonce_retry_pause_ms(key: &str, attempt: u32) -> u64 {
    let spread = u64::from(alloy_primitives::keccak256(key.as_bytes())[0]) * 200 / 255;
    50 * u64::from(attempt.min(4)) + spread
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network;

    fn sponsored(key: &str) -> SponsoredCall<'_> {
        let call =
            Call { to: Felt::from(0x1234u64), selector: Felt::from(7u64), calldata: vec![Felt::ZERO, Felt::MAX] };
        SponsoredCall { network: network::find("starknet-sepolia").expect("a known network"), key, call }
    }

    #[test]
    fn a_submit_request_carries_the_call_and_the_key_unchanged() {
        let original = sponsored("starknet:SN_SEPOLIA/0xabc/0x1");
        let text = serde_json::to_string(&SubmitRequest::new(&original)).expect("serializes");
        let request: SubmitRequest = serde_json::from_str(&text).expect("parses");
        assert_eq!(request.call().expect("a call"), original.call);
        assert_eq!((request.network.as_str(), request.key.as_str()), ("starknet-sepolia", original.key));
    }

    #[test]
    fn a_malformed_felt_in_a_submit_request_is_an_error() {
        let text = r#"{"network":"starknet-sepolia","key":"k","to":"0x1","selector":"not a felt","calldata":[]}"#;
        let request: SubmitRequest = serde_json::from_str(text).expect("parses");
        assert!(matches!(request.call(), Err(ExactStarknetError::Rpc(m)) if m.contains("malformed call")));
    }

    #[test]
    fn a_submit_reply_carries_each_outcome_back() {
        let outcomes = [
            Ok("0xfeed".to_string()),
            Err(ExactStarknetError::StaleNonce),
            Err(ExactStarknetError::FeeAboveCeiling { fee: u128::MAX, ceiling: 10 }),
            Err(ExactStarknetError::Refused("validation failed".into())),
            Err(ExactStarknetError::NotAcceptedInTime("0xbeef".into())),
            Err(ExactStarknetError::Rpc("the node is down".into())),
        ];
        for outcome in outcomes {
            let text = serde_json::to_string(&SubmitReply::from(outcome.clone())).expect("serializes");
            let back: Result<String, ExactStarknetError> =
                serde_json::from_str::<SubmitReply>(&text).expect("parses").into();
            assert_eq!(back, outcome, "{text}");
        }
        let other: Result<String, _> = SubmitReply::from(Err(ExactStarknetError::NonceUsed)).into();
        assert_eq!(other, Err(ExactStarknetError::Rpc(ExactStarknetError::NonceUsed.to_string())));
    }
}
