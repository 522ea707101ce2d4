//! `exact` on Starknet in the facilitator: verify (the pure binding, then the account and the token
//! asked over RPC), and settle at most once through the ledger, keyed by the account and its
//! outside-execution nonce (which the account itself accepts only once). Both dialects share the
//! settle path; the registered spec's adds its simulation before sending and its receipt check after,
//! and answers with its own codes.

use serde_json::{json, Value};

use super::core::Facilitator;
use super::dispatch::kind;
use super::host::Host;
use super::once::{settle_failure, turn, OncePayment, Sent, Turn};
use super::outcome::{Failure, Settled, Verified};
use super::sponsor::{self, self_sponsor, HomeSubmit, SponsorClaim, SponsorTransactions, SponsoredCall};
use crate::chains::jsonrpc::JsonRpcClient;
use crate::chains::starknet::Felt;
use crate::config::{StarknetNetworkConfig, StarknetSettlement};
use crate::ledger::Ledger;
use crate::ledger::{fingerprint, LedgerOp};
use crate::network::{Family, Network};
use crate::ports::Clock;
use crate::protocol::response::SupportedResponse;
use crate::protocol::Reason;
use crate::schemes::exact_starknet::chain::{self, SignedInvoke, Sponsor, StarknetContext, Status};
use crate::schemes::exact_starknet::spec::{verify_spec, Phase, SpecPolicy};
use crate::schemes::exact_starknet::{
    chain_id, ledger_key, verify_request, ExactStarknetError, SpecPayload, StarknetDialect, StarknetPayload,
    VerifiedStarknet,
};
use crate::schemes::PaymentRequest;

impl From<ExactStarknetError> for Failure {
    fn from(e: ExactStarknetError) -> Self {
        failure(StarknetDialect::X402Starknet, e)
    }
}

/// The failure a Starknet error is in `dialect`.
fn failure(dialect: StarknetDialect, e: ExactStarknetError) -> Failure {
    let transaction = e.transaction().map(str::to_string);
    Failure { transaction, ..Failure::new(e.reason_in(dialect), e.to_string()) }
}

/// In a settle, as [`settle_failure`] answers any scheme's error.
fn settle_error(dialect: StarknetDialect) -> impl Fn(ExactStarknetError) -> Failure {
    move |e| settle_failure(failure(dialect, e))
}

/// What a settle sends, whichever dialect carried it.
struct Outgoing<'a> {
    dialect: StarknetDialect,
    key: &'a str,
    verified: &'a VerifiedStarknet,
    /// What a paymaster is handed: the typed data the payer signed.
    typed_data: &'a Value,
}

impl<P: Host> Facilitator<P> {
    fn starknet_config(&self, network: &'static Network) -> Result<&StarknetNetworkConfig, Failure> {
        self.config.starknet(network).ok_or_else(|| {
            Failure::new(Reason::InvalidNetwork, format!("network `{}` is not served here", network.name))
        })
    }

