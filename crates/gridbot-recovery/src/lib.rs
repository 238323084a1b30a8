//! # gridbot-recovery
//!
//! Putting every leg back where it was after a crash, from the exchange's own records.
//!
//! - [`codec`]: the orderLinkId codec every order carries.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod codec;

pub use codec::{CodecError, LinkTag};
