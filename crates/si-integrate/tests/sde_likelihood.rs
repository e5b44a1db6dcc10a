//! The SDE log-likelihood estimator against the exact log ρ1 of Gaussian mixtures (docs/math.md §3.1):
//! the path average converges to it, the stochastic integral keeps the mean and removes the spread, the
//! per-path error vanishes with the step, ε = 0 is the ODE likelihood, bad input is a typed error.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant, Points};
use si_integrate::{sde_log_likelihood, Diffusion, IntegrateError, SdeLogLikelihood, TimeGrid};

fn estimate(
    r0: &GaussianMixture,
    f: &MixtureFields,
    x: &Points,
    eps: f64,
    steps: usize,
    paths: usize,
    seed: u64,
) -> SdeLogLikelihood {
    sde_log_likelihood(
        f,
        x,
        &TimeGrid::uniform(1.0, 0.0, steps).unwrap(),
        &Diffusion::constant(eps).unwrap(),
        paths,
        &mut ChaCha8Rng::seed_from_u64(seed),
        |p| Ok(r0.log_density(p)?),
    )
    .unwrap()
}

fn fields(r0: &GaussianMixture, r1: &GaussianMixture) -> MixtureFields {
    MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap()
}

/// The time-discretisation bias allowed at 500 steps (measured: ≤ 0.01 nats at ε = 0.5, decreasing as
/// O(h); `examples/sde_likelihood_table.rs` prints it).
const BIAS: f64 = 0.03;

#[test]
fn path_average_matches_exact_log_density() {
    for (r0, r1) in [common::pair_1d(), common::pair_2d()] {
        let f = fields(&r0, &r1);
        let x = r1.sample(16, &mut ChaCha8Rng::seed_from_u64(2));
        let exact = r1.log_density(&x).unwrap();
        let est = estimate(&r0, &f, &x, 0.5, 500, 24, 3);
        let (m, se) = (est.mean(), est.std_error());
        let mut bias = 0.0;
        for i in 0..exact.len() {
            // 5 standard errors: a false alarm rate below 1e-6 per point
            assert!(
                (m[i] - exact[i]).abs() < 5.0 * se[i] + BIAS,
                "d = {}, point {i}: {} vs exact {} (se {})",
                r0.dim(),
                m[i],
                exact[i],
                se[i]
            );
            bias += (m[i] - exact[i]) / exact.len() as f64;
        }
        assert!(bias.abs() < BIAS, "d = {}: mean bias {bias}", r0.dim());
    }
}

#[test]
fn the_stochastic_integral_keeps_the_mean_and_removes_the_spread() {
    let (r0, r1) = common::pair_2d();
    let f = fields(&r0, &r1);
    let x = r1.sample(8, &mut ChaCha8Rng::seed_from_u64(5));
    let exact = r1.log_density(&x).unwrap();
    let est = estimate(&r0, &f, &x, 0.5, 500, 40, 6);
    let (m0, s0, s) = (est.drift_only_mean(), est.drift_only_spread(), est.spread());
    for i in 0..exact.len() {
        let se0 = s0[i] / (est.paths() as f64).sqrt();
        assert!(
            (m0[i] - exact[i]).abs() < 5.0 * se0 + BIAS,
            "point {i}: drift-only mean {} vs exact {} (se {se0})",
            m0[i],
            exact[i]
        );
        // without the stochastic integral the spread is that of log ρ0(Y_0) along the paths (about 2
        // nats here); with it, only the discretisation's (about 0.1)
        assert!(
            s0[i] > 5.0 * s[i],
            "point {i}: spread {} vs {}",
            s0[i],
            s[i]
        );
    }
}

#[test]
fn the_per_path_error_vanishes_with_the_step() {
    // Euler–Maruyama converges strongly at order ½: four times the steps halves the per-path error
    let (r0, r1) = common::pair_1d();
    let f = fields(&r0, &r1);
    let x = r1.sample(6, &mut ChaCha8Rng::seed_from_u64(7));
    let exact = r1.log_density(&x).unwrap();
    let rms = |steps: usize| {
        let est = estimate(&r0, &f, &x, 1.0, steps, 30, 8);
        let mut ss = 0.0;
        let mut k = 0.0;
        for path in &est.estimates {
            for (a, b) in path.iter().zip(&exact) {
                ss += (a - b).powi(2);
                k += 1.0;
            }
        }
        (ss / k).sqrt()
    };
    let (coarse, fine) = (rms(200), rms(1600));
    assert!(
        fine < 0.5 * coarse && fine < 0.1,
        "per-path rms error {coarse} at 200 steps, {fine} at 1600"
    );
}

#[test]
fn eps_zero_is_the_ode_likelihood() {
    let (r0, r1) = common::pair_2d();
    let f = fields(&r0, &r1);
    let x = r1.sample(10, &mut ChaCha8Rng::seed_from_u64(9));
    let exact = r1.log_density(&x).unwrap();
    let est = estimate(&r0, &f, &x, 0.0, 2000, 3, 10);
    for path in &est.estimates {
        assert_eq!(path, &est.estimates[0]);
    }
    assert_eq!(est.estimates, est.drift_only);
    for (a, b) in est.estimates[0].iter().zip(&exact) {
        assert!((a - b).abs() < 5e-3, "{a} vs exact {b}");
    }
}

