//! # gridbot-recovery
//!
//! Putting every leg back where it was after a crash, from the exchange's own records.
//!
//! - [`codec`]: the orderLinkId codec every order carries; [`NonceSource`] keeps ids unique.
//! - [`mod@reconcile`]: a snapshot's orders against the exchange's reports, as a pure function.
//! - [`analyzer`]: each leg's cycle, level and anchor from the execution history.
//! - [`mod@recover`]: the six-step recovery over the `Exchange` trait; idempotent, with a dry run.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod analyzer;
pub mod codec;
mod nonce;
pub mod reconcile;
pub mod recover;

pub use analyzer::{Finding, LegAnalysis, analyze};
pub use codec::{CodecError, LinkTag};
pub use nonce::NonceSource;
pub use reconcile::{Reconciliation, reconcile};
pub use recover::{Classification, Desired, RecoveryError, RecoveryInput, RecoveryReport, recover};
