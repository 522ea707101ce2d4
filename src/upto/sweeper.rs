//! When the cron sweeper settles or closes a session (daydreams `upto/sweeper.ts`, with the later
//! versions' retry of a batch stuck in `settling`). Pure: the session and the time in, a decision out.

use alloy_primitives::U256;

use super::session::{Session, Status};

/// The sweeper's thresholds (env `UPTO_*`, defaults as the daydreams facilitator's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Settle a session idle this long (2 min).
    pub idle_settle_ms: u64,
    /// Settle and close a session this close to its permit deadline (60 s).
    pub deadline_buffer_secs: u64,
    /// Settle once settled + pending reaches this share of the cap (90 %).
    pub cap_percent: u64,
    /// Close a session idle this long (30 min).
    pub long_idle_close_ms: u64,
    /// Begin again a batch stuck in `settling` this long (5 min), reconciling it first.
    pub settling_timeout_ms: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle_settle_ms: 120_000,
            deadline_buffer_secs: 60,
            cap_percent: 90,
            long_idle_close_ms: 1_800_000,
            settling_timeout_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepAction {
    Settle {
        reason: &'static str,
        close_after: bool,
    },
    Close,
    /// Closed and idle long enough: the sweeper stops looking at it (the record stays, so the permit
    /// cannot open it again).
    Forget,
    Nothing,
}

/// What the sweeper does with `session` at `now_ms`.
pub fn due(session: &Session, now_ms: u64, t: &Thresholds) -> SweepAction {
    let idle_ms = now_ms.saturating_sub(session.last_activity_ms);
    let deadline_ms = session.deadline.saturating_mul(1000);
    match session.status {
        Status::Settling => {
            let stuck =
                session.settling.as_ref().is_some_and(|b| now_ms.saturating_sub(b.since_ms) >= t.settling_timeout_ms);
            if stuck {
                return SweepAction::Settle { reason: "settling_timeout", close_after: false };
            }
            return SweepAction::Nothing;
        }
        Status::Open if !session.pending.is_zero() => {
            if idle_ms >= t.idle_settle_ms {
                let close_after = idle_ms >= t.long_idle_close_ms || deadline_ms <= now_ms;
                return SweepAction::Settle { reason: "idle_timeout", close_after };
            }
            if deadline_ms <= now_ms + t.deadline_buffer_secs * 1000 {
                return SweepAction::Settle { reason: "deadline_buffer", close_after: true };
            }
            let used = session.settled.saturating_add(session.pending);
            if used.saturating_mul(U256::from(100)) >= session.cap.saturating_mul(U256::from(t.cap_percent)) {
                return SweepAction::Settle { reason: "cap_threshold", close_after: false };
            }
            return SweepAction::Nothing;
        }
        // A closing batch that failed: retry it now and then until the session is long idle.
        Status::Closed if !session.pending.is_zero() && idle_ms < t.long_idle_close_ms => {
            let last_try = session.last_settlement.as_ref().map_or(0, |l| l.at_ms);
            if now_ms.saturating_sub(last_try) >= t.idle_settle_ms {
                return SweepAction::Settle { reason: "retry_closed", close_after: true };
            }
            return SweepAction::Nothing;
        }
        _ => {}
    }
    let finished = idle_ms >= t.long_idle_close_ms || deadline_ms <= now_ms || session.settled >= session.cap;
    match session.status {
        Status::Open if finished => SweepAction::Close,
        Status::Closed if idle_ms >= t.long_idle_close_ms => SweepAction::Forget,
        _ => SweepAction::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upto::session::Batch;

    fn session(pending: u64, settled: u64, last_activity_ms: u64, status: Status) -> Session {
        let mut s = crate::upto::session::tests::opening(100);
        s.pending = U256::from(pending);
        s.settled = U256::from(settled);
        s.last_activity_ms = last_activity_ms;
        s.status = status;
        s.deadline = 100_000; // seconds
        s
    }

    #[test]
    fn each_threshold_fires_at_its_moment() {
        let t = Thresholds::default();
        let open = |pending, settled, last| session(pending, settled, last, Status::Open);
        let settle = |reason, close_after| SweepAction::Settle { reason, close_after };
        // Idle: not at 119.999 s, at 120 s.
        assert_eq!(due(&open(10, 0, 0), 119_999, &t), SweepAction::Nothing);
        assert_eq!(due(&open(10, 0, 0), 120_000, &t), settle("idle_timeout", false));
        // Deadline buffer: within 60 s of the deadline (100 000 s), settle and close.
        let near = 100_000_000 - 60_000;
        assert_eq!(due(&open(10, 0, near - 1_000), near - 1, &t), SweepAction::Nothing);
        assert_eq!(due(&open(10, 0, near - 1_000), near, &t), settle("deadline_buffer", true));
        // Cap threshold: 90 % of the cap in settled + pending.
        assert_eq!(due(&open(39, 50, 0), 1_000, &t), SweepAction::Nothing);
        assert_eq!(due(&open(40, 50, 0), 1_000, &t), settle("cap_threshold", false));
        // Long idle with nothing pending: close; closed and long idle: forget.
        assert_eq!(due(&open(0, 10, 0), 1_799_999, &t), SweepAction::Nothing);
        assert_eq!(due(&open(0, 10, 0), 1_800_000, &t), SweepAction::Close);
        assert_eq!(due(&session(0, 10, 0, Status::Closed), 1_800_000, &t), SweepAction::Forget);
        assert_eq!(due(&open(0, 100, 0), 1, &t), SweepAction::Close, "the cap is spent");
        // Long idle with spend pending: settle it and close.
        assert_eq!(due(&open(10, 0, 0), 1_800_000, &t), settle("idle_timeout", true));
    }

    #[test]
    fn the_pending_spend_of_a_closed_session_is_retried_until_it_is_long_idle() {
        let t = Thresholds::default();
        let mut s = session(10, 0, 0, Status::Closed);
        s.last_settlement = Some(crate::upto::session::LastSettlement {
            at_ms: 100_000,
            reason: "deadline_buffer".into(),
            success: false,
            amount: U256::from(10),
            transaction: None,
            error: Some("unexpected_settle_error".into()),
        });
        assert_eq!(due(&s, 219_999, &t), SweepAction::Nothing);
        assert_eq!(due(&s, 220_000, &t), SweepAction::Settle { reason: "retry_closed", close_after: true });
        assert_eq!(due(&s, 1_800_000, &t), SweepAction::Forget);
    }

    #[test]
    fn a_stuck_batch_is_retried_after_the_settling_timeout() {
        let t = Thresholds::default();
        let mut s = session(10, 0, 0, Status::Settling);
        s.settling =
            Some(Batch { seq: 0, amount: U256::from(10), since_ms: 1_000, reason: "idle".into(), close_after: false });
        assert_eq!(due(&s, 300_999, &t), SweepAction::Nothing);
        assert_eq!(due(&s, 301_000, &t), SweepAction::Settle { reason: "settling_timeout", close_after: false });
    }
}