#[test]
fn summaries_of_the_paths() {
    let est = |v: &[f64]| SdeLogLikelihood {
        estimates: v.iter().map(|x| vec![*x]).collect(),
        drift_only: v.iter().map(|x| vec![2.0 * x]).collect(),
    };
    let a = est(&[1.0, 3.0]);
    assert_eq!(a.paths(), 2);
    assert_eq!(a.mean(), vec![2.0]);
    assert!((a.spread()[0] - 2f64.sqrt()).abs() < 1e-15);
    assert!((a.std_error()[0] - 1.0).abs() < 1e-15);
    assert_eq!(a.drift_only_mean(), vec![4.0]);
    assert!((a.drift_only_spread()[0] - 8f64.sqrt()).abs() < 1e-15);
    let b = est(&[1.0, 2.0, 3.0]);
    assert!((b.spread()[0] - 1.0).abs() < 1e-15);
    let c = est(&[0.0, 2.0, 0.0, 2.0]);
    assert!((c.std_error()[0] - (4.0f64 / 3.0).sqrt() / 2.0).abs() < 1e-15);
    // one path: no spread to estimate
    assert_eq!(est(&[5.0]).spread(), vec![0.0]);
    assert_eq!(est(&[5.0]).std_error(), vec![0.0]);
    // the estimator reports the paths it ran
    let (r0, r1) = common::pair_1d();
    let x = r1.sample(3, &mut ChaCha8Rng::seed_from_u64(1));
    assert_eq!(
        estimate(&r0, &fields(&r0, &r1), &x, 0.5, 10, 24, 2).paths(),
        24
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let (r0, r1) = common::pair_1d();
    let f = fields(&r0, &r1);
    let x = r1.sample(2, &mut rand::rng());
    let eps = Diffusion::constant(0.5).unwrap();
    let base = |p: &Points| Ok(r0.log_density(p)?);
    let forward = TimeGrid::uniform(0.0, 1.0, 10).unwrap();
    let r = sde_log_likelihood(&f, &x, &forward, &eps, 2, &mut rand::rng(), base);
    assert!(matches!(r, Err(IntegrateError::LikelihoodGrid { .. })));
    for (from, to) in [(1.0, 0.5), (0.5, 0.0)] {
        let part = TimeGrid::uniform(from, to, 10).unwrap();
        let r = sde_log_likelihood(&f, &x, &part, &eps, 2, &mut rand::rng(), base);
        assert!(matches!(r, Err(IntegrateError::LikelihoodGrid { .. })));
    }
    let back = TimeGrid::uniform(1.0, 0.0, 10).unwrap();
    let r = sde_log_likelihood(&f, &x, &back, &eps, 0, &mut rand::rng(), base);
    assert!(matches!(r, Err(IntegrateError::InvalidSolver(_))));
    let wrong = Points::zeros(2, 3);
    assert!(sde_log_likelihood(&f, &wrong, &back, &eps, 1, &mut rand::rng(), base).is_err());
    let negative = Diffusion::function("-1", |_| -1.0);
    let r = sde_log_likelihood(&f, &x, &back, &negative, 1, &mut rand::rng(), base);
    assert!(matches!(r, Err(IntegrateError::InvalidDiffusion { .. })));
}

/// A field whose score is infinite at t = 1 (as s = −η/α of a one-sided interpolant is at its data end),
/// the exact mixture field elsewhere.
struct InfiniteScoreAtOne(MixtureFields);

impl si_core::Field<Points> for InfiniteScoreAtOne {
    fn dim(&self) -> usize {
        si_core::Field::<Points>::dim(&self.0)
    }
    fn velocity(&self, t: f64, x: &Points) -> si_core::Result<Points> {
        self.0.velocity(t, x)
    }
    fn drift_terms(
        &self,
        t: f64,
        x: &Points,
        c: f64,
    ) -> si_core::Result<si_core::DriftTerms<Points>> {
        let mut terms = self.0.drift_terms(t, x, c)?;
        if t == 1.0 {
            for v in terms.s.as_mut_slice() {
                *v = f64::INFINITY;
            }
        }
        Ok(terms)
    }
}

/// Where ε(t) = 0 the score is not used: with ε(t) = ε₀ (1 − t)², which vanishes at t = 1 where this
/// field's score is infinite, every estimate is finite and the path average still matches the exact
/// log ρ1 (5 standard errors plus the discretisation bias).
#[test]
fn a_score_infinite_where_the_diffusion_vanishes_is_not_used() {
    let (r0, r1) = common::pair_1d();
    let f = InfiniteScoreAtOne(fields(&r0, &r1));
    let x = r1.sample(8, &mut ChaCha8Rng::seed_from_u64(7));
    let exact = r1.log_density(&x).unwrap();
    let est = sde_log_likelihood(
        &f,
        &x,
        &TimeGrid::uniform(1.0, 0.0, 500).unwrap(),
        &Diffusion::function("0.5 (1 - t)^2", |t| 0.5 * (1.0 - t).powi(2)),
        24,
        &mut ChaCha8Rng::seed_from_u64(8),
        |p| Ok(r0.log_density(p)?),
    )
    .unwrap();
    let (m, se) = (est.mean(), est.std_error());
    for i in 0..exact.len() {
        assert!(m[i].is_finite(), "point {i}: {}", m[i]);
        assert!(
            (m[i] - exact[i]).abs() < 5.0 * se[i] + BIAS,
            "point {i}: {} vs exact {} (se {})",
            m[i],
            exact[i],
            se[i]
        );
    }
}
