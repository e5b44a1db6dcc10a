//! ODE log-likelihood (arXiv 2303.08797, §2.3; Chen et al. 2018): along the probability-flow ODE run
//! backward from X_1 = x,
//!
//! ```text
//! log ρ1(x) = log ρ0(X_0) − ∫₀¹ ∇·b(t, X_t) dt.
//! ```
//!
//! The state is augmented with ℓ(t) = ∫₁ᵗ ∇·b ds (so ℓ(0) = −∫₀¹ ∇·b) and integrated with Heun's
//! method, second order in both x and ℓ.

use si_core::{Batch, Field, Points};

use crate::error::{IntegrateError, Result};
use crate::grid::TimeGrid;

/// log ρ1(x) for every point of `x1` under the ODE model of `field`, whose base density is given by
/// `log_rho0` (evaluated once, on the host, at X_0). The grid must run from 1 to 0.
pub fn ode_log_likelihood<B, F>(
    field: &F,
    x1: &B,
    grid: &TimeGrid,
    log_rho0: impl Fn(&Points) -> si_core::Result<Vec<f64>>,
) -> Result<Vec<f64>>
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
    crate::driver::check_dim(field.dim(), x1.dim())?;
    let mut x = x1.clone();
    let mut ell = x.rows_zeros();
    for w in grid.times().windows(2) {
        let (t, dt) = (w[0], w[1] - w[0]);
        let (b1, d1) = field.velocity_and_divergence(t, &x)?;
        let mut xp = x.clone();
        xp.axpy(dt, &b1)?;
        let (b2, d2) = field.velocity_and_divergence(w[1], &xp)?;
        x.axpy(0.5 * dt, &b1)?;
        x.axpy(0.5 * dt, &b2)?;
        B::rows_axpy(&mut ell, 0.5 * dt, &d1)?;
        B::rows_axpy(&mut ell, 0.5 * dt, &d2)?;
    }
    add_base(&x, &ell, log_rho0)
}

/// log ρ0(X_0) + ℓ per point: the base log-density at the end of a backward integration plus the
/// accumulated change.
pub(crate) fn add_base<B: Batch>(
    x: &B,
    ell: &B::Rows,
    log_rho0: impl Fn(&Points) -> si_core::Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    let base = log_rho0(&x.to_points()?)?;
    let ell = B::rows_to_vec(ell)?;
    if base.len() != ell.len() {
        return Err(si_core::CoreError::ShapeMismatch {
            expected: format!("{} base log-densities", ell.len()),
            got: format!("{}", base.len()),
        }
        .into());
    }
    Ok(base.iter().zip(&ell).map(|(b, l)| b + l).collect())
}
