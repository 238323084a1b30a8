//! Seeded points of the unit cube: plain random and Latin hypercube.
//!
//! The generator is SplitMix64, written here rather than taken from a crate: twelve lines, and
//! the same seed gives the same points on every machine and every version of gridbot (a crate's
//! generator may change between releases, and a search's output must not).

/// SplitMix64 (Steele, Lea, Flood 2014): fast, full period, passes BigCrush as a stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)` (53 bits).
    pub fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss, reason = "53 bits fit an f64 exactly")]
        let x = (self.next_u64() >> 11) as f64;
        x / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0; Lemire's multiply, bias below 2^-64·n).
    pub fn below(&mut self, n: usize) -> usize {
        let n64 = n as u64;
        #[allow(clippy::cast_possible_truncation, reason = "the high half of a product by n < 2^64 is < n")]
        let k = ((u128::from(self.next_u64()) * u128::from(n64)) >> 64) as usize;
        k
    }
}

/// `n` points uniform in `[0, 1)^dim`.
#[must_use]
pub fn random(rng: &mut Rng, n: usize, dim: usize) -> Vec<Vec<f64>> {
    (0..n).map(|_| (0..dim).map(|_| rng.unit()).collect()).collect()
}

/// `n` points of a Latin hypercube in `[0, 1)^dim`: in every dimension each of the `n` equal
/// strata holds exactly one point (at a random place inside it), strata paired at random.
#[must_use]
pub fn latin_hypercube(rng: &mut Rng, n: usize, dim: usize) -> Vec<Vec<f64>> {
    let mut points = vec![vec![0.0; dim]; n];
    for d in 0..dim {
        let mut strata: Vec<usize> = (0..n).collect();
        // Fisher–Yates.
        for i in (1..n).rev() {
            let j = rng.below(i + 1);
            strata.swap(i, j);
        }
        for (point, s) in points.iter_mut().zip(strata) {
            #[allow(clippy::cast_precision_loss, reason = "counts of samples")]
            let x = (s as f64 + rng.unit()) / n as f64;
            point[d] = x;
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_points() {
        let a = latin_hypercube(&mut Rng::new(7), 20, 3);
        let b = latin_hypercube(&mut Rng::new(7), 20, 3);
        assert_eq!(a, b);
        assert_ne!(a, latin_hypercube(&mut Rng::new(8), 20, 3));
        // SplitMix64's reference stream for seed 0 (first value of the published generator).
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn a_latin_hypercube_puts_one_point_in_every_stratum_of_every_dimension() {
        let n = 37;
        let points = latin_hypercube(&mut Rng::new(3), n, 4);
        for d in 0..4 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let mut strata: Vec<usize> = points.iter().map(|p| (p[d] * n as f64).floor() as usize).collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..n).collect::<Vec<_>>(), "dimension {d}");
        }
    }

    #[test]
    fn unit_and_below_stay_in_range() {
        let mut r = Rng::new(99);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(7) < 7);
        }
    }
}
