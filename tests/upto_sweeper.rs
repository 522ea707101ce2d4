//! The sweeper over an in-memory session store: it reads the index a page at a time and goes on past
//! a session whose store fails, reporting it. No chain: the sessions it meets need no batch.

mod common;

use std::cell::{Cell, RefCell};

use alloy_primitives::{Address, Bytes, U256};
use common::offline::{FixedClock, NoChain};
use x402_edge::access::MemoryLimiter;
use x402_edge::chains::evm::sender::NonceManagedSender;
use x402_edge::config::Config;
use x402_edge::facilitator::{Facilitator, SWEEP_PAGE};
use x402_edge::facilitator::{Host, NoHooks, Ports};
use x402_edge::ledger::MemoryLedger;
use x402_edge::upto::{MemorySessions, OwnerOp, OwnerReply, Session, SessionOp, SessionReply, Status};
use x402_edge::upto::{SessionStoreError, Sessions};

/// Memory sessions whose operations on one id fail, and that record the largest page asked for.
#[derive(Default)]
struct FlakySessions {
    inner: MemorySessions,
    failing: RefCell<Option<String>>,
    largest_page: Cell<usize>,
    pages: Cell<usize>,
}

impl Sessions for FlakySessions {
    async fn apply(&self, id: &str, op: SessionOp) -> Result<SessionReply, SessionStoreError> {
        if self.failing.borrow().as_deref() == Some(id) {
            return Err(SessionStoreError("storage unavailable".into()));
        }
        self.inner.apply(id, op).await
    }

    async fn unindex(&self, id: &str) -> Result<(), SessionStoreError> {
        self.inner.unindex(id).await
    }

    async fn indexed(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, SessionStoreError> {
        self.largest_page.set(self.largest_page.get().max(limit));
        self.pages.set(self.pages.get() + 1);
        self.inner.indexed(after, limit).await
    }

    async fn owner(&self, key: &str, op: OwnerOp) -> Result<OwnerReply, SessionStoreError> {
        self.inner.owner(key, op).await
    }
}

struct FlakyHost;

impl Host for FlakyHost {
    type Http = NoChain;
    type Clock = FixedClock;
    type Ledger = MemoryLedger;
    type Sessions = FlakySessions;
    type Sender = NonceManagedSender;
    type Hooks = NoHooks;
    type Limiter = MemoryLimiter;
    #[cfg(feature = "starknet")]
    type Sponsor = x402_edge::facilitator::sponsor::InProcessSponsor;
}

fn session(i: usize) -> Session {
    Session {
        id: format!("session-{i:04}"),
        network: "eip155:84532".into(),
        asset: Address::repeat_byte(1),
        owner: Address::repeat_byte(2),
        spender: Address::repeat_byte(3),
        pay_to: Address::repeat_byte(4),
        cap: U256::from(100),
        deadline: 4_000_000_000,
        signed_deadline: None,
        permit_nonce: U256::ZERO,
        signature: Bytes::new(),
        name: "USD Coin".into(),
        version: "2".into(),
        pending: U256::ZERO,
        settled: U256::ZERO,
        status: Status::Open,
        created_ms: 0,
        last_activity_ms: 0,
        batches: 0,
        settling: None,
        last_settlement: None,
        api_key: None,
    }
}

fn facilitator(sessions: FlakySessions) -> Facilitator<FlakyHost> {
    let config = Config::from_env(|_| None);
    let ports = Ports {
        http: NoChain,
        clock: FixedClock(0),
        ledger: MemoryLedger::default(),
        sessions,
        sender: NonceManagedSender::default(),
        hooks: NoHooks,
        limiter: MemoryLimiter::default(),
        #[cfg(feature = "starknet")]
        sponsor: x402_edge::facilitator::sponsor::InProcessSponsor,
    };
    Facilitator::new(config, ports)
}

/// Opens `n` sessions that captured nothing and were idle since time 0: long idle, each is closed.
fn open_sessions(n: usize) -> FlakySessions {
    let sessions = FlakySessions::default();
    for i in 0..n {
        let op = SessionOp::Capture { amount: U256::ZERO, now_ms: 0, opening: Box::new(session(i)), open: true };
        assert!(matches!(
            pollster::block_on(sessions.inner.apply(&session(i).id, op)),
            Ok(SessionReply::Session { .. })
        ));
    }
    sessions
}

#[test]
fn the_sweeper_pages_through_the_index_and_goes_on_past_a_failing_session() {
    let n = SWEEP_PAGE * 2 + 50;
    let sessions = open_sessions(n);
    let bad = session(SWEEP_PAGE + 7).id;
    *sessions.failing.borrow_mut() = Some(bad.clone());
    let facilitator = facilitator(sessions);
    let long_idle = 1_800_000;
    let report = pollster::block_on(facilitator.sweep(long_idle)).unwrap();
    assert_eq!((report.sessions, report.closed, report.error_count), (n, n - 1, 1), "{report:?}");
    assert_eq!(report.errors[0].session.as_deref(), Some(bad.as_str()));
    assert!(report.errors[0].message.contains("storage unavailable"), "{report:?}");
    let store = facilitator_sessions(&facilitator);
    assert_eq!(store.largest_page.get(), SWEEP_PAGE, "never more than a page at a time");
    assert_eq!(store.pages.get(), 3);
    // Only the failing session is still indexed; the next pass finds it again.
    assert_eq!(pollster::block_on(store.inner.indexed(None, 1_000)).unwrap(), vec![bad.clone()]);
    *store.failing.borrow_mut() = None;
    let report = pollster::block_on(facilitator.sweep(long_idle)).unwrap();
    assert_eq!((report.sessions, report.closed, report.error_count), (1, 1, 0), "{report:?}");
}

/// A full last page is followed by one more (empty) read, never by a repeat.
#[test]
fn an_index_of_exactly_one_page_is_swept_once() {
    let facilitator = facilitator(open_sessions(SWEEP_PAGE));
    let report = pollster::block_on(facilitator.sweep(1_800_000)).unwrap();
    assert_eq!((report.sessions, report.closed), (SWEEP_PAGE, SWEEP_PAGE), "{report:?}");
}

fn facilitator_sessions(f: &Facilitator<FlakyHost>) -> &FlakySessions {
    f.sessions()
}
