//! Exact variance reduction (docs/math.md §6): the fixed point of y = x + σz against hand-computed
//! covariances, the typed errors at and beyond λ_min, the velocity b* against the continuity equation of the
//! interpolant's law (finite differences of log ρ_t, which never calls b*), and b* integrated backward as an
//! exact sampler of the fixed point (Monte Carlo moments with tolerances from the sample size).

use nalgebra::{dmatrix, DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, AnalyticError, GaussianMixture, VarianceReduction};
use si_core::{Batch, Field, Gamma, Points};

/// The toy: ½N((−2,0), 0.5 I) + ½N((2,0), [[0.6,0.2],[0.2,0.5]]).
fn toy() -> GaussianMixture {
    reference::scsi_toy().unwrap()
}

#[test]
fn the_toy_fixed_point_is_the_hand_computed_mixture() {
    let r = VarianceReduction::new(&toy(), 0.5).unwrap();
    let fp = r.fixed_point();
    let want = [
        dmatrix![0.25, 0.0; 0.0, 0.25],
        dmatrix![0.35, 0.2; 0.2, 0.25],
    ];
    for (c, w) in fp.covariances().iter().zip(&want) {
        assert!((c - w).abs().max() < 1e-15, "{c} vs {w}");
    }
    assert_eq!(fp.means(), toy().means());
    assert_eq!(fp.weights(), toy().weights());
    // Cov(x̂) = Cov(y) − σ² I for the whole mixture
    let gap = toy().covariance() - fp.covariance() - DMatrix::identity(2, 2) * 0.25;
    assert!(gap.abs().max() < 1e-14, "{gap}");
}

#[test]
fn sigma_at_or_beyond_the_smallest_eigenvalue_is_a_typed_error() {
    // component 0: λ_min = 0.5; component 1: λ_min = 0.55 − √(0.05² + 0.2²) ≈ 0.3438
    let l1 = 0.55 - 0.0425f64.sqrt();
    let e = VarianceReduction::new(&toy(), 0.6).unwrap_err();
    assert!(
        matches!(e, AnalyticError::NoFixedPoint { component: 1, degenerate: false, lambda_min, .. }
            if (lambda_min - l1).abs() < 1e-12),
        "{e:?}"
    );
    let e = VarianceReduction::new(&toy(), l1.sqrt()).unwrap_err();
    assert!(
        matches!(
            e,
            AnalyticError::NoFixedPoint {
                component: 1,
                degenerate: true,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("without a density"), "{e}");
    assert!(VarianceReduction::new(&toy(), l1.sqrt() * (1.0 - 1e-6)).is_ok());
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(VarianceReduction::new(&toy(), bad).is_err());
    }
}

/// ρ_t(x) from the law at t (log-density of a mixture: no velocity involved).
fn rho(r: &VarianceReduction, gamma: &Gamma, t: f64, x: &DVector<f64>) -> f64 {
    let p = Points::from_row_major(1, 2, x.as_slice()).unwrap();
    r.law_at(t, gamma).unwrap().log_density(&p).unwrap()[0].exp()
}

#[test]
fn the_velocity_solves_the_continuity_equation() {
    let r = VarianceReduction::new(&toy(), 0.5).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for gamma in [Gamma::Zero, Gamma::Quadratic] {
        let field = r.field(gamma.clone());
        for k in 0..40 {
            let t = 0.05 + 0.9 * (k as f64 + 0.5) / 40.0;
            let x = r.law_at(t, &gamma).unwrap().sample(1, &mut rng);
            let x = DVector::from_column_slice(x.as_slice());
            let h = 1e-4;
            let dt = (rho(&r, &gamma, t + h, &x) - rho(&r, &gamma, t - h, &x)) / (2.0 * h);
            let flux = |y: &DVector<f64>| {
                let p = Points::from_row_major(1, 2, y.as_slice()).unwrap();
                let b = field.velocity(t, &p).unwrap();
                DVector::from_column_slice(b.as_slice()) * rho(&r, &gamma, t, y)
            };
            let mut div = 0.0;
            for i in 0..2 {
                let mut e = DVector::zeros(2);
                e[i] = h;
                div += (flux(&(&x + &e))[i] - flux(&(&x - &e))[i]) / (2.0 * h);
            }
            let scale = dt.abs() + div.abs() + 1e-3 * rho(&r, &gamma, t, &x);
            assert!(
                (dt + div).abs() < 1e-5 * scale.max(1e-8),
                "{gamma}: t = {t}, d/dt rho = {dt}, div(b rho) = {div}"
            );
        }
    }
}

#[test]
fn the_velocity_integrated_backward_samples_the_fixed_point() {
    let r = VarianceReduction::new(&toy(), 0.5).unwrap();
    let field = r.field(Gamma::Zero);
    let n = 20_000;
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let (mut x, labels) = toy().sample_labelled(n, &mut rng);
    // Heun from t = 1 to 0 in 200 steps (error O(h²) ≈ 1e-5, far below the Monte Carlo tolerance)
    let steps = 200;
    let h = -1.0 / steps as f64;
    for s in 0..steps {
        let t = 1.0 + s as f64 * h;
        let k1 = field.velocity(t, &x).unwrap();
        let mut pred = x.clone();
        pred.axpy(h, &k1).unwrap();
        let k2 = field.velocity((t + h).max(0.0), &pred).unwrap();
        x.axpy(0.5 * h, &k1).unwrap();
        x.axpy(0.5 * h, &k2).unwrap();
    }
    // each component's cloud (by its label: the flow keeps the components apart, they are 4 apart) against
    // its reduced covariance; the standard error of a sample covariance entry is about √((c_ii c_jj + c_ij²)/m)
    for (j, want) in r.fixed_point().covariances().iter().enumerate() {
        let idx: Vec<usize> = (0..n).filter(|&i| labels[i] == j).collect();
        let m = idx.len() as f64;
        let pts: Vec<f64> = idx
            .iter()
            .flat_map(|&i| x.point(i).iter().copied().collect::<Vec<_>>())
            .collect();
        let p = Points::from_row_major(idx.len(), 2, &pts).unwrap();
        let (mean, cov) = (p.mean(), p.covariance());
        for a in 0..2 {
            let se = (want[(a, a)] / m).sqrt();
            let mu = r.fixed_point().means()[j][a];
            // 5 standard errors: a false alarm rate below 1e-6 per entry
            assert!(
                (mean[a] - mu).abs() < 5.0 * se,
                "component {j}: mean {mean}"
            );
            for b in 0..2 {
                let se = ((want[(a, a)] * want[(b, b)] + want[(a, b)].powi(2)) / m).sqrt();
                assert!(
                    (cov[(a, b)] - want[(a, b)]).abs() < 5.0 * se,
                    "component {j}: covariance {cov} against {want}"
                );
            }
        }
    }
}

#[test]
fn em_recovers_the_toy_mixture_and_classical_deconvolution_follows() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let n = 50_000;
    let y = toy().sample(n, &mut rng);
    let (fit, ll) = si_analytic::fit_em(&y, si_analytic::EmConfig::default(), &mut rng).unwrap();
    // the fit's mean log-likelihood is at least that of the truth on the same points (it is the maximum)
    let truth_ll = toy().log_density(&y).unwrap().iter().sum::<f64>() / n as f64;
    assert!(ll >= truth_ll - 1e-9, "EM {ll} < truth {truth_ll}");
    let order: Vec<usize> = if fit.means()[0][0] < 0.0 {
        vec![0, 1]
    } else {
        vec![1, 0]
    };
    for (j, &f) in order.iter().enumerate() {
        // standard errors at n/2 points per component: means √(0.6/25000) ≈ 0.005, covariances ≈ 0.004
        assert!(
            (fit.weights()[f] - 0.5).abs() < 0.012,
            "{:?}",
            fit.weights()
        );
        assert!((&fit.means()[f] - &toy().means()[j]).abs().max() < 0.025);
        assert!(
            (&fit.covariances()[f] - &toy().covariances()[j])
                .abs()
                .max()
                < 0.02
        );
    }
    // deconvolution: the fit's covariances minus σ² I are the fixed point's, up to the same error
    let fp = VarianceReduction::new(&fit, 0.5).unwrap();
    for (j, &f) in order.iter().enumerate() {
        let exact = &VarianceReduction::new(&toy(), 0.5)
            .unwrap()
            .fixed_point()
            .covariances()[j]
            .clone();
        assert!((&fp.fixed_point().covariances()[f] - exact).abs().max() < 0.02);
    }
    // too few points is an error, not a panic
    assert!(si_analytic::fit_em(
        &Points::zeros(1, 2),
        si_analytic::EmConfig::default(),
        &mut rng
    )
    .is_err());
}

