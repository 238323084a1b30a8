//! `${VAR}` interpolation and the `Secret` type.
//!
//! Decisions:
//! - Interpolation happens on parsed string values, never on the file's text: a value from the
//!   environment cannot change the YAML's structure, and YAML never parses a secret.
//! - `${VAR}` must name a set variable: an unset one is an error that names the variable (and
//!   never a value). `$${` writes a literal `${`.
//! - Values that came from the environment are remembered so that any error message that might
//!   quote them (a wrong-typed number, say) can be scrubbed before it is shown.

/// Where variables come from (the process environment, or a map in tests).
pub trait Env {
    /// The value of `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterpolationError {
    /// `${NAME}` names an unset variable.
    #[error("environment variable {0} is not set")]
    Unset(String),
    /// `${` without `}`, or an empty or invalid name.
    #[error("bad variable reference {0:?}: write ${{NAME}} with NAME of A-Z, a-z, 0-9, _")]
    Malformed(String),
}

/// Expands every `${NAME}` in `text`; returns the text and whether any variable was used.
pub fn interpolate(text: &str, env: &dyn Env) -> Result<(String, bool), InterpolationError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut used = false;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after.find('}').ok_or_else(|| InterpolationError::Malformed(tail.to_owned()))?;
            let name = &after[..end];
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(InterpolationError::Malformed(format!("${{{name}}}")));
            }
            out.push_str(&env.var(name).ok_or_else(|| InterpolationError::Unset(name.to_owned()))?);
            used = true;
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok((out, used))
}

/// A credential: printable only as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one place that needs it (signing, the API URL).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Replaces every non-trivial value in `secrets` found in `text` with `<redacted>`.
#[must_use]
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(s.as_str(), "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::from([("KEY".to_owned(), "abc".to_owned()), ("EMPTY".to_owned(), String::new())])
    }

    #[test]
    fn expands_names_keeps_dollars_and_escapes() {
        assert_eq!(interpolate("${KEY}", &env()), Ok(("abc".into(), true)));
        assert_eq!(interpolate("x-${KEY}-${KEY}", &env()), Ok(("x-abc-abc".into(), true)));
        assert_eq!(interpolate("cost $5", &env()), Ok(("cost $5".into(), false)));
        assert_eq!(interpolate("$${KEY}", &env()), Ok(("${KEY}".into(), false)));
        assert_eq!(interpolate("${EMPTY}", &env()), Ok((String::new(), true)));
    }

    #[test]
    fn unset_and_malformed_references_are_named() {
        assert_eq!(interpolate("${NOPE}", &env()), Err(InterpolationError::Unset("NOPE".into())));
        assert!(matches!(interpolate("${KEY", &env()), Err(InterpolationError::Malformed(_))));
        assert!(matches!(interpolate("${A B}", &env()), Err(InterpolationError::Malformed(_))));
        assert!(matches!(interpolate("${}", &env()), Err(InterpolationError::Malformed(_))));
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2-secret".into());
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        assert_eq!(scrub("got hunter2-secret here", &["hunter2-secret".into()]), "got <redacted> here");
    }
}
