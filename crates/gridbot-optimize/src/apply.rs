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
    pub fn render(&self, params: &[Param], values: &[Value]) -> Result<String, String> {
        let mut doc = self.doc.clone();
        for (p, v) in params.iter().zip(values) {
            set_field(&mut doc, &p.field, v.clone())?;
        }
        serde_yaml::to_string(&doc).map_err(|e| e.to_string())
    }

    /// The account the file with `values` set describes, validated.
    pub fn account(&self, params: &[Param], values: &[Value]) -> Result<AccountConfig, String> {
        let text = self.render(params, values)?;
        gridbot_config::parse_account_for_backtest(&self.path, &text).map_err(|e| {
            e.0.iter()
                .map(|x| {
                    let field = x.field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default();
                    format!("{field}{}", x.message)
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

fn key(k: &str) -> Value {
    Value::String(k.to_owned())
}

/// Sets `field` (see the module docs) in `doc` to `value`.
pub fn set_field(doc: &mut Value, field: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = field.split('.').collect();
    if parts.len() < 2 || parts.iter().any(|p| p.is_empty()) {
        return Err(format!("{field:?}: expected SYMBOL.section.field, *.section.field, risk.field or backtest.field"));
    }
    let Some(root) = doc.as_mapping_mut() else { return Err("the account file is not a mapping".into()) };
    match parts[0] {
        "risk" | "backtest" => {
            let section = root.entry(key(parts[0])).or_insert_with(|| Value::Mapping(Mapping::new()));
            set_path(section, &parts[1..], value, true)
        }
        symbol => {
            let Some(list) = root.get_mut(key("symbols")).and_then(Value::as_sequence_mut) else {
                return Err("the account file has no symbols: list".into());
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
                    format!("{field:?}: no symbol of the account file has a {} section", parts[1])
                } else {
                    format!("{field:?}: the account file trades no {symbol}")
                });
            }
            Ok(())
        }
    }
}

fn set_path(node: &mut Value, path: &[&str], value: Value, create: bool) -> Result<(), String> {
    let Some(map) = node.as_mapping_mut() else { return Err(format!("{}: not a mapping", path.join("."))) };
    match path {
        [] => Err("empty field path".into()),
        [last] => {
            map.insert(key(last), value);
            Ok(())
        }
        [first, rest @ ..] => {
            if !map.contains_key(key(first)) {
                if !create {
                    return Err(format!("no {first} section"));
                }
                map.insert(key(first), Value::Mapping(Mapping::new()));
            }
            let next = map.get_mut(key(first)).ok_or_else(|| format!("no {first} section"))?;
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
            set_field(&mut d, "SOLUSDT.progressive.max_levels", Value::from(4)).unwrap_err().contains("no SOLUSDT")
        );
        assert!(set_field(&mut d, "*.grid.x", Value::from(1)).unwrap_err().contains("no symbol"));
        assert!(set_field(&mut d, "max_levels", Value::from(1)).is_err());
        assert!(set_field(&mut d, "a..b", Value::from(1)).is_err());
    }
}
