//! One candidate's result, as `results.jsonl` and `front.json` hold it.

use std::collections::BTreeMap;

use gridbot_backtest::BacktestRun;
use serde_yaml::Value;

use crate::objective::{Constraints, METRICS, Objective, metric};
use crate::pareto::Scored;
use crate::space::Param;

/// A candidate's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Its number in the search (0, 1, …): the order of `results.jsonl`, what `--export` names.
    pub index: usize,
    /// The varied fields and their values.
    pub params: BTreeMap<String, serde_json::Value>,
    /// The objectives' values as the user reads them (`null`: the run has none).
    pub objectives: Vec<Option<f64>>,
    /// Meets every constraint.
    pub feasible: bool,
    /// How far it breaks them (0 when feasible; `null` when the backtest failed).
    pub violation: Option<f64>,
    /// Every metric (`null`: none).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Why the backtest could not run (the variant's configuration is invalid, the data is
    /// too short for its warm-up, …).
    pub error: Option<String>,
}

fn json(v: &Value) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// The fields and values of a candidate.
#[must_use]
pub fn params_of(params: &[Param], values: &[Value]) -> BTreeMap<String, serde_json::Value> {
    params.iter().zip(values).map(|(p, v)| (p.field.clone(), json(v))).collect()
}

impl Evaluation {
    /// From a backtest that ran.
    #[must_use]
    pub fn ran(
        index: usize,
        params: BTreeMap<String, serde_json::Value>,
        run: &BacktestRun,
        objectives: &[Objective],
        constraints: &Constraints,
    ) -> Self {
        let violation = constraints.violation(run);
        Self {
            index,
            params,
            objectives: objectives.iter().map(|o| o.value(run)).collect(),
            feasible: violation <= 0.0,
            violation: Some(violation),
            metrics: METRICS
                .iter()
                .map(|(name, _)| ((*name).to_owned(), metric(run, name).filter(|v| v.is_finite())))
                .collect(),
            error: None,
        }
    }

    /// From a backtest that could not run.
    #[must_use]
    pub fn failed(index: usize, params: BTreeMap<String, serde_json::Value>, objectives: usize, error: String) -> Self {
        Self {
            index,
            params,
            objectives: vec![None; objectives],
            feasible: false,
            violation: None,
            metrics: BTreeMap::new(),
            error: Some(error),
        }
    }

    /// Its standing for the search.
    #[must_use]
    pub fn scored(&self, objectives: &[Objective]) -> Scored {
        if self.error.is_some() {
            return crate::objective::failed(objectives.len());
        }
        Scored {
            objectives: objectives.iter().zip(&self.objectives).map(|(o, v)| o.to_minimise(*v)).collect(),
            violation: self.violation.unwrap_or(f64::INFINITY),
        }
    }
}
