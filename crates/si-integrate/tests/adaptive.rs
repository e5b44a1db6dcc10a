//! Dormand–Prince 5(4) against the exact 1-D flow map (the monotone rearrangement of the interpolant's
//! marginals) and the exact log-density: measured order 5, error against tolerance, step counts, exact
//! landing on the requested times, the ODE likelihood through it, typed errors.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, ErrorNorm, Gamma, Interpolant, Points};
use si_integrate::{
    integrate, AdaptiveConfig, DormandPrince, Heun, IntegrateError, Observer, TimeGrid,
};

/// ρ0 = N(0, 1), ρ1 = 0.4 N(−2, 0.5) + 0.6 N(3, 0.8) (variances).
fn ends() -> (GaussianMixture, GaussianMixture) {
    (
        GaussianMixture::univariate(&[(1.0, 0.0, 1.0)]).unwrap(),
        GaussianMixture::univariate(&[(0.4, -2.0, 0.5), (0.6, 3.0, 0.8)]).unwrap(),
    )
}

/// The marginal ρ_t of x_t = (1 − t) x0 + t x1 + γ(t) z for the ends above: every pair of components gives
/// N((1 − t) m0 + t m1, (1 − t)² v0 + t² v1 + γ(t)²).
fn marginal(t: f64, gamma: &Gamma) -> GaussianMixture {
    let comps: Vec<(f64, f64, f64)> = [(0.4, -2.0, 0.5), (0.6, 3.0, 0.8)]
        .iter()
        .map(|&(w, m, v)| {
            let var = (1.0 - t).powi(2) + t * t * v + gamma.gamma(t).powi(2);
            (w, t * m, var)
        })
        .collect();
    GaussianMixture::univariate(&comps).unwrap()
}

