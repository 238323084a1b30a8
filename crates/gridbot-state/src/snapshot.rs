//! The account snapshot: what a restart needs to continue where it stopped — each symbol's
//! locked grid plan, both legs' cycle counters, levels and anchors, risk memory, and the last
//! execution processed.
//!
//! Decisions:
//! - One JSON file per account, replaced atomically (`gridbot_core::fs::write_atomic`).
//! - Schema-versioned. `SCHEMA_VERSION` is written; every older version is read and migrated
//!   in code (`migrate`), one step at a time, with a test per step.
//! - The exchange is the source of truth. A snapshot that does not parse, fails validation or
//!   comes from a newer build is *moved aside* (`*.corrupt-<ms>`, never deleted), reported, and
//!   the caller rebuilds from the exchange (gridbot-recovery).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gridbot_core::{Decimal, Leg, OrderRole, Price, Qty, Side, Symbol};
use gridbot_grid::{ClassicPlan, GridPlan};
use gridbot_risk::{AccountMemory, LegMemory, LegPair};
use serde_json::Value;

/// The version this build writes.
pub const SCHEMA_VERSION: u32 = 3;

/// One leg of a progressive grid.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegState {
    /// The current cycle number (starts at 1; counted per leg).
    pub cycle: u32,
    /// The level reached in this cycle (0 = entry filled); `None` while flat.
    pub level: Option<u32>,
    /// The cycle's anchor (entry) price.
    pub anchor: Option<Price>,
    /// Average entry of the open position.
    pub avg_entry: Option<Price>,
    /// Open size.
    pub size: Qty,
    /// What the cycle opened in all (a take-profit ladder sizes its tranches by it; zero:
    /// unknown, read as `size`).
    #[serde(default, skip_serializing_if = "qty_is_zero")]
    pub opened: Qty,
    /// The take-profit ladder's tranches filled this cycle (bit `k`: tranche `k`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tranches_filled: u32,
    /// A classic leg taken from the exchange's position: when the exchange last changed it
    /// (UTC ms). Every fill at or before it is in `size` / `avg_entry` — a fill heard or read
    /// again later does not move them twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_through_ms: Option<i64>,
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
const fn is_zero(v: &u32) -> bool {
    *v == 0
}

#[allow(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn qty_is_zero(v: &Qty) -> bool {
    v.is_zero()
}

/// An order the bot placed and believes is working.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackedOrder {
    /// Its orderLinkId.
    pub link_id: String,
    /// The exchange's id, once acknowledged.
    pub order_id: Option<String>,
    /// Leg.
    pub leg: Leg,
    /// Why it was placed.
    pub role: OrderRole,
    /// Grid level.
    pub level: u32,
    /// Side.
    pub side: Side,
    /// Limit price (`None` for market orders).
    pub price: Option<Price>,
    /// Size.
    pub qty: Qty,
}

/// The order one level of a classic grid should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicSlot {
    /// The level's index in the plan.
    pub index: u32,
    /// Buy or sell.
    pub side: Side,
    /// The leg it trades: a buy on the long leg opens, a sell on it closes (reduce-only).
    pub leg: Leg,
    /// Size (the level's, or what a partial fill left to turn around).
    pub qty: Qty,
}

/// A classic range grid's state (the legs' inventory is in `SymbolState::long`/`short`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassicState {
    /// The grid's generation: 1, then +1 per recentre; the `cycle` of its orderLinkIds.
    pub generation: u32,
    /// The levels, locked until the next recentre.
    pub plan: ClassicPlan,
    /// The order each level should have.
    pub slots: Vec<ClassicSlot>,
    /// When this generation was built, UTC ms.
    pub built_at_ms: i64,
    /// Realised PnL of this generation (USDT, before fees).
    pub realised_pnl: Decimal,
    /// Fees paid by this generation (USDT).
    pub fees: Decimal,
    /// Set when the whole-grid stop-loss stopped it: why.
    pub stopped: Option<String>,
    /// A rebuild (recentre) under way — cancelling, closing — when the state was saved: a
    /// restart finishes it instead of carrying on with the old generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebuilding: Option<Rebuilding>,
}

/// A classic grid's rebuild under way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rebuilding {
    /// Why it was started (as said when it started).
    pub reason: String,
    /// It ends with the grid stopped (a stop-loss), not rebuilt.
    pub stops_the_grid: bool,
    /// It keeps the inventory (a trailing shift): nothing is closed at market.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keeps_inventory: bool,
}

