//! Which account the current thread works for, so a log writer can route each line to that
//! account's own file (the binary's logging setup reads it). Event workers and persisters set
//! it for their lifetime; start-up code sets it around an account's opening.

use std::cell::RefCell;
use std::sync::Arc;

thread_local! {
    static ACCOUNT: RefCell<Option<Arc<str>>> = const { RefCell::new(None) };
}

/// Marks the current thread as working for `account`.
pub fn set_account(account: &str) {
    ACCOUNT.with(|a| *a.borrow_mut() = Some(Arc::from(account)));
}

/// The account the current thread works for.
#[must_use]
pub fn current_account() -> Option<Arc<str>> {
    ACCOUNT.with(|a| a.borrow().clone())
}

/// Runs `f` marked as working for `account`, then restores the previous mark.
pub fn with_account<R>(account: &str, f: impl FnOnce() -> R) -> R {
    let previous = current_account();
    set_account(account);
    let result = f();
    ACCOUNT.with(|a| *a.borrow_mut() = previous);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_nest_and_stay_on_their_thread() {
        assert_eq!(current_account(), None);
        with_account("a", || {
            assert_eq!(current_account().as_deref(), Some("a"));
            std::thread::spawn(|| assert_eq!(current_account(), None)).join().unwrap();
        });
        assert_eq!(current_account(), None);
    }
}
