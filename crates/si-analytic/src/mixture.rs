//! Gaussian mixtures ρ = Σ_k p_k N(μ_k, C_k): validated construction, sampling, log-density.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;
use si_core::{Batch, CoreError, Points, Sampler};

use crate::error::{AnalyticError, Result};
use crate::linalg::log_sum_exp;

/// A validated Gaussian mixture: weights ≥ 0 summing to 1 (within 1e-9), symmetric positive definite
/// covariances, one dimension throughout.
///
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use si_analytic::GaussianMixture;
/// let g = GaussianMixture::new(
///     vec![0.5, 0.5],
///     vec![DVector::from_vec(vec![-3.0]), DVector::from_vec(vec![3.0])],
///     vec![DMatrix::from_element(1, 1, 0.25), DMatrix::from_element(1, 1, 0.25)],
/// ).unwrap();
/// assert_eq!(g.dim(), 1);
/// assert!(GaussianMixture::new(vec![0.7, 0.7], g.means().to_vec(), g.covariances().to_vec()).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    means: Vec<DVector<f64>>,
    covs: Vec<DMatrix<f64>>,
    /// Lower Cholesky factors of the covariances.
    chols: Vec<DMatrix<f64>>,
    diagonal: bool,
}

impl GaussianMixture {
    /// Builds and validates a mixture.
    pub fn new(
        weights: Vec<f64>,
        means: Vec<DVector<f64>>,
        covs: Vec<DMatrix<f64>>,
    ) -> Result<Self> {
        if weights.is_empty() {
            return Err(AnalyticError::Empty);
        }
        if means.len() != weights.len() || covs.len() != weights.len() {
            return Err(AnalyticError::DimensionMismatch(format!(
                "{} weights, {} means, {} covariances",
                weights.len(),
                means.len(),
                covs.len()
            )));
        }
        for (index, &value) in weights.iter().enumerate() {
            if !value.is_finite() || value < 0.0 {
                return Err(AnalyticError::InvalidWeight { index, value });
            }
        }
        let sum: f64 = weights.iter().sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(AnalyticError::WeightsNotNormalised { sum });
        }
        let d = means[0].len();
        if d == 0 {
            return Err(AnalyticError::DimensionMismatch("dimension 0".into()));
        }
        let mut chols = Vec::with_capacity(covs.len());
        let mut diagonal = true;
        for (k, (m, c)) in means.iter().zip(&covs).enumerate() {
            if m.len() != d || c.nrows() != d || c.ncols() != d {
                return Err(AnalyticError::DimensionMismatch(format!(
                    "component {k}: mean of length {}, covariance {}x{}, expected {d}",
                    m.len(),
                    c.nrows(),
                    c.ncols()
                )));
            }
            if m.iter().any(|v| !v.is_finite()) {
                return Err(AnalyticError::NonFinite("a mean"));
            }
            if c.iter().any(|v| !v.is_finite()) {
                return Err(AnalyticError::NonFinite("a covariance"));
            }
            let asymmetry = (c - c.transpose()).amax();
            if asymmetry > 1e-10 * c.amax().max(1.0) {
                return Err(AnalyticError::NotSymmetric {
                    index: k,
                    asymmetry,
                });
            }
            let chol = c
                .clone()
                .cholesky()
                .ok_or_else(|| AnalyticError::NotPositiveDefinite {
                    what: format!("of component {k}"),
                })?;
            chols.push(chol.l());
            for i in 0..d {
                for j in 0..d {
                    if i != j && c[(i, j)] != 0.0 {
                        diagonal = false;
                    }
                }
            }
        }
        Ok(Self {
            weights,
            means,
            covs,
            chols,
            diagonal,
        })
    }

    /// A mixture of one-dimensional components given by (weight, mean, variance).
    pub fn univariate(components: &[(f64, f64, f64)]) -> Result<Self> {
        Self::new(
            components.iter().map(|c| c.0).collect(),
            components
                .iter()
                .map(|c| DVector::from_element(1, c.1))
                .collect(),
            components
                .iter()
                .map(|c| DMatrix::from_element(1, 1, c.2))
                .collect(),
        )
    }

    /// N(0, I_d).
    pub fn standard_normal(d: usize) -> Result<Self> {
        Self::new(
            vec![1.0],
            vec![DVector::zeros(d)],
            vec![DMatrix::identity(d, d)],
        )
    }

    /// Dimension d.
    pub fn dim(&self) -> usize {
        self.means[0].len()
    }
    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.weights.len()
    }
    /// The weights p_k.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
    /// The means μ_k.
    pub fn means(&self) -> &[DVector<f64>] {
        &self.means
    }
    /// The covariances C_k.
    pub fn covariances(&self) -> &[DMatrix<f64>] {
        &self.covs
    }
    /// Whether every covariance is diagonal.
    pub fn is_diagonal(&self) -> bool {
        self.diagonal
    }

    /// Whether this is exactly N(0, I).
    pub fn is_standard_normal(&self) -> bool {
        let d = self.dim();
        self.n_components() == 1
            && self.means[0].iter().all(|&v| v == 0.0)
            && self.covs[0] == DMatrix::<f64>::identity(d, d)
    }

    /// Mixture mean Σ p_k μ_k.
    pub fn mean(&self) -> DVector<f64> {
        self.means
            .iter()
            .zip(&self.weights)
            .fold(DVector::zeros(self.dim()), |acc, (m, &p)| acc + m * p)
    }

    /// Mixture covariance Σ p_k (C_k + μ_k μ_kᵀ) − μ μᵀ.
    pub fn covariance(&self) -> DMatrix<f64> {
        let mu = self.mean();
        let mut c = DMatrix::zeros(self.dim(), self.dim());
        for ((m, cov), &p) in self.means.iter().zip(&self.covs).zip(&self.weights) {
            c += (cov + m * m.transpose()) * p;
        }
        c - &mu * mu.transpose()
    }

    /// E[(X_r − m_r)²(X_q − m_q)²] about the mixture mean m: per component, with d = μ_k − m and covariance
    /// C, Isserlis' theorem gives d_r²d_q² + d_r²C_qq + d_q²C_rr + 4 d_r d_q C_rq + C_rr C_qq + 2 C_rq² (for
    /// r = q the fourth central moment d⁴ + 6d²C + 3C²). A coordinate out of range is an error.
    pub fn central_fourth_moment(&self, r: usize, q: usize) -> Result<f64> {
        if r >= self.dim() || q >= self.dim() {
            return Err(AnalyticError::DimensionMismatch(format!(
                "coordinates ({r}, {q}) of a {}-dimensional mixture",
                self.dim()
            )));
        }
        let m = self.mean();
        Ok(self
            .weights
            .iter()
            .zip(&self.means)
            .zip(&self.covs)
            .map(|((w, mu), c)| {
                let (dr, dq) = (mu[r] - m[r], mu[q] - m[q]);
                let (srr, sqq, srq) = (c[(r, r)], c[(q, q)], c[(r, q)]);
                w * (dr * dr * dq * dq
                    + dr * dr * sqq
                    + dq * dq * srr
                    + 4.0 * dr * dq * srq
                    + srr * sqq
                    + 2.0 * srq * srq)
            })
            .sum())
    }

    /// Index of a component drawn with probabilities p_k.
    pub(crate) fn draw_component<R: Rng + ?Sized>(weights: &[f64], rng: &mut R) -> usize {
        let u: f64 = rng.random::<f64>() * weights.iter().sum::<f64>();
        let mut acc = 0.0;
        for (k, &w) in weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return k;
            }
        }
        weights.len() - 1
    }

    /// n i.i.d. samples.
    pub fn sample<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Points {
        let d = self.dim();
        let mut out = DMatrix::zeros(d, n);
        for i in 0..n {
            let k = Self::draw_component(&self.weights, rng);
            let xi = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            out.set_column(i, &(&self.means[k] + &self.chols[k] * xi));
        }
        Points::from_matrix_unchecked(out)
    }

    /// Samples together with the index of the component each came from.
    pub fn sample_labelled<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> (Points, Vec<usize>) {
        let d = self.dim();
        let mut out = DMatrix::zeros(d, n);
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let k = Self::draw_component(&self.weights, rng);
            let xi = DVector::from_fn(d, |_, _| rng.sample::<f64, _>(StandardNormal));
            out.set_column(i, &(&self.means[k] + &self.chols[k] * xi));
            labels.push(k);
        }
        (Points::from_matrix_unchecked(out), labels)
    }

    /// The cumulative distribution function F(x) = Σ p_k Φ((x − μ_k)/σ_k) of a one-dimensional mixture.
    pub fn cdf_1d(&self, x: f64) -> Result<f64> {
        if self.dim() != 1 {
            return Err(AnalyticError::DimensionMismatch(format!(
                "the CDF is defined for d = 1, this mixture has d = {}",
                self.dim()
            )));
        }
        Ok(self
            .weights
            .iter()
            .zip(&self.means)
            .zip(&self.chols)
            .map(|((p, m), l)| {
                p * 0.5 * libm::erfc(-(x - m[0]) / (l[(0, 0)] * std::f64::consts::SQRT_2))
            })
            .sum())
    }

    /// log ρ(x) for each point (log-sum-exp over components, Cholesky solves).
    pub fn log_density(&self, x: &Points) -> Result<Vec<f64>> {
        let d = self.dim();
        if x.dim() != d {
            return Err(AnalyticError::DimensionMismatch(format!(
                "points of dimension {}, mixture of dimension {d}",
                x.dim()
            )));
        }
        let consts: Vec<f64> = self
            .chols
            .iter()
            .zip(&self.weights)
            .map(|(l, &p)| {
                p.ln()
                    - l.diagonal().iter().map(|v| v.ln()).sum::<f64>()
                    - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
            })
            .collect();
        let mut terms = vec![0.0; self.n_components()];
        Ok((0..x.len())
            .map(|i| {
                for (k, term) in terms.iter_mut().enumerate() {
                    let r = x.point(i) - &self.means[k];
                    let y = self.chols[k]
                        .solve_lower_triangular(&r)
                        .unwrap_or_else(|| DVector::from_element(d, f64::INFINITY));
                    *term = consts[k] - 0.5 * y.norm_squared();
                }
                log_sum_exp(&terms)
            })
            .collect())
    }
}

impl Sampler for GaussianMixture {
    fn dim(&self) -> usize {
        GaussianMixture::dim(self)
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> std::result::Result<Points, CoreError> {
        Ok(GaussianMixture::sample(self, n, rng))
    }
}
