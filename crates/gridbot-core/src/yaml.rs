//! Configuration text helpers shared by every YAML file gridbot reads (account and bot files,
//! the simulator's file), before and after serde:
//!
//! - [`check_shape`]: refuses a file too large or nested too deep before the parser sees it
//!   (a YAML parser's time can grow with the square of flow-style nesting: a 200 KB file of
//!   brackets took 47 s).
//! - [`LineIndex`]: finds the line of a field by its path (`symbols[1].progressive.max_levels`),
//!   so errors found after parsing still name `file:line`. Handles block style, which is how
//!   config files are written: `key: value` mappings, `- item` sequences (also `- key: value`
//!   items), comments and blank lines. A path it cannot find (flow style, anchors) resolves to
//!   its nearest ancestor that it can, or to no line.

use std::collections::HashMap;

/// The largest configuration file read, bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// The deepest flow-style nesting (`[`, `{`) accepted.
pub const MAX_FLOW_DEPTH: usize = 32;

/// Why a configuration text is refused before parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// Longer than [`MAX_FILE_BYTES`].
    #[error("the file is {bytes} bytes; a configuration file is at most {MAX_FILE_BYTES}")]
    TooLarge {
        /// The text's length.
        bytes: usize,
    },
    /// Flow collections nested deeper than [`MAX_FLOW_DEPTH`].
    #[error("line {line}: brackets nested deeper than {MAX_FLOW_DEPTH} levels; write the value in block style")]
    TooDeep {
        /// The line (1-based) where the limit was passed.
        line: usize,
    },
}

/// Refuses text longer than [`MAX_FILE_BYTES`] or with flow collections nested deeper than
/// [`MAX_FLOW_DEPTH`] (brackets inside quotes and comments do not count); the error says which
/// and where.
pub fn check_shape(text: &str) -> Result<(), ShapeError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(ShapeError::TooLarge { bytes: text.len() });
    }
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        if c == '\n' {
            // Flow collections and quoted scalars may span lines: depth and quote carry over.
            line += 1;
            comment = false;
            previous = c;
            continue;
        }
        if comment {
            continue;
        }
        match quote {
            Some(q) if c == q && previous != '\\' => quote = None,
            Some(_) => {}
            None => match c {
                // A quote opens a quoted scalar only where a scalar starts (`it's` is plain).
                '"' | '\'' if matches!(previous, ' ' | '\t' | '\n' | ':' | ',' | '[' | '{' | '-') => quote = Some(c),
                '#' if previous.is_whitespace() => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(ShapeError::TooDeep { line });
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        previous = c;
    }
    Ok(())
}

/// Line numbers (1-based) of every block-style path in a YAML text.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

fn key_of(rest: &str) -> Option<&str> {
    let rest = rest.trim_end();
    let (key, after) = if let Some(stripped) = rest.strip_prefix('"') {
        let end = stripped.find('"')?;
        (&stripped[..end], &stripped[end + 1..])
    } else if let Some(stripped) = rest.strip_prefix('\'') {
        let end = stripped.find('\'')?;
        (&stripped[..end], &stripped[end + 1..])
    } else {
        let colon = rest.find(": ").or_else(|| rest.strip_suffix(':').map(str::len))?;
        (&rest[..colon], &rest[colon..])
    };
    let after = after.trim_start();
    (after.starts_with(':') && !key.is_empty() && !key.contains('#')).then_some(key.trim())
}

