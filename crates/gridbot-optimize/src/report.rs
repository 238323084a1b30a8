//! `report.html` of a search: one self-contained page (inline SVG, no script, nothing fetched),
//! drawn with the backtest report's charts — the objectives against each other with the Pareto
//! front highlighted, each varied field against each objective, the front as a table, and the
//! walk-forward table with the stitched out-of-sample equity.

use std::fmt::Write as _;

use gridbot_backtest::report::STYLE;
use gridbot_backtest::report::svg::{Chart, esc};

use crate::evaluation::Evaluation;
use crate::search::{Outcome, Problem};
use crate::walk::WalkForwardOutcome;

const FRONT: &str = "#1565c0";
const OTHER: &str = "#b0bec5";
const BROKEN: &str = "#ef9a9a";

fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, v| Some(acc.map_or((v, v), |(a, b)| (v.min(a), v.max(b)))))
}

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.4}"))
}

fn params_text(e: &Evaluation) -> String {
    e.params.iter().map(|(k, v)| format!("{}={v}", k.rsplit('.').next().unwrap_or(k))).collect::<Vec<_>>().join(" ")
}

fn title(problem: &Problem, e: &Evaluation) -> String {
    let objectives: Vec<String> =
        problem.file.objectives.iter().zip(&e.objectives).map(|(o, v)| format!("{} {}", o.metric, fmt(*v))).collect();
    format!("#{} {} — {}", e.index, params_text(e), objectives.join(", "))
}

/// Three groups of points: on the front, feasible, breaking a constraint.
fn groups(outcome: &Outcome) -> [(&'static str, &'static str, Vec<&Evaluation>); 3] {
    let on_front = |e: &&Evaluation| outcome.front.contains(&e.index);
    let ran = || outcome.evaluations.iter().filter(|e| e.error.is_none());
    [
        ("breaks a constraint", BROKEN, ran().filter(|e| !e.feasible).collect()),
        ("feasible", OTHER, ran().filter(|e| e.feasible && !on_front(e)).collect()),
        ("Pareto front", FRONT, ran().filter(|e| on_front(e)).collect()),
    ]
}

fn scatter(
    id: &str,
    problem: &Problem,
    outcome: &Outcome,
    x: &dyn Fn(&Evaluation) -> Option<f64>,
    y: usize,
    x_labels: Option<&[(f64, String)]>,
) -> String {
    let points = |list: &[&Evaluation]| -> Vec<(f64, f64, String)> {
        list.iter()
            .filter_map(|e| Some((x(e)?, e.objectives.get(y).copied().flatten()?, title(problem, e))))
            .filter(|(a, b, _)| a.is_finite() && b.is_finite())
            .collect()
    };
    let all: Vec<(f64, f64, String)> = groups(outcome).iter().flat_map(|(_, _, l)| points(l)).collect();
    let (Some(xr), Some(yr)) = (range(all.iter().map(|p| p.0)), range(all.iter().map(|p| p.1))) else {
        return "<p class=\"note\">nothing to draw</p>".to_owned();
    };
    let mut chart = Chart::new(id, 260.0, xr, yr, false);
    for (name, color, list) in groups(outcome) {
        let radius = if color == FRONT { 4.0 } else { 3.0 };
        chart.dots(name, "dot", color, radius, &points(&list));
    }
    chart.finish(x_labels)
}