/// x̂ = Φ(y) with the exact b*, `steps` steps of Euler or Heun backward from t = 1.
fn transport(r: &VarianceReduction, y: &Points, steps: usize, heun: bool) -> Points {
    let field = r.field(Gamma::Zero);
    let h = -1.0 / steps as f64;
    let mut x = y.clone();
    for s in 0..steps {
        let t = 1.0 + s as f64 * h;
        let k1 = field.velocity(t, &x).unwrap();
        if heun {
            let mut pred = x.clone();
            pred.axpy(h, &k1).unwrap();
            let k2 = field.velocity((t + h).max(0.0), &pred).unwrap();
            x.axpy(0.5 * h, &k1).unwrap();
            x.axpy(0.5 * h, &k2).unwrap();
        } else {
            x.axpy(h, &k1).unwrap();
        }
    }
    x
}

#[test]
fn the_transport_needs_heun_not_euler_at_the_covariance_goal() {
    // pathwise: the same observations through Euler (40 steps), Heun (20) and a 400-step Heun reference;
    // the covariance differences carry no Monte Carlo noise of their own
    let r = VarianceReduction::new(&toy(), 0.5).unwrap();
    let y = toy().sample(4000, &mut ChaCha8Rng::seed_from_u64(5));
    let reference = transport(&r, &y, 400, true).covariance();
    let euler = (transport(&r, &y, 40, false).covariance() - &reference)
        .abs()
        .max();
    let heun = (transport(&r, &y, 20, true).covariance() - &reference)
        .abs()
        .max();
    // measured: Euler 0.0039, Heun 0.0001 (O(h) against O(h²))
    assert!(euler > 0.002 && euler < 0.03, "Euler 40 steps: {euler}");
    assert!(
        heun < euler / 5.0,
        "Heun 20 steps: {heun}, Euler 40: {euler}"
    );
    eprintln!(
        "covariance error of one transport: Euler 40 steps {euler:.5}, Heun 20 steps {heun:.5}"
    );
}
