//! Sample-based comparison of distributions.

use crate::batch::{Batch, Points};
use crate::error::{CoreError, Result};

/// The (V-statistic) energy distance between two samples (Székely & Rizzo 2004):
///
/// E(X, Y) = 2 E|X − Y| − E|X − X'| − E|Y − Y'|,
///
/// zero iff the distributions agree; under equal distributions it is O(1/n), so tolerances scale with
/// the sample size. Cost O((n + m)² d).
pub fn energy_distance(x: &Points, y: &Points) -> Result<f64> {
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
    let mean_dist = |a: &[f64], b: &[f64]| -> f64 {
        let (na, nb) = (a.len() / d, b.len() / d);
        let mut s = 0.0;
        for i in 0..na {
            let p = &a[i * d..(i + 1) * d];
            for j in 0..nb {
                let q = &b[j * d..(j + 1) * d];
                s += p
                    .iter()
                    .zip(q)
                    .map(|(u, v)| (u - v) * (u - v))
                    .sum::<f64>()
                    .sqrt();
            }
        }
        s / (na * nb) as f64
    };
    let (a, b) = (x.as_slice(), y.as_slice());
    Ok(2.0 * mean_dist(a, b) - mean_dist(a, a) - mean_dist(b, b))
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
