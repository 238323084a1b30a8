//! Pareto dominance with constraints, non-dominated sorting and crowding distance (Deb et al.,
//! "A fast and elitist multiobjective genetic algorithm: NSGA-II", 2002).
//!
//! Every objective here is minimised (the caller negates what the user maximises). A candidate
//! that breaks a constraint is dominated by any that does not, and among those that break some,
//! the smaller total violation dominates — Deb's constrained domination.

/// A candidate's standing: objectives to minimise and its total constraint violation (0:
/// feasible).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Objectives, each minimised; missing values are `+∞`.
    pub objectives: Vec<f64>,
    /// Σ of how far each constraint is broken (0 when none is).
    pub violation: f64,
}

impl Scored {
    /// Feasible: no constraint broken.
    #[must_use]
    pub fn feasible(&self) -> bool {
        self.violation <= 0.0
    }
}

/// `a` dominates `b` (constrained domination).
#[must_use]
pub fn dominates(a: &Scored, b: &Scored) -> bool {
    match (a.feasible(), b.feasible()) {
        (true, false) => true,
        (false, true) => false,
        (false, false) => a.violation < b.violation,
        (true, true) => {
            let mut better = false;
            for (x, y) in a.objectives.iter().zip(&b.objectives) {
                if x > y {
                    return false;
                }
                better |= x < y;
            }
            better
        }
    }
}

/// The fronts of `items`, best first: indices, each front in ascending index order.
#[must_use]
pub fn fronts(items: &[Scored]) -> Vec<Vec<usize>> {
    let n = items.len();
    let mut dominated_by = vec![0usize; n];
    let mut dominates_list: Vec<Vec<usize>> = vec![Vec::new(); n];
    for i in 0..n {
        for j in (i + 1)..n {
            if dominates(&items[i], &items[j]) {
                dominates_list[i].push(j);
                dominated_by[j] += 1;
            } else if dominates(&items[j], &items[i]) {
                dominates_list[j].push(i);
                dominated_by[i] += 1;
            }
        }
    }
    let mut out = Vec::new();
    let mut current: Vec<usize> = (0..n).filter(|i| dominated_by[*i] == 0).collect();
    while !current.is_empty() {
        let mut next = Vec::new();
        for &i in &current {
            for &j in &dominates_list[i] {
                dominated_by[j] -= 1;
                if dominated_by[j] == 0 {
                    next.push(j);
                }
            }
        }
        next.sort_unstable();
        out.push(current);
        current = next;
    }
    out
}

/// The crowding distance of each member of `front` (same order): how much room it has among
/// its neighbours, summed over objectives; the ends of each objective get `+∞`.
#[must_use]
pub fn crowding(items: &[Scored], front: &[usize]) -> Vec<f64> {
    let mut distance = vec![0.0; front.len()];
    let Some(first) = front.first() else { return distance };
    if front.len() <= 2 {
        return vec![f64::INFINITY; front.len()];
    }
    for m in 0..items[*first].objectives.len() {
        let mut order: Vec<usize> = (0..front.len()).collect();
        order.sort_by(|a, b| {
            items[front[*a]].objectives[m].total_cmp(&items[front[*b]].objectives[m]).then(front[*a].cmp(&front[*b]))
        });
        let value = |k: usize| items[front[order[k]]].objectives[m];
        let (lo, hi) = (value(0), value(order.len() - 1));
        distance[order[0]] = f64::INFINITY;
        distance[order[order.len() - 1]] = f64::INFINITY;
        let span = hi - lo;
        if !span.is_finite() || span <= 0.0 {
            continue;
        }
        for k in 1..order.len() - 1 {
            let gap = (value(k + 1) - value(k - 1)) / span;
            if gap.is_finite() {
                distance[order[k]] += gap;
            }
        }
    }
    distance
}

/// The Pareto front of the feasible items: indices in ascending order (empty when none is
/// feasible). `O(n log n + n·f)` for a front of `f`: in lexicographic order of the objectives
/// only an earlier item can dominate a later one, and if any does, one on the front does.
#[must_use]
pub fn front(items: &[Scored]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).filter(|i| items[*i].feasible()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&items[*a].objectives, &items[*b].objectives);
        x.iter().zip(y).map(|(p, q)| p.total_cmp(q)).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<usize> = Vec::new();
    for i in order {
        if !out.iter().any(|j| dominates(&items[*j], &items[i])) {
            out.push(i);
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(objectives: &[f64], violation: f64) -> Scored {
        Scored { objectives: objectives.to_vec(), violation }
    }

    #[test]
    fn dominance_with_constraints() {
        assert!(dominates(&s(&[1.0, 1.0], 0.0), &s(&[2.0, 1.0], 0.0)));
        assert!(!dominates(&s(&[1.0, 2.0], 0.0), &s(&[2.0, 1.0], 0.0)), "a trade-off");
        assert!(!dominates(&s(&[1.0, 1.0], 0.0), &s(&[1.0, 1.0], 0.0)), "equal");
        assert!(dominates(&s(&[9.0, 9.0], 0.0), &s(&[0.0, 0.0], 0.5)), "feasible beats infeasible");
        assert!(dominates(&s(&[9.0, 9.0], 0.1), &s(&[0.0, 0.0], 0.5)), "less violation");
    }

    #[test]
    fn fronts_peel_in_order_and_crowding_favours_the_ends() {
        let items = vec![
            s(&[1.0, 4.0], 0.0),
            s(&[2.0, 2.0], 0.0),
            s(&[4.0, 1.0], 0.0),
            s(&[3.0, 3.0], 0.0),
            s(&[5.0, 5.0], 0.0),
            s(&[0.0, 0.0], 1.0),
        ];
        let f = fronts(&items);
        assert_eq!(f, vec![vec![0, 1, 2], vec![3], vec![4], vec![5]]);
        let c = crowding(&items, &f[0]);
        assert!(c[0].is_infinite() && c[2].is_infinite() && c[1].is_finite());
        assert_eq!(front(&items), vec![0, 1, 2]);
        assert!(front(&[s(&[0.0], 1.0)]).is_empty(), "no feasible item, no front");
    }
}
