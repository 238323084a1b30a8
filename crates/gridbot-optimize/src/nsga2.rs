//! NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002) on the unit cube: the multi-objective
//! evolutionary search. Written here (about a hundred lines) instead of taken from a crate:
//! the maintained Rust ones pull in a random-number crate whose streams change between
//! versions, and a seeded search must give the same output file forever. Tested on the
//! standard ZDT1–3 fronts.
//!
//! - Start: a Latin hypercube of `population` points.
//! - Each generation: binary tournaments (rank, then crowding distance), simulated binary
//!   crossover (probability 0.9, η = 15) and polynomial mutation (probability 1/d per
//!   variable, η = 20) make the offspring; parents and offspring are sorted into fronts and the
//!   best `population` survive (the last front cut by crowding distance).
//! - Evaluation is the caller's, one whole generation at a time (so it can run in parallel),
//!   and stops at `budget` evaluations. Everything evaluated is returned, in order: the
//!   optimizer's front is taken over all of it, not only the last population.

use crate::pareto::{Scored, crowding, fronts};
use crate::sample::{Rng, latin_hypercube};

/// NSGA-II's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nsga2 {
    /// Individuals per generation (even, ≥ 4).
    pub population: usize,
    /// Evaluations in all.
    pub budget: usize,
    /// Seed.
    pub seed: u64,
}

/// Scores a generation (same order), or says stop (`None`).
pub type Evaluate<'a> = dyn FnMut(&[Vec<f64>]) -> Option<Vec<Scored>> + 'a;

const CROSSOVER_PROBABILITY: f64 = 0.9;
const CROSSOVER_ETA: f64 = 15.0;
const MUTATION_ETA: f64 = 20.0;

impl Nsga2 {
    /// Runs the search in `dim` dimensions; `evaluate` scores a batch of points (same order),
    /// or says stop (`None`). Returns every point evaluated with its score, in evaluation order.
    pub fn run(&self, dim: usize, evaluate: &mut Evaluate<'_>) -> Vec<(Vec<f64>, Scored)> {
        let mut rng = Rng::new(self.seed);
        let mut archive: Vec<(Vec<f64>, Scored)> = Vec::new();
        let first = latin_hypercube(&mut rng, self.population.min(self.budget), dim);
        let Some(scores) = evaluate(&first) else { return archive };
        let mut population: Vec<(Vec<f64>, Scored)> = first.into_iter().zip(scores).collect();
        archive.extend(population.iter().cloned());
        while archive.len() < self.budget && population.len() >= 2 {
            let want = self.population.min(self.budget - archive.len());
            let offspring = self.offspring(&population, want, dim, &mut rng);
            let Some(scores) = evaluate(&offspring) else { break };
            let children: Vec<(Vec<f64>, Scored)> = offspring.into_iter().zip(scores).collect();
            archive.extend(children.iter().cloned());
            population.extend(children);
            population = self.survivors(population);
        }
        archive
    }

    /// The best `population` of `all`: whole fronts, the last one cut by crowding distance.
    fn survivors(&self, all: Vec<(Vec<f64>, Scored)>) -> Vec<(Vec<f64>, Scored)> {
        let scores: Vec<Scored> = all.iter().map(|(_, s)| s.clone()).collect();
        let mut keep: Vec<usize> = Vec::with_capacity(self.population);
        for front in fronts(&scores) {
            if keep.len() + front.len() <= self.population {
                keep.extend(&front);
                continue;
            }
            let distance = crowding(&scores, &front);
            let mut order: Vec<usize> = (0..front.len()).collect();
            order.sort_by(|a, b| distance[*b].total_cmp(&distance[*a]).then(front[*a].cmp(&front[*b])));
            keep.extend(order.into_iter().take(self.population - keep.len()).map(|k| front[k]));
            break;
        }
        keep.sort_unstable();
        let mut all: Vec<Option<(Vec<f64>, Scored)>> = all.into_iter().map(Some).collect();
        keep.into_iter().filter_map(|i| all[i].take()).collect()
    }

