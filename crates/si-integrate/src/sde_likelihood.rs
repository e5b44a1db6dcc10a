//! The SDE log-likelihood estimator (arXiv 2303.08797, §2.5 and appendix; interflow's
//! `rollout_likelihood`), derived in docs/math.md §3.1.
//!
//! Along the backward SDE dY = (b − ε s)(t, Y) dt + √(2ε) dW̄, run from Y_1 = x down to t = 0, Itô's
//! formula applied to log ρ(t, Y_t) with the Fokker–Planck equation of the forward SDE gives, path by path,
//!
//! ```text
//! log ρ1(x) = log ρ0(Y_0) − ∫₀¹ (∇·b_F + ε|s|²)(t, Y_t) dt − √(2ε) ∫₀¹ s(t, Y_t)·dW̄_t,    b_F = b + ε s.
//! ```
//!
//! For the exact fields every path gives log ρ1(x) (the stochastic integral cancels the path's
//! fluctuation of log ρ0(Y_0) exactly), so the per-path spread is the time discretisation's alone; the
//! average over paths is unbiased as the step goes to zero. For a learned model the path average is a
//! lower bound of the model's own log-likelihood in expectation (Girsanov, Jensen). Dropping the
//! stochastic integral keeps the mean (it is a martingale) but not the spread: both are reported.
//!
//! Discretisation: Euler–Maruyama for Y, left-point (Itô) sums for both integrals with the same ΔW̄.

use rand::RngCore;
use si_core::{Batch, Field, Points};

use crate::diffusion::Diffusion;
use crate::driver::check_dim;
use crate::error::{IntegrateError, Result};
use crate::grid::TimeGrid;
use crate::stepper::noise_like;

/// Per-path SDE log-likelihood estimates of n points.
#[derive(Clone, Debug, PartialEq)]
pub struct SdeLogLikelihood {
    /// `estimates[m][i]`: path m's estimate of log ρ1(x_i), with the stochastic integral.
    pub estimates: Vec<Vec<f64>>,
    /// The same paths without the stochastic integral (same mean, larger spread).
    pub drift_only: Vec<Vec<f64>>,
}

/// Mean over paths of each point.
fn mean_of(v: &[Vec<f64>]) -> Vec<f64> {
    let m = v.len().max(1) as f64;
    let n = v.first().map_or(0, Vec::len);
    (0..n)
        .map(|i| v.iter().map(|p| p[i]).sum::<f64>() / m)
        .collect()
}

/// Sample standard deviation over paths of each point (0 with one path).
fn spread_of(v: &[Vec<f64>]) -> Vec<f64> {
    let mean = mean_of(v);
    let m = v.len();
    if m < 2 {
        return vec![0.0; mean.len()];
    }
    mean.iter()
        .enumerate()
        .map(|(i, mu)| {
            let ss: f64 = v.iter().map(|p| (p[i] - mu).powi(2)).sum();
            (ss / (m - 1) as f64).sqrt()
        })
        .collect()
}

impl SdeLogLikelihood {
    /// Number of paths per point.
    pub fn paths(&self) -> usize {
        self.estimates.len()
    }
    /// The estimate of log ρ1(x_i): the average over paths.
    pub fn mean(&self) -> Vec<f64> {
        mean_of(&self.estimates)
    }
    /// The per-path standard deviation of each point's estimates.
    pub fn spread(&self) -> Vec<f64> {
        spread_of(&self.estimates)
    }
    /// The standard error of [`mean`](Self::mean): spread / √paths.
    pub fn std_error(&self) -> Vec<f64> {
        let r = (self.paths().max(1) as f64).sqrt();
        self.spread().into_iter().map(|s| s / r).collect()
    }
    /// The average over paths without the stochastic integral.
    pub fn drift_only_mean(&self) -> Vec<f64> {
        mean_of(&self.drift_only)
    }
    /// The per-path standard deviation without the stochastic integral.
    pub fn drift_only_spread(&self) -> Vec<f64> {
        spread_of(&self.drift_only)
    }
}