/// The exact flow map x0 ↦ X_t in 1-D: F_t⁻¹(F_0(x0)) (the probability flow is monotone), inverted by
/// bisection to round-off.
fn flow_map(x0: f64, t: f64, gamma: &Gamma) -> f64 {
    let p = marginal(0.0, gamma).cdf_1d(x0).unwrap();
    let rt = marginal(t, gamma);
    let (mut lo, mut hi) = (-60.0, 60.0);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if rt.cdf_1d(mid).unwrap() < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

fn fields(gamma: Gamma) -> MixtureFields {
    let (r0, r1) = ends();
    MixtureFields::new(r0, r1, Interpolant::linear(gamma).unwrap()).unwrap()
}

fn starts() -> Points {
    Points::from_row_major(9, 1, &[-2.2, -1.5, -0.9, -0.3, 0.0, 0.4, 1.0, 1.6, 2.2]).unwrap()
}

fn max_err_to_map(x: &Points, t: f64, gamma: &Gamma) -> f64 {
    starts()
        .as_slice()
        .iter()
        .zip(x.as_slice())
        .map(|(x0, x1)| (x1 - flow_map(*x0, t, gamma)).abs())
        .fold(0.0, f64::max)
}

#[test]
fn the_exact_flow_map_oracle_transports_the_marginals() {
    // the oracle itself: F_t(X_t) = F_0(x0), and X_1 lands where ρ1 puts the same mass
    let g = Gamma::brownian();
    let x1 = flow_map(0.5, 1.0, &g);
    let p0 = marginal(0.0, &g).cdf_1d(0.5).unwrap();
    assert!((ends().1.cdf_1d(x1).unwrap() - p0).abs() < 1e-14);
    // and its marginals are the exact fields' at intermediate times
    let f = fields(g.clone());
    for t in [0.2, 0.5, 0.8] {
        let (m, c) = f.moments(t).unwrap();
        let r = marginal(t, &g);
        assert!((r.mean()[0] - m[0]).abs() < 1e-12);
        assert!((r.covariance()[(0, 0)] - c[(0, 0)]).abs() < 1e-12);
    }
}

#[test]
fn fixed_steps_converge_at_order_five() {
    for gamma in [Gamma::Zero, Gamma::brownian()] {
        let f = fields(gamma.clone());
        let errs: Vec<f64> = [8, 16, 32, 64]
            .iter()
            .map(|&n| {
                let grid = TimeGrid::uniform(0.0, 1.0, n).unwrap();
                let x = integrate(
                    &DormandPrince::new(),
                    &f,
                    starts(),
                    &grid,
                    &mut rand::rng(),
                    &mut [],
                )
                .unwrap();
                max_err_to_map(&x, 1.0, &gamma)
            })
            .collect();
        let orders: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        let last = orders[orders.len() - 1];
        assert!(
            (4.5..6.0).contains(&last),
            "{}: errors {errs:?}, orders {orders:?}",
            gamma.name()
        );
    }
}

#[test]
fn the_error_follows_the_tolerance() {
    let gamma = Gamma::brownian();
    let f = fields(gamma.clone());
    let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    let mut last_steps = 0;
    let mut last_err = f64::INFINITY;
    for tol in [1e-3, 1e-5, 1e-7, 1e-9] {
        let solver = AdaptiveConfig::tolerance(tol).check().unwrap();
        let (x, stats) = solver.solve(&f, starts(), &grid, &mut []).unwrap();
        let err = max_err_to_map(&x, 1.0, &gamma);
        println!(
            "tol {tol:.0e}: max error {err:.2e}, {} accepted, {} rejected, {} evaluations",
            stats.accepted, stats.rejected, stats.evaluations
        );
        // the global error stays within a small multiple of the tolerance (the coordinates are O(1))
        assert!(err < 10.0 * tol, "tol {tol}: error {err}");
        assert!(err < last_err, "tol {tol}: error {err} after {last_err}");
        assert!(stats.accepted >= last_steps);
        assert_eq!(stats.evaluations, 2 + 6 * (stats.accepted + stats.rejected));
        last_steps = stats.accepted;
        last_err = err;
    }
    // steps grow like tol^(−1/5): 10⁶ in tolerance is about 16× in steps, far from 10⁶
    assert!(last_steps < 200, "{last_steps} steps at 1e-9");
}

#[test]
fn fewer_evaluations_than_heun_at_equal_accuracy() {
    let gamma = Gamma::brownian();
    let f = fields(gamma.clone());
    let solver = AdaptiveConfig::tolerance(1e-6).check().unwrap();
    let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    let (x, stats) = solver.solve(&f, starts(), &grid, &mut []).unwrap();
    let err = max_err_to_map(&x, 1.0, &gamma);
    // Heun needs as many steps as it takes to reach the same error
    let mut heun_evals = 0;
    for n in (1..).map(|k| 16usize << k) {
        let hx = integrate(
            &Heun,
            &f,
            starts(),
            &TimeGrid::uniform(0.0, 1.0, n).unwrap(),
            &mut rand::rng(),
            &mut [],
        )
        .unwrap();
        if max_err_to_map(&hx, 1.0, &gamma) <= err {
            heun_evals = 2 * n;
            break;
        }
    }
    println!(
        "error {err:.2e}: Dormand-Prince {} evaluations, Heun {heun_evals}",
        stats.evaluations
    );
    assert!(stats.evaluations * 4 < heun_evals);
}

/// Records the times the solver reports at.
struct Times(Vec<f64>, Vec<Points>);
impl Observer<Points> for Times {
    fn step(&mut self, _k: usize, t: f64, x: &Points) -> si_integrate::Result<()> {
        self.0.push(t);
        self.1.push(x.clone());
        Ok(())
    }
}

#[test]
fn lands_on_every_requested_time_in_both_directions() {
    let gamma = Gamma::Zero;
    let f = fields(gamma.clone());
    let solver = AdaptiveConfig::tolerance(1e-9).check().unwrap();
    let times = vec![0.0, 0.1, 0.33, 0.5, 0.9, 1.0];
    let grid = TimeGrid::from_times(times.clone()).unwrap();
    let mut obs = Times(Vec::new(), Vec::new());
    let (x1, stats) = solver.solve(&f, starts(), &grid, &mut [&mut obs]).unwrap();
    assert_eq!(obs.0, times[1..].to_vec());
    // landing shortens at most one step per output time and keeps the controller's proposal: about as
    // many attempts as one interval takes, plus one per output time
    let (_, one) = solver
        .solve(
            &f,
            starts(),
            &TimeGrid::uniform(0.0, 1.0, 1).unwrap(),
            &mut [],
        )
        .unwrap();
    println!("six output times: {stats:?}; one: {one:?}");
    assert!(stats.rejected <= one.rejected + 3, "{stats:?} vs {one:?}");
    assert!(stats.accepted <= one.accepted + 5, "{stats:?} vs {one:?}");
    for (t, x) in obs.0.iter().zip(&obs.1) {
        let e = max_err_to_map(x, *t, &gamma);
        assert!(e < 1e-7, "t = {t}: {e}");
    }
    // and back: from X_1 to X_0 returns the starting points
    let back = TimeGrid::from_times(times.into_iter().rev().collect()).unwrap();
    let (x0, _) = solver.solve(&f, x1, &back, &mut []).unwrap();
    for (a, b) in x0.as_slice().iter().zip(starts().as_slice()) {
        assert!((a - b).abs() < 1e-7, "{a} vs {b}");
    }
}

#[test]
fn ode_log_likelihood_through_dormand_prince_matches_exact_log_density() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for it in [
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Zero).unwrap(),
    ] {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        let x = r1.sample(30, &mut rng);
        let exact = r1.log_density(&x).unwrap();
        let solver = AdaptiveConfig::tolerance(1e-8).check().unwrap();
        let (ll, stats) = solver
            .log_likelihood(&f, &x, |p| Ok(r0.log_density(p)?))
            .unwrap();
        let worst = ll
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        println!(
            "{}: max |log-likelihood error| {worst:.2e} in {} steps",
            f.interpolant().name(),
            stats.accepted
        );
        assert!(worst < 1e-5, "{}: {worst}", f.interpolant().name());
    }
}

