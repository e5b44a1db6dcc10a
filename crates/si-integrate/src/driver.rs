//! The driver: runs a stepper over a time grid and reports to observers (argmin's Executor pattern).

use rand::RngCore;
use si_core::{Batch, Field};

use crate::error::Result;
use crate::grid::TimeGrid;
use crate::stepper::Stepper;

/// The state must have the field's dimension.
pub(crate) fn check_dim(field: usize, state: usize) -> Result<()> {
    if field == state {
        Ok(())
    } else {
        Err(si_core::CoreError::ShapeMismatch {
            expected: format!("points of dimension {field} (the field's)"),
            got: format!("dimension {state}"),
        }
        .into())
    }
}

/// Watches an integration. Progress bars, trajectory capture and logging live here, never in a stepper.
pub trait Observer<B: Batch> {
    /// Before the first step, with the initial state.
    fn start(&mut self, _grid: &TimeGrid, _x: &B) -> Result<()> {
        Ok(())
    }
    /// After step `k` (1-based), at time `t`.
    fn step(&mut self, k: usize, t: f64, x: &B) -> Result<()>;
    /// After the last step.
    fn finish(&mut self, _x: &B) -> Result<()> {
        Ok(())
    }
}

/// Integrates `x` over `grid` with `stepper` on `field`, telling every observer about each step
/// ([`Stepper::drive`]: one step per grid interval, or the adaptive solve of [`crate::Scheme::DormandPrince`]).
///
/// ```
/// use si_analytic::{GaussianMixture, MixtureFields};
/// use si_core::{Gamma, Interpolant, Points};
/// use si_integrate::{integrate, Heun, TimeGrid};
/// let g = GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap();
/// let h = GaussianMixture::univariate(&[(1.0, 5.0, 1.0)]).unwrap();
/// let f = MixtureFields::new(g, h, Interpolant::linear(Gamma::Zero).unwrap()).unwrap();
/// let x0 = Points::from_row_major(1, 1, &[0.5]).unwrap();
/// let x1 = integrate(&Heun, &f, x0, &TimeGrid::uniform(0.0, 1.0, 100).unwrap(), &mut rand::rng(), &mut []).unwrap();
/// // in 1-D the flow map between N(0, 1) and N(5, 1) is the monotone rearrangement x + 5
/// assert!((x1.as_slice()[0] - 5.5).abs() < 1e-4);
/// ```
pub fn integrate<B, F, S>(
    stepper: &S,
    field: &F,
    x: B,
    grid: &TimeGrid,
    rng: &mut dyn RngCore,
    observers: &mut [&mut dyn Observer<B>],
) -> Result<B>
where
    B: Batch,
    F: Field<B> + ?Sized,
    S: Stepper<B> + ?Sized,
{
    stepper.drive(field, x, grid, rng, observers)
}
