//! The Schrödinger bridge between two Gaussians in closed form (docs/math.md §9; Bunne et al. 2023,
//! "The Schrödinger bridge between Gaussian measures has a closed form", Theorem 1 and 3).
//!
//! Reference process: Brownian motion σ W_t on [0, 1]. The static bridge is the entropic optimal-transport
//! plan for the cost |x − y|² at ε = 2σ², Gaussian with cross-covariance
//! C_σ = ½ (Σ0^{1/2} D_σ Σ0^{−1/2} − σ² I), D_σ = (4 Σ0^{1/2} Σ1 Σ0^{1/2} + σ⁴ I)^{1/2}. The dynamic bridge is
//! the mixture of Brownian bridges under that plan, X_t = (1 − t) X0 + t X1 + σ √(t(1 − t)) Z, a Markov
//! process with the forward drift f(t, x) = (E[X1 | X_t = x] − x)/(1 − t).

use nalgebra::{DMatrix, DVector};
use rand::Rng;
use si_core::{Batch, CoreError, Field, Points};

use crate::error::{AnalyticError, Result};

/// The Schrödinger bridge from N(μ0, Σ0) to N(μ1, Σ1) for the reference σ W.
#[derive(Clone, Debug)]
pub struct GaussianBridge {
    mu0: DVector<f64>,
    mu1: DVector<f64>,
    sigma0: DMatrix<f64>,
    sigma1: DMatrix<f64>,
    /// C_σ = Cov(X0, X1).
    cross: DMatrix<f64>,
    /// σ of the reference.
    sigma: f64,
}

/// A symmetric positive-definite matrix's square root and inverse square root (eigendecomposition).
fn sqrt_and_inv_sqrt(a: &DMatrix<f64>, what: &str) -> Result<(DMatrix<f64>, DMatrix<f64>)> {
    let e = a.clone().symmetric_eigen();
    if !e.eigenvalues.iter().all(|&l| l.is_finite() && l > 0.0) {
        return Err(AnalyticError::NotPositiveDefinite { what: what.into() });
    }
    let q = &e.eigenvectors;
    let s = DMatrix::from_diagonal(&e.eigenvalues.map(f64::sqrt));
    let si = DMatrix::from_diagonal(&e.eigenvalues.map(|l| 1.0 / l.sqrt()));
    Ok((q * s * q.transpose(), q * si * q.transpose()))
}

fn check_spd(m: &DMatrix<f64>, d: usize, what: &str) -> Result<()> {
    if m.shape() != (d, d) {
        return Err(AnalyticError::DimensionMismatch(format!(
            "{what} is {}×{}, expected {d}×{d}",
            m.nrows(),
            m.ncols()
        )));
    }
    if m.iter().any(|v| !v.is_finite()) {
        return Err(AnalyticError::NonFinite("a bridge covariance"));
    }
    let asym = (m - m.transpose()).abs().max();
    if asym > 1e-12 * (1.0 + m.abs().max()) {
        return Err(AnalyticError::NotSymmetric {
            index: 0,
            asymmetry: asym,
        });
    }
    Ok(())
}

