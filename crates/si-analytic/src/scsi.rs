//! Exact answers of self-consistent interpolants for variance reduction (docs/math.md §6): observations
//! y ~ Σ_j w_j N(μ_j, S_j) and the forward model F(x) = x + σz.
//!
//! The only fixed point is π̂ = Σ_j w_j N(μ_j, A_j), A_j = S_j − σ² I, which exists with a density iff
//! σ² < λ_min(S_j) for every j. Along the SCSI interpolant x_t = (1 − t) x̂ + t (x̂ + σz) + γ(t) z' between
//! π̂ and its image, x_t ~ Σ_j w_j N(μ_j, C_j(t)) with C_j = A_j + κ(t) I, κ = t²σ² + γ², and the exact
//! fixed-point velocity is the conditional mean of the regression target σz + γ̇ z':
//!
//! ```text
//! b*(t, x) = −(κ̇/2) ∇ log ρ_t(x) = Σ_j w_j(t, x) (t σ² + γ γ̇) C_j⁻¹ (x − μ_j)      (math.md §6)
//! ```
//!
//! with w_j(t, x) the posterior weights of ρ_t. Integrated backward from t = 1 (where ρ_1 is the law of y
//! when γ(1) = 0) to t = 0 it carries the observations onto π̂: an exact reference sampler.

use nalgebra::{DMatrix, DVector};
use si_core::{Batch, CoreError, Field, Gamma, Points};

use crate::error::{AnalyticError, Result};
use crate::linalg::log_sum_exp;
use crate::GaussianMixture;

/// Relative tolerance within which σ² = λ_min counts as the degenerate case.
const DEGENERATE_RTOL: f64 = 1e-12;

/// The variance-reduction problem: the observations' mixture, σ, and the exact fixed point.
#[derive(Clone, Debug)]
pub struct VarianceReduction {
    data: GaussianMixture,
    sigma: f64,
    fixed_point: GaussianMixture,
}

impl VarianceReduction {
    /// The fixed point of y = x + σz for observations with law `data`; a typed error when σ² reaches a
    /// component's smallest covariance eigenvalue ([`AnalyticError::NoFixedPoint`]).
    pub fn new(data: &GaussianMixture, sigma: f64) -> Result<Self> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "the noise scale must be finite and > 0",
            }
            .into());
        }
        let s2 = sigma * sigma;
        let mut reduced = Vec::with_capacity(data.n_components());
        for (component, s) in data.covariances().iter().enumerate() {
            let lambda_min = s.clone().symmetric_eigen().eigenvalues.min();
            if s2 >= lambda_min * (1.0 - DEGENERATE_RTOL) {
                return Err(AnalyticError::NoFixedPoint {
                    component,
                    lambda_min,
                    sigma2: s2,
                    degenerate: s2 <= lambda_min * (1.0 + DEGENERATE_RTOL),
                });
            }
            reduced.push(s - DMatrix::identity(s.nrows(), s.ncols()) * s2);
        }
        let fixed_point =
            GaussianMixture::new(data.weights().to_vec(), data.means().to_vec(), reduced)?;
        Ok(Self {
            data: data.clone(),
            sigma,
            fixed_point,
        })
    }

    /// The observations' law.
    pub fn data(&self) -> &GaussianMixture {
        &self.data
    }
    /// σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }
    /// The clean law π̂ = Σ_j w_j N(μ_j, S_j − σ² I).
    pub fn fixed_point(&self) -> &GaussianMixture {
        &self.fixed_point
    }
    /// The law of x_t on the interpolant with latent noise `gamma`: Σ_j w_j N(μ_j, A_j + (t²σ² + γ²) I).
    pub fn law_at(&self, t: f64, gamma: &Gamma) -> Result<GaussianMixture> {
        si_core::check_time(t)?;
        let kappa = t * t * self.sigma * self.sigma + gamma.gamma(t).powi(2);
        let covs = self
            .fixed_point
            .covariances()
            .iter()
            .map(|a| a + DMatrix::identity(a.nrows(), a.ncols()) * kappa)
            .collect();
        GaussianMixture::new(
            self.fixed_point.weights().to_vec(),
            self.fixed_point.means().to_vec(),
            covs,
        )
    }
    /// The exact fixed-point velocity b* with latent noise `gamma` (γ = 0 is the published method).
    pub fn field(&self, gamma: Gamma) -> FixedPointField<'_> {
        FixedPointField {
            problem: self,
            gamma,
        }
    }
}

/// b*(t, x) of [`VarianceReduction`] as a [`Field`] on host points.
#[derive(Clone, Debug)]
pub struct FixedPointField<'a> {
    problem: &'a VarianceReduction,
    gamma: Gamma,
}

impl Field<Points> for FixedPointField<'_> {
    fn dim(&self) -> usize {
        self.problem.data.dim()
    }

    /// b*(t, x) = Σ_j w_j(t, x) (tσ² + γγ̇) C_j⁻¹ (x − μ_j).
    fn velocity(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        let d = self.dim();
        if x.dim() != d {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {d}"),
                got: format!("dimension {}", x.dim()),
            });
        }
        let law = self.problem.law_at(t, &self.gamma)?;
        let rate = t * self.problem.sigma.powi(2) + self.gamma.gamma_dgamma(t);
        let chols: Vec<_> = law
            .covariances()
            .iter()
            .map(|c| c.clone().cholesky())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                CoreError::Backend("a covariance of rho_t is not positive definite".into())
            })?;
        let consts: Vec<f64> = chols
            .iter()
            .zip(law.weights())
            .map(|(c, &w)| w.ln() - c.l().diagonal().iter().map(|v| v.ln()).sum::<f64>())
            .collect();
        let mut out = Points::zeros(x.len(), d);
        let k = chols.len();
        let mut logw = vec![0.0; k];
        let mut pulls: Vec<DVector<f64>> = vec![DVector::zeros(d); k];
        for i in 0..x.len() {
            for j in 0..k {
                let r = x.point(i) - &law.means()[j];
                let l_inv_r = chols[j]
                    .l()
                    .solve_lower_triangular(&r)
                    .unwrap_or_else(|| DVector::from_element(d, f64::NAN));
                logw[j] = consts[j] - 0.5 * l_inv_r.norm_squared();
                pulls[j] = chols[j].solve(&r);
            }
            let lse = log_sum_exp(&logw);
            let mut b = DVector::zeros(d);
            for j in 0..k {
                b += &pulls[j] * ((logw[j] - lse).exp() * rate);
            }
            out.matrix_mut().column_mut(i).copy_from(&b);
        }
        if out.as_slice().iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "the exact SCSI velocity",
            });
        }
        Ok(out)
    }
}
