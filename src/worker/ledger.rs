//! The settlement ledger in Durable Objects. A payment's entry lives at its home when it has one: an
//! EIP-3009 or Permit2 payment's is the signer object that settles it ([`crate::facilitator::home`]), a
//! self-sponsored Starknet payment's its sponsor's object ([`crate::facilitator::sponsor`]), so that
//! a settle claims and sends in one call. Every other entry (`upto` sessions, Solana, Starknet under a
//! paymaster, wallet deployments) has an object of its own per payment identity. Either way one
//! strongly consistent owner applies [`crate::ledger::apply`].

use alloy_primitives::Address;
use futures_util::lock::Mutex;
use worker::{durable_object, DurableObject, Env, ObjectNamespace, Request, Response, State, Storage};

use super::runtime::{call_object, parse};
use super::signer_calls::{object_name, SignerObjects, SignerRequest};
use crate::chains::evm::signer::for_payment;
use crate::config::Config;
use crate::ledger::{self, LedgerEntry, LedgerOp, LedgerReply};
use crate::ledger::{Ledger, LedgerError};
use crate::network::Family;
use crate::ports::EvmSigner;
use crate::schemes::settling_network;

/// The binding name in `wrangler.toml`.
pub const BINDING: &str = "SETTLEMENT_LEDGER";
const ENTRY_KEY: &str = "entry";

#[durable_object]
pub struct SettlementLedger {
    state: State,
    turn: Mutex<()>,
}

impl DurableObject for SettlementLedger {
    fn new(state: State, _env: Env) -> Self {
        SettlementLedger { state, turn: Mutex::new(()) }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op: LedgerOp = parse(&req.text().await?)?;
        let entries = StoredEntries { storage: self.state.storage(), turn: &self.turn };
        Response::from_json(&entries.apply_at(ENTRY_KEY, op).await?)
    }
}

/// Ledger entries in one object's storage, each applied alone (`turn`) from its read to its write.
pub(super) struct StoredEntries<'a> {
    pub(super) storage: Storage,
    pub(super) turn: &'a Mutex<()>,
}

impl StoredEntries<'_> {
    pub(super) async fn apply_at(&self, storage_key: &str, op: LedgerOp) -> worker::Result<LedgerReply> {
        let _turn = self.turn.lock().await;
        let entry: Option<LedgerEntry> = self.storage.get(storage_key).await?;
        let unchanged = entry.clone();
        let (reply, next) = ledger::apply(entry, op);
        if next != unchanged {
            match &next {
                Some(entry) => self.storage.put(storage_key, entry).await?,
                None => {
                    self.storage.delete(storage_key).await?;
                }
            }
        }
        Ok(reply)
    }
}

impl Ledger for StoredEntries<'_> {
    async fn apply(&self, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        self.apply_at(&format!("ledger/{key}"), op).await.map_err(|e| LedgerError(e.to_string()))
    }
}

/// The object that is the home of a payment's entry, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Home {
    /// An EVM signer object ([`super::signer`]).
    Signer(String),
    /// A Starknet sponsor object ([`super::sponsor`]).
    #[cfg(feature = "starknet")]
    Sponsor(String),
}

/// The worker's side: the ledger port over the Durable Objects, each key sent to its home.
pub struct DurableLedger {
    entries: Option<ObjectNamespace>,
    signers: SignerObjects,
    signer_addresses: Vec<Address>,
    #[cfg(feature = "starknet")]
    sponsors: super::sponsor_calls::SponsorObjects,
}

impl DurableLedger {
    pub fn new(env: &Env, config: &Config) -> Self {
        let signer_addresses = config.evm_signers.iter().map(|s| s.address()).collect();
        let signers = SignerObjects::new(env, config);
        DurableLedger {
            entries: env.durable_object(BINDING).ok(),
            signers,
            signer_addresses,
            #[cfg(feature = "starknet")]
            sponsors: super::sponsor_calls::SponsorObjects::new(env, config),
        }
    }

    /// The home of `key` ([`settling_network`]): the signer object of an EVM payment (EIP-3009 or
    /// Permit2) that settles it, the sponsor object of a self-sponsored Starknet payment; else `None`.
    pub(super) fn home_of(&self, key: &str) -> Option<Home> {
        let network = settling_network(key)?;
        match network.family {
            Family::Evm => {
                for_payment(&self.signer_addresses, key).map(|signer| Home::Signer(object_name(network.caip2, *signer)))
            }
            #[cfg(feature = "starknet")]
            Family::Starknet => self.sponsors.home_of(network).map(Home::Sponsor),
            _ => None,
        }
    }
}

impl Ledger for DurableLedger {
    async fn apply(&self, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        match self.home_of(key) {
            Some(Home::Signer(home)) => {
                let request = SignerRequest::Ledger { key: key.to_string(), op };
                self.signers.call(&home, &request).await.map_err(LedgerError)
            }
            #[cfg(feature = "starknet")]
            Some(Home::Sponsor(home)) => self.sponsors.ledger(&home, key, op).await,
            None => {
                let missing = || LedgerError(format!("the {BINDING} Durable Object binding is missing"));
                let namespace = self.entries.as_ref().ok_or_else(missing)?;
                call_object(namespace, key, &op).await.map_err(|e| LedgerError(e.to_string()))
            }
        }
    }
}

/// The ledger as a home object sees it: the entries whose home it is in its own storage, the others
/// where they live.
pub(super) struct HomeLedger<'a> {
    pub(super) here: StoredEntries<'a>,
    pub(super) elsewhere: DurableLedger,
    pub(super) home: Home,
}

impl Ledger for HomeLedger<'_> {
    async fn apply(&self, key: &str, op: LedgerOp) -> Result<LedgerReply, LedgerError> {
        match self.elsewhere.home_of(key) {
            Some(home) if home == self.home => self.here.apply(key, op).await,
            _ => self.elsewhere.apply(key, op).await,
        }
    }
}
