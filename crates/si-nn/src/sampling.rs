//! Sampling and likelihoods of a [`LearnedField`] through si-integrate, with the state on the model's
//! device.

use rand::RngCore;
use si_core::{Batch, Field, Points};
use si_integrate::{integrate, ode_log_likelihood, Stepper, TimeGrid};
use tch::{Device, Kind};

use crate::batch::TensorBatch;
use crate::error::Result;
use crate::field::LearnedField;

/// n points of N(0, I_d) on `device` (drawn on the host from `rng`).
pub fn standard_normal(
    n: usize,
    d: usize,
    device: Device,
    rng: &mut dyn RngCore,
) -> Result<TensorBatch> {
    Ok(TensorBatch::upload(
        &Points::standard_normal(n, d, rng),
        Kind::Float,
        device,
    )?)
}

/// Integrates `x0` from t = 0 to 1 in `steps` uniform steps of `stepper` (ODE steppers: Euler, Heun;
/// SDE: Euler–Maruyama) on `field`, under no_grad.
pub fn sample<S: Stepper<TensorBatch>>(
    field: &LearnedField<'_>,
    stepper: &S,
    x0: TensorBatch,
    steps: usize,
    rng: &mut dyn RngCore,
) -> Result<TensorBatch> {
    let grid = TimeGrid::uniform(0.0, 1.0, steps)?;
    Ok(tch::no_grad(|| {
        integrate(stepper, field, x0, &grid, rng, &mut [])
    })?)
}

/// log ρ̂1(x) of the ODE model for host points `x1` (arXiv 2303.08797, §2.3):
/// log ρ̂1(x) = log ρ0(X_0) − ∫₀¹ ∇·b(t, X_t) dt along the ODE run backward from X_1 = x with Heun's
/// method in `steps` steps; ∇·b as chosen in `field` (exact or Hutchinson). Evaluated in chunks of
/// `chunk` points.
pub fn ode_log_likelihood_of(
    field: &LearnedField<'_>,
    x1: &Points,
    steps: usize,
    chunk: usize,
    log_rho0: &dyn Fn(&Points) -> si_core::Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    let grid = TimeGrid::uniform(1.0, 0.0, steps)?;
    let (n, d) = (x1.len(), x1.dim());
    let mut out = Vec::with_capacity(n);
    let vals = x1.as_slice();
    let device = field.net().device();
    let mut start = 0;
    while start < n {
        let m = chunk.max(1).min(n - start);
        let part = Points::from_row_major(m, d, &vals[start * d..(start + m) * d])?;
        let xb = TensorBatch::upload(&part, Kind::Float, device)?;
        let ll = ode_log_likelihood(field, &xb, &grid, log_rho0)?;
        out.extend(ll);
        start += m;
    }
    Ok(out)
}

/// Convenience: the field's dimension check for host data.
pub fn check_dim(field: &LearnedField<'_>, d: usize) -> Result<()> {
    if field.dim() != d {
        return Err(crate::NnError::Shape {
            expected: format!("dimension {}", field.dim()),
            got: format!("dimension {d}"),
        });
    }
    Ok(())
}