/// One symbol of the account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolState {
    /// The locked plan (`None` until one is built).
    pub plan: Option<GridPlan>,
    /// Long leg.
    pub long: LegState,
    /// Short leg.
    pub short: LegState,
    /// Risk memory of both legs.
    #[serde(default)]
    pub risk: LegPair<LegMemory>,
    /// The orders the bot believes are working (reconciled against the exchange on restart).
    #[serde(default)]
    pub orders: Vec<TrackedOrder>,
    /// A classic grid's state (`None` for the progressive grid).
    #[serde(default)]
    pub classic: Option<ClassicState>,
    /// A classic grid waiting for its entry trigger, and the side of it the market was on when
    /// it began waiting (so a restart keeps waiting for the same cross).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classic_trigger: Option<EntryTrigger>,
}

/// A classic grid's entry trigger, armed: the grid is built once the mid crosses `price` from
/// the side it was on when armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryTrigger {
    /// The trigger price.
    pub price: Price,
    /// The mid was above `price` when the wait began (the trigger fires at or below it).
    pub from_above: bool,
}

/// Everything saved for one account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSnapshot {
    /// Written as `SCHEMA_VERSION`.
    pub schema_version: u32,
    /// Account id.
    pub account: String,
    /// When it was saved, UTC ms.
    pub saved_at_ms: i64,
    /// Per symbol.
    pub symbols: BTreeMap<Symbol, SymbolState>,
    /// Account-wide risk memory (day peak, kill switch).
    #[serde(default)]
    pub account_risk: AccountMemory,
    /// The last execution processed (executions after it are replayed on restart).
    pub last_execution_id: Option<String>,
    /// Its time, UTC ms.
    pub last_execution_ms: Option<i64>,
    /// The risk conditions holding at the save, and when each was last alerted: a restart
    /// does not alert again what is already known (the hourly repeat carries on).
    #[serde(default)]
    pub risk_alerts: Vec<RiskAlertMemory>,
}

/// A risk condition that holds, and when it was last alerted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskAlertMemory {
    /// The symbol.
    pub symbol: Symbol,
    /// The risk level.
    pub level: gridbot_risk::RiskLevel,
    /// The leg, when the condition is a leg's.
    pub leg: Option<Leg>,
    /// When it was last alerted, event time (UTC ms).
    pub at_ms: i64,
}

impl AccountSnapshot {
    /// An empty snapshot for `account`.
    #[must_use]
    pub fn new(account: impl Into<String>, saved_at_ms: i64) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            account: account.into(),
            saved_at_ms,
            symbols: BTreeMap::new(),
            account_risk: AccountMemory::default(),
            last_execution_id: None,
            last_execution_ms: None,
            risk_alerts: Vec::new(),
        }
    }

    /// Checks the invariants serde cannot: an open leg has an anchor, cycles start at 1, no
    /// level beyond the plan's deepest.
    pub fn validate(&self) -> Result<(), InvalidSnapshot> {
        for (symbol, s) in &self.symbols {
            for (leg, state) in [(Leg::Long, &s.long), (Leg::Short, &s.short)] {
                let problem = if let (Some(level), None) = (state.level, state.anchor) {
                    Some(LegProblem::NoAnchor { level })
                } else if state.cycle == 0 {
                    Some(LegProblem::CycleZero)
                } else if let (Some(level), Some(plan)) = (state.level, &s.plan)
                    && level > plan.max_level()
                {
                    Some(LegProblem::BeyondPlan { level, max_level: plan.max_level() })
                } else {
                    None
                };
                if let Some(problem) = problem {
                    return Err(InvalidSnapshot { symbol: symbol.clone(), leg, problem });
                }
            }
        }
        Ok(())
    }
}

/// A snapshot that breaks an invariant: a restart would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{symbol}.{}: {problem}", if *leg == Leg::Long { "long" } else { "short" })]
pub struct InvalidSnapshot {
    /// The symbol.
    pub symbol: Symbol,
    /// The leg.
    pub leg: Leg,
    /// What is wrong.
    pub problem: LegProblem,
}

/// What is wrong with a leg of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LegProblem {
    /// A level without the cycle's anchor.
    #[error("level Some({level}) without an anchor")]
    NoAnchor {
        /// The level.
        level: u32,
    },
    /// Cycle 0.
    #[error("cycle numbers start at 1")]
    CycleZero,
    /// A level deeper than the plan has.
    #[error("level {level} beyond the plan's max level {max_level}")]
    BeyondPlan {
        /// The level.
        level: u32,
        /// The plan's deepest.
        max_level: u32,
    },
}

