//! The search space: which fields of the account file vary, and over what.
//!
//! Every search works on the unit cube — a candidate is a point `u ∈ [0, 1]^d`, one coordinate
//! per varied field — and [`Domain::at`] turns a coordinate into the field's value. Grid search
//! enumerates each domain's [`Domain::grid`] instead.
//!
//! Decisions:
//! - **Values are YAML values**, written into the account file as the user would: integers stay
//!   integers (`max_levels: 5`), choices are any YAML value (`profile: aggressive`).
//! - **Floats are rounded to 8 decimal places** after the arithmetic (`0.1 + 2 × 0.05` is
//!   written `0.2`, not `0.20000000000000004`): the exported file reads as typed, and the value
//!   a candidate names is the one its backtest ran.

use serde_yaml::Value;

/// One varied field.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its path in the account file (`BTCUSDT.progressive.step_scale_factor`, `risk.x`, …).
    pub field: String,
    /// Its values.
    pub domain: Domain,
}

/// The values a field takes.
#[derive(Debug, Clone, PartialEq)]
pub enum Domain {
    /// `range: [lo, hi]` with `step`: `lo, lo + step, …` up to `hi`; integers when all three are.
    Lattice {
        /// First value.
        lo: f64,
        /// Step.
        step: f64,
        /// How many values.
        count: usize,
        /// Written as integers.
        integer: bool,
    },
    /// `range: [lo, hi]` without a step: uniform; a grid takes `steps` values, ends included.
    Uniform {
        /// Low end.
        lo: f64,
        /// High end.
        hi: f64,
        /// Values in a grid.
        steps: Option<usize>,
    },
    /// `log_range: [lo, hi]` (both > 0): uniform in the logarithm; a grid takes `steps` values.
    LogUniform {
        /// Low end.
        lo: f64,
        /// High end.
        hi: f64,
        /// Values in a grid.
        steps: Option<usize>,
    },
    /// `choice: [a, b, …]`.
    Choice(Vec<Value>),
}

/// Rounds to 8 decimal places.
#[must_use]
pub fn tidy(x: f64) -> f64 {
    let r = (x * 1e8).round() / 1e8;
    if r == 0.0 { 0.0 } else { r }
}

fn number(x: f64, integer: bool) -> Value {
    #[allow(clippy::cast_possible_truncation, reason = "integer domains hold integers the user wrote")]
    if integer {
        Value::Number(serde_yaml::Number::from(x.round() as i64))
    } else {
        Value::Number(serde_yaml::Number::from(tidy(x)))
    }
}

/// `k` of `n` evenly spaced points in `[0, 1]`, ends included.
fn spaced(k: usize, n: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "counts of grid points")]
    if n <= 1 { 0.0 } else { k as f64 / (n - 1) as f64 }
}

/// Index of the bucket `u` falls in, of `n` equal buckets of `[0, 1]`.
fn bucket(u: f64, n: usize) -> usize {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let k = (u.clamp(0.0, 1.0) * n as f64).floor() as usize;
    k.min(n.saturating_sub(1))
}

impl Domain {
    /// The value at unit coordinate `u` (clamped to `[0, 1]`).
    #[must_use]
    pub fn at(&self, u: f64) -> Value {
        let u = u.clamp(0.0, 1.0);
        match self {
            Self::Lattice { lo, step, count, integer } => {
                #[allow(clippy::cast_precision_loss, reason = "lattice indices")]
                let k = bucket(u, *count) as f64;
                number(lo + k * step, *integer)
            }
            Self::Uniform { lo, hi, .. } => number(lo + u * (hi - lo), false),
            Self::LogUniform { lo, hi, .. } => number((lo.ln() + u * (hi.ln() - lo.ln())).exp(), false),
            Self::Choice(list) => list.get(bucket(u, list.len())).cloned().unwrap_or(Value::Null),
        }
    }

    /// Every value a grid search tries (`None`: a continuous range without `steps`).
    #[must_use]
    pub fn grid(&self) -> Option<Vec<Value>> {
        match self {
            Self::Lattice { lo, step, count, integer } => Some(
                (0..*count)
                    .map(|k| {
                        #[allow(clippy::cast_precision_loss, reason = "lattice indices")]
                        let k = k as f64;
                        number(lo + k * step, *integer)
                    })
                    .collect(),
            ),
            Self::Uniform { steps, .. } | Self::LogUniform { steps, .. } => {
                let n = (*steps)?;
                Some((0..n).map(|k| self.at(spaced(k, n))).collect())
            }
            Self::Choice(list) => Some(list.clone()),
        }
    }

