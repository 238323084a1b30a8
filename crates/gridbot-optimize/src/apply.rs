//! An account file with some of its fields set: how a candidate becomes the account a backtest
//! runs, and the file `--export` writes.
//!
//! A field is named by its path in the account file:
//! - `BTCUSDT.progressive.step_scale_factor` — that symbol's entry of `symbols:`;
//! - `*.classic.spacing` — every symbol that has a `classic:` section;
//! - `risk.trailing_activation`, `backtest.slippage` — the top-level sections.
//!
//! Decisions:
//! - **The file is edited as YAML and read by the same loader as `gridbot backtest` and live
//!   trading** (`gridbot_config::parse_account_for_backtest`): every variant is validated like
//!   a hand-written file, and the exported file reproduces the candidate's backtest bit for bit.
//! - A missing field is inserted (a default the base file left out); a missing section is
//!   created for a named symbol but never for `*`, which only reaches symbols that have it.

use std::path::{Path, PathBuf};

use gridbot_config::{AccountConfig, ConfigError, ConfigErrors};
use serde_yaml::{Mapping, Value};

use crate::space::Param;

/// Why a field path cannot be set in an account file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Not `SYMBOL.section.field`, `*.section.field`, `risk.field` or `backtest.field`.
    #[error("{0:?}: expected SYMBOL.section.field, *.section.field, risk.field or backtest.field")]
    BadPath(String),
    /// The account file (or a section on the way) is not a mapping.
    #[error("{0}: not a mapping")]
    NotAMapping(String),
    /// The account file has no `symbols:` list.
    #[error("the account file has no symbols: list")]
    NoSymbols,
    /// `*.section.field`, and no symbol has the section.
    #[error("{field:?}: no symbol of the account file has a {section} section")]
    NoSymbolHasSection {
        /// The field path.
        field: String,
        /// The section.
        section: String,
    },
    /// `SYMBOL.…` names a symbol the file does not trade.
    #[error("{field:?}: the account file trades no {symbol}")]
    NoSuchSymbol {
        /// The field path.
        field: String,
        /// The symbol.
        symbol: String,
    },
}