#[test]
fn worst_point_control_keeps_every_point_within_the_tolerance() {
    // 200 points share the steps: the batch RMS lets the hardest points drift far beyond the tolerance
    let (r0, r1) = common::pair_2d();
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let x = r1.sample(200, &mut ChaCha8Rng::seed_from_u64(1));
    let exact = r1.log_density(&x).unwrap();
    let tol = 1e-5;
    let run = |norm| {
        let solver = AdaptiveConfig {
            norm,
            ..AdaptiveConfig::tolerance(tol)
        }
        .check()
        .unwrap();
        let (ll, stats) = solver
            .log_likelihood(&f, &x, |p| Ok(r0.log_density(p)?))
            .unwrap();
        let worst = ll
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        (worst, stats.accepted)
    };
    let (worst_rms, steps_rms) = run(ErrorNorm::Rms);
    let (worst_pt, steps_pt) = run(ErrorNorm::WorstPoint);
    println!("tol {tol:.0e}: RMS control {worst_rms:.2e} in {steps_rms} steps, worst-point control {worst_pt:.2e} in {steps_pt}");
    assert!(worst_pt < 30.0 * tol, "worst-point control: {worst_pt}");
    assert!(worst_rms > 10.0 * worst_pt && steps_rms < steps_pt);
}

