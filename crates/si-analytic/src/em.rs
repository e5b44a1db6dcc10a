//! Maximum-likelihood fit of a Gaussian mixture to points by expectation–maximisation: the classical
//! deconvolution baseline for variance reduction (fit y, subtract σ² I from each covariance; docs/math.md §6).

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use si_core::{Batch, Points};

use crate::error::{AnalyticError, Result};
use crate::linalg::log_sum_exp;
use crate::GaussianMixture;

/// Settings of [`fit_em`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EmConfig {
    /// Components.
    pub components: usize,
    /// Most iterations.
    pub max_iter: usize,
    /// Stop when the mean log-likelihood improves by less than this.
    pub tol: f64,
    /// Added to every covariance's diagonal (keeps it positive definite).
    pub reg: f64,
}

impl Default for EmConfig {
    /// Two components, 500 iterations, tolerance 1e-10, regularisation 1e-6 (scikit-learn's default).
    fn default() -> Self {
        Self {
            components: 2,
            max_iter: 500,
            tol: 1e-10,
            reg: 1e-6,
        }
    }
}

/// Fits a mixture of `cfg.components` full-covariance Gaussians to `x` by EM, started from means at
/// k-means++-chosen points (drawn from `rng`), the data's covariance and equal weights. Returns the mixture
/// and the mean log-likelihood.
pub fn fit_em<R: Rng + ?Sized>(
    x: &Points,
    cfg: EmConfig,
    rng: &mut R,
) -> Result<(GaussianMixture, f64)> {
    let (n, d, k) = (x.len(), x.dim(), cfg.components);
    if k == 0 || n < k.max(2) {
        return Err(AnalyticError::DimensionMismatch(format!(
            "{n} points cannot fit {k} components"
        )));
    }
    let pts: Vec<DVector<f64>> = (0..n).map(|i| x.point(i).into_owned()).collect();
    // k-means++ seeding
    let mut means = vec![pts[rng.random_range(0..n)].clone()];
    while means.len() < k {
        let dist: Vec<f64> = pts
            .iter()
            .map(|p| {
                means
                    .iter()
                    .map(|m| (p - m).norm_squared())
                    .fold(f64::INFINITY, f64::min)
            })
            .collect();
        let total: f64 = dist.iter().sum();
        let mut u = rng.random::<f64>() * total;
        let mut pick = n - 1;
        for (i, &w) in dist.iter().enumerate() {
            if u < w {
                pick = i;
                break;
            }
            u -= w;
        }
        means.push(pts[pick].clone());
    }
    let eye = DMatrix::<f64>::identity(d, d);
    let mut covs = vec![x.covariance() + &eye * cfg.reg; k];
    let mut weights = vec![1.0 / k as f64; k];
    let mut resp = DMatrix::<f64>::zeros(n, k);
    let mut last = f64::NEG_INFINITY;
    let mut ll = last;
    for _ in 0..cfg.max_iter {
        // E step
        let chols: Vec<_> = covs
            .iter()
            .map(|c| c.clone().cholesky())
            .collect::<Option<Vec<_>>>()
            .ok_or(AnalyticError::NotPositiveDefinite {
                what: "an EM covariance".into(),
            })?;
        let consts: Vec<f64> = chols
            .iter()
            .zip(&weights)
            .map(|(c, &w)| {
                w.ln()
                    - c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>()
                    - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
            })
            .collect();
        let mut total = 0.0;
        let mut terms = vec![0.0; k];
        for (i, p) in pts.iter().enumerate() {
            for j in 0..k {
                let z = chols[j]
                    .l()
                    .solve_lower_triangular(&(p - &means[j]))
                    .unwrap_or_else(|| DVector::from_element(d, f64::INFINITY));
                terms[j] = consts[j] - 0.5 * z.norm_squared();
            }
            let lse = log_sum_exp(&terms);
            total += lse;
            for j in 0..k {
                resp[(i, j)] = (terms[j] - lse).exp();
            }
        }
        ll = total / n as f64;
        // M step
        for j in 0..k {
            let nj: f64 = resp.column(j).sum().max(1e-300);
            weights[j] = nj / n as f64;
            let mut m = DVector::zeros(d);
            for (i, p) in pts.iter().enumerate() {
                m += p * resp[(i, j)];
            }
            m /= nj;
            let mut c = DMatrix::zeros(d, d);
            for (i, p) in pts.iter().enumerate() {
                let r = p - &m;
                c += &r * r.transpose() * resp[(i, j)];
            }
            covs[j] = c / nj + &eye * cfg.reg;
            means[j] = m;
        }
        if (ll - last).abs() < cfg.tol {
            break;
        }
        last = ll;
    }
    let sum: f64 = weights.iter().sum();
    let weights = weights.iter().map(|w| w / sum).collect();
    // symmetrise against round-off before validation
    let covs = covs
        .into_iter()
        .map(|c| (&c + c.transpose()) * 0.5)
        .collect();
    Ok((GaussianMixture::new(weights, means, covs)?, ll))
}