    /// How many distinct values it takes (`None`: continuous).
    #[must_use]
    pub fn cardinality(&self) -> Option<usize> {
        match self {
            Self::Lattice { count, .. } => Some(*count),
            Self::Choice(list) => Some(list.len()),
            Self::Uniform { .. } | Self::LogUniform { .. } => None,
        }
    }
}

/// The candidates of a grid search: the product of every domain's grid, the last field
/// varying fastest. `None` when a domain has no grid.
#[must_use]
pub fn grid_points(params: &[Param]) -> Option<Vec<Vec<Value>>> {
    let grids: Vec<Vec<Value>> = params.iter().map(|p| p.domain.grid()).collect::<Option<_>>()?;
    let mut out: Vec<Vec<Value>> = vec![Vec::new()];
    for g in &grids {
        let mut next = Vec::with_capacity(out.len() * g.len());
        for prefix in &out {
            for v in g {
                let mut c = prefix.clone();
                c.push(v.clone());
                next.push(c);
            }
        }
        out = next;
    }
    Some(out)
}

/// How many candidates a grid search has (`None`: a domain has no grid; saturating).
#[must_use]
pub fn grid_size(params: &[Param]) -> Option<usize> {
    params.iter().try_fold(1usize, |n, p| Some(n.saturating_mul(p.domain.grid()?.len())))
}

/// The values of unit point `u`.
#[must_use]
pub fn decode(params: &[Param], u: &[f64]) -> Vec<Value> {
    params.iter().zip(u).map(|(p, x)| p.domain.at(*x)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &Value) -> f64 {
        v.as_f64().unwrap_or(f64::NAN)
    }

    #[test]
    fn a_lattice_hits_each_value_and_writes_tidy_numbers() {
        let d = Domain::Lattice { lo: 0.1, step: 0.05, count: 5, integer: false };
        let grid: Vec<f64> = d.grid().unwrap().iter().map(f).collect();
        assert_eq!(grid, vec![0.1, 0.15, 0.2, 0.25, 0.3]);
        assert_eq!(f(&d.at(0.0)), 0.1);
        assert_eq!(f(&d.at(0.999)), 0.3);
        assert_eq!(f(&d.at(1.0)), 0.3);
        assert_eq!(f(&d.at(0.45)), 0.2);
        let ints = Domain::Lattice { lo: 3.0, step: 1.0, count: 4, integer: true };
        assert_eq!(ints.at(0.99), Value::Number(6.into()));
        assert_eq!(serde_yaml::to_string(&ints.at(0.3)).unwrap().trim(), "4");
    }

    #[test]
    fn log_and_uniform_ranges_span_their_ends() {
        let d = Domain::LogUniform { lo: 0.001, hi: 0.1, steps: Some(3) };
        let grid: Vec<f64> = d.grid().unwrap().iter().map(f).collect();
        assert_eq!(grid, vec![0.001, 0.01, 0.1]);
        let u = Domain::Uniform { lo: 1.0, hi: 2.0, steps: None };
        assert_eq!(u.grid(), None, "a continuous range has no grid without steps");
        assert_eq!(f(&u.at(0.5)), 1.5);
    }

    #[test]
    fn the_grid_is_the_product_last_field_fastest() {
        let params = vec![
            Param { field: "a".into(), domain: Domain::Choice(vec![Value::from("x"), Value::from("y")]) },
            Param { field: "b".into(), domain: Domain::Lattice { lo: 1.0, step: 1.0, count: 3, integer: true } },
        ];
        let points = grid_points(&params).unwrap();
        assert_eq!(grid_size(&params), Some(6));
        assert_eq!(points.len(), 6);
        assert_eq!(points[0], vec![Value::from("x"), Value::from(1)]);
        assert_eq!(points[1], vec![Value::from("x"), Value::from(2)]);
        assert_eq!(points[3], vec![Value::from("y"), Value::from(1)]);
    }
}
