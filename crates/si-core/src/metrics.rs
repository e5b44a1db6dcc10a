//! Sample-based comparison of distributions, and the uncertainty of reported rates and means.

use crate::batch::{Batch, Points};
use crate::error::{CoreError, Result};

/// The (V-statistic) energy distance between two samples (Székely & Rizzo 2004):
///
/// E(X, Y) = 2 E|X − Y| − E|X − X'| − E|Y − Y'|,
///
/// zero iff the distributions agree; under equal distributions it is O(1/n), so tolerances scale with
/// the sample size. Cost O((n + m)² d).
pub fn energy_distance(x: &Points, y: &Points) -> Result<f64> {
    let s = distance_sums(x, y)?;
    let (n, m) = (x.len() as f64, y.len() as f64);
    Ok(2.0 * s.xy / (n * m) - s.xx / (n * n) - s.yy / (m * m))
}

/// The unbiased (U-statistic) energy distance: as [`energy_distance`], with the within-sample means taken
/// over distinct pairs, E|X − X'| ≈ Σ_{i≠j} |x_i − x_j| / (n(n − 1)). Its expectation is exactly the
/// population energy distance (0 under equal laws), so small distances are not masked by the V-statistic's
/// bias of about 2 E|X − X'| / n; it can be negative. Needs at least two points in each sample.
pub fn energy_distance_unbiased(x: &Points, y: &Points) -> Result<f64> {
    if x.len() < 2 || y.len() < 2 {
        return Err(CoreError::ShapeMismatch {
            expected: "at least two points in each sample".into(),
            got: format!("{} and {}", x.len(), y.len()),
        });
    }
    let s = distance_sums(x, y)?;
    let (n, m) = (x.len() as f64, y.len() as f64);
    Ok(2.0 * s.xy / (n * m) - s.xx / (n * (n - 1.0)) - s.yy / (m * (m - 1.0)))
}

/// Sums of pairwise distances: across the samples, and within each over ordered pairs (i ≠ j).
struct DistanceSums {
    xy: f64,
    xx: f64,
    yy: f64,
}

/// The three distance sums of the energy distances, each pair computed once. Cost O((n + m)² d).
fn distance_sums(x: &Points, y: &Points) -> Result<DistanceSums> {
    if x.dim() != y.dim() {
        return Err(CoreError::ShapeMismatch {
            expected: format!("dimension {}", x.dim()),
            got: format!("dimension {}", y.dim()),
        });
    }
    if x.is_empty() || y.is_empty() || x.dim() == 0 {
        return Err(CoreError::ShapeMismatch {
            expected: "non-empty samples".into(),
            got: "an empty sample".into(),
        });
    }
    let d = x.dim();
    let dist = |p: &[f64], q: &[f64]| -> f64 {
        p.iter()
            .zip(q)
            .map(|(u, v)| (u - v) * (u - v))
            .sum::<f64>()
            .sqrt()
    };
    let cross = |a: &[f64], b: &[f64]| -> f64 {
        let mut s = 0.0;
        for p in a.chunks_exact(d) {
            for q in b.chunks_exact(d) {
                s += dist(p, q);
            }
        }
        s
    };
    // within a sample |x_i − x_j| = |x_j − x_i| and the diagonal is 0: twice the sum over i > j
    let within = |a: &[f64]| -> f64 {
        let pts: Vec<&[f64]> = a.chunks_exact(d).collect();
        let mut s = 0.0;
        for (i, p) in pts.iter().enumerate() {
            for q in &pts[..i] {
                s += dist(p, q);
            }
        }
        2.0 * s
    };
    let (a, b) = (x.as_slice(), y.as_slice());
    Ok(DistanceSums {
        xy: cross(a, b),
        xx: within(a),
        yy: within(b),
    })
}

