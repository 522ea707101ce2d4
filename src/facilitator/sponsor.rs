//! A Starknet sponsor's own transactions (the INVOKE v3 that runs a payer's outside execution): each
//! takes the sponsor's next nonce from the chain, so they are priced, signed, recorded and sent one at a
//! time per sponsor ([`turns`]). Where that happens is the host's choice ([`SponsorTransactions`]): in
//! this process, or, in the Worker, in the sponsor's Durable Object, where the settles of every isolate
//! take their turns in one place. That object is also the home of the entries of the payments its
//! sponsor settles, so a settle claims the payment and sends its transaction there in one call
//! ([`SponsorTransactions::claim_and_submit`]), as an EVM signer does for EIP-3009 ([`super::home`]).

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::turns;
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::starknet::{parse_felt, Call, Felt};
use crate::config::{StarknetNetworkConfig, StarknetSettlement};
use crate::ledger::{self, Claim, Ledger, LedgerOp};
use crate::network::Network;
use crate::ports::{Clock, HttpTransport};
use crate::schemes::exact_starknet::chain::{self, SignedInvoke, Sponsor, StarknetContext, Status};
use crate::schemes::exact_starknet::{chain_id, ExactStarknetError};

/// A sponsor's transaction to send: the call it runs, for the payment under the ledger `key`.
pub struct SponsoredCall<'a> {
    pub network: &'static Network,
    pub key: &'a str,
    pub call: Call,
}

/// A settle's claim on the payment it sends for: its fingerprint (see [`crate::ledger::fingerprint`]),
/// and how long it holds the payment from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorClaim {
    pub fingerprint: String,
    pub now_ms: u64,
    pub hold_ms: u64,
}

/// What the home of a payment's entry did with a claimed submit.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HomeSubmit {
    /// The claim was not this settle's (held, done, conflicting, or to resume): nothing was sent.
    NotSent { claim: Claim },
    /// Claimed, then submitted: the transaction's hash, or why it was not sent. The claim stays for
    /// the settle to conclude.
    Submitted { reply: SubmitReply },
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

    /// Claims the payment for a settle and, when the claim is the settle's, submits its transaction,
    /// at the home of the payment's entry. An error leaves unknown whether it claimed.
    fn claim_and_submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        ledger: &L,
        ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
        claim: &SponsorClaim,
    ) -> impl Future<Output = Result<HomeSubmit, ExactStarknetError>>;
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

    async fn claim_and_submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        ledger: &L,
        ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
        claim: &SponsorClaim,
    ) -> Result<HomeSubmit, ExactStarknetError> {
        claim_and_submit_here(ledger, ctx, sponsor, sponsored, claim).await
    }
}

/// The claimed submit where `ledger` holds the payment's entry.
pub async fn claim_and_submit_here<L: Ledger, H: HttpTransport, C: Clock>(
    ledger: &L,
    ctx: &StarknetContext<'_, H, C>,
    sponsor: &Sponsor<'_>,
    sponsored: &SponsoredCall<'_>,
    claim: &SponsorClaim,
) -> Result<HomeSubmit, ExactStarknetError> {
    let fingerprint = Some(claim.fingerprint.clone());
    let op = LedgerOp::Claim { now_ms: claim.now_ms, hold_ms: claim.hold_ms, fingerprint };
    match ledger::apply_claim(ledger, sponsored.key, op).await {
        Ok(Claim::Acquired) => {}
        Ok(claim) => return Ok(HomeSubmit::NotSent { claim }),
        Err(e) => return Err(ExactStarknetError::Rpc(e.to_string())),
    }
    let submitted = submit_in_turn(ledger, ctx, sponsor, sponsored).await;
    Ok(HomeSubmit::Submitted { reply: submitted.into() })
}