    fn starknet_context<'a>(
        &'a self,
        config: &'a StarknetNetworkConfig,
    ) -> Result<StarknetContext<'a, P::Http, P::Clock>, Failure> {
        let confirm_timeout_secs = self.config.starknet_confirm_timeout_secs;
        sponsor::context(&self.http, &self.clock, config, confirm_timeout_secs)
            .ok_or_else(|| Failure::new(Reason::InvalidNetwork, "the network has no Starknet chain id"))
    }

    /// The pure checks: the authorization, and the outside execution it must be.
    fn verify_starknet_payload(
        &self,
        config: &StarknetNetworkConfig,
        request: &PaymentRequest,
        payload: &StarknetPayload,
    ) -> Result<VerifiedStarknet, ExactStarknetError> {
        verify_request(request, payload, &[config.sponsor_address], self.clock.now_secs())
    }

    pub(super) async fn verify_starknet(
        &self,
        request: &PaymentRequest,
        payload: &StarknetPayload,
    ) -> Result<Verified, Failure> {
        let config = self.starknet_config(request.network)?;
        let verified = self.verify_starknet_payload(config, request, payload)?;
        let ctx = self.starknet_context(config)?;
        chain::check_on_chain(&ctx, &verified).await?;
        simulate_settlement(&ctx, config, &verified).await?;
        self.check_unsettled(&ledger_key(config.network, &verified), Reason::StarknetNonceUsed).await?;
        Ok(Verified { payer: format!("{:#x}", verified.account) })
    }

    /// Claims the payment (account, nonce) in the ledger, then checks it on chain again, records the
    /// signed transaction, sends it and waits until it is accepted on L2.
    pub(super) async fn settle_starknet(
        &self,
        request: &PaymentRequest,
        payload: &StarknetPayload,
    ) -> Result<Settled, Failure> {
        let config = self.starknet_config(request.network)?;
        let verified = self.verify_starknet_payload(config, request, payload)?;
        let typed_data = payload.typed_data.as_ref().ok_or(ExactStarknetError::MissingTypedData)?;
        self.settle_verified(request, config, &verified, StarknetDialect::X402Starknet, typed_data).await
    }

    /// A payment whose pure checks passed, once: claimed in the ledger under (account, nonce), checked
    /// on chain again, sent, and confirmed (or reconciled, when another settle had sent it).
    async fn settle_verified(
        &self,
        request: &PaymentRequest,
        config: &StarknetNetworkConfig,
        verified: &VerifiedStarknet,
        dialect: StarknetDialect,
        typed_data: &Value,
    ) -> Result<Settled, Failure> {
        let ctx = self.starknet_context(config)?;
        let key = ledger_key(config.network, verified);
        let payer = format!("{:#x}", verified.account);
        // What the account signed (the typed data's hash) and the signature itself.
        let signature: Vec<String> = verified.signature.iter().map(|f| format!("{f:#x}")).collect();
        let identity = format!("{key}/{:#x}/{}", verified.message_hash, signature.join(","));
        let used = match dialect {
            StarknetDialect::X402Starknet => Reason::StarknetNonceUsed,
            StarknetDialect::Spec => Reason::NonceAlreadyUsed,
        };
        let payment = OncePayment { key: &key, fingerprint: fingerprint(request, &identity), payer: &payer, used };
        let out = Outgoing { dialect, key: &key, verified, typed_data };
        if let Some(settled) = self.settle_starknet_at_home(&ctx, config, &payment, &out).await {
            return settled;
        }
        let send = || self.send_starknet(&ctx, config, &out);
        let resume = |sent| self.reconcile_starknet(&ctx, &out, sent);
        self.settle_through_ledger(&payment, send, resume).await
    }

    /// The spec's pure rules at this facilitator's clock; its sponsor is the one `extra.feePayer`.
    fn verify_spec_payload(
        &self,
        config: &StarknetNetworkConfig,
        request: &PaymentRequest,
        payload: &SpecPayload,
        phase: Phase,
    ) -> Result<VerifiedStarknet, ExactStarknetError> {
        let chain_id = chain_id(config.network).ok_or(ExactStarknetError::NotConfigured("a Starknet chain id"))?;
        let fee_payers = [config.sponsor_address];
        let policy = SpecPolicy { chain_id, fee_payers: &fee_payers, now_secs: self.clock.now_secs(), phase };
        verify_spec(request, payload, &policy)
    }

    /// [starknet-spec] The registered spec's rules: the pure ones, the account's signature and nonce,
    /// the balance, then the settlement simulated.
    pub(super) async fn verify_starknet_spec(
        &self,
        request: &PaymentRequest,
        payload: &SpecPayload,
    ) -> Result<Verified, Failure> {
        let spec = |e| failure(StarknetDialect::Spec, e);
        let config = self.starknet_config(request.network)?;
        let verified = self.verify_spec_payload(config, request, payload, Phase::Verify).map_err(spec)?;
        let ctx = self.starknet_context(config)?;
        chain::check_on_chain(&ctx, &verified).await.map_err(spec)?;
        simulate_settlement(&ctx, config, &verified).await.map_err(spec)?;
        self.check_unsettled(&ledger_key(config.network, &verified), Reason::NonceAlreadyUsed).await?;
        Ok(Verified { payer: format!("{:#x}", verified.account) })
    }

    /// [starknet-spec] Every rule again (the freshness bound aside), then the settle both dialects
    /// share, with the spec's simulation before it and its receipt check after.
    pub(super) async fn settle_starknet_spec(
        &self,
        request: &PaymentRequest,
        payload: &SpecPayload,
    ) -> Result<Settled, Failure> {
        let config = self.starknet_config(request.network)?;
        let verified = self
            .verify_spec_payload(config, request, payload, Phase::Settle)
            .map_err(|e| failure(StarknetDialect::Spec, e))?;
        // A paymaster is handed what was hashed: the canonical rebuild, not the object received.
        let typed_data = verified.execution.to_typed_data();
        self.settle_verified(request, config, &verified, StarknetDialect::Spec, &typed_data).await
    }

    /// The hot path of a self-sponsored payment: the chain reads first, then one call to the sponsor's
    /// object (in the Worker), the home of the payment's entry, claims the payment and sends its
    /// transaction; the settle waits for acceptance here and records the outcome at the home. `None`
    /// for a payment another settlement serves, or that the reads do not find ready to send (used, not
    /// started, unfunded, failing its simulation): the full flow answers it, claim first, as a
    /// duplicate or with the reason.
    async fn settle_starknet_at_home(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        config: &StarknetNetworkConfig,
        payment: &OncePayment<'_>,
        out: &Outgoing<'_>,
    ) -> Option<Result<Settled, Failure>> {
        let sponsor = self_sponsor(config)?;
        self.check_ready(ctx, config, out).await.ok()?;
        let fail = settle_error(out.dialect);
        let claim = SponsorClaim {
            fingerprint: payment.fingerprint.clone(),
            now_ms: self.clock.now_millis(),
            hold_ms: self.hold_ms(),
        };
        let sponsored = sponsored_call(config, out);
        let result = match self.sponsor.claim_and_submit(&self.ledger, ctx, &sponsor, &sponsored, &claim).await {
            // Whether the home claimed is not known: its hold (if any) runs out, and a retry then
            // reconciles what it may have sent.
            Err(e) => return Some(Err(fail(e))),
            Ok(HomeSubmit::NotSent { claim }) => match turn(claim, payment) {
                Err(failure) => return Some(Err(failure)),
                // The home answers `NotSent` only for a claim it did not acquire.
                Ok(Turn::Send) => Err(Failure::new(Reason::UnexpectedSettleError, "the payment's home sent nothing")),
                Ok(Turn::Resume(sent)) => self.reconcile_starknet(ctx, out, sent).await,
            },
            Ok(HomeSubmit::Submitted { reply }) => match Result::<String, ExactStarknetError>::from(reply) {
                Ok(hash) => self.confirm_accepted(ctx, out, hash).await,
                Err(e) => Err(fail(e)),
            },
        };
        Some(self.conclude(payment, result).await)
    }

    /// The reads before a payment is sent: the account, its nonce and balance, and the settlement
    /// simulated. Both dialects simulate: what runs is the payer's account code, and an account that
    /// says `VALID` and moves nothing must be refused before the sponsor pays for it.
    async fn check_ready(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        config: &StarknetNetworkConfig,
        out: &Outgoing<'_>,
    ) -> Result<(), ExactStarknetError> {
        chain::check_on_chain(ctx, out.verified).await?;
        simulate_settlement(ctx, config, out.verified).await
    }

    async fn send_starknet(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        config: &StarknetNetworkConfig,
        out: &Outgoing<'_>,
    ) -> Result<Settled, Failure> {
        let fail = settle_error(out.dialect);
        let verified = out.verified;
        self.check_ready(ctx, config, out).await.map_err(&fail)?;
        let hash = match &config.settlement {
            StarknetSettlement::SelfSponsored { key } => {
                let sponsor = Sponsor { address: config.sponsor_address, key };
                let sponsored = sponsored_call(config, out);
                self.sponsor.submit(&self.ledger, ctx, &sponsor, &sponsored).await.map_err(&fail)?
            }
            StarknetSettlement::Paymaster { endpoint, api_key } => {
                let endpoints = std::slice::from_ref(endpoint);
                let mut paymaster = JsonRpcClient::new(&self.http, &self.clock, endpoints);
                if let Some(api_key) = api_key {
                    paymaster = paymaster.with_header("x-paymaster-api-key", api_key);
                }
                let hash = chain::paymaster_execute(&paymaster, verified, out.typed_data).await.map_err(&fail)?;
                let hash = format!("{hash:#x}");
                // Known only once the paymaster answers: recorded before the wait for acceptance.
                let record = LedgerOp::RecordTransaction { transaction: hash.clone(), raw: None };
                let _ = self.ledger.apply(out.key, record).await;
                hash
            }
        };
        self.confirm_accepted(ctx, out, hash).await
    }

    /// Waits until the transaction `hash` is accepted on L2, and answers it (see [`Self::accepted`]).
    async fn confirm_accepted(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        out: &Outgoing<'_>,
        hash: String,
    ) -> Result<Settled, Failure> {
        chain::confirm(ctx, &hash).await.map_err(settle_error(out.dialect))?;
        self.accepted(ctx, out, hash).await
    }

    /// An accepted transaction as the settle answers it, in either dialect only once its receipt shows
    /// exactly the payer's transfer (and with its block): an accepted transaction proves only that the
    /// account's code ran, not that it paid.
    async fn accepted(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        out: &Outgoing<'_>,
        hash: String,
    ) -> Result<Settled, Failure> {
        let expected = out.verified.expected_transfer();
        let block_number = chain::check_receipt(ctx, &hash, &expected).await.map_err(settle_error(out.dialect))?;
        Ok(Settled {
            transaction: hash,
            payer: format!("{:#x}", out.verified.account),
            block_number,
            extensions: None,
            amount: None,
        })
    }

    /// A payment another settle sent: the node decides. One unknown to the node whose settle has been
    /// silent longer than a confirmation takes is broadcast again from the recorded transaction (the
    /// same sponsor nonce and hash: it cannot pay twice, and the account accepts the nonce once).
    async fn reconcile_starknet(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        out: &Outgoing<'_>,
        sent: Sent,
    ) -> Result<Settled, Failure> {
        let fail = |e| failure(out.dialect, e);
        let hash = sent.transaction;
        match chain::status(ctx, &hash).await {
            Ok(Status::Accepted) => self.accepted(ctx, out, hash).await,
            Ok(Status::Pending) => Err(fail(ExactStarknetError::NotAcceptedInTime(hash))),
            Ok(Status::Unknown) => {
                let silent_ms = self.clock.now_millis().saturating_sub(sent.since_ms);
                let recorded = sent.raw.and_then(|r| serde_json::from_str(&r).ok());
                if let Some(json) = recorded.filter(|_| silent_ms > ctx.confirm_timeout_secs * 1000) {
                    let felt = crate::chains::starknet::parse_felt(&hash).unwrap_or(Felt::ZERO);
                    let _ = chain::broadcast(ctx, &SignedInvoke { hash: felt, json }).await;
                }
                Err(fail(ExactStarknetError::NotAcceptedInTime(hash)))
            }
            Err(ExactStarknetError::Rpc(message)) => {
                let failure = Failure::new(Reason::UnexpectedSettleError, format!("its status is unknown: {message}"));
                Err(Failure { transaction: Some(hash), ..failure })
            }
            Err(e) => Err(fail(e)),
        }
    }

    /// The Starknet kinds, with `extra` as the daydreams facilitator gives it (the sponsor, and the
    /// paymaster when one executes) and as the registered spec does (`feePayer`: the `Caller` its
    /// clients sign, the same account), and the sponsors under `starknet:*`.
    pub(super) fn supported_starknet(&self, response: &mut SupportedResponse) {
        let networks = &self.config.starknet_networks;
        for config in networks {
            let sponsor = format!("{:#x}", config.sponsor_address);
            let mut extra = json!({"sponsorAddress": sponsor, "feePayer": sponsor});
            if let StarknetSettlement::Paymaster { endpoint, .. } = &config.settlement {
                extra["paymasterEndpoint"] = json!(endpoint);
            }
            for (version, id) in [(2, config.network.caip2), (1, config.network.name)] {
                let mut kind = kind(version, "exact", id);
                kind.extra = Some(extra.clone());
                response.kinds.push(kind);
            }
        }
        if !networks.is_empty() {
            let mut sponsors: Vec<String> = networks.iter().map(|c| format!("{:#x}", c.sponsor_address)).collect();
            sponsors.dedup();
            response.signers.insert(Family::Starknet.caip_family().to_string(), sponsors);
        }
    }
}