/// The Kolmogorov–Smirnov statistic D_n = sup_x |F_n(x) − F(x)| of a 1-D sample against a CDF F.
/// Under the null, √n D_n is asymptotically Kolmogorov distributed: D_n > 1.358/√n has probability 5 %.
pub fn ks_statistic(sample: &[f64], cdf: impl Fn(f64) -> f64) -> Result<f64> {
    if sample.is_empty() {
        return Err(CoreError::ShapeMismatch {
            expected: "a non-empty sample".into(),
            got: "an empty sample".into(),
        });
    }
    if sample.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite { what: "sample" });
    }
    let mut s = sample.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len() as f64;
    Ok(s.iter().enumerate().fold(0.0, |d, (i, &x)| {
        let f = cdf(x);
        d.max((f - i as f64 / n).abs())
            .max(((i + 1) as f64 / n - f).abs())
    }))
}

/// The 5 % critical value 1.358/√n of the Kolmogorov–Smirnov statistic.
pub fn ks_critical_5pct(n: usize) -> f64 {
    1.358 / (n as f64).sqrt()
}

/// The relative L2 error |a − e| / |e| of an estimate `a` of `e` over all coordinates of all points.
pub fn relative_l2(a: &Points, e: &Points) -> Result<f64> {
    if a.dim() != e.dim() || a.len() != e.len() {
        return Err(CoreError::ShapeMismatch {
            expected: format!("{} points of dimension {}", e.len(), e.dim()),
            got: format!("{} points of dimension {}", a.len(), a.dim()),
        });
    }
    let num: f64 = a
        .as_slice()
        .iter()
        .zip(e.as_slice())
        .map(|(u, v)| (u - v).powi(2))
        .sum();
    let den: f64 = e.as_slice().iter().map(|v| v * v).sum();
    if den == 0.0 {
        return Err(CoreError::ShapeMismatch {
            expected: "a reference with a non-zero value".into(),
            got: "all zeros".into(),
        });
    }
    Ok((num / den).sqrt())
}

/// The 1-nearest-neighbour estimate of KL(P ‖ Q) from samples p ~ P (n points) and q ~ Q (m points)
/// (Wang, Kulkarni & Verdú 2009, eq. 5):
///
/// KL̂ = (d/n) Σ_i log(ν_i / ρ_i) + log(m / (n − 1)),
///
/// with ρ_i the distance from p_i to its nearest other point of p and ν_i to its nearest point of q.
/// Consistent as n, m → ∞; its bias at finite n grows with d. Cost O(n (n + m) d).
pub fn knn_kl(p: &Points, q: &Points) -> Result<f64> {
    let (n, m, d) = (p.len(), q.len(), p.dim());
    if q.dim() != d {
        return Err(CoreError::ShapeMismatch {
            expected: format!("dimension {d}"),
            got: format!("dimension {}", q.dim()),
        });
    }
    if n < 2 || m < 1 || d == 0 {
        return Err(CoreError::ShapeMismatch {
            expected: "at least two points of p and one of q".into(),
            got: format!("{n} and {m} points of dimension {d}"),
        });
    }
    let nearest = |x: usize, set: &Points, skip: Option<usize>| {
        let a = p.point(x);
        (0..set.len())
            .filter(|&j| Some(j) != skip)
            .map(|j| (set.point(j) - a).norm_squared())
            .fold(f64::INFINITY, f64::min)
            .sqrt()
    };
    let mut s = 0.0;
    for i in 0..n {
        let rho = nearest(i, p, Some(i)).max(1e-12);
        let nu = nearest(i, q, None).max(1e-12);
        s += (nu / rho).ln();
    }
    Ok(d as f64 * s / n as f64 + (m as f64 / (n as f64 - 1.0)).ln())
}

/// z of a two-sided 95 % normal interval: Φ⁻¹(0.975).
pub const Z95: f64 = 1.959_963_984_540_054;