impl LineIndex {
    /// Indexes `text`.
    #[must_use]
    pub fn new(text: &str) -> Self {
        let mut lines = HashMap::new();
        // (indent of the node, its path, a key whose value starts on the next line)
        let mut stack: Vec<(usize, String, bool)> = Vec::new();
        let mut counters: HashMap<String, usize> = HashMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
                continue;
            }
            let mut col = raw.len() - trimmed.len();
            let mut rest = trimmed;
            loop {
                let item = rest == "-" || rest.starts_with("- ");
                // A sequence may sit at its key's own indent (`key:` then `- item`).
                while stack
                    .last()
                    .is_some_and(|(indent, _, open)| *indent > col || (*indent == col && !(item && *open)))
                {
                    stack.pop();
                }
                let parent = stack.last().map(|(_, p, _)| p.clone()).unwrap_or_default();
                if item {
                    let counter = counters.entry(parent.clone()).or_insert(0);
                    let path = format!("{parent}[{counter}]");
                    *counter += 1;
                    lines.entry(path.clone()).or_insert(line_no);
                    stack.push((col, path, false));
                    let after = rest.get(1..).unwrap_or("");
                    let item = after.trim_start();
                    col += 1 + (after.len() - item.len());
                    rest = item;
                    if rest.is_empty() {
                        break;
                    }
                    continue;
                }
                if let Some(key) = key_of(rest) {
                    let path = if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") };
                    counters.remove(&path);
                    lines.entry(path.clone()).or_insert(line_no);
                    let bare = rest.split(" #").next().unwrap_or(rest).trim_end();
                    let open = bare.ends_with(':');
                    stack.push((col, path, open));
                }
                break;
            }
        }
        Self { lines }
    }

    /// The line of `path`, or of its nearest indexed ancestor.
    #[must_use]
    pub fn line(&self, path: &str) -> Option<usize> {
        let mut p = path;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# an account
account_id: main
symbols:
  - symbol: BTCUSDT   # first
    leverage: 5
    progressive:
      base_qty: \"0.001\"

      max_levels: 6
  -
    symbol: ETHUSDT
    classic:
      profile: normal
accounts:   # files
- a.yaml
- b.yaml
risk: {im_rate_block: 0.9}
\"quoted key\": 1
";

    #[test]
    fn finds_keys_items_and_nested_fields() {
        let ix = LineIndex::new(TEXT);
        assert_eq!(ix.line("account_id"), Some(2));
        assert_eq!(ix.line("symbols"), Some(3));
        assert_eq!(ix.line("symbols[0]"), Some(4));
        assert_eq!(ix.line("symbols[0].symbol"), Some(4));
        assert_eq!(ix.line("symbols[0].leverage"), Some(5));
        assert_eq!(ix.line("symbols[0].progressive.base_qty"), Some(7));
        assert_eq!(ix.line("symbols[0].progressive.max_levels"), Some(9));
        assert_eq!(ix.line("symbols[1]"), Some(10));
        assert_eq!(ix.line("symbols[1].symbol"), Some(11));
        assert_eq!(ix.line("symbols[1].classic.profile"), Some(13));
        assert_eq!(ix.line("accounts[1]"), Some(16));
        assert_eq!(ix.line("quoted key"), Some(18));
    }

    #[test]
    fn unknown_paths_fall_back_to_their_nearest_ancestor() {
        let ix = LineIndex::new(TEXT);
        assert_eq!(ix.line("risk.im_rate_block"), Some(17));
        assert_eq!(ix.line("symbols[0].progressive.take_profit"), Some(6));
        assert_eq!(ix.line("nowhere.at.all"), None);
    }
}

#[cfg(test)]
mod shape_tests {
    use super::{MAX_FLOW_DEPTH, check_shape};

    #[test]
    fn deep_or_huge_files_are_refused_before_parsing() {
        let deep = format!("symbols: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        let err = check_shape(&deep).unwrap_err().to_string();
        assert!(err.starts_with("line 1: brackets nested deeper than 32"), "{err}");
        let ok = format!("a: {}{}\n", "[".repeat(MAX_FLOW_DEPTH), "]".repeat(MAX_FLOW_DEPTH));
        assert_eq!(check_shape(&ok), Ok(()));
        assert!(check_shape(&"x".repeat(super::MAX_FILE_BYTES + 1)).unwrap_err().to_string().contains("at most"));
    }

    #[test]
    fn brackets_in_quotes_and_comments_do_not_count() {
        let text =
            format!("a: \"{}\"\nb: '{}'\n# {}\nc: it's [1, 2]\n", "[".repeat(100), "{".repeat(100), "[".repeat(100));
        assert_eq!(check_shape(&text), Ok(()));
    }
}
