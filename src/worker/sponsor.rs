//! A Starknet sponsor as a Durable Object, one per (network, sponsor account): its transactions are
//! priced, signed, recorded and sent there, one at a time, so the settles of every isolate take turns
//! for the sponsor's nonce instead of racing for it (a race is caught, but costs a settle a retry and,
//! under load, can exhaust its retries).

use std::time::Duration;

use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State};

use super::ledger::DurableLedger;
use super::runtime::{call_object, config_from, parse, FetchTransport, WorkerClock};
use crate::config::StarknetSettlement;
use crate::facilitator::sponsor::{
    self, submit_in_turn, SponsorTransactions, SponsoredCall, SubmitReply, SubmitRequest,
};
use crate::ledger::Ledger;
use crate::network;
use crate::ports::{Clock, HttpTransport};
use crate::schemes::exact_starknet::chain::{Sponsor, StarknetContext};
use crate::schemes::exact_starknet::ExactStarknetError;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "STARKNET_SPONSOR";

#[durable_object]
pub struct StarknetSponsorObject {
    env: Env,
}

impl DurableObject for StarknetSponsorObject {
    fn new(_state: State, env: Env) -> Self {
        StarknetSponsorObject { env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let request: SubmitRequest = parse(&req.text().await?)?;
        Response::from_json(&SubmitReply::from(self.submit(&request).await))
    }
}

impl StarknetSponsorObject {
    async fn submit(&self, request: &SubmitRequest) -> Result<String, ExactStarknetError> {
        let config = config_from(&self.env);
        let not_served = || ExactStarknetError::NotConfigured("a sponsor for this network");
        let served = network::find(&request.network).and_then(|n| config.starknet(n)).ok_or_else(not_served)?;
        let StarknetSettlement::SelfSponsored { key } = &served.settlement else { return Err(not_served()) };
        let transport = FetchTransport { timeout: Duration::from_millis(config.settings.rpc_timeout_ms) };
        let ctx = sponsor::context(&transport, &WorkerClock, served, config.starknet_confirm_timeout_secs)
            .ok_or_else(not_served)?;
        let sponsor = Sponsor { address: served.sponsor_address, key };
        let ledger = DurableLedger::new(&self.env, &config);
        let sponsored = SponsoredCall { network: served.network, key: &request.key, call: request.call()? };
        submit_in_turn(&ledger, &ctx, &sponsor, &sponsored).await
    }
}

/// The worker's side: a sponsor's transactions go to its object.
pub struct DurableSponsor {
    objects: Option<ObjectNamespace>,
}

impl DurableSponsor {
    pub fn new(env: &Env) -> Self {
        DurableSponsor { objects: env.durable_object(BINDING).ok() }
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
        let missing = || ExactStarknetError::Rpc(format!("the {BINDING} Durable Object binding is missing"));
        let namespace = self.objects.as_ref().ok_or_else(missing)?;
        let name = format!("{}/{:#x}", sponsored.network.caip2, sponsor.address);
        let request = SubmitRequest::new(sponsored);
        match call_object::<_, SubmitReply>(namespace, &name, &request).await {
            Ok(reply) => reply.into(),
            // Whether the object sent anything is unknown: the ledger entry says (a retry reconciles).
            Err(e) => Err(ExactStarknetError::Rpc(format!("the sponsor object: {e}"))),
        }
    }
}
