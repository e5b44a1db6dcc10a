//! Route (b) to the Schrödinger bridge on DSBM's benchmark (docs/math.md §9): the paper's optimisation
//! over the interpolant (si-nn `methods::interpolant_opt`), learned over the independent coupling of
//! N(−0.1, I) and N(0.1, I) with σ = 1, at the training budget of route (a) (as many network updates as
//! its entropic-OT stage and rounds together), sampled by the same forward SDE, scored by the same errors.
//!
//! Two rows per dimension: the learned networks, and the learned *schedule* with its exact fields (si-analytic's
//! mixture fields of the optimised interpolant, sampled the same way): the second isolates the outer
//! optimisation from the networks' fit. The exact optimum over the same family (si-analytic
//! `interpolant_opt::optimise`) is the bridge itself (tested), so any gap in the second row is the
//! descent–ascent's, not the family's.

use anyhow::Result;
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::interpolant_opt::{implied_cross_covariance, DiagonalEnds};
use si_analytic::{GaussianBridge, GaussianMixture, MixtureFields};
use si_core::{PolySchedule, Sampler};
use si_nn::methods::interpolant_opt::{optimise_interpolant, InterpolantOptConfig};
use si_nn::{Activation, Head, ModelConfig};

use super::bridge::{
    errors, gaussian, simulate, simulate_field, summarise, BenchRow, BridgeSizes, Direction,
};

/// What route (b) learned for one seed.
pub struct RouteB {
    /// Errors [mean, variance, cross-covariance] of the learned networks' SDE.
    pub learned: [f64; 3],
    /// The same errors with the learned schedule's exact fields.
    pub schedule: [f64; 3],
    /// |Cov(X0, X1) implied by the learned schedule − the bridge's|, averaged over coordinates (the
    /// closed form of si-analytic, no sampling).
    pub implied: f64,
    /// The learned member of the family.
    pub member: PolySchedule,
    /// (step, action estimate) along the training.
    pub history: Vec<(usize, f64)>,
}

/// The descent–ascent's settings at `sizes`: its networks, batch and number of network updates are route
/// (a)'s (entropic-OT steps plus every round's); the learning rates and the number of coefficients are
/// si-nn's defaults, fixed before the benchmark ran (one pilot on seed 10 checked that it runs;
/// docs/results.md).
pub fn route_b_config(sizes: &BridgeSizes, seed: u64) -> InterpolantOptConfig {
    InterpolantOptConfig {
        steps: sizes.steps + sizes.rounds * sizes.round_steps,
        batch: sizes.batch,
        seed,
        ..InterpolantOptConfig::default()
    }
}

/// The exact fields of the interpolant `member` between the bridge's two Gaussians (over the independent
/// coupling).
fn member_fields(bridge: &GaussianBridge, member: &PolySchedule) -> Result<MixtureFields> {
    let gauss = |(m, c): (&nalgebra::DVector<f64>, &DMatrix<f64>)| {
        GaussianMixture::new(vec![1.0], vec![m.clone()], vec![c.clone()])
    };
    Ok(MixtureFields::new(
        gauss(bridge.start())?,
        gauss(bridge.end())?,
        member.interpolant()?,
    )?)
}

/// Learns route (b) for `bridge` (diagonal covariances) with seed `seed` and scores it.
pub fn learn_route_b(bridge: &GaussianBridge, sizes: &BridgeSizes, seed: u64) -> Result<RouteB> {
    learn_route_b_with(bridge, sizes, route_b_config(sizes, seed))
}

/// [`learn_route_b`] with explicit settings (their σ is replaced by the bridge's: the reference's noise
/// fixes ε = σ²/2 and the family's γ scale).
pub fn learn_route_b_with(
    bridge: &GaussianBridge,
    sizes: &BridgeSizes,
    cfg: InterpolantOptConfig,
) -> Result<RouteB> {
    let sigma = bridge.sigma();
    let d = bridge.dim();
    let seed = cfg.seed;
    let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1)?;
    let rho1 = gaussian(bridge.end().0.clone(), bridge.end().1)?;
    let mut m = ModelConfig::new(d);
    m.width = sizes.width;
    m.depth = sizes.depth;
    m.activation = Activation::Silu;
    m.heads = vec![Head::B, Head::S];
    let cfg = InterpolantOptConfig { sigma, ..cfg }.check()?;
    let opt = optimise_interpolant(&rho0, &rho1, m.check()?, &cfg, tch::Device::Cpu)?;
    let x0 = rho0.sample(sizes.eval, &mut ChaCha8Rng::seed_from_u64(8000 + seed))?;
    let x1 = simulate(
        &opt.net,
        sigma,
        &x0,
        Direction::Forward,
        sizes.sde_steps,
        9000 + seed,
        &mut [],
    )?;
    let learned = errors(bridge, &x0, &x1);
    // the learned schedule with its exact fields, the same sampler and the same X0
    let exact = member_fields(bridge, &opt.schedule)?;
    let x1e = simulate_field(
        &exact,
        sigma,
        x0.clone(),
        Direction::Forward,
        sizes.sde_steps,
        9000 + seed,
        &mut [],
    )?;
    let schedule = errors(bridge, &x0, &x1e);
    let ends = DiagonalEnds::of_bridge(bridge)?;
    let implied = implied_cross_covariance(&opt.schedule, &ends, sigma * sigma / 2.0)?;
    let implied = implied
        .iter()
        .enumerate()
        .map(|(k, c)| c - bridge.cross_covariance()[(k, k)])
        .sum::<f64>()
        .abs()
        / d as f64;
    Ok(RouteB {
        learned,
        schedule,
        implied,
        member: opt.schedule,
        history: opt.history,
    })
}

