//! # gridbot-recovery
//!
//! Putting every leg back where it was after a crash, from the exchange's own records.
//!
//! - [`codec`]: the orderLinkId codec every order carries; [`NonceSource`] keeps ids unique.
//! - [`mod@reconcile`]: a snapshot's orders against the exchange's reports, as a pure function.
//! - [`analyzer`]: each leg's cycle, level and anchor from the execution history.
//! - [`mod@recover`]: the six-step recovery over the `Exchange` trait; idempotent, with a dry run.
//!
//! ```
//! use gridbot_core::{Leg, OrderRole};
//! use gridbot_recovery::LinkTag;
//!
//! // Every order says who placed it and why; recovery reads it back from the exchange.
//! let tag = LinkTag { account: "main".into(), leg: Leg::Long, cycle: 7, role: OrderRole::Protective, level: 3, nonce: 42 };
//! let id = tag.encode()?;
//! assert!(id.as_str().len() <= 36);
//! assert_eq!(LinkTag::decode(id.as_str())?, tag);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