/// A success rate and its Wilson score interval ([`wilson`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateInterval {
    /// Successes.
    pub successes: usize,
    /// Trials.
    pub trials: usize,
    /// p̂ = successes / trials.
    pub rate: f64,
    /// The interval's lower end.
    pub lower: f64,
    /// The interval's upper end.
    pub upper: f64,
}

/// The Wilson score interval (Wilson 1927) of a success rate: `successes` of `trials`, at the normal
/// quantile `z` ([`Z95`] for 95 %). With p̂ = k/n,
///
/// (p̂ + z²/2n ± z √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n),
///
/// the set of p whose score test does not reject p̂ at level z. Unlike p̂ ± z√(p̂(1 − p̂)/n) it stays in
/// [0, 1], contains p̂ and does not collapse to a point at 0/n or n/n (0/10 gives [0, z²/(n + z²)] =
/// [0, 0.278]). No trials is [`CoreError::TooFewValues`]; more successes than trials or a z that is not
/// finite and positive is [`CoreError::InvalidParameter`].
pub fn wilson(successes: usize, trials: usize, z: f64) -> Result<RateInterval> {
    if trials == 0 {
        return Err(CoreError::TooFewValues {
            what: "a Wilson interval",
            needed: 1,
            got: 0,
        });
    }
    if successes > trials {
        return Err(CoreError::InvalidParameter {
            name: "successes",
            value: successes as f64,
            reason: "must not exceed the trials",
        });
    }
    if !(z.is_finite() && z > 0.0) {
        return Err(CoreError::InvalidParameter {
            name: "z",
            value: z,
            reason: "must be finite and positive",
        });
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let den = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / den;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / den;
    // the ends are exactly 0 and 1 at 0/n and n/n; rounding must not push them past
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Ok(RateInterval {
        successes,
        trials,
        rate: p,
        lower: lower.min(p),
        upper: upper.max(p),
    })
}

/// A mean and its standard error ([`mean_std_err`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanStdErr {
    /// The mean of the values.
    pub mean: f64,
    /// Its standard error s/√n, s the sample standard deviation (divisor n − 1).
    pub std_err: f64,
    /// How many values.
    pub n: usize,
}

/// The mean of `values` and its standard error s/√n, with s² = Σ(x − x̄)²/(n − 1): the spread to report
/// over independent repeats (e.g. training seeds). Fewer than two values is [`CoreError::TooFewValues`] (one
/// value has no spread); a non-finite value is [`CoreError::NonFinite`].
pub fn mean_std_err(values: &[f64]) -> Result<MeanStdErr> {
    if values.len() < 2 {
        return Err(CoreError::TooFewValues {
            what: "a mean and its standard error",
            needed: 2,
            got: values.len(),
        });
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite { what: "values" });
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Ok(MeanStdErr {
        mean,
        std_err: (var / n).sqrt(),
        n: values.len(),
    })
}

