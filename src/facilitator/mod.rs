//! The facilitator: picks the scheme for a normalized request and runs verify, settle and supported.
//! Host-neutral; the worker and the native tests give it their ports ([`Host`]).
//!
//! `core` holds the facilitator and the checks every payment passes; `dispatch` sends each scheme to
//! its orchestration (`evm`, `permit2`, `upto_permit2`, `upto`, `svm`, `starknet`); `once` is the one
//! settle-through-the-ledger flow they share.

mod core;
mod dispatch;
mod evm;
pub mod home;
mod host;
mod once;
mod outcome;
#[cfg(feature = "permit2")]
mod permit2;
#[cfg(feature = "starknet")]
pub mod sponsor;
#[cfg(feature = "starknet")]
mod starknet;
mod svm;
#[cfg(feature = "starknet")]
mod turns;
mod upto;
#[cfg(feature = "permit2")]
mod upto_permit2;

pub use self::core::Facilitator;
pub use host::{HookDecision, Hooks, Host, NoHooks, Ports};
pub use outcome::{Failure, Settled, TxStatus, Verified};
pub use upto::{session_json, SweepError, SweepReport, SWEEP_ERRORS_KEPT, SWEEP_PAGE};