/// Upgrades an older snapshot, one version at a time, to `SCHEMA_VERSION`.
fn migrate(mut v: Value) -> Result<(Value, Option<u32>), String> {
    let version = v.get("schema_version").and_then(Value::as_u64).ok_or("no schema_version")?;
    let version = u32::try_from(version).map_err(|_| "schema_version out of range")?;
    if version > SCHEMA_VERSION {
        return Err(format!("schema_version {version} is newer than this build ({SCHEMA_VERSION})"));
    }
    let from = (version < SCHEMA_VERSION).then_some(version);
    let mut current = version;
    while current < SCHEMA_VERSION {
        match current {
            // v1 → v2: risk memory (per symbol and account-wide) and the last execution
            // processed were added; v1 files carry none of them.
            1 => {
                let obj = v.as_object_mut().ok_or("not an object")?;
                obj.insert(
                    "account_risk".into(),
                    serde_json::to_value(AccountMemory::default()).map_err(|e| e.to_string())?,
                );
                obj.insert("last_execution_id".into(), Value::Null);
                obj.insert("last_execution_ms".into(), Value::Null);
                if let Some(symbols) = obj.get_mut("symbols").and_then(Value::as_object_mut) {
                    for s in symbols.values_mut() {
                        if let Some(s) = s.as_object_mut() {
                            s.insert(
                                "risk".into(),
                                serde_json::to_value(LegPair::<LegMemory>::default()).map_err(|e| e.to_string())?,
                            );
                        }
                    }
                }
            }
            // v2 → v3: classic grids' state was added (`classic`, absent for progressive
            // symbols); nothing to fill in.
            2 => {}
            other => return Err(format!("no migration from schema_version {other}")),
        }
        current += 1;
        v["schema_version"] = Value::from(current);
    }
    Ok((v, from))
}

/// What loading found.
#[derive(Debug, Clone, PartialEq)]
pub enum Loaded {
    /// No snapshot file: a fresh start (or a lost file): rebuild from the exchange.
    Missing,
    /// A valid snapshot; `migrated_from` names the older version it was upgraded from.
    Snapshot {
        /// The snapshot, at `SCHEMA_VERSION`.
        snapshot: AccountSnapshot,
        /// The version read, when older.
        migrated_from: Option<u32>,
    },
    /// The file was unreadable; it was moved to `moved_to`. Rebuild from the exchange.
    Corrupt {
        /// Where the file now is.
        moved_to: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Snapshot I/O failures (as opposed to a corrupt file, which is a `Loaded` outcome).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct SnapshotError {
    /// The file.
    pub path: String,
    /// The I/O error.
    pub source: std::io::Error,
}

/// The snapshot file of one account: `{dir}/{account}.state.json`.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    path: PathBuf,
}

impl SnapshotStore {
    /// The store of `account` in `dir`.
    #[must_use]
    pub fn new(dir: &Path, account: &str) -> Self {
        Self { path: dir.join(format!("{account}.state.json")) }
    }

    /// The file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `snapshot` atomically.
    pub fn save(&self, snapshot: &AccountSnapshot) -> Result<(), SnapshotError> {
        let err = |source| SnapshotError { path: self.path.display().to_string(), source };
        let text = serde_json::to_vec_pretty(snapshot).map_err(|e| err(std::io::Error::other(e)))?;
        gridbot_core::fs::write_atomic(&self.path, &text).map_err(err)
    }

    /// Reads, migrates and validates the snapshot without changing anything on disk (a bad
    /// file is reported as `Corrupt` with `moved_to` = its own path).
    pub fn peek(&self) -> Result<Loaded, SnapshotError> {
        let err = |source| SnapshotError { path: self.path.display().to_string(), source };
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(err(e)),
        };
        let parsed = serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(migrate)
            .and_then(|(v, from)| {
                serde_json::from_value::<AccountSnapshot>(v).map(|s| (s, from)).map_err(|e| e.to_string())
            })
            .and_then(|(s, from)| s.validate().map(|()| (s, from)).map_err(|e| e.to_string()));
        Ok(match parsed {
            Ok((snapshot, migrated_from)) => Loaded::Snapshot { snapshot, migrated_from },
            Err(reason) => Loaded::Corrupt { moved_to: self.path.clone(), reason },
        })
    }

    /// Reads, migrates and validates the snapshot; a bad file is moved aside with `now_ms` in
    /// its name.
    pub fn load(&self, now_ms: i64) -> Result<Loaded, SnapshotError> {
        let err = |source| SnapshotError { path: self.path.display().to_string(), source };
        match self.peek()? {
            Loaded::Corrupt { reason, .. } => {
                let name = self.path.file_name().and_then(|n| n.to_str()).unwrap_or("state.json");
                let moved_to = self.path.with_file_name(format!("{name}.corrupt-{now_ms}"));
                std::fs::rename(&self.path, &moved_to).map_err(err)?;
                Ok(Loaded::Corrupt { moved_to, reason })
            }
            other => Ok(other),
        }
    }
}
