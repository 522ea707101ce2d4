//! Work that must not overlap for one key, one at a time in this process (in the Worker, this
//! isolate): a Starknet sponsor's transactions, which each take the sponsor's next nonce from the
//! chain. Concurrent ones would read the same nonce and all but one would sign again after a pause; in
//! turns, each reads the nonce the previous one left. The Worker takes these turns in the sponsor's
//! Durable Object, so that the settles of every isolate share them ([`super::sponsor`]).
//!
//! A waiting turn polls on its own clock rather than being woken by the one before it: in a Worker, a
//! request that waits on a promise another request resolves has no I/O of its own pending, and the
//! runtime cancels it as hung.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::ports::Clock;

/// How often a waiting turn looks again: a waiter costs one timer per 5 ms, and the next turn starts
/// within 5 ms of the last one's end.
const POLL_MS: u64 = 5;

/// A held turn: the key is free again when this is dropped.
pub(super) struct Turn {
    key: String,
}

impl Drop for Turn {
    fn drop(&mut self) {
        busy().remove(&self.key);
    }
}

fn busy() -> MutexGuard<'static, HashSet<String>> {
    static BUSY: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    BUSY.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits for `key`'s turn.
pub(super) async fn turn<C: Clock>(key: String, clock: &C) -> Turn {
    loop {
        if busy().insert(key.clone()) {
            return Turn { key };
        }
        clock.sleep_millis(POLL_MS).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::future::join;
    use std::cell::RefCell;
    use std::task::Poll;

    /// A clock whose sleep lets the other task run: it yields once.
    struct Yielding;

    impl Clock for Yielding {
        fn now_millis(&self) -> u64 {
            0
        }
        async fn sleep_millis(&self, _: u64) {
            yield_once().await
        }
    }

    /// Enters `key`'s turn, yields once (so the other task runs), leaves.
    async fn task(name: &'static str, key: &str, log: &RefCell<Vec<String>>) {
        let _turn = turn(key.to_string(), &Yielding).await;
        log.borrow_mut().push(format!("{name} in"));
        yield_once().await;
        log.borrow_mut().push(format!("{name} out"));
    }

    async fn yield_once() {
        let mut yielded = false;
        futures_util::future::poll_fn(|cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await
    }

    #[test]
    fn one_key_takes_turns_and_two_keys_overlap() {
        let log = RefCell::new(Vec::new());
        pollster::block_on(join(task("a", "turns-test/one", &log), task("b", "turns-test/one", &log)));
        assert_eq!(*log.borrow(), ["a in", "a out", "b in", "b out"]);
        log.borrow_mut().clear();
        pollster::block_on(join(task("a", "turns-test/x", &log), task("b", "turns-test/y", &log)));
        assert_eq!(*log.borrow(), ["a in", "b in", "a out", "b out"]);
    }

    #[test]
    fn a_dropped_turn_frees_its_key() {
        drop(pollster::block_on(turn("turns-test/drop".into(), &Yielding)));
        let again = pollster::block_on(turn("turns-test/drop".into(), &Yielding));
        assert!(busy().contains("turns-test/drop"));
        drop(again);
        assert!(!busy().contains("turns-test/drop"));
    }
}
