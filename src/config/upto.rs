//! `upto` sessions: how a settle captures, when the sweeper settles, whose sessions are whose
//! (`UPTO_*`).

use super::values::integer;

/// What `/settle` of an `upto` payment does (`UPTO_SETTLE_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UptoSettleMode {
    /// Capture the amount into the session; the sweeper settles batches (the default).
    Capture,
    /// Settle the amount on chain at once, for resource servers that keep their own sessions.
    Immediate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UptoConfig {
    pub mode: UptoSettleMode,
    pub thresholds: crate::upto::Thresholds,
    /// `UPTO_REQUIRE_API_KEY` (default: on when `FACILITATOR_API_KEYS` is set): a session belongs to
    /// the API key that opened it; payments, reads and closes under another key find no session.
    pub require_api_key: bool,
    /// `UPTO_MAX_SESSIONS_PER_OWNER`: sessions one permit owner may have open at once.
    pub max_sessions_per_owner: usize,
}

/// Sessions one owner may have open at once, by default: one per (network, token, spender) is all an
/// owner ever needs; this bounds what one payer can make the sweeper look at.
pub const DEFAULT_UPTO_MAX_SESSIONS_PER_OWNER: u64 = 8;

pub(super) fn read(
    get: &impl Fn(&str) -> Option<String>,
    problem: &mut impl FnMut(&str, String),
    keys: bool,
) -> UptoConfig {
    let require_api_key = match get("UPTO_REQUIRE_API_KEY").as_deref() {
        None => keys,
        Some("true") if !keys => {
            problem("UPTO_REQUIRE_API_KEY", "is `true` but FACILITATOR_API_KEYS sets no key".into());
            true
        }
        Some("true") => true,
        Some("false") => false,
        Some(_) => {
            problem("UPTO_REQUIRE_API_KEY", "must be `true` or `false`".into());
            keys
        }
    };
    let max_sessions_per_owner =
        integer(get, problem, "UPTO_MAX_SESSIONS_PER_OWNER", DEFAULT_UPTO_MAX_SESSIONS_PER_OWNER, 1..=1_000) as usize;
    let mode = match get("UPTO_SETTLE_MODE").as_deref() {
        None | Some("capture") => UptoSettleMode::Capture,
        Some("immediate") => UptoSettleMode::Immediate,
        Some(_) => {
            problem("UPTO_SETTLE_MODE", "must be `capture` or `immediate`".into());
            UptoSettleMode::Capture
        }
    };
    let d = crate::upto::Thresholds::default();
    let mut secs =
        |variable: &str, default_ms: u64| integer(get, problem, variable, default_ms / 1000, 1..=86_400) * 1000;
    let idle_settle_ms = secs("UPTO_IDLE_SETTLE_SECONDS", d.idle_settle_ms);
    let long_idle_close_ms = secs("UPTO_LONG_IDLE_CLOSE_SECONDS", d.long_idle_close_ms);
    let settling_timeout_ms = secs("UPTO_SETTLING_TIMEOUT_SECONDS", d.settling_timeout_ms);
    let deadline_buffer_secs = secs("UPTO_DEADLINE_BUFFER_SECONDS", d.deadline_buffer_secs * 1000) / 1000;
    let cap_percent = integer(get, problem, "UPTO_CAP_THRESHOLD_PERCENT", d.cap_percent, 1..=100);
    let thresholds = crate::upto::Thresholds {
        idle_settle_ms,
        deadline_buffer_secs,
        cap_percent,
        long_idle_close_ms,
        settling_timeout_ms,
    };
    UptoConfig { mode, thresholds, require_api_key, max_sessions_per_owner }
}
