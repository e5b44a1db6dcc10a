//! The closed-form Gaussian Schrödinger bridge against independent routes (docs/math.md §9): the entropic
//! plan by Sinkhorn on a fine 1-D grid and the mixture of Brownian bridges under it; in d = 10 with
//! random covariances, the defining property of the static bridge (the joint precision's cross block is
//! −I/σ²); the drift against the Fokker–Planck (Lyapunov) equation of its marginals; b + (σ²/2) s = f.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianBridge;
use si_core::ot::{sinkhorn, SinkhornConfig};
use si_core::{Field, Points};

fn bridge_1d(m0: f64, v0: f64, m1: f64, v1: f64, sigma: f64) -> GaussianBridge {
    GaussianBridge::isotropic(1, m0, v0, m1, v1, sigma).unwrap()
}

/// The DSBM benchmark's value: C = ½(√(4 v0 v1 + σ⁴) − σ²) = (√5 − 1)/2 for v0 = v1 = σ = 1, per coordinate.
#[test]
fn the_benchmark_cross_covariance_is_the_golden_ratio_conjugate() {
    for d in [1, 5, 50] {
        let b = GaussianBridge::isotropic(d, -0.1, 1.0, 0.1, 1.0, 1.0).unwrap();
        let c = b.cross_covariance();
        let want = (5f64.sqrt() - 1.0) / 2.0;
        for i in 0..d {
            for j in 0..d {
                let w = if i == j { want } else { 0.0 };
                assert!(
                    (c[(i, j)] - w).abs() < 1e-13,
                    "d = {d}: {} vs {w}",
                    c[(i, j)]
                );
            }
        }
    }
    // 1-D by hand with unequal variances
    let b = bridge_1d(0.0, 0.5, 1.0, 2.0, 0.7);
    let want = 0.5 * ((4.0f64 * 0.5 * 2.0 + 0.7f64.powi(4)).sqrt() - 0.49);
    assert!((b.cross_covariance()[(0, 0)] - want).abs() < 1e-14);
}

/// A grid of `n` points over ±7 standard deviations of N(m, v), with weights ∝ the density.
fn grid(m: f64, v: f64, n: usize) -> (Vec<f64>, Vec<f64>) {
    let s = v.sqrt();
    let x: Vec<f64> = (0..n)
        .map(|i| m - 7.0 * s + 14.0 * s * i as f64 / (n - 1) as f64)
        .collect();
    let w: Vec<f64> = x
        .iter()
        .map(|x| (-(x - m).powi(2) / (2.0 * v)).exp())
        .collect();
    let z: f64 = w.iter().sum();
    (x, w.into_iter().map(|w| w / z).collect())
}

/// 1-D: Sinkhorn's plan for the cost (x − y)² at ε = 2σ² has the closed form's cross-covariance, and the
/// mixture of Brownian bridges under that plan has the closed form's drift (E[(X1 − x)/(1 − t) | X_t = x]).
#[test]
fn sinkhorn_on_a_grid_and_brownian_bridges_agree_with_the_closed_form() {
    let (m0, v0, m1, v1, sigma) = (-0.3, 0.8, 0.5, 1.5, 0.7);
    let b = bridge_1d(m0, v0, m1, v1, sigma);
    let n = 500;
    let (x, a) = grid(m0, v0, n);
    let (y, bw) = grid(m1, v1, n);
    let cost = DMatrix::from_fn(n, n, |i, j| (x[i] - y[j]).powi(2));
    let params = SinkhornConfig {
        tol: 1e-12,
        ..SinkhornConfig::new(2.0 * sigma * sigma)
    }
    .check()
    .unwrap();
    let plan = sinkhorn(&cost, &a, &bw, &params).unwrap();
    assert!(plan.converged());
    let p = plan.plan();
    let (mut ex, mut ey, mut exy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        for j in 0..n {
            ex += p[(i, j)] * x[i];
            ey += p[(i, j)] * y[j];
            exy += p[(i, j)] * x[i] * y[j];
        }
    }
    let c = exy - ex * ey;
    let want = b.cross_covariance()[(0, 0)];
    assert!(
        (c - want).abs() < 1e-6,
        "Sinkhorn {c} vs closed form {want}"
    );
    // the drift of the Brownian-bridge mixture at (t, x): Σ π_ij N(x; m_ij, σ² t(1 − t)) (y_j − x)/(1 − t)
    // over Σ π_ij N(x; m_ij, σ² t(1 − t)), with m_ij = (1 − t) x_i + t y_j
    for &(t, xq) in &[(0.2, -0.5), (0.5, 0.3), (0.8, 1.2), (0.35, 2.0)] {
        let var = sigma * sigma * t * (1.0 - t);
        let (mut num, mut den) = (0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                let m = (1.0 - t) * x[i] + t * y[j];
                let w = p[(i, j)] * (-(xq - m).powi(2) / (2.0 * var)).exp();
                num += w * (y[j] - xq) / (1.0 - t);
                den += w;
            }
        }
        let mixture = num / den;
        let closed = b
            .drift(t, &Points::from_row_major(1, 1, &[xq]).unwrap())
            .unwrap()
            .as_slice()[0];
        assert!(
            (mixture - closed).abs() < 1e-5 * (1.0 + closed.abs()),
            "t = {t}, x = {xq}: mixture {mixture} vs closed {closed}"
        );
    }
}

