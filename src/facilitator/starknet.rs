//! `exact` on Starknet in the facilitator: verify (the pure binding, then the account and the token
//! asked over RPC), and settle at most once through the ledger, keyed by the account and its
//! outside-execution nonce (which the account itself accepts only once).

use serde_json::json;

use super::core::Facilitator;
use super::dispatch::kind;
use super::host::Host;
use super::once::{settle_failure, OncePayment, Sent};
use super::outcome::{Failure, Settled, Verified};
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
use crate::schemes::exact_starknet::StarknetPayload;
use crate::schemes::exact_starknet::{chain_id, ledger_key, verify_request, ExactStarknetError, VerifiedStarknet};
use crate::schemes::PaymentRequest;

impl From<ExactStarknetError> for Failure {
    fn from(e: ExactStarknetError) -> Self {
        Failure { transaction: e.transaction().map(str::to_string), ..Failure::new(e.reason(), e.to_string()) }
    }
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
        let chain_id = chain_id(config.network)
            .ok_or_else(|| Failure::new(Reason::InvalidNetwork, "the network has no Starknet chain id"))?;
        Ok(StarknetContext {
            rpc: JsonRpcClient::new(&self.http, &self.clock, &config.rpc_urls),
            clock: &self.clock,
            chain_id,
            confirm_timeout_secs: self.config.starknet_confirm_timeout_secs,
            max_fee_fri: config.max_fee_fri,
        })
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
        chain::check_on_chain(&self.starknet_context(config)?, &verified).await?;
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
        let ctx = self.starknet_context(config)?;
        let key = ledger_key(config.network, &verified);
        let payer = format!("{:#x}", verified.account);
        // What the account signed (the typed data's hash) and the signature itself.
        let signature: Vec<String> = verified.signature.iter().map(|f| format!("{f:#x}")).collect();
        let identity = format!("{key}/{:#x}/{}", verified.message_hash, signature.join(","));
        let payment = OncePayment {
            key: &key,
            fingerprint: fingerprint(request, &identity),
            payer: &payer,
            used: Reason::StarknetNonceUsed,
        };
        let send = || self.send_starknet(&ctx, config, &key, &verified, payload);
        let resume = |sent| self.reconcile_starknet(&ctx, &payer, sent);
        self.settle_through_ledger(&payment, send, resume).await
    }

    async fn send_starknet(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        config: &StarknetNetworkConfig,
        key: &str,
        verified: &VerifiedStarknet,
        payload: &StarknetPayload,
    ) -> Result<Settled, Failure> {
        chain::check_on_chain(ctx, verified).await.map_err(settle_failure)?;
        let hash = match &config.settlement {
            StarknetSettlement::SelfSponsored { key: sponsor_key } => {
                let sponsor = Sponsor { address: config.sponsor_address, key: sponsor_key };
                self.submit_sponsored(ctx, &sponsor, key, verified).await?
            }
            StarknetSettlement::Paymaster { endpoint, api_key } => {
                let typed_data = payload.typed_data.as_ref().ok_or(ExactStarknetError::MissingTypedData)?;
                let endpoints = std::slice::from_ref(endpoint);
                let mut paymaster = JsonRpcClient::new(&self.http, &self.clock, endpoints);
                if let Some(api_key) = api_key {
                    paymaster = paymaster.with_header("x-paymaster-api-key", api_key);
                }
                let hash = chain::paymaster_execute(&paymaster, verified, typed_data).await.map_err(settle_failure)?;
                let hash = format!("{hash:#x}");
                // Known only once the paymaster answers: recorded before the wait for acceptance.
                let record = LedgerOp::RecordTransaction { transaction: hash.clone(), raw: None };
                let _ = self.ledger.apply(key, record).await;
                hash
            }
        };
        chain::confirm(ctx, &hash).await.map_err(settle_failure)?;
        Ok(Settled {
            transaction: hash,
            payer: format!("{:#x}", verified.account),
            block_number: None,
            extensions: None,
            amount: None,
        })
    }

    /// The sponsor's own INVOKE v3 running the outside execution: priced, signed, recorded and sent,
    /// signed again with a fresh nonce when another of its transactions took the nonce.
    async fn submit_sponsored(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        sponsor: &Sponsor<'_>,
        key: &str,
        verified: &VerifiedStarknet,
    ) -> Result<String, Failure> {
        let mut attempts = 0;
        loop {
            let sent = match chain::sponsor_transaction(ctx, sponsor, verified).await {
                Ok(signed) => self.record_and_broadcast(ctx, key, &signed).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(hash) => return Ok(hash),
                // Another transaction of the sponsor took the nonce: sign again with a fresh one,
                // after a pause that differs between payments so that racing settles spread out.
                Err(ExactStarknetError::StaleNonce) if attempts < MAX_NONCE_RETRIES => {
                    attempts += 1;
                    self.clock.sleep_millis(nonce_retry_pause_ms(key, attempts)).await;
                }
                Err(e) => return Err(settle_failure(e)),
            }
        }
    }

    /// Records the signed transaction in the ledger, then broadcasts it: a settle cut off between the
    /// two is found and reconciled.
    async fn record_and_broadcast(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        key: &str,
        signed: &SignedInvoke,
    ) -> Result<String, ExactStarknetError> {
        let hash = format!("{:#x}", signed.hash);
        let record = LedgerOp::RecordTransaction { transaction: hash.clone(), raw: Some(signed.json.to_string()) };
        self.ledger.apply(key, record).await.map_err(|e| ExactStarknetError::Rpc(format!("ledger: {e}")))?;
        chain::broadcast(ctx, signed).await.map(|()| hash)
    }

    /// A payment another settle sent: the node decides. One unknown to the node whose settle has been
    /// silent longer than a confirmation takes is broadcast again from the recorded transaction (the
    /// same sponsor nonce and hash: it cannot pay twice, and the account accepts the nonce once).
    async fn reconcile_starknet(
        &self,
        ctx: &StarknetContext<'_, P::Http, P::Clock>,
        payer: &str,
        sent: Sent,
    ) -> Result<Settled, Failure> {
        let hash = sent.transaction;
        match chain::status(ctx, &hash).await {
            Ok(Status::Accepted) => Ok(Settled {
                transaction: hash,
                payer: payer.into(),
                block_number: None,
                extensions: None,
                amount: None,
            }),
            Ok(Status::Pending) => Err(Failure::from(ExactStarknetError::NotAcceptedInTime(hash))),
            Ok(Status::Unknown) => {
                let silent_ms = self.clock.now_millis().saturating_sub(sent.since_ms);
                let recorded = sent.raw.and_then(|r| serde_json::from_str(&r).ok());
                if let Some(json) = recorded.filter(|_| silent_ms > ctx.confirm_timeout_secs * 1000) {
                    let felt = crate::chains::starknet::parse_felt(&hash).unwrap_or(Felt::ZERO);
                    let _ = chain::broadcast(ctx, &SignedInvoke { hash: felt, json }).await;
                }
                Err(Failure::from(ExactStarknetError::NotAcceptedInTime(hash)))
            }
            Err(ExactStarknetError::Rpc(message)) => {
                let failure = Failure::new(Reason::UnexpectedSettleError, format!("its status is unknown: {message}"));
                Err(Failure { transaction: Some(hash), ..failure })
            }
            Err(e) => Err(Failure::from(e)),
        }
    }

    /// The Starknet kinds, with `extra` as the daydreams facilitator gives it (the sponsor, and the
    /// paymaster when one executes), and the sponsors under `starknet:*`.
    pub(super) fn supported_starknet(&self, response: &mut SupportedResponse) {
        let networks = &self.config.starknet_networks;
        for config in networks {
            let mut extra = json!({"sponsorAddress": format!("{:#x}", config.sponsor_address)});
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

/// How often a settle signs again when the sponsor's nonce was taken meanwhile. The sponsor's
/// nonce is read from the chain: concurrent settles from one sponsor race for it (there is no nonce
/// allocator for Starknet as there is for EVM signers), and each round one of them wins.
const MAX_NONCE_RETRIES: u32 = 16;

/// 50 to 250 ms, growing with the attempt, spread by the payment's key.
fn nonce_retry_pause_ms(key: &str, attempt: u32) -> u64 {
    let spread = u64::from(alloy_primitives::keccak256(key.as_bytes())[0]) * 200 / 255;
    50 * u64::from(attempt.min(4)) + spread
}