#[test]
fn settings_and_failures_are_typed_errors() {
    for cfg in [
        AdaptiveConfig {
            rtol: 0.0,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            atol: f64::NAN,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            first_step: Some(-0.1),
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            fac_max: 1.0,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            fac_min: 1.0,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            max_steps: 0,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            atol: 0.0,
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            first_step: Some(0.0),
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            first_step: Some(2.0),
            ..AdaptiveConfig::default()
        },
        AdaptiveConfig {
            fac_min: 0.0,
            ..AdaptiveConfig::default()
        },
    ] {
        assert!(
            matches!(cfg.check(), Err(IntegrateError::InvalidSolver(_))),
            "{cfg:?}"
        );
    }
    // a valid first step is used as given: the solve succeeds and is as accurate
    let given = AdaptiveConfig {
        first_step: Some(0.1),
        ..AdaptiveConfig::tolerance(1e-7)
    }
    .check()
    .unwrap();
    let gamma = Gamma::brownian();
    let span = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    let (x, stats) = given
        .solve(&fields(gamma.clone()), starts(), &span, &mut [])
        .unwrap();
    assert!(max_err_to_map(&x, 1.0, &gamma) < 1e-6);
    // no evaluation for the starting-step heuristic: 1 + 6 per attempt + the FSAL
    assert_eq!(stats.evaluations, 1 + 6 * (stats.accepted + stats.rejected));
    // max_steps counts rejected attempts too
    let tight = AdaptiveConfig::tolerance(1e-7).check().unwrap();
    let (_, st) = tight
        .solve(&fields(gamma.clone()), starts(), &span, &mut [])
        .unwrap();
    assert!(st.rejected > 0, "{st:?}");
    let budget = st.accepted + st.rejected;
    let cap = |max_steps| {
        AdaptiveConfig {
            max_steps,
            ..AdaptiveConfig::tolerance(1e-7)
        }
        .check()
        .unwrap()
        .solve(&fields(gamma.clone()), starts(), &span, &mut [])
    };
    assert!(cap(budget).is_ok());
    assert!(matches!(
        cap(budget - 1),
        Err(IntegrateError::TooManySteps { .. })
    ));
    let f = fields(Gamma::Zero);
    let solver = AdaptiveConfig {
        max_steps: 3,
        ..AdaptiveConfig::tolerance(1e-10)
    }
    .check()
    .unwrap();
    let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    let r = solver.solve(&f, starts(), &grid, &mut []);
    assert!(matches!(
        r,
        Err(IntegrateError::TooManySteps { steps: 3, .. })
    ));
    let wrong_dim = Points::zeros(3, 2);
    assert!(DormandPrince::new()
        .solve(&f, wrong_dim, &grid, &mut [])
        .is_err());
}

/// b = −x with a divergence that turns NaN after t = 0.5 (backward from 1): the likelihood must fail,
/// not return NaN.
struct NanDivergence;
impl si_core::Field<Points> for NanDivergence {
    fn dim(&self) -> usize {
        1
    }
    fn velocity(&self, _t: f64, x: &Points) -> si_core::Result<Points> {
        Ok(Points::from_matrix_unchecked(-x.matrix()))
    }
    fn divergence(&self, t: f64, x: &Points) -> si_core::Result<nalgebra::DVector<f64>> {
        let v = if t < 0.5 { f64::NAN } else { -1.0 };
        Ok(nalgebra::DVector::from_element(x.len(), v))
    }
}

#[test]
fn a_non_finite_field_is_an_error_not_a_nan_result() {
    let x = Points::from_row_major(2, 1, &[0.3, -0.4]).unwrap();
    for norm in [ErrorNorm::Rms, ErrorNorm::WorstPoint] {
        let solver = AdaptiveConfig {
            norm,
            ..AdaptiveConfig::default()
        }
        .check()
        .unwrap();
        let r = solver.log_likelihood(&NanDivergence, &x, |p| Ok(vec![0.0; p.len()]));
        assert!(
            matches!(r, Err(IntegrateError::StepSizeUnderflow { .. })),
            "{norm:?}: {r:?}"
        );
    }
}

