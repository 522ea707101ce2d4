//! A Starknet sponsor as a Durable Object, one per (network, sponsor account): its transactions are
//! priced, signed, recorded and sent there, one at a time, so the settles of every isolate take turns
//! for the sponsor's nonce instead of racing for it (a race is caught, but costs a settle a retry and,
//! under load, can exhaust its retries).
//!
//! It is also the home of the entries of the payments its sponsor settles: they live in its storage,
//! and a settle claims the payment and sends its transaction here in one call.

use std::time::Duration;

use futures_util::lock::Mutex;
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use super::ledger::{DurableLedger, Home, HomeLedger, StoredEntries};
use super::runtime::{config_from, parse, FetchTransport, WorkerClock};
use super::sponsor_calls::{object_name, SponsorObjects, SponsorRequest};
use crate::config::Config;
use crate::facilitator::sponsor::{
    self, claim_and_submit_here, self_sponsor, submit_in_turn, HomeSubmit, SponsorClaim, SponsorTransactions,
    SponsoredCall, SubmitReply, SubmitRequest,
};
use crate::ledger::{Ledger, LedgerReply};
use crate::network;
use crate::ports::{Clock, HttpTransport};
use crate::schemes::exact_starknet::chain::{Sponsor, StarknetContext};
use crate::schemes::exact_starknet::ExactStarknetError;

#[durable_object]
pub struct StarknetSponsorObject {
    state: State,
    env: Env,
    /// Ledger operations on this object's entries run one at a time, from read to write.
    ledger_turn: Mutex<()>,
}

impl DurableObject for StarknetSponsorObject {
    fn new(state: State, env: Env) -> Self {
        StarknetSponsorObject { state, env, ledger_turn: Mutex::new(()) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        match parse(&req.text().await?)? {
            SponsorRequest::Submit(request) => {
                Response::from_json(&SubmitReply::from(self.submit(&request, None).await.and_then(submitted)))
            }
            // An error before the claim is carried as its message: the settle cannot tell whether it
            // claimed either way.
            SponsorRequest::ClaimAndSubmit { submit, claim } => {
                let reply = self.submit(&submit, Some(&claim)).await.map_err(|e| e.to_string());
                Response::from_json(&reply)
            }
            SponsorRequest::Ledger { key, op } => {
                let reply: LedgerReply =
                    self.entries().apply(&key, op).await.map_err(|e| worker::Error::RustError(e.0))?;
                Response::from_json(&reply)
            }
        }
    }
}

/// A plain submit's answer (no claim was asked for).
fn submitted(home: HomeSubmit) -> Result<String, ExactStarknetError> {
    match home {
        HomeSubmit::Submitted { reply } => reply.into(),
        HomeSubmit::NotSent { claim } => Err(ExactStarknetError::Rpc(format!("nothing was sent: {claim:?}"))),
    }
}

impl StarknetSponsorObject {
    fn entries(&self) -> StoredEntries<'_> {
        StoredEntries { storage: self.state.storage(), turn: &self.ledger_turn }
    }

    /// Submits `request`'s transaction, after claiming the payment when `claim` is given.
    async fn submit(
        &self,
        request: &SubmitRequest,
        claim: Option<&SponsorClaim>,
    ) -> Result<HomeSubmit, ExactStarknetError> {
        let config = config_from(&self.env);
        let not_served = || ExactStarknetError::NotConfigured("a sponsor for this network");
        let served = network::find(&request.network).and_then(|n| config.starknet(n)).ok_or_else(not_served)?;
        let sponsor = self_sponsor(served).ok_or_else(not_served)?;
        let transport = FetchTransport { timeout: Duration::from_millis(config.settings.rpc_timeout_ms) };
        let ctx = sponsor::context(&transport, &WorkerClock, served, config.starknet_confirm_timeout_secs)
            .ok_or_else(not_served)?;
        let home = Home::Sponsor(object_name(served.network.caip2, served.sponsor_address));
        let ledger = HomeLedger { here: self.entries(), elsewhere: DurableLedger::new(&self.env, &config), home };
        let sponsored = SponsoredCall { network: served.network, key: &request.key, call: request.call()? };
        match claim {
            Some(claim) => claim_and_submit_here(&ledger, &ctx, &sponsor, &sponsored, claim).await,
            None => {
                let reply = submit_in_turn(&ledger, &ctx, &sponsor, &sponsored).await.into();
                Ok(HomeSubmit::Submitted { reply })
            }
        }
    }
}

/// The worker's side: a sponsor's transactions go to its object.
pub struct DurableSponsor {
    objects: SponsorObjects,
}

impl DurableSponsor {
    pub fn new(env: &Env, config: &Config) -> Self {
        DurableSponsor { objects: SponsorObjects::new(env, config) }
    }

    async fn call<R: serde::de::DeserializeOwned>(
        &self,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
        request: &SponsorRequest,
    ) -> Result<R, ExactStarknetError> {
        let name = object_name(sponsored.network.caip2, sponsor.address);
        // Whether the object sent anything is unknown when it does not answer: the ledger entry says
        // (a retry reconciles).
        self.objects.call(&name, request).await.map_err(ExactStarknetError::Rpc)
    }
}

impl SponsorTransactions for DurableSponsor {
    /// The object records the hash in the ledger itself.
    async fn submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        _ledger: &L,
        _ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
    ) -> Result<String, ExactStarknetError> {
        let request = SponsorRequest::Submit(SubmitRequest::new(sponsored));
        self.call::<SubmitReply>(sponsor, sponsored, &request).await?.into()
    }

    /// The claimed submit runs in the sponsor's object, the home of the payment's entry: one call.
    async fn claim_and_submit<L: Ledger, H: HttpTransport, C: Clock>(
        &self,
        _ledger: &L,
        _ctx: &StarknetContext<'_, H, C>,
        sponsor: &Sponsor<'_>,
        sponsored: &SponsoredCall<'_>,
        claim: &SponsorClaim,
    ) -> Result<HomeSubmit, ExactStarknetError> {
        let request = SponsorRequest::ClaimAndSubmit { submit: SubmitRequest::new(sponsored), claim: claim.clone() };
        let reply: Result<HomeSubmit, String> = self.call(sponsor, sponsored, &request).await?;
        reply.map_err(|message| ExactStarknetError::Rpc(format!("the sponsor object: {message}")))
    }
}