/// The sponsor's call that runs the payer's outside execution.
fn sponsored_call<'a>(config: &StarknetNetworkConfig, out: &Outgoing<'a>) -> SponsoredCall<'a> {
    let call = out.verified.execution.to_call(out.verified.account, &out.verified.signature);
    SponsoredCall { network: config.network, key: out.key, call }
}

/// How many times the sponsor's simulation is tried while its nonce keeps moving.
const SIMULATION_NONCE_TRIES: usize = 4;

/// The settlement simulated (the registered spec's rule, applied to both dialects): the sponsor's own
/// `execute_from_outside_v2` when it submits (it is the signed `Caller`); under a paymaster, whose
/// relayer sends nothing we can sign for, the transfer itself from the payer (the paymaster prices the
/// whole call when it executes).
async fn simulate_settlement<H: crate::ports::HttpTransport, C: Clock>(
    ctx: &StarknetContext<'_, H, C>,
    config: &StarknetNetworkConfig,
    verified: &VerifiedStarknet,
) -> Result<(), ExactStarknetError> {
    let expected = verified.expected_transfer();
    if let StarknetSettlement::SelfSponsored { .. } = &config.settlement {
        let call = verified.execution.to_call(verified.account, &verified.signature);
        // The sponsor's nonce moves with each of its transactions: one read stale by the time of the
        // simulation is read again.
        for _ in 0..SIMULATION_NONCE_TRIES {
            match chain::simulate(ctx, config.sponsor_address, std::slice::from_ref(&call), &expected).await {
                Err(ExactStarknetError::StaleNonce) => continue,
                other => return other,
            }
        }
    }
    // Under a paymaster, or while this sponsor's settles keep racing its nonce: the payer's calls (the
    // receipt is checked either way).
    chain::simulate(ctx, verified.account, &verified.execution.calls, &expected).await
}