#[test]
fn error_norm_is_the_scaled_rms() {
    let e = Points::from_row_major(2, 1, &[1e-3, -2e-3]).unwrap();
    let y0 = Points::from_row_major(2, 1, &[1.0, -3.0]).unwrap();
    let y1 = Points::from_row_major(2, 1, &[2.0, 1.0]).unwrap();
    // scales: 1e-3 + 1e-3·2 = 3e-3 and 1e-3 + 1e-3·3 = 4e-3 → ratios 1/3 and −1/2
    let n = Points::error_norm(&e, &y0, &y1, 1e-3, 1e-3, ErrorNorm::Rms).unwrap();
    let want = ((1.0 / 9.0 + 0.25) / 2.0f64).sqrt();
    assert!((n - want).abs() < 1e-15, "{n} vs {want}");
    // the worst point: the second, |−1/2|
    let w = Points::error_norm(&e, &y0, &y1, 1e-3, 1e-3, ErrorNorm::WorstPoint).unwrap();
    assert!((w - 0.5).abs() < 1e-15, "{w}");
    // in 2-D the per-point RMS is over the point's coordinates: points (3, 4)·1e-3 and (0, 0) at scale 1e-3
    let e2 = Points::from_row_major(2, 2, &[3e-3, 4e-3, 0.0, 0.0]).unwrap();
    let z = Points::zeros(2, 2);
    let w2 = Points::error_norm(&e2, &z, &z, 1e-3, 0.0, ErrorNorm::WorstPoint).unwrap();
    assert!((w2 - (12.5f64).sqrt()).abs() < 1e-12, "{w2}");
    let r2 = Points::error_norm(&e2, &z, &z, 1e-3, 0.0, ErrorNorm::Rms).unwrap();
    assert!((r2 - (25.0f64 / 4.0).sqrt()).abs() < 1e-12, "{r2}");
    // per-point values: one coordinate per point
    let (re, ra, rb) = (
        nalgebra::DVector::from_vec(vec![1e-3, -2e-3]),
        nalgebra::DVector::from_vec(vec![1.0, -3.0]),
        nalgebra::DVector::from_vec(vec![2.0, 1.0]),
    );
    let rr = Points::rows_error_norm(&re, &ra, &rb, 1e-3, 1e-3, ErrorNorm::Rms).unwrap();
    assert!((rr - want).abs() < 1e-15, "{rr}");
    let rw = Points::rows_error_norm(&re, &ra, &rb, 1e-3, 1e-3, ErrorNorm::WorstPoint).unwrap();
    assert!((rw - 0.5).abs() < 1e-15, "{rw}");
    // mismatched or ragged slices are errors, never a panic
    use si_core::scaled_norm;
    let n = ErrorNorm::Rms;
    assert!(scaled_norm(&[0.0; 2], &[0.0; 3], &[0.0; 2], 1, 1.0, 1.0, n).is_err());
    assert!(scaled_norm(&[0.0; 2], &[0.0; 2], &[0.0; 3], 1, 1.0, 1.0, n).is_err());
    assert!(scaled_norm(&[0.0; 3], &[0.0; 3], &[0.0; 3], 2, 1.0, 1.0, n).is_err());
    assert!(scaled_norm(&[0.0; 3], &[0.0; 3], &[0.0; 3], 0, 1.0, 1.0, n).is_err());
    assert_eq!(scaled_norm(&[], &[], &[], 1, 1.0, 1.0, n).unwrap(), 0.0);
    // a NaN is never accepted
    let nan = Points::from_matrix_unchecked(nalgebra::DMatrix::from_element(2, 2, f64::NAN));
    assert!(
        Points::error_norm(&nan, &z, &z, 1e-3, 0.0, ErrorNorm::WorstPoint)
            .unwrap()
            .is_nan()
    );
    let dots = Points::rows_dot(&y0, &y1).unwrap();
    assert_eq!(dots.as_slice(), &[2.0, -3.0]);
}