    fn offspring(&self, population: &[(Vec<f64>, Scored)], want: usize, dim: usize, rng: &mut Rng) -> Vec<Vec<f64>> {
        let scores: Vec<Scored> = population.iter().map(|(_, s)| s.clone()).collect();
        let mut rank = vec![0usize; scores.len()];
        let mut distance = vec![0.0; scores.len()];
        for (r, front) in fronts(&scores).into_iter().enumerate() {
            for (i, d) in front.iter().zip(crowding(&scores, &front)) {
                rank[*i] = r;
                distance[*i] = d;
            }
        }
        let tournament = |rng: &mut Rng| {
            let (a, b) = (rng.below(population.len()), rng.below(population.len()));
            let a_wins = rank[a] < rank[b] || (rank[a] == rank[b] && distance[a] > distance[b]);
            let b_wins = rank[b] < rank[a] || (rank[a] == rank[b] && distance[b] > distance[a]);
            if a_wins || (!b_wins && rng.unit() < 0.5) { a } else { b }
        };
        let mut out = Vec::with_capacity(want + 1);
        while out.len() < want {
            let (p1, p2) = (tournament(rng), tournament(rng));
            let (mut c1, mut c2) = (population[p1].0.clone(), population[p2].0.clone());
            if rng.unit() < CROSSOVER_PROBABILITY {
                sbx(&mut c1, &mut c2, rng);
            }
            for c in [&mut c1, &mut c2] {
                mutate(c, dim, rng);
            }
            out.push(c1);
            out.push(c2);
        }
        out.truncate(want);
        out
    }
}

/// Simulated binary crossover on `[0, 1]` (Deb and Agrawal's bounded form), per variable with
/// probability ½.
fn sbx(a: &mut [f64], b: &mut [f64], rng: &mut Rng) {
    let spread = |beta: f64, u: f64| {
        let alpha = 2.0 - beta.powf(-(CROSSOVER_ETA + 1.0));
        if u <= 1.0 / alpha {
            (u * alpha).powf(1.0 / (CROSSOVER_ETA + 1.0))
        } else {
            (1.0 / (2.0 - u * alpha)).powf(1.0 / (CROSSOVER_ETA + 1.0))
        }
    };
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        if rng.unit() > 0.5 || (*x - *y).abs() < 1e-14 {
            continue;
        }
        let (lo, hi) = if x < y { (*x, *y) } else { (*y, *x) };
        let u = rng.unit();
        let q1 = spread(1.0 + 2.0 * lo / (hi - lo), u);
        let q2 = spread(1.0 + 2.0 * (1.0 - hi) / (hi - lo), u);
        let c1 = (0.5 * ((lo + hi) - q1 * (hi - lo))).clamp(0.0, 1.0);
        let c2 = (0.5 * ((lo + hi) + q2 * (hi - lo))).clamp(0.0, 1.0);
        if rng.unit() < 0.5 {
            (*x, *y) = (c2, c1);
        } else {
            (*x, *y) = (c1, c2);
        }
    }
}