/// The Fréchet distance between Gaussians fitted to two samples (the 2-Wasserstein distance squared
/// between N(μx, Σx) and N(μy, Σy); Dowson & Landau 1982, the formula of FID, Heusel et al. 2017):
///
/// d² = |μx − μy|² + tr(Σx + Σy − 2 (Σx^{1/2} Σy Σx^{1/2})^{1/2}),
///
/// with unbiased sample covariances; both square roots are taken by symmetric eigendecomposition, negative
/// round-off eigenvalues clamped to zero. Both samples need the same dimension and at least two points.
pub fn frechet_distance(x: &Points, y: &Points) -> Result<f64> {
    if x.dim() != y.dim() || x.len() < 2 || y.len() < 2 {
        return Err(CoreError::ShapeMismatch {
            expected: "two samples of the same dimension, at least two points each".into(),
            got: format!(
                "{} points of dimension {} and {} of dimension {}",
                x.len(),
                x.dim(),
                y.len(),
                y.dim()
            ),
        });
    }
    let (sx, sy) = (x.covariance(), y.covariance());
    let sqrt_psd = |m: nalgebra::DMatrix<f64>| {
        let e = nalgebra::SymmetricEigen::new((&m + m.transpose()) * 0.5);
        let root = e.eigenvalues.map(|v| v.max(0.0).sqrt());
        &e.eigenvectors * nalgebra::DMatrix::from_diagonal(&root) * e.eigenvectors.transpose()
    };
    let rx = sqrt_psd(sx.clone());
    let inner = &rx * &sy * &rx;
    let e = nalgebra::SymmetricEigen::new((&inner + inner.transpose()) * 0.5);
    let tr_root: f64 = e.eigenvalues.iter().map(|v| v.max(0.0).sqrt()).sum();
    let d = (x.mean() - y.mean()).norm_squared();
    Ok(d + sx.trace() + sy.trace() - 2.0 * tr_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_of_hand_worked_counts() {
        let z = 1.959964;
        let z2 = z * z; // 3.841458881296
                        // 0/10: [0, z²/(n + z²)]; 10/10: [n/(n + z²), 1]
        let r = wilson(0, 10, z).unwrap();
        assert_eq!((r.rate, r.lower), (0.0, 0.0));
        assert!((r.upper - 3.841458881296 / 13.841458881296).abs() < 1e-12);
        assert!((r.upper - 0.27753).abs() < 1e-5);
        let r = wilson(10, 10, z).unwrap();
        assert_eq!((r.rate, r.upper), (1.0, 1.0));
        assert!((r.lower - 10.0 / 13.841458881296).abs() < 1e-12);
        assert!((r.lower - 0.72247).abs() < 1e-5);
        // 5/10: centre 1/2, half width z/(2√(n + z²))
        let r = wilson(5, 10, z).unwrap();
        let half = 1.959964 / (2.0 * 13.841458881296f64.sqrt());
        assert!((r.lower - (0.5 - half)).abs() < 1e-12);
        assert!((r.upper - (0.5 + half)).abs() < 1e-12);
        assert!((r.lower - 0.23659).abs() < 1e-5 && (r.upper - 0.76341).abs() < 1e-5);
        assert!((z2 - 3.841458881296).abs() < 1e-12);
        // 1/1 at 95 %: [1/(1 + z²), 1]
        let r = wilson(1, 1, Z95).unwrap();
        assert!((r.lower - 0.206549).abs() < 1e-6, "{}", r.lower);
    }

    #[test]
    fn wilson_and_mean_refuse_bad_input() {
        assert_eq!(
            wilson(0, 0, Z95),
            Err(CoreError::TooFewValues {
                what: "a Wilson interval",
                needed: 1,
                got: 0
            })
        );
        assert!(matches!(
            wilson(3, 2, Z95),
            Err(CoreError::InvalidParameter {
                name: "successes",
                ..
            })
        ));
        for z in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                wilson(1, 2, z),
                Err(CoreError::InvalidParameter { name: "z", .. })
            ));
        }
        assert!(matches!(
            mean_std_err(&[]),
            Err(CoreError::TooFewValues {
                needed: 2,
                got: 0,
                ..
            })
        ));
        assert!(matches!(
            mean_std_err(&[1.0]),
            Err(CoreError::TooFewValues {
                needed: 2,
                got: 1,
                ..
            })
        ));
        assert!(matches!(
            mean_std_err(&[1.0, f64::NAN]),
            Err(CoreError::NonFinite { .. })
        ));
    }

    #[test]
    fn mean_and_standard_error_by_hand() {
        // 1, 2, 3, 4: mean 2.5, s² = (2.25 + 0.25 + 0.25 + 2.25)/3 = 5/3, se = √(5/12)
        let m = mean_std_err(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!((m.mean, m.n), (2.5, 4));
        assert!((m.std_err - (5.0f64 / 12.0).sqrt()).abs() < 1e-15);
        // 0.5, 0.7: mean 0.6, s = 0.1414…, se = 0.1
        let m = mean_std_err(&[0.5, 0.7]).unwrap();
        assert!((m.mean - 0.6).abs() < 1e-15 && (m.std_err - 0.1).abs() < 1e-15);
        let m = mean_std_err(&[3.0, 3.0, 3.0]).unwrap();
        assert_eq!((m.mean, m.std_err), (3.0, 0.0));
    }

    proptest::proptest! {
        #[test]
        fn wilson_contains_the_rate_inside_the_unit_interval(n in 1usize..2000, k in 0usize..2000, z in 0.1f64..4.0) {
            let k = k % (n + 1);
            let r = wilson(k, n, z).unwrap();
            proptest::prop_assert!(0.0 <= r.lower && r.lower <= r.rate && r.rate <= r.upper && r.upper <= 1.0);
            proptest::prop_assert!(r.upper > r.lower);
            // a wider z gives a wider interval
            let w = wilson(k, n, 2.0 * z).unwrap();
            proptest::prop_assert!(w.lower <= r.lower && w.upper >= r.upper);
        }
    }

    #[test]
    fn ks_of_a_uniform_grid() {
        // the midpoints of n cells against U(0, 1): D_n = 1/(2n)
        let n = 50;
        let s: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let d = ks_statistic(&s, |x| x.clamp(0.0, 1.0)).unwrap();
        assert!((d - 0.5 / n as f64).abs() < 1e-12);
        assert!(ks_statistic(&[], |x| x).is_err());
        assert!(ks_statistic(&[f64::NAN], |x| x).is_err());
    }

    #[test]
    fn energy_distance_of_a_shift() {
        // Two point masses at 0 and 3: 2·3 − 0 − 0 = 6.
        let x = Points::from_row_major(2, 1, &[0.0, 0.0]).unwrap();
        let y = Points::from_row_major(2, 1, &[3.0, 3.0]).unwrap();
        assert!((energy_distance(&x, &y).unwrap() - 6.0).abs() < 1e-12);
        assert!(energy_distance(&x, &x).unwrap().abs() < 1e-15);
        assert!(energy_distance(&x, &Points::zeros(2, 2)).is_err());
    }

    #[test]
    fn relative_l2_of_a_scaled_vector() {
        let e = Points::from_row_major(2, 2, &[3.0, 4.0, 0.0, 0.0]).unwrap();
        let a = Points::from_row_major(2, 2, &[3.3, 4.4, 0.0, 0.0]).unwrap();
        assert!((relative_l2(&a, &e).unwrap() - 0.1).abs() < 1e-12);
        assert!(relative_l2(&a, &Points::zeros(2, 2)).is_err());
        assert!(relative_l2(&a, &Points::zeros(3, 2)).is_err());
    }

    #[test]
    fn knn_kl_of_two_gaussians() {
        use rand::SeedableRng;
        // KL(N(0, 1) ‖ N(μ, 1)) = μ²/2. n = m = 3000 in 1-D: over seeds 0..20 the estimate's mean and
        // standard deviation were 0.486 ± 0.052 (μ = 1) and −0.005 ± 0.037 (μ = 0); the bounds are 5 of
        // those standard deviations (a false-alarm rate of about 6e-7 each if the spread is Gaussian).
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let p = Points::standard_normal(3000, 1, &mut rng);
        let q0 = Points::standard_normal(3000, 1, &mut rng);
        let mut q1 = q0.clone();
        q1.as_mut_slice().iter_mut().for_each(|v| *v += 1.0);
        let k1 = knn_kl(&p, &q1).unwrap();
        let k0 = knn_kl(&p, &q0).unwrap();
        assert!((k1 - 0.5).abs() < 0.26, "KL estimate {k1}, exact 0.5");
        assert!(k0.abs() < 0.19, "KL estimate {k0}, exact 0");
        assert!(knn_kl(&Points::zeros(1, 1), &q0).is_err());
        assert!(knn_kl(&p, &Points::zeros(3, 2)).is_err());
    }
}
