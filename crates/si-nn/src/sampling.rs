//! Sampling and likelihoods of a [`LearnedField`] through si-integrate, with the state on the model's
//! device; the deterministic flow map of a model's b ([`flow`]) and row draws from a fixed pool.

use rand::seq::index::sample as sample_indices;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Field, Interpolant, Points};
use si_integrate::{
    integrate, ode_log_likelihood, sde_log_likelihood, Diffusion, DormandPrince, Heun, Observer,
    SdeLogLikelihood, SolveStats, Stepper, TimeGrid,
};
use tch::{Device, Kind};

use crate::batch::TensorBatch;
use crate::error::Result;
use crate::field::LearnedField;
use crate::model::FieldNet;

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
    sample_on(
        field,
        stepper,
        x0,
        &TimeGrid::uniform(0.0, 1.0, steps)?,
        rng,
    )
}

/// Integrates `x0` (a sample at the grid's first time) along `grid` (e.g. [`TimeGrid::karras`]) with
/// `stepper` on `field`, under no_grad.
pub fn sample_on<S: Stepper<TensorBatch>>(
    field: &LearnedField<'_>,
    stepper: &S,
    x0: TensorBatch,
    grid: &TimeGrid,
    rng: &mut dyn RngCore,
) -> Result<TensorBatch> {
    Ok(tch::no_grad(|| {
        integrate(stepper, field, x0, grid, rng, &mut [])
    })?)
}

/// How [`log_likelihood_of`] computes log ρ̂1 (docs/math.md §3–3.2).
#[derive(Clone, Debug)]
pub enum LikelihoodMethod {
    /// The ODE run backward with Heun's method in `steps` steps; ∇·b as set in the field.
    Ode {
        /// Steps.
        steps: usize,
    },
    /// The ODE with adaptive Dormand–Prince 5(4) (use the exact divergence).
    Adaptive(DormandPrince),
    /// The path-by-path SDE estimate, averaged over `paths` backward paths with diffusion `eps`.
    Sde {
        /// Euler–Maruyama steps.
        steps: usize,
        /// ε (constant).
        eps: f64,
        /// Paths per point.
        paths: usize,
    },
}

/// Log-likelihoods of host points, one per point.
#[derive(Clone, Debug, Default)]
pub struct Likelihoods {
    /// log ρ̂1(x_i) (the path average for the SDE estimate).
    pub values: Vec<f64>,
    /// The standard error of each value (the SDE estimate only).
    pub std_error: Option<Vec<f64>>,
    /// The adaptive solver's steps and evaluations, summed over chunks.
    pub stats: SolveStats,
}

/// log ρ̂1(x) of the model for host points `x1` by `method`, in chunks of `chunk` points uploaded to the
/// field's device (for the SDE, the chunk's points once per path, all paths integrated as one batch); `log_rho0` is the base log-density (on the host), `rng` drives the SDE's noise, and
/// `done` is told how many points each chunk finished (a progress bar).
pub fn log_likelihood_of(
    field: &LearnedField<'_>,
    x1: &Points,
    method: &LikelihoodMethod,
    chunk: usize,
    log_rho0: &dyn Fn(&Points) -> si_core::Result<Vec<f64>>,
    rng: &mut dyn RngCore,
    done: &mut dyn FnMut(usize),
) -> Result<Likelihoods> {
    let n = x1.len();
    let mut out = Likelihoods::default();
    let device = field.net().device();
    let rows: Vec<usize> = (0..n).collect();
    let upload = |idx: &[usize]| -> Result<TensorBatch> {
        Ok(TensorBatch::upload(&x1.select(idx)?, Kind::Float, device)?)
    };
    for part in rows.chunks(chunk.max(1)) {
        match method {
            LikelihoodMethod::Ode { steps } => {
                let grid = TimeGrid::uniform(1.0, 0.0, *steps)?;
                out.values
                    .extend(ode_log_likelihood(field, &upload(part)?, &grid, log_rho0)?);
            }
            LikelihoodMethod::Adaptive(solver) => {
                let (ll, s) = solver.log_likelihood(field, &upload(part)?, log_rho0)?;
                out.stats.accepted += s.accepted;
                out.stats.rejected += s.rejected;
                out.stats.evaluations += s.evaluations;
                out.values.extend(ll);
            }
            LikelihoodMethod::Sde { steps, eps, paths } => {
                // every path of every point of the chunk in one batch: the chunk repeated `paths` times
                // (path-major), one integration instead of `paths` sequential ones
                let m = part.len();
                let repeated: Vec<usize> = (0..*paths).flat_map(|_| part.iter().copied()).collect();
                let xr = upload(&repeated)?;
                let grid = TimeGrid::uniform(1.0, 0.0, *steps)?;
                let est = sde_log_likelihood(
                    field,
                    &xr,
                    &grid,
                    &Diffusion::constant(*eps)?,
                    1,
                    rng,
                    log_rho0,
                )?;
                let v = &est.estimates[0];
                let per_path: Vec<Vec<f64>> = v.chunks(m).map(<[f64]>::to_vec).collect();
                let folded = SdeLogLikelihood {
                    estimates: per_path,
                    drift_only: Vec::new(),
                };
                out.values.extend(folded.mean());
                out.std_error
                    .get_or_insert_with(Vec::new)
                    .extend(folded.std_error());
            }
        }
        done(part.len());
    }
    Ok(out)
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
    let method = LikelihoodMethod::Ode { steps };
    // the ODE draws nothing: the generator is never used
    let mut unused = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
    Ok(log_likelihood_of(
        field,
        x1,
        &method,
        chunk,
        log_rho0,
        &mut unused,
        &mut |_| {},
    )?
    .values)
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

/// Integrates `net`'s b over `grid` (Heun, no gradients) from the points `x`, in chunks of 8192 points;
/// every chunk is reported to the observers. With the grid 0 → 1 this is Φ, with 1 → 0 its inverse.
pub fn flow(
    net: &FieldNet,
    interpolant: &Interpolant,
    x: &Points,
    grid: &TimeGrid,
    observers: &mut [&mut dyn Observer<TensorBatch>],
) -> Result<Points> {
    let field = LearnedField::new(net, interpolant.clone());
    let place = (Kind::Float, net.device());
    let d = x.dim();
    let mut out = Vec::with_capacity(x.len() * d);
    // Heun draws nothing; the driver still takes a generator
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for rows in x.as_slice().chunks(8192 * d.max(1)) {
        let part =
            TensorBatch::from_points(&Points::from_row_major(rows.len() / d, d, rows)?, &place)?;
        let z = tch::no_grad(|| integrate(&Heun, &field, part, grid, &mut rng, observers))?;
        out.extend_from_slice(z.to_points()?.as_slice());
    }
    Ok(Points::from_row_major(x.len(), x.dim(), &out)?)
}

/// `n` row indices of a pool of `m` rows: without replacement when n ≤ m, else with replacement.
pub fn draw_rows(rng: &mut dyn RngCore, m: usize, n: usize) -> Vec<usize> {
    if n <= m {
        sample_indices(rng, m, n).into_vec()
    } else {
        (0..n).map(|_| rng.random_range(0..m)).collect()
    }
}