impl GaussianBridge {
    /// The bridge from N(μ0, Σ0) to N(μ1, Σ1) with reference diffusion σ > 0 (checked: matching
    /// dimensions, finite values, Σ0 and Σ1 symmetric positive definite).
    pub fn new(
        mu0: DVector<f64>,
        sigma0: DMatrix<f64>,
        mu1: DVector<f64>,
        sigma1: DMatrix<f64>,
        sigma: f64,
    ) -> Result<Self> {
        let d = mu0.len();
        if d == 0 || mu1.len() != d {
            return Err(AnalyticError::DimensionMismatch(format!(
                "means of dimensions {d} and {}",
                mu1.len()
            )));
        }
        if mu0.iter().chain(mu1.iter()).any(|v| !v.is_finite()) {
            return Err(AnalyticError::NonFinite("a bridge mean"));
        }
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(CoreError::InvalidParameter {
                name: "sigma",
                value: sigma,
                reason: "the reference diffusion must be finite and > 0",
            }
            .into());
        }
        check_spd(&sigma0, d, "Sigma0")?;
        check_spd(&sigma1, d, "Sigma1")?;
        let (s0h, s0ih) = sqrt_and_inv_sqrt(&sigma0, "Sigma0")?;
        sqrt_and_inv_sqrt(&sigma1, "Sigma1")?;
        let s4 = sigma.powi(4);
        let inner = (&s0h * &sigma1 * &s0h) * 4.0 + DMatrix::identity(d, d) * s4;
        let inner = (&inner + inner.transpose()) * 0.5;
        let (dsig, _) = sqrt_and_inv_sqrt(&inner, "4 Sigma0^1/2 Sigma1 Sigma0^1/2 + sigma^4 I")?;
        let cross = (&s0h * dsig * &s0ih - DMatrix::identity(d, d) * (sigma * sigma)) * 0.5;
        Ok(Self {
            mu0,
            mu1,
            sigma0,
            sigma1,
            cross,
            sigma,
        })
    }

    /// The bridge between isotropic Gaussians N(m0 1, v0 I) and N(m1 1, v1 I) in dimension d (the DSBM
    /// benchmark: m0 = −0.1, m1 = 0.1, v0 = v1 = 1, σ = 1).
    pub fn isotropic(d: usize, m0: f64, v0: f64, m1: f64, v1: f64, sigma: f64) -> Result<Self> {
        Self::new(
            DVector::from_element(d, m0),
            DMatrix::identity(d, d) * v0,
            DVector::from_element(d, m1),
            DMatrix::identity(d, d) * v1,
            sigma,
        )
    }

    /// The dimension.
    pub fn dim(&self) -> usize {
        self.mu0.len()
    }

    /// σ of the reference.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// μ0, Σ0.
    pub fn start(&self) -> (&DVector<f64>, &DMatrix<f64>) {
        (&self.mu0, &self.sigma0)
    }

    /// μ1, Σ1.
    pub fn end(&self) -> (&DVector<f64>, &DMatrix<f64>) {
        (&self.mu1, &self.sigma1)
    }

    /// C_σ = Cov(X0, X1) of the static bridge.
    pub fn cross_covariance(&self) -> &DMatrix<f64> {
        &self.cross
    }

    /// The 2d × 2d covariance of (X0, X1).
    pub fn coupling_covariance(&self) -> DMatrix<f64> {
        let d = self.dim();
        let mut m = DMatrix::zeros(2 * d, 2 * d);
        m.view_mut((0, 0), (d, d)).copy_from(&self.sigma0);
        m.view_mut((0, d), (d, d)).copy_from(&self.cross);
        m.view_mut((d, 0), (d, d))
            .copy_from(&self.cross.transpose());
        m.view_mut((d, d), (d, d)).copy_from(&self.sigma1);
        m
    }

    /// The mean and covariance of X_t: μ_t = (1 − t) μ0 + t μ1,
    /// Σ_t = (1 − t)² Σ0 + t² Σ1 + t(1 − t)(C + Cᵀ) + σ² t(1 − t) I.
    pub fn marginal(&self, t: f64) -> Result<(DVector<f64>, DMatrix<f64>)> {
        si_core::check_time(t)?;
        let d = self.dim();
        let mean = &self.mu0 * (1.0 - t) + &self.mu1 * t;
        let cov = &self.sigma0 * ((1.0 - t) * (1.0 - t))
            + &self.sigma1 * (t * t)
            + (&self.cross + self.cross.transpose()) * (t * (1.0 - t))
            + DMatrix::identity(d, d) * (self.sigma * self.sigma * t * (1.0 - t));
        Ok((mean, cov))
    }

    /// The bridge's forward drift as an affine map f(t, x) = A_t x + c_t, with
    /// A_t = (K_t − I)/(1 − t), K_t = Cov(X1, X_t) Σ_t^{−1} = ((1 − t) Cᵀ + t Σ1) Σ_t^{−1} (t < 1).
    pub fn drift_affine(&self, t: f64) -> Result<(DMatrix<f64>, DVector<f64>)> {
        si_core::check_time(t)?;
        if t >= 1.0 {
            return Err(CoreError::TimeOutOfRange { t }.into());
        }
        let d = self.dim();
        let (mean, inv) = self.marginal_precision(t)?;
        let k = (self.cross.transpose() * (1.0 - t) + &self.sigma1 * t) * inv;
        let a = (&k - DMatrix::identity(d, d)) / (1.0 - t);
        // f = (μ1 + K (x − μ_t) − x)/(1 − t) = A x + (μ1 − K μ_t)/(1 − t)
        let c = (&self.mu1 - &k * mean) / (1.0 - t);
        Ok((a, c))
    }

    /// The forward drift f(t, x) = (E[X1 | X_t = x] − x)/(1 − t) at each point (t < 1): the SDE
    /// dX = f dt + σ dW from N(μ0, Σ0) is the bridge.
    pub fn drift(&self, t: f64, x: &Points) -> Result<Points> {
        let (a, c) = self.drift_affine(t)?;
        self.affine(x, &a, &c)
    }

    fn affine(&self, x: &Points, a: &DMatrix<f64>, c: &DVector<f64>) -> Result<Points> {
        if x.dim() != self.dim() {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {}", self.dim()),
                got: format!("dimension {}", x.dim()),
            }
            .into());
        }
        let mut m = a * x.matrix();
        for mut col in m.column_iter_mut() {
            col += c;
        }
        Ok(Points::from_matrix_unchecked(m))
    }

    /// Σ_t^{−1} (Cholesky).
    fn marginal_precision(&self, t: f64) -> Result<(DVector<f64>, DMatrix<f64>)> {
        let (mean, cov) = self.marginal(t)?;
        let inv = cov
            .cholesky()
            .ok_or_else(|| AnalyticError::NotPositiveDefinite {
                what: format!("Sigma_t at t = {t}"),
            })?
            .inverse();
        Ok((mean, inv))
    }

    /// The score ∇ log ρ_t(x) = −Σ_t^{−1}(x − μ_t).
    pub fn score(&self, t: f64, x: &Points) -> Result<Points> {
        let (mean, inv) = self.marginal_precision(t)?;
        let c = &inv * mean;
        self.affine(x, &(-inv), &c)
    }

    /// The velocity of the Brownian-bridge interpolant as an affine map b = A_t x + c_t (see
    /// [`GaussianBridge::interpolant_velocity`]).
    pub fn interpolant_affine(&self, t: f64) -> Result<(DMatrix<f64>, DVector<f64>)> {
        let d = self.dim();
        let (mean, inv) = self.marginal_precision(t)?;
        let ggd = self.sigma * self.sigma * (1.0 - 2.0 * t) / 2.0;
        let m = (self.cross.transpose() - &self.sigma0) * (1.0 - t)
            + (&self.sigma1 - &self.cross) * t
            + DMatrix::identity(d, d) * ggd;
        let a = m * inv;
        let c = (&self.mu1 - &self.mu0) - &a * mean;
        Ok((a, c))
    }

    /// The velocity of the Brownian-bridge interpolant x_t = (1 − t) x0 + t x1 + σ √(t(1 − t)) z over the
    /// bridge's coupling: b(t, x) = μ̇ + M_t Σ_t^{−1}(x − μ_t), M_t = Cov(x1 − x0 + γ̇ z, x_t) =
    /// (1 − t)(Cᵀ − Σ0) + t(Σ1 − C) + γγ̇ I with γγ̇ = σ²(1 − 2t)/2. Then b + (σ²/2) s = f (docs/math.md §9).
    pub fn interpolant_velocity(&self, t: f64, x: &Points) -> Result<Points> {
        let (a, c) = self.interpolant_affine(t)?;
        self.affine(x, &a, &c)
    }

    /// n pairs (X0, X1) of the static bridge (a joint Gaussian; Cholesky of the 2d × 2d covariance).
    pub fn sample_pairs<R: Rng + ?Sized>(&self, n: usize, rng: &mut R) -> Result<(Points, Points)> {
        let d = self.dim();
        let l = self
            .coupling_covariance()
            .cholesky()
            .ok_or_else(|| AnalyticError::NotPositiveDefinite {
                what: "the bridge coupling".into(),
            })?
            .unpack();
        let z = Points::standard_normal(n, 2 * d, rng);
        let y = l * z.matrix();
        let x0 = DMatrix::from_fn(d, n, |r, i| y[(r, i)] + self.mu0[r]);
        let x1 = DMatrix::from_fn(d, n, |r, i| y[(d + r, i)] + self.mu1[r]);
        Ok((
            Points::from_matrix_unchecked(x0),
            Points::from_matrix_unchecked(x1),
        ))
    }
}

