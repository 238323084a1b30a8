//! SIGINT and SIGTERM: a flag the main thread polls ("stop placing, persist, exit cleanly").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once SIGINT or SIGTERM arrives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// True after a signal.
    pub(crate) fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Listens for the signals on a thread of its own.
pub(crate) fn listen() -> Result<Shutdown, String> {
    let flag = Shutdown::default();
    let set = Arc::clone(&flag.0);
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("signals: {e}"))?;
    std::thread::Builder::new()
        .name("gridbot-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    Some(()) = async { match term.as_mut() { Some(t) => t.recv().await, None => std::future::pending().await } } => {}
                }
            });
            set.store(true, Ordering::SeqCst);
        })
        .map_err(|e| format!("signals: {e}"))?;
    Ok(flag)
}