/// Why a candidate's account could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CandidateError {
    /// A varied field could not be set.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The edited file could not be written out as YAML.
    #[error("the edited account file cannot be written: {0}")]
    Yaml(#[from] serde_yaml::Error),
    /// The account file with the candidate's values does not validate (each problem as
    /// `field: message`, joined by `; `).
    #[error("{}", joined(.0))]
    Invalid(ConfigErrors),
    /// A recorded candidate lacks a field this search varies (results of another file).
    #[error("candidate #{index} has no {field}")]
    MissingField {
        /// The candidate.
        index: usize,
        /// The field.
        field: String,
    },
    /// The candidate's backtest settings (its funding file) could not be read.
    #[error(transparent)]
    Funding(#[from] gridbot_data::FundingError),
    /// The backtest stopped.
    #[error(transparent)]
    Backtest(#[from] gridbot_backtest::BacktestError),
}

fn joined(errors: &ConfigErrors) -> String {
    errors
        .0
        .iter()
        .map(|x| {
            let field = x.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
            format!("{field}{}", x.message)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The account file a search starts from.
#[derive(Debug, Clone)]
pub struct AccountTemplate {
    /// Its path (relative paths inside it resolve beside it).
    pub path: PathBuf,
    doc: Value,
}

impl AccountTemplate {
    /// Reads `path`, checking it loads as a backtest's account file.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        gridbot_config::load_account_for_backtest(path)?;
        let fail = |message: String| {
            ConfigErrors(vec![ConfigError { file: path.to_path_buf(), line: None, field: None, message }])
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let doc: Value = serde_yaml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), doc })
    }

    /// The file with `values` set at `params`' fields.
    pub fn render(&self, params: &[Param], values: &[Value]) -> Result<String, CandidateError> {
        let mut doc = self.doc.clone();
        for (p, v) in params.iter().zip(values) {
            set_field(&mut doc, &p.field, v.clone())?;
        }
        Ok(serde_yaml::to_string(&doc)?)
    }

    /// The account the file with `values` set describes, validated.
    pub fn account(&self, params: &[Param], values: &[Value]) -> Result<AccountConfig, CandidateError> {
        let text = self.render(params, values)?;
        gridbot_config::parse_account_for_backtest(&self.path, &text).map_err(CandidateError::Invalid)
    }
}

fn key(k: &str) -> Value {
    Value::String(k.to_owned())
}

/// Sets `field` (see the module docs) in `doc` to `value`.
pub fn set_field(doc: &mut Value, field: &str, value: Value) -> Result<(), FieldError> {
    let parts: Vec<&str> = field.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(FieldError::BadPath(field.to_owned()));
    }
    let Some(root) = doc.as_mapping_mut() else { return Err(FieldError::NotAMapping("the account file".into())) };
    match parts[0] {
        "risk" | "backtest" => {
            let section = root.entry(key(parts[0])).or_insert_with(|| Value::Mapping(Mapping::new()));
            set_path(section, &parts[1..], value, true)
        }
        symbol => {
            let Some(list) = root.get_mut(key("symbols")).and_then(Value::as_sequence_mut) else {
                return Err(FieldError::NoSymbols);
            };
            let mut reached = 0;
            for entry in list.iter_mut() {
                let named = entry.get("symbol").and_then(Value::as_str) == Some(symbol);
                let has_section = entry.get(parts[1]).is_some();
                if (symbol == "*" && has_section) || named {
                    set_path(entry, &parts[1..], value.clone(), symbol != "*")?;
                    reached += 1;
                }
            }
            if reached == 0 {
                return Err(if symbol == "*" {
                    FieldError::NoSymbolHasSection { field: field.to_owned(), section: parts[1].to_owned() }
                } else {
                    FieldError::NoSuchSymbol { field: field.to_owned(), symbol: symbol.to_owned() }
                });
            }
            Ok(())
        }
    }
}

fn set_path(node: &mut Value, path: &[&str], value: Value, create: bool) -> Result<(), FieldError> {
    let Some(map) = node.as_mapping_mut() else { return Err(FieldError::NotAMapping(path.join("."))) };
    match path {
        [] => Err(FieldError::BadPath(String::new())),
        [last] => {
            map.insert(key(last), value);
            Ok(())
        }
        [first, rest @ ..] => {
            if !map.contains_key(key(first)) {
                if !create {
                    return Err(FieldError::NotAMapping(path.join(".")));
                }
                map.insert(key(first), Value::Mapping(Mapping::new()));
            }
            let Some(next) = map.get_mut(key(first)) else { return Err(FieldError::NotAMapping(path.join("."))) };
            set_path(next, rest, value, create)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "account_id: a\nsymbols:\n  - symbol: BTCUSDT\n    progressive:\n      max_levels: 6\n  \
                           - symbol: ETHUSDT\n    classic:\n      spacing: 0.003\n";

    fn doc() -> Value {
        serde_yaml::from_str(ACCOUNT).unwrap()
    }

    #[test]
    fn sets_a_symbols_field_every_symbols_section_and_top_level_sections() {
        let mut d = doc();
        set_field(&mut d, "BTCUSDT.progressive.max_levels", Value::from(4)).unwrap();
        set_field(&mut d, "*.classic.spacing", Value::from(0.004)).unwrap();
        set_field(&mut d, "risk.trailing_activation", Value::from(0.02)).unwrap();
        let text = serde_yaml::to_string(&d).unwrap();
        assert!(text.contains("max_levels: 4"), "{text}");
        assert!(text.contains("spacing: 0.004"), "{text}");
        assert!(text.contains("risk:\n  trailing_activation: 0.02"), "{text}");
    }

    #[test]
    fn refuses_what_reaches_nothing() {
        let mut d = doc();
        assert!(
            set_field(&mut d, "SOLUSDT.progressive.max_levels", Value::from(4))
                .unwrap_err()
                .to_string()
                .contains("no SOLUSDT")
        );
        assert!(set_field(&mut d, "*.grid.x", Value::from(1)).unwrap_err().to_string().contains("no symbol"));
        assert!(set_field(&mut d, "max_levels", Value::from(1)).is_err());
        assert!(set_field(&mut d, "a..b", Value::from(1)).is_err());
    }
}
