//! What the Starknet sponsor objects are asked, and how a call reaches one: by its name, (network,
//! sponsor). Used by the worker's sponsor and by the ledger (a self-sponsored payment's entry lives in
//! its sponsor's object).

use serde::{Deserialize, Serialize};
use worker::{Env, ObjectNamespace};

use super::runtime::call_object;
use crate::chains::starknet::Felt;
use crate::config::Config;
use crate::facilitator::sponsor::{self_sponsor, SponsorClaim, SubmitRequest};
use crate::ledger::{LedgerError, LedgerOp, LedgerReply};
use crate::network::Network;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "STARKNET_SPONSOR";

/// What the sponsor object is asked.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum SponsorRequest {
    /// A transaction for a payment a settle has claimed.
    Submit(SubmitRequest),
    /// A settle's claim on a payment whose home this is, and the transaction to send when it is the
    /// settle's.
    ClaimAndSubmit { submit: SubmitRequest, claim: SponsorClaim },
    /// An operation on the entry of a payment whose home this is.
    Ledger { key: String, op: LedgerOp },
}

/// The object's name: its network (CAIP-2) and sponsor.
pub(super) fn object_name(caip2: &str, sponsor: Felt) -> String {
    format!("{caip2}/{sponsor:#x}")
}

/// The sponsor objects of this Worker, and the entries whose home each is: those of the payments of
/// every self-sponsored network.
pub(super) struct SponsorObjects {
    namespace: Option<ObjectNamespace>,
    /// (CAIP-2, object name) of each self-sponsored network.
    homes: Vec<(&'static str, String)>,
}

impl SponsorObjects {
    pub(super) fn new(env: &Env, config: &Config) -> Self {
        let homes = config
            .starknet_networks
            .iter()
            .filter(|c| self_sponsor(c).is_some())
            .map(|c| (c.network.caip2, object_name(c.network.caip2, c.sponsor_address)))
            .collect();
        SponsorObjects { namespace: env.durable_object(BINDING).ok(), homes }
    }

    /// The name of the object that is the home of the Starknet payments of `network`, if it is
    /// self-sponsored.
    pub(super) fn home_of(&self, network: &Network) -> Option<String> {
        self.homes.iter().find(|(caip2, _)| *caip2 == network.caip2).map(|(_, name)| name.clone())
    }

    /// Sends `request` to the object `name` and parses its reply.
    pub(super) async fn call<R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        request: &SponsorRequest,
    ) -> Result<R, String> {
        let namespace =
            self.namespace.as_ref().ok_or_else(|| format!("the {BINDING} Durable Object binding is missing"))?;
        call_object(namespace, name, request).await.map_err(|e| format!("the sponsor object: {e}"))
    }

    /// An operation on the entry `key` at its home `name`.
    pub(super) async fn ledger(&self, name: &str, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        self.call(name, &SponsorRequest::Ledger { key: key.to_string(), op }).await.map_err(LedgerError)
    }
}