/// The sponsor of a network whose sponsor sends its own transactions; `None` under a paymaster.
pub fn self_sponsor(config: &StarknetNetworkConfig) -> Option<Sponsor<'_>> {
    match &config.settlement {
        StarknetSettlement::SelfSponsored { key } => Some(Sponsor { address: config.sponsor_address, key }),
        StarknetSettlement::Paymaster { .. } => None,
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
/// two is found and reconciled. A transaction the node refused, and that no node knows, is abandoned:
/// kept, its record would make every retry wait for it forever instead of signing anew.
async fn record_and_broadcast<L: Ledger, H: HttpTransport, C: Clock>(
    ledger: &L,
    ctx: &StarknetContext<'_, H, C>,
    key: &str,
    signed: &SignedInvoke,
) -> Result<String, ExactStarknetError> {
    let hash = format!("{:#x}", signed.hash);
    let record = LedgerOp::RecordTransaction { transaction: hash.clone(), raw: Some(signed.json.to_string()) };
    ledger.apply(key, record).await.map_err(|e| ExactStarknetError::Rpc(format!("ledger: {e}")))?;
    match chain::broadcast(ctx, signed).await {
        Ok(()) => Ok(hash),
        Err(refused @ (ExactStarknetError::Refused(_) | ExactStarknetError::StaleNonce)) => {
            // An endpoint tried before the one that refused may have taken it: only the node's word
            // that it knows no such transaction lets the record go.
            if chain::status(ctx, &hash).await == Ok(Status::Unknown) {
                let _ = ledger.apply(key, LedgerOp::Abandon { transaction: hash }).await;
            }
            Err(refused)
        }
        Err(e) => Err(e),
    }
}

/// 50 to 250 ms, growing with the attempt, spread by the payment's key.
fn nonce_retry_pause_ms(key: &str, attempt: u32) -> u64 {
    let spread = u64::from(alloy_primitives::keccak256(key.as_bytes())[0]) * 200 / 255;
    50 * u64::from(attempt.min(4)) + spread
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::chains::starknet::StarkKey;
    use crate::ledger::{LedgerEntry, LedgerReply, MemoryLedger};
    use crate::network;
    use crate::ports::{Clockless, TransportError};

    /// A node that never answers, counting what reached it.
    #[derive(Default)]
    struct Unreachable(Cell<u32>);

    impl HttpTransport for Unreachable {
        async fn post_json(&self, _: &str, _: &[(&str, &str)], _: String) -> Result<String, TransportError> {
            self.0.set(self.0.get() + 1);
            Err(TransportError::Failed("unreachable".into()))
        }
    }

    fn claim(fingerprint: &str) -> SponsorClaim {
        SponsorClaim { fingerprint: fingerprint.into(), now_ms: 1_000, hold_ms: 60_000 }
    }

    #[test]
    fn a_claimed_submit_sends_only_under_a_claim_it_acquired() {
        let (ledger, http, urls) = (MemoryLedger::default(), Unreachable::default(), vec!["http://127.0.0.1:9".into()]);
        let ctx = StarknetContext {
            rpc: JsonRpcClient::new(&http, &Clockless, &urls),
            clock: &Clockless,
            chain_id: Felt::ONE,
            confirm_timeout_secs: 1,
            max_fee_fri: 1,
        };
        let key = StarkKey::from_text("0x1").expect("a key");
        let sponsor = Sponsor { address: Felt::from(9u64), key: &key };
        let submit = |payment: &'static str, fingerprint: &str| {
            let (call, claim) = (sponsored(payment), claim(fingerprint));
            pollster::block_on(claim_and_submit_here(&ledger, &ctx, &sponsor, &call, &claim))
                .expect("the ledger answers")
        };

        // Acquired: it submits (the node is down, so nothing was sent) and keeps the claim for the settle.
        let first = submit("starknet/starknet:SN_SEPOLIA/0xabc/0x1", "a");
        assert!(matches!(first, HomeSubmit::Submitted { reply: SubmitReply::Rpc(_) }), "{first:?}");
        let reached = http.0.get();
        assert!(reached > 0);
        let entry = pollster::block_on(ledger.apply("starknet/starknet:SN_SEPOLIA/0xabc/0x1", LedgerOp::Read));
        assert!(matches!(entry, Ok(LedgerReply::Entry { entry: Some(LedgerEntry::InFlight { .. }) })), "{entry:?}");

        // Held by that settle, or by a different payment: nothing reaches the node.
        let busy = submit("starknet/starknet:SN_SEPOLIA/0xabc/0x1", "a");
        assert!(matches!(busy, HomeSubmit::NotSent { claim: Claim::Busy { .. } }), "{busy:?}");
        let conflict = submit("starknet/starknet:SN_SEPOLIA/0xabc/0x1", "b");
        assert_eq!(conflict, HomeSubmit::NotSent { claim: Claim::Conflict });
        assert_eq!(http.0.get(), reached, "nothing sent without the claim");
    }

    #[test]
    fn a_home_submit_carries_its_claim_and_reply_back() {
        let answers = [
            HomeSubmit::NotSent {
                claim: Claim::Resume {
                    since_ms: 7,
                    transaction: "0xfeed".into(),
                    replaced: vec![],
                    raw: Some("{}".into()),
                },
            },
            HomeSubmit::NotSent { claim: Claim::Conflict },
            HomeSubmit::Submitted { reply: SubmitReply::FeeAboveCeiling { fee: u128::MAX, ceiling: 1 } },
            HomeSubmit::Submitted { reply: SubmitReply::Sent { transaction: "0xbeef".into() } },
        ];
        for answer in answers {
            let text = serde_json::to_string(&answer).expect("serializes");
            assert_eq!(serde_json::from_str::<HomeSubmit>(&text).expect("parses"), answer, "{text}");
        }
    }

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
