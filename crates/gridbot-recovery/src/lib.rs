//! # gridbot-recovery
//!
//! Putting every leg back where it was after a crash, from the exchange's own records.
//!
//! - [`codec`]: the orderLinkId codec every order carries.
//! - [`reconcile`]: a snapshot's orders against the exchange's reports, as a pure function.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;
pub mod reconcile;

pub use codec::{CodecError, LinkTag};