fn front_table(problem: &Problem, outcome: &Outcome) -> String {
    let mut s = String::from("<table><tr><th>#</th>");
    for o in &problem.file.objectives {
        let _ = write!(s, "<th>{}</th>", esc(&o.to_string()));
    }
    for p in &problem.file.params {
        let _ = write!(s, "<th>{}</th>", esc(&p.field));
    }
    s.push_str("</tr>");
    for i in &outcome.front {
        let e = &outcome.evaluations[*i];
        let _ = write!(s, "<tr><td>{}</td>", e.index);
        for v in &e.objectives {
            let _ = write!(s, "<td>{}</td>", fmt(*v));
        }
        for p in &problem.file.params {
            let v = e.params.get(&p.field).map_or_else(String::new, ToString::to_string);
            let _ = write!(s, "<td>{}</td>", esc(&v));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    s
}

fn walk_section(problem: &Problem, wf: &WalkForwardOutcome) -> String {
    let day = |ms: i64| gridbot_core::time::format_iso8601(ms).chars().take(10).collect::<String>();
    let pick = problem.file.objectives.get(wf.settings.pick).map_or_else(String::new, ToString::to_string);
    let mut s = format!(
        "<h2>Walk-forward</h2><p class=\"sub\">{} train {} days, test {} days; each train window's best by {} goes to \
         the test window after it. Out of sample, chained: return {:+.2}%, max drawdown {:.2}%.</p>",
        if wf.settings.anchored { "Anchored" } else { "Rolling" },
        wf.settings.train_days,
        wf.settings.test_days,
        esc(&pick),
        wf.stitched_return * 100.0,
        wf.stitched_max_drawdown * 100.0
    );
    s.push_str("<table id=\"walk-forward\"><tr><th>train</th><th>test</th><th>chosen</th>");
    for o in &problem.file.objectives {
        let _ = write!(s, "<th>{} in sample</th><th>out of sample</th>", esc(&o.metric));
    }
    s.push_str("</tr>");
    for w in &wf.windows {
        let chosen = w.chosen.as_ref().map_or_else(|| "—".to_owned(), |e| format!("#{} {}", e.index, params_text(e)));
        let _ = write!(
            s,
            "<tr><td>{} → {}</td><td>{} → {}</td><td>{}</td>",
            day(w.train.0),
            day(w.train.1),
            day(w.test.0),
            day(w.test.1),
            esc(&chosen)
        );
        for (k, _) in problem.file.objectives.iter().enumerate() {
            let is = w.chosen.as_ref().and_then(|e| e.objectives.get(k).copied().flatten());
            let _ = write!(s, "<td>{}</td><td>{}</td>", fmt(is), fmt(w.out_of_sample.get(k).copied().flatten()));
        }
        s.push_str("</tr>");
        if let Some(e) = &w.error {
            let _ = write!(s, "<tr><td colspan=\"99\" class=\"note\">{}</td></tr>", esc(e));
        }
    }
    s.push_str("</table>");
    #[allow(clippy::cast_precision_loss, reason = "UTC ms as a chart axis")]
    let points: Vec<(f64, f64)> = wf.stitched.iter().map(|(t, e)| (*t as f64, *e)).collect();
    if let (Some(xr), Some(yr)) = (range(points.iter().map(|p| p.0)), range(points.iter().map(|p| p.1))) {
        let mut chart = Chart::new("walk-forward-equity", 240.0, xr, yr, true);
        chart.line("out-of-sample equity, chained", "equity", FRONT, &points);
        s.push_str("<h3>Out-of-sample equity</h3>");
        s.push_str(&chart.finish(None));
    }
    s
}

/// The page.
#[must_use]
pub fn report_html(problem: &Problem, outcome: &Outcome, walk: Option<&WalkForwardOutcome>) -> String {
    let f = &problem.file;
    let feasible = outcome.evaluations.iter().filter(|e| e.feasible).count();
    let failed = outcome.evaluations.iter().filter(|e| e.error.is_some()).count();
    let mut s = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>gridbot optimize — {name}</title><style>{STYLE}</style></head><body data-evaluated="{n}" data-front="{front}">"#,
        name = esc(&f.path.display().to_string()),
        n = outcome.evaluations.len(),
        front = outcome.front.len()
    );
    let objectives: Vec<String> = f.objectives.iter().map(ToString::to_string).collect();
    let _ = write!(
        s,
        "<h1>Parameter search</h1><p class=\"sub\">{} · account file {} · {:?} search, seed {}, {} backtests: {} meet \
         the constraints, {} could not run · objectives: {}</p>",
        esc(&f.path.display().to_string()),
        esc(&f.account.display().to_string()),
        f.search.method,
        f.search.seed,
        outcome.evaluations.len(),
        feasible,
        failed,
        esc(&objectives.join(", "))
    );
    s.push_str("<h2>Objectives</h2>");
    if f.objectives.len() >= 2 {
        let _ = write!(s, "<h3>{} against {}</h3>", esc(&objectives[1]), esc(&objectives[0]));
        s.push_str(&scatter("objectives", problem, outcome, &|e| e.objectives.first().copied().flatten(), 1, None));
    } else {
        #[allow(clippy::cast_precision_loss, reason = "candidate numbers")]
        let by_index = |e: &Evaluation| Some(e.index as f64);
        let _ = write!(s, "<h3>{} by candidate</h3>", esc(&objectives[0]));
        s.push_str(&scatter("objectives", problem, outcome, &by_index, 0, None));
    }
    let _ = write!(s, "<h2>Pareto front ({} sets)</h2>", outcome.front.len());
    s.push_str(&front_table(problem, outcome));
    s.push_str("<h2>Each field against each objective</h2>");
    for (pi, p) in f.params.iter().enumerate() {
        // A field whose values are not numbers is drawn by the position of its choice.
        let choices: Vec<String> = match &p.domain {
            crate::space::Domain::Choice(list) => {
                list.iter().map(|v| serde_json::to_string(v).unwrap_or_default()).collect()
            }
            _ => Vec::new(),
        };
        let x = |e: &Evaluation| -> Option<f64> {
            let v = e.params.get(&p.field)?;
            v.as_f64().or_else(|| {
                let text = v.to_string();
                #[allow(clippy::cast_precision_loss, reason = "a handful of choices")]
                choices.iter().position(|c| *c == text).map(|k| k as f64)
            })
        };
        // Choices that are not numbers are labelled by their values.
        let numeric = match &p.domain {
            crate::space::Domain::Choice(list) => list.iter().all(|v| v.as_f64().is_some()),
            _ => true,
        };
        #[allow(clippy::cast_precision_loss, reason = "a handful of choices")]
        let labels: Vec<(f64, String)> = choices.iter().enumerate().map(|(k, c)| (k as f64, c.clone())).collect();
        let x_labels = (!numeric).then_some(labels.as_slice());
        for (oi, o) in f.objectives.iter().enumerate() {
            let _ = write!(s, "<h3>{} against {}</h3>", esc(&o.to_string()), esc(&p.field));
            s.push_str(&scatter(&format!("field-{pi}-objective-{oi}"), problem, outcome, &x, oi, x_labels));
        }
    }
    if let Some(wf) = walk {
        s.push_str(&walk_section(problem, wf));
    }
    s.push_str("<p class=\"note\">gridbot optimize: every candidate is the account file with its fields set, backtested by the live strategy, risk and executor code.</p></body></html>");
    s
}
