//! Route (b) to the Schrödinger bridge, optimising over the interpolant (docs/math.md §9), solved exactly
//! for Gaussian ends: the optimum's marginals and the coupling its SDE implies against the closed form of
//! Bunne et al. (`GaussianBridge`, itself tested against Sinkhorn in tests/bridge.rs); the action's closed
//! form against a Monte Carlo estimate from the exact mixture fields of the same interpolant; the ε → 0
//! limit against the optimal-transport (displacement) interpolation.

use nalgebra::{dmatrix, dvector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::interpolant_opt::{
    action, implied_cross_covariance, marginal_variance, optimise, DiagonalEnds,
};
use si_analytic::{GaussianBridge, GaussianMixture, MixtureFields};
use si_core::{Batch, Points, PolySchedule};

/// A member away from the optimum, with every kind of coefficient non-zero.
fn start(sigma: f64) -> PolySchedule {
    PolySchedule::new(sigma, vec![0.2, -0.1], vec![-0.3, 0.2], vec![0.1, 0.3]).unwrap()
}

/// The optimum agrees with the closed form to 1e-5 (the action is flat to second order at its minimum, so
/// the variances are as exact as the square root of its rounding allows; the Brownian bridge over the
/// independent coupling is 0.05 off).
fn check_against_closed_form(bridge: &GaussianBridge) {
    let ends = DiagonalEnds::of_bridge(bridge).unwrap();
    let eps = bridge.sigma().powi(2) / 2.0;
    let opt = optimise(&start(bridge.sigma()), &ends, eps, 1e-7, 500).unwrap();
    assert!(opt.gradient < 1e-7, "not converged: {opt:?}");
    assert!(opt.action < opt.start_action);
    for &t in &[0.1, 0.25, 0.5, 0.7, 0.95] {
        let v = marginal_variance(&opt.schedule, &ends, t);
        let (_, cov) = bridge.marginal(t).unwrap();
        for (k, vk) in v.iter().enumerate() {
            assert!(
                (vk - cov[(k, k)]).abs() < 1e-5,
                "t = {t}, k = {k}: optimum {vk}, bridge {}",
                cov[(k, k)]
            );
        }
    }
    let c = implied_cross_covariance(&opt.schedule, &ends, eps).unwrap();
    for (k, ck) in c.iter().enumerate() {
        let want = bridge.cross_covariance()[(k, k)];
        assert!((ck - want).abs() < 1e-5, "k = {k}: {ck} against {want}");
    }
}

/// DSBM's benchmark, N(−0.1, I) to N(0.1, I) with σ = 1: the optimum's SDE couples the ends with
/// (√5 − 1)/2 per coordinate.
#[test]
fn the_optimised_interpolant_is_the_benchmark_bridge() {
    let bridge = GaussianBridge::isotropic(3, -0.1, 1.0, 0.1, 1.0, 1.0).unwrap();
    check_against_closed_form(&bridge);
    // and the Brownian bridge over the independent coupling is not it
    let ends = DiagonalEnds::of_bridge(&bridge).unwrap();
    let bb =
        implied_cross_covariance(&PolySchedule::brownian(1.0, 2).unwrap(), &ends, 0.5).unwrap();
    assert!((bb[0] - (5f64.sqrt() - 1.0) / 2.0).abs() > 0.05, "{bb:?}");
}

/// Unequal means and variances in 1-D, and another σ.
#[test]
fn the_optimised_interpolant_is_the_bridge_between_unequal_gaussians() {
    let bridge = GaussianBridge::new(
        dvector![0.3],
        dmatrix![0.5],
        dvector![2.0],
        dmatrix![2.0],
        0.7,
    )
    .unwrap();
    check_against_closed_form(&bridge);
}

/// As ε → 0 the action is the Benamou–Brenier kinetic energy and its minimum is the displacement
/// interpolation between the Gaussians: V(t) = ((1 − t)√v0 + t√v1)², perfect correlation, and the
/// minimum is the squared 2-Wasserstein distance (m1 − m0)² + (√v1 − √v0)².
#[test]
fn without_noise_the_optimum_is_optimal_transport() {
    let ends = DiagonalEnds::new(vec![0.3], vec![0.5], vec![2.0], vec![2.0]).unwrap();
    let opt = optimise(&start(1.0), &ends, 0.0, 1e-9, 500).unwrap();
    let w2 = (2.0f64 - 0.3).powi(2) + (2f64.sqrt() - 0.5f64.sqrt()).powi(2);
    assert!(
        (opt.action - w2).abs() < 1e-8,
        "{} against {w2}",
        opt.action
    );
    for &t in &[0.2, 0.5, 0.8] {
        let want = ((1.0 - t) * 0.5f64.sqrt() + t * 2f64.sqrt()).powi(2);
        assert!((marginal_variance(&opt.schedule, &ends, t)[0] - want).abs() < 1e-5);
    }
    let c = implied_cross_covariance(&opt.schedule, &ends, 0.0).unwrap();
    assert!((c[0] - 1.0).abs() < 1e-12);
}

/// The closed-form action against E[|b|² + ε²|s|²] at exact samples of ρ_t with b and s from the exact
/// mixture fields of the same interpolant (si-core's `PolySchedule::interpolant`), integrated in t by the
/// midpoint rule. The Monte Carlo standard error sets the tolerance (5 s.e.: a false alarm about once in
/// 3.5 million runs).
#[test]
fn the_action_is_the_kinetic_energy_plus_the_fisher_information() {
    let s = start(0.9);
    let ends = DiagonalEnds::new(
        vec![-0.4, 0.2],
        vec![0.8, 1.5],
        vec![0.5, -1.0],
        vec![1.2, 0.6],
    )
    .unwrap();
    let eps = 0.3;
    let rho0 = GaussianMixture::new(
        vec![1.0],
        vec![dvector![-0.4, 0.2]],
        vec![dmatrix![0.8, 0.0; 0.0, 1.5]],
    )
    .unwrap();
    let rho1 = GaussianMixture::new(
        vec![1.0],
        vec![dvector![0.5, -1.0]],
        vec![dmatrix![1.2, 0.0; 0.0, 0.6]],
    )
    .unwrap();
    let fields = MixtureFields::new(rho0, rho1, s.interpolant().unwrap()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (nt, n) = (200, 400);
    let (mut sum, mut sum2) = (0.0, 0.0);
    for i in 0..nt {
        let t = (i as f64 + 0.5) / nt as f64;
        let x: Points = fields.sample(t, n, &mut rng).unwrap();
        let v = fields.evaluate(t, &x, false).unwrap();
        for j in 0..n {
            let b = v.b.matrix().column(j).norm_squared();
            let sc = v.s.matrix().column(j).norm_squared();
            let e = b + eps * eps * sc;
            sum += e;
            sum2 += e * e;
        }
        let _ = x.len();
    }
    let m = (nt * n) as f64;
    let mean = sum / m;
    let se = ((sum2 / m - mean * mean) / m).sqrt();
    let exact = action(&s, &ends, eps).unwrap();
    assert!(
        (mean - exact).abs() < 5.0 * se + 1e-4,
        "Monte Carlo {mean} ± {se} against {exact}"
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(DiagonalEnds::new(vec![], vec![], vec![], vec![]).is_err());
    assert!(DiagonalEnds::new(vec![0.0], vec![0.0], vec![0.0], vec![1.0]).is_err());
    assert!(DiagonalEnds::new(vec![0.0], vec![1.0], vec![f64::NAN], vec![1.0]).is_err());
    let ends = DiagonalEnds::new(vec![0.0], vec![1.0], vec![0.0], vec![1.0]).unwrap();
    assert!(action(&start(1.0), &ends, -1.0).is_err());
    let full = GaussianBridge::new(
        dvector![0.0, 0.0],
        dmatrix![1.0, 0.3; 0.3, 1.0],
        dvector![0.0, 0.0],
        dmatrix![1.0, 0.0; 0.0, 1.0],
        1.0,
    )
    .unwrap();
    assert!(matches!(
        DiagonalEnds::of_bridge(&full),
        Err(si_analytic::AnalyticError::NotDiagonal { .. })
    ));
    assert!(optimise(&start(1.0), &ends, 0.5, f64::NAN, 10).is_err());
    assert!(optimise(&start(1.0), &ends, 0.5, 0.0, 10).is_err());
}
