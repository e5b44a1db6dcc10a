//! Shared pieces of the figures and the benchmark: the checkerboard, its inside fraction, the reference
//! training setup, and evaluation of a trained model (samples, inside fractions, ODE NLL).

use std::time::Instant;

use anyhow::Result;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, CouplingPairs, FnSampler, Independent, Points, StandardNormal};
use si_core::{Interpolant, InterpolantSource, PairSource, TimeRange};
use si_integrate::Scheme;
use si_nn::sampling::{ode_log_likelihood_of, sample};
use si_nn::{LearnedField, TensorBatch, Uploaded};
use tch::{Device, Kind};

/// −log 32: the best achievable mean log-density on the checkerboard (density 1/32 on its support).
pub const BEST_LOG_DENSITY: f64 = -3.465_735_902_799_726_5;

/// The checkerboard of docs/figures.md (B.5): u1 ~ U[−2, 2), u2 ~ U[0, 1) − 2·Bernoulli(½) + (⌊u1⌋ mod 2),
/// x = 2(u1, u2).
pub fn checkerboard(n: usize, rng: &mut dyn RngCore) -> Points {
    let mut v = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let u1: f64 = rng.random::<f64>() * 4.0 - 2.0;
        let b = if rng.random::<bool>() { 2.0 } else { 0.0 };
        let u2: f64 = rng.random::<f64>() - b + u1.floor().rem_euclid(2.0);
        v.push(2.0 * u1);
        v.push(2.0 * u2);
    }
    Points::from_row_major(n, 2, &v).expect("2n values")
}

/// Whether a point lies in one of the checkerboard's 8 squares.
pub fn inside(x: f64, y: f64) -> bool {
    if !(-4.0..4.0).contains(&x) || !(-4.0..4.0).contains(&y) {
        return false;
    }
    let (i, j) = ((x / 2.0).floor() as i64, (y / 2.0).floor() as i64);
    (i + j).rem_euclid(2) == 0
}

/// Fraction of points inside the checkerboard.
pub fn inside_fraction(p: &Points) -> f64 {
    let n = p.len();
    let s = p.as_slice();
    (0..n).filter(|&i| inside(s[2 * i], s[2 * i + 1])).count() as f64 / n.max(1) as f64
}

/// Checkerboard as a sampler.
pub fn checker_sampler() -> FnSampler<impl Fn(usize, &mut dyn RngCore) -> si_core::Result<Points>> {
    FnSampler::new(2, |n, rng: &mut dyn RngCore| Ok(checkerboard(n, rng)))
}

/// N(0, I) → checkerboard.
pub fn checker_data() -> CouplingPairs<impl si_core::Coupling> {
    CouplingPairs(
        Independent::new(StandardNormal { dim: 2 }, checker_sampler()).expect("same dimension"),
    )
}

/// (x, y) pairs of 2-D points.
pub fn coordinate_pairs(p: &Points) -> Vec<(f64, f64)> {
    let s = p.as_slice();
    (0..p.len()).map(|i| (s[2 * i], s[2 * i + 1])).collect()
}

/// Samples of a model from `x0` (host points) by `scheme`, with the time taken.
pub fn draw(
    field: &LearnedField<'_>,
    x0: &Points,
    steps: usize,
    scheme: Scheme,
    seed: u64,
) -> Result<(Points, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = TensorBatch::upload(x0, Kind::Float, field.net().device())?;
    let t0 = Instant::now();
    let out = sample(field, &scheme, x, steps, &mut rng)?;
    let p = out.to_points()?;
    Ok((p, t0.elapsed().as_secs_f64()))
}

/// Mean negative log-likelihood (nats) of `x` under the ODE model from N(0, I) (exact divergence).
pub fn ode_nll(field: &LearnedField<'_>, x: &Points, steps: usize) -> Result<f64> {
    let base = StandardNormal { dim: x.dim() };
    let ll = ode_log_likelihood_of(field, x, steps, 2500, &|p: &Points| base.log_density(p))?;
    Ok(-ll.iter().sum::<f64>() / ll.len().max(1) as f64)
}

/// Gaussian base points.
pub fn normal_points(n: usize, d: usize, seed: u64) -> Points {
    Points::standard_normal(n, d, &mut ChaCha8Rng::seed_from_u64(seed))
}

/// Held-out target points.
pub fn target_points(n: usize, seed: u64) -> Points {
    checkerboard(n, &mut ChaCha8Rng::seed_from_u64(seed))
}

/// Regression draws of `interpolant` over `pairs`, times U[t_min, 1 − t_min], uploaded to `device`.
pub fn source<P: PairSource>(
    interpolant: Interpolant,
    pairs: P,
    t_min: f64,
    device: Device,
) -> Result<Uploaded<InterpolantSource<P>>> {
    Ok(Uploaded::new(
        InterpolantSource::new(interpolant, pairs, TimeRange::new(t_min)?),
        device,
    ))
}