/// Route (b) on DSBM's benchmark in every dimension of `sizes`, over its seeds: the learned networks, the
/// learned schedule with its exact fields, and the schedule's implied cross-covariance (in the third
/// column of a row of its own; the other two are not defined for it).
pub fn benchmark_route_b(sizes: &BridgeSizes) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &d in &sizes.dims {
        let bridge = GaussianBridge::isotropic(d, -0.1, 1.0, 0.1, 1.0, 1.0)?;
        let (mut learned, mut schedule, mut implied) = (Vec::new(), Vec::new(), Vec::new());
        for &seed in &sizes.seeds {
            let r = learn_route_b(&bridge, sizes, seed)?;
            tracing::info!(
                d,
                seed,
                member = ?r.member.flat(),
                action = ?r.history.last(),
                "route (b) learned"
            );
            learned.push(r.learned);
            schedule.push(r.schedule);
            implied.push([f64::NAN, f64::NAN, r.implied]);
        }
        rows.extend(summarise(
            d,
            vec![
                ("route (b): learned b and s".into(), learned),
                (
                    "route (b): the learned schedule's exact fields".into(),
                    schedule,
                ),
                (
                    "route (b): the learned schedule's implied coupling (closed form)".into(),
                    implied,
                ),
            ],
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coupling a member of the family implies, √(v0 v1) exp(−ε ∫ dt/V) (si-analytic's closed form),
    /// against the SDE dX = (b + εs) dt + σ dW simulated with the member's exact mixture fields: a member
    /// away from the optimum, n = 40,000 pairs in d = 4, unequal ends. The coordinate-averaged empirical
    /// cross-covariance has a standard error of about √((v0 v1 + c²)/(n d)) ≈ 0.003, so five standard
    /// errors are 0.015; Euler–Maruyama's bias at 200 steps is O(h) = O(0.005) of the moments (0.0013 on the
    /// variance of the d = 50 bridge, docs/results.md), which the remaining 0.005 of the tolerance 0.02
    /// covers. The member itself is 0.09 from the bridge's coupling, and a wrong implied formula (a sign in
    /// the exponent, a missing √(v0 v1)) moves the value by more than 0.1.
    #[test]
    fn the_implied_coupling_is_the_simulated_one() {
        let bridge = GaussianBridge::isotropic(4, -0.3, 0.5, 0.4, 1.5, 0.8).unwrap();
        let member =
            PolySchedule::new(0.8, vec![0.3, -0.2], vec![-0.1, 0.2], vec![-1.0, 0.3]).unwrap();
        let fields = member_fields(&bridge, &member).unwrap();
        let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1).unwrap();
        let n = 40_000;
        let x0 = rho0.sample(n, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        let x1 = simulate_field(
            &fields,
            0.8,
            x0.clone(),
            Direction::Forward,
            200,
            5,
            &mut [],
        )
        .unwrap();
        let (m0, m1) = (x0.mean(), x1.mean());
        let cov = (0..4)
            .map(|k| {
                let (a, b) = (x0.matrix().row(k), x1.matrix().row(k));
                a.iter()
                    .zip(b.iter())
                    .map(|(u, v)| (u - m0[k]) * (v - m1[k]))
                    .sum::<f64>()
                    / (n as f64 - 1.0)
            })
            .sum::<f64>()
            / 4.0;
        let ends = DiagonalEnds::of_bridge(&bridge).unwrap();
        let want = implied_cross_covariance(&member, &ends, 0.32).unwrap()[0];
        assert!((cov - want).abs() < 0.02, "simulated {cov}, implied {want}");
        // and the member is not the bridge: the comparison can tell them apart
        assert!(
            (want - bridge.cross_covariance()[(0, 0)]).abs() > 0.04,
            "{want} against {}",
            bridge.cross_covariance()[(0, 0)]
        );
    }
}