/// Polynomial mutation on `[0, 1]`, each variable with probability `1/dim`.
fn mutate(c: &mut [f64], dim: usize, rng: &mut Rng) {
    #[allow(clippy::cast_precision_loss, reason = "dimensions")]
    let p = 1.0 / dim.max(1) as f64;
    let power = 1.0 / (MUTATION_ETA + 1.0);
    for x in c.iter_mut() {
        if rng.unit() >= p {
            continue;
        }
        let u = rng.unit();
        let dq = if u < 0.5 {
            let v = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - *x).powf(MUTATION_ETA + 1.0);
            v.powf(power) - 1.0
        } else {
            let v = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * (*x).powf(MUTATION_ETA + 1.0);
            1.0 - v.powf(power)
        };
        *x = (*x + dq).clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pareto::front;

    type Problem = fn(&[f64]) -> (f64, f64);

    fn g(x: &[f64]) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "30 dimensions")]
        let n = x.len() as f64;
        1.0 + 9.0 * x[1..].iter().sum::<f64>() / (n - 1.0)
    }

    fn zdt1(x: &[f64]) -> (f64, f64) {
        let (f1, g) = (x[0], g(x));
        (f1, g * (1.0 - (f1 / g).sqrt()))
    }

    fn zdt2(x: &[f64]) -> (f64, f64) {
        let (f1, g) = (x[0], g(x));
        (f1, g * (1.0 - (f1 / g).powi(2)))
    }

    fn zdt3(x: &[f64]) -> (f64, f64) {
        let (f1, g) = (x[0], g(x));
        (f1, g * (1.0 - (f1 / g).sqrt() - f1 / g * (10.0 * std::f64::consts::PI * f1).sin()))
    }

    /// The true front: g = 1, f1 over [0, 1], its non-dominated points.
    fn true_front(problem: Problem) -> Vec<(f64, f64)> {
        let points: Vec<Scored> = (0..=2_000)
            .map(|k| {
                let mut x = vec![0.0; 30];
                x[0] = f64::from(k) / 2_000.0;
                let (a, b) = problem(&x);
                Scored { objectives: vec![a, b], violation: 0.0 }
            })
            .collect();
        front(&points).into_iter().map(|i| (points[i].objectives[0], points[i].objectives[1])).collect()
    }

    /// Inverted generational distance: the mean distance from each point of the true front to
    /// the nearest point found.
    fn igd(found: &[(f64, f64)], truth: &[(f64, f64)]) -> f64 {
        let nearest = |t: &(f64, f64)| {
            found.iter().map(|f| ((f.0 - t.0).powi(2) + (f.1 - t.1).powi(2)).sqrt()).fold(f64::INFINITY, f64::min)
        };
        #[allow(clippy::cast_precision_loss, reason = "front sizes")]
        let n = truth.len() as f64;
        truth.iter().map(nearest).sum::<f64>() / n
    }

    fn solve(problem: Problem, seed: u64) -> Vec<(f64, f64)> {
        let search = Nsga2 { population: 100, budget: 20_000, seed };
        let all = search.run(30, &mut |batch| {
            Some(
                batch
                    .iter()
                    .map(|x| {
                        let (a, b) = problem(x);
                        Scored { objectives: vec![a, b], violation: 0.0 }
                    })
                    .collect(),
            )
        });
        assert_eq!(all.len(), 20_000, "the budget is spent exactly");
        let scores: Vec<Scored> = all.iter().map(|(_, s)| s.clone()).collect();
        front(&scores).into_iter().map(|i| (scores[i].objectives[0], scores[i].objectives[1])).collect()
    }

    #[test]
    fn finds_the_zdt_fronts() {
        for (name, problem, limit) in
            [("ZDT1", zdt1 as Problem, 0.005), ("ZDT2", zdt2 as Problem, 0.005), ("ZDT3", zdt3 as Problem, 0.005)]
        {
            let found = solve(problem, 1);
            let distance = igd(&found, &true_front(problem));
            eprintln!("{name}: {} points on the front found, IGD {distance:.5}", found.len());
            assert!(distance < limit, "{name}: IGD {distance} ≥ {limit}");
        }
    }

    #[test]
    fn a_random_search_of_the_same_budget_does_worse_on_zdt1() {
        let mut rng = Rng::new(1);
        let scores: Vec<Scored> = crate::sample::random(&mut rng, 20_000, 30)
            .iter()
            .map(|x| {
                let (a, b) = zdt1(x);
                Scored { objectives: vec![a, b], violation: 0.0 }
            })
            .collect();
        let found: Vec<(f64, f64)> =
            front(&scores).into_iter().map(|i| (scores[i].objectives[0], scores[i].objectives[1])).collect();
        assert!(igd(&found, &true_front(zdt1)) > 0.1, "the ZDT test would not tell a search from luck");
    }

    #[test]
    fn the_same_seed_evaluates_the_same_points() {
        let run = |seed| {
            Nsga2 { population: 12, budget: 60, seed }.run(3, &mut |batch| {
                Some(batch.iter().map(|x| Scored { objectives: vec![x[0], 1.0 - x[1]], violation: 0.0 }).collect())
            })
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