/// A random symmetric positive-definite d × d matrix.
fn spd(d: usize, rng: &mut ChaCha8Rng) -> DMatrix<f64> {
    let a = DMatrix::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
    &a * a.transpose() + DMatrix::identity(d, d) * 0.3
}

fn random_bridge(d: usize, sigma: f64, seed: u64) -> GaussianBridge {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mu0 = DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0));
    let mu1 = DVector::from_fn(d, |_, _| rng.random_range(-1.0..1.0));
    let (s0, s1) = (spd(d, &mut rng), spd(d, &mut rng));
    GaussianBridge::new(mu0, s0, mu1, s1, sigma).unwrap()
}

/// The static bridge π(x, y) ∝ e^{φ(x) + ψ(y) − |x − y|²/(2σ²)}: for a Gaussian joint, the cross block of its
/// precision is −I/σ²; with the given marginals this fixes the plan. Checked in d = 10 with random Σ0, Σ1.
#[test]
fn the_joint_precision_has_the_reference_cross_block() {
    for (seed, sigma) in [(1, 1.0), (2, 0.5), (3, 2.0)] {
        let d = 10;
        let b = random_bridge(d, sigma, seed);
        let joint = b.coupling_covariance();
        let prec = joint
            .clone()
            .cholesky()
            .expect("the joint is positive definite")
            .inverse();
        for i in 0..d {
            for j in 0..d {
                let want = if i == j { -1.0 / (sigma * sigma) } else { 0.0 };
                let got = prec[(i, d + j)];
                assert!(
                    (got - want).abs() < 1e-8 * (1.0 + want.abs()),
                    "seed {seed}: P01[{i},{j}] = {got}, want {want}"
                );
            }
        }
        // the marginals are the given ones
        assert!((joint.view((0, 0), (d, d)) - b.start().1).abs().max() < 1e-14);
        assert!((joint.view((d, d), (d, d)) - b.end().1).abs().max() < 1e-14);
    }
}

/// The Schrödinger bridge is its own time reversal: the bridge from N(μ1, Σ1) to N(μ0, Σ0) with the same σ has
/// the transposed cross-covariance, Cov(X1, X0) = Cov(X0, X1)ᵀ. The closed form treats the two ends
/// asymmetrically (Σ0^{1/2} D_σ Σ0^{-1/2}), so this is an identity of its algebra, checked in d = 10 with
/// random Σ0, Σ1 at three σ.
#[test]
fn the_reversed_bridge_has_the_transposed_coupling() {
    for (seed, sigma) in [(4, 1.0), (5, 0.3), (6, 3.0)] {
        let b = random_bridge(10, sigma, seed);
        let r = GaussianBridge::new(
            b.end().0.clone(),
            b.end().1.clone(),
            b.start().0.clone(),
            b.start().1.clone(),
            sigma,
        )
        .unwrap();
        let c = b.cross_covariance();
        let gap = (r.cross_covariance() - c.transpose()).abs().max();
        assert!(
            gap < 1e-10 * (1.0 + c.abs().max()),
            "seed {seed}, sigma {sigma}: |C' - C^T| = {gap}"
        );
        // and C itself is not symmetric here, so the transpose is what is tested
        assert!((c - c.transpose()).abs().max() > 1e-3, "seed {seed}");
    }
}