/// The SDE log-likelihood of every point of `x1` (module documentation): `paths` independent backward
/// paths per point on `grid` (from t = 1 to t = 0) with diffusion ε(t), base log-density `log_rho0`
/// (evaluated on the host at Y_0). Each step asks the field for [`Field::drift_terms`] (b, s and
/// ∇·(b + ε s)); the noise comes from `rng`.
pub fn sde_log_likelihood<B, F>(
    field: &F,
    x1: &B,
    grid: &TimeGrid,
    eps: &Diffusion,
    paths: usize,
    rng: &mut dyn RngCore,
    log_rho0: impl Fn(&Points) -> si_core::Result<Vec<f64>>,
) -> Result<SdeLogLikelihood>
where
    B: Batch,
    F: Field<B> + ?Sized,
{
    if !(grid.start() == 1.0 && grid.end() == 0.0) {
        return Err(IntegrateError::LikelihoodGrid {
            from: grid.start(),
            to: grid.end(),
        });
    }
    if paths == 0 {
        return Err(IntegrateError::InvalidSolver(
            "the SDE likelihood needs at least one path".into(),
        ));
    }
    check_dim(field.dim(), x1.dim())?;
    let mut out = SdeLogLikelihood {
        estimates: Vec::with_capacity(paths),
        drift_only: Vec::with_capacity(paths),
    };
    for _ in 0..paths {
        let (with, without) = one_path(field, x1, grid, eps, rng, &log_rho0)?;
        out.estimates.push(with);
        out.drift_only.push(without);
    }
    Ok(out)
}

/// One backward path for every point: (with, without) the stochastic integral.
fn one_path<B, F>(
    field: &F,
    x1: &B,
    grid: &TimeGrid,
    eps: &Diffusion,
    rng: &mut dyn RngCore,
    log_rho0: &impl Fn(&Points) -> si_core::Result<Vec<f64>>,
) -> Result<(Vec<f64>, Vec<f64>)>
where
    B: Batch,
    F: Field<B> + ?Sized,
{
    let mut y = x1.clone();
    // −∫ (∇·b_F + ε|s|²) dt and √(2ε) ∫ s·dW̄, accumulated per point
    let mut drift = y.rows_zeros();
    let mut mart = y.rows_zeros();
    for w in grid.times().windows(2) {
        let (t, h) = (w[0], w[0] - w[1]);
        let e = eps.at(t)?;
        let terms = field.drift_terms(t, &y, e)?;
        B::rows_axpy(&mut drift, -h, &terms.divergence)?;
        if e > 0.0 {
            let s2 = B::rows_dot(&terms.s, &terms.s)?;
            B::rows_axpy(&mut drift, -h * e, &s2)?;
            // ΔW̄ ~ N(0, h I), used by the path and the stochastic integral alike
            let dw = noise_like(&terms.s, h.sqrt(), rng)?;
            let root = (2.0 * e).sqrt();
            B::rows_axpy(&mut mart, root, &B::rows_dot(&terms.s, &dw)?)?;
            y.axpy(root, &dw)?;
        }
        // Y_{t−h} = Y_t − h (b − ε s) + √(2ε) ΔW̄; where ε = 0 the score is not used at all: it may be
        // infinite there (s = −η/α of a one-sided interpolant at its data end, with ε(t) = ε₀ α(t)²
        // vanishing with α)
        y.axpy(-h, &terms.b)?;
        if e > 0.0 {
            y.axpy(h * e, &terms.s)?;
        }
    }
    let without = crate::likelihood::add_base(&y, &drift, log_rho0)?;
    let mart = B::rows_to_vec(&mart)?;
    let with = without.iter().zip(&mart).map(|(w, m)| w - m).collect();
    Ok((with, without))
}
