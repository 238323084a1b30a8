//! WebSocket: frame parsing, the local order book, and (in `stream`) the blocking connection
//! threads with ping, reconnect and resubscribe.

pub mod book;
pub mod frames;
pub mod stream;

#[cfg(test)]
mod tests;