/// The drift f = A x + c carries the bridge's marginals: dμ_t/dt = A μ_t + c and
/// dΣ_t/dt = A Σ_t + Σ_t Aᵀ + σ² I (Fokker–Planck for a Gaussian), by central differences in t; and the
/// Brownian-bridge interpolant's b + (σ²/2) s equals f at random points.
#[test]
fn the_drift_solves_the_fokker_planck_equation_of_the_marginals() {
    let d = 6;
    let sigma = 0.8;
    let b = random_bridge(d, sigma, 7);
    let h = 1e-5;
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for &t in &[0.1, 0.3, 0.5, 0.77, 0.95] {
        let (a, c) = b.drift_affine(t).unwrap();
        let (mu, cov) = b.marginal(t).unwrap();
        let (mp, cp) = b.marginal(t + h).unwrap();
        let (mm, cm) = b.marginal(t - h).unwrap();
        let dmu = (mp - mm) / (2.0 * h);
        let dcov = (cp - cm) / (2.0 * h);
        let rhs_mu = &a * &mu + &c;
        let rhs_cov = &a * &cov + &cov * a.transpose() + DMatrix::identity(d, d) * (sigma * sigma);
        assert!((dmu - rhs_mu).abs().max() < 1e-7, "t = {t}: mean");
        assert!(
            (dcov - &rhs_cov).abs().max() < 1e-6 * (1.0 + rhs_cov.abs().max()),
            "t = {t}: covariance"
        );
        let x = b.sample_marginal(t, 5, &mut rng).unwrap();
        let f = b.drift(t, &x).unwrap();
        let bb = b.velocity(t, &x).unwrap();
        let s = b.score(t, &x).unwrap();
        for ((f, bv), sv) in f.as_slice().iter().zip(bb.as_slice()).zip(s.as_slice()) {
            let forward = bv + 0.5 * sigma * sigma * sv;
            assert!(
                (f - forward).abs() < 1e-10 * (1.0 + f.abs()),
                "t = {t}: f {f} vs b + eps s {forward}"
            );
        }
        // ∇·b is the trace of its matrix
        let div = b.divergence(t, &x).unwrap();
        let (ab, _) = b.interpolant_affine(t).unwrap();
        assert!((div[0] - ab.trace()).abs() < 1e-12);
    }
}

/// Exact samples of the static bridge have its moments (10⁵ pairs; 6 standard errors).
#[test]
fn pairs_have_the_bridge_moments() {
    let b = GaussianBridge::isotropic(3, -0.1, 1.0, 0.1, 1.0, 1.0).unwrap();
    let n = 100_000;
    let (x0, x1) = b
        .sample_pairs(n, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    let c = (5f64.sqrt() - 1.0) / 2.0;
    for k in 0..3 {
        let (mut s0, mut s1, mut s01) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let (a, bb) = (x0.matrix()[(k, i)], x1.matrix()[(k, i)]);
            s0 += a;
            s1 += bb;
            s01 += (a + 0.1) * (bb - 0.1);
        }
        let nf = n as f64;
        assert!((s0 / nf + 0.1).abs() < 6.0 / nf.sqrt());
        assert!((s1 / nf - 0.1).abs() < 6.0 / nf.sqrt());
        // Var((X0 − μ0)(X1 − μ1)) = 1 + c² for unit variances
        assert!((s01 / nf - c).abs() < 6.0 * ((1.0 + c * c) / nf).sqrt());
    }
}

#[test]
fn bad_bridges_are_typed_errors() {
    let i2 = DMatrix::<f64>::identity(2, 2);
    let z = DVector::zeros(2);
    assert!(GaussianBridge::new(z.clone(), i2.clone(), z.clone(), i2.clone(), 0.0).is_err());
    assert!(GaussianBridge::new(z.clone(), i2.clone(), z.clone(), i2.clone(), f64::NAN).is_err());
    assert!(GaussianBridge::new(z.clone(), -i2.clone(), z.clone(), i2.clone(), 1.0).is_err());
    let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.5, 0.0, 1.0]);
    assert!(GaussianBridge::new(z.clone(), asym, z.clone(), i2.clone(), 1.0).is_err());
    assert!(
        GaussianBridge::new(DVector::zeros(3), i2.clone(), z.clone(), i2.clone(), 1.0).is_err()
    );
    let b = GaussianBridge::new(z.clone(), i2.clone(), z, i2, 1.0).unwrap();
    assert!(b.drift(1.0, &Points::zeros(1, 2)).is_err());
    assert!(b.drift(0.5, &Points::zeros(1, 3)).is_err());
    assert!(b.marginal(1.5).is_err());
}