/// The bridge as a field of the Brownian-bridge interpolant `linear:sqrt=σ²` over its own coupling:
/// b, s, and ∇·b = tr(M_t Σ_t^{−1}); the forward SDE with ε = σ²/2 is the bridge.
impl Field<Points> for GaussianBridge {
    fn dim(&self) -> usize {
        self.mu0.len()
    }

    fn velocity(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(self.interpolant_velocity(t, x)?)
    }

    fn score(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(GaussianBridge::score(self, t, x)?)
    }

    fn divergence(&self, t: f64, x: &Points) -> si_core::Result<DVector<f64>> {
        let (a, _) = self.interpolant_affine(t)?;
        Ok(DVector::from_element(x.len(), a.trace()))
    }
}

impl GaussianBridge {
    /// n exact samples of X_t: (1 − t) X0 + t X1 + σ √(t(1 − t)) Z with (X0, X1) from the static bridge.
    pub fn sample_marginal<R: Rng + ?Sized>(
        &self,
        t: f64,
        n: usize,
        rng: &mut R,
    ) -> Result<Points> {
        let (x0, x1) = self.sample_pairs(n, rng)?;
        let g = self.sigma * (t * (1.0 - t)).max(0.0).sqrt();
        let mut x = x0;
        x.scale(1.0 - t)?;
        x.axpy(t, &x1)?;
        x.add_noise(g, rng)?;
        Ok(x)
    }
}
