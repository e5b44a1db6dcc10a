//! ODE and SDE samples started from ρ0 reach ρ1 (and the backward SDE from ρ1 reaches ρ0): per coordinate
//! the mean and variance within 5 standard errors, and the Kolmogorov–Smirnov distance of four 1-D
//! projections to the exact projected law within the Dvoretzky–Kiefer–Wolfowitz bound at the same rate.
//!
//! False-alarm rates (per statistic): the mean and variance z-scores are asymptotically normal, |z| < 5 is a
//! two-sided rate of 5.7e-7 (the standard error of a variance comes from the mixture's exact fourth central
//! moment, not the Gaussian 2σ⁴); the KS threshold √(ln(2/α)/(2N)) with α = 5.7e-7 bounds the rate by α
//! for any N (DKW with Massart's constant). This file tests 112 such statistics (11 checks in 2-D × 8, 8 in
//! 1-D × 3), so by Bonferroni its family-wise false-alarm rate is ≤ 6.4e-5 for exact samples; the seeds are
//! fixed, so the outcome is deterministic. The steps are fine enough that the discretisation bias of the
//! integrators is well inside these bounds (largest observed |z| is printed with `--nocapture`).
//!
//! These checks have N = 1500 and so catch gross errors (wrong target, wrong mode weights or correlation,
//! 10 % scale error: `detects_wrong_targets`). Moderate errors of the SDE stepper (a 20 % error of the
//! noise amplitude or of the ε s coefficient) are the job of `sde_moments.rs`, which compares against the
//! exact discrete law. (With the variance's exact standard error, the 20 % noise-amplitude mutation of
//! stepper.rs does fail here as well, backward-SDE variance z ≈ 8; the 0.8 ε s one does not.)

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::ks_statistic;
use si_core::{Batch, Gamma, Interpolant, Points};
use si_integrate::{integrate, EulerMaruyama, Heun, Stepper, TimeGrid};

const N: usize = 1500;
/// 5 standard errors: two-sided false-alarm rate 5.7e-7 per statistic (normal approximation).
const Z_MAX: f64 = 5.0;
/// The same rate for the KS checks, through the DKW inequality P(D_N > λ) ≤ 2 exp(−2Nλ²).
const KS_ALPHA: f64 = 5.7e-7;

/// The DKW threshold on the KS distance of n samples at false-alarm rate `KS_ALPHA`.
fn ks_threshold(n: usize) -> f64 {
    ((2.0 / KS_ALPHA).ln() / (2.0 * n as f64)).sqrt()
}

/// The law of u·X for X from the mixture: a 1-D mixture.
fn projection(g: &GaussianMixture, u: &[f64]) -> GaussianMixture {
    let comps: Vec<(f64, f64, f64)> = g
        .weights()
        .iter()
        .zip(g.means())
        .zip(g.covariances())
        .map(|((&w, mu), c)| {
            let mean = (0..u.len()).map(|r| u[r] * mu[r]).sum();
            let var = (0..u.len())
                .flat_map(|r| (0..u.len()).map(move |q| (r, q)))
                .map(|(r, q)| u[r] * c[(r, q)] * u[q])
                .sum();
            (w, mean, var)
        })
        .collect();
    GaussianMixture::univariate(&comps).unwrap()
}

/// The projection directions: the axes, and in 2-D also both diagonals (which see the correlation).
fn directions(d: usize) -> Vec<Vec<f64>> {
    let h = std::f64::consts::FRAC_1_SQRT_2;
    match d {
        1 => vec![vec![1.0]],
        2 => vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![h, h], vec![h, -h]],
        _ => unreachable!("the transport tests are in 1-D and 2-D"),
    }
}

/// Ok((largest |z|, largest KS distance / threshold)) when every statistic passes, else a description.
fn check_reaches(samples: &Points, target: &GaussianMixture) -> Result<(f64, f64), String> {
    let n = samples.len() as f64;
    let (m, c) = (target.mean(), target.covariance());
    let (sm, sc) = (samples.mean(), samples.covariance());
    let mut worst_z: f64 = 0.0;
    for r in 0..target.dim() {
        let z_mean = (sm[r] - m[r]) / (c[(r, r)] / n).sqrt();
        let se_var = ((target.central_fourth_moment(r, r).unwrap() - c[(r, r)].powi(2)) / n).sqrt();
        let z_var = (sc[(r, r)] - c[(r, r)]) / se_var;
        if z_mean.abs() >= Z_MAX {
            return Err(format!(
                "coordinate {r}: mean {} vs {}, z = {z_mean:.1}",
                sm[r], m[r]
            ));
        }
        if z_var.abs() >= Z_MAX {
            return Err(format!(
                "coordinate {r}: variance {} vs {}, z = {z_var:.1}",
                sc[(r, r)],
                c[(r, r)]
            ));
        }
        worst_z = worst_z.max(z_mean.abs()).max(z_var.abs());
    }
    let lim = ks_threshold(samples.len());
    let mut worst_ks: f64 = 0.0;
    for u in directions(target.dim()) {
        let law = projection(target, &u);
        let proj: Vec<f64> = (0..samples.len())
            .map(|i| (0..u.len()).map(|r| u[r] * samples.point(i)[r]).sum())
            .collect();
        let d = ks_statistic(&proj, |v| law.cdf_1d(v).unwrap()).unwrap();
        if d >= lim {
            return Err(format!("direction {u:?}: KS distance {d:.4} ≥ {lim:.4}"));
        }
        worst_ks = worst_ks.max(d / lim);
    }
    Ok((worst_z, worst_ks))
}

fn assert_reaches(samples: &Points, target: &GaussianMixture, what: &str) {
    match check_reaches(samples, target) {
        Ok((z, ks)) => eprintln!("{what}: max |z| = {z:.2}, max KS / threshold = {ks:.2}"),
        Err(e) => panic!("{what}: {e}"),
    }
}

fn run<S: Stepper<Points>>(
    s: &S,
    f: &MixtureFields,
    x: Points,
    from: f64,
    to: f64,
    steps: usize,
    rng: &mut ChaCha8Rng,
) -> Points {
    integrate(
        s,
        f,
        x,
        &TimeGrid::uniform(from, to, steps).unwrap(),
        rng,
        &mut [],
    )
    .unwrap()
}

#[test]
fn ode_and_sde_reach_rho1_in_2d() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let ode = run(&Heun, &f, r0.sample(N, &mut rng), 0.0, 1.0, 100, &mut rng);
    assert_reaches(&ode, &r1, "ODE (Heun)");
    let sde = run(
        &EulerMaruyama::constant(1.0).unwrap(),
        &f,
        r0.sample(N, &mut rng),
        0.0,
        1.0,
        400,
        &mut rng,
    );
    assert_reaches(&sde, &r1, "forward SDE");
    let back = run(
        &EulerMaruyama::constant(1.0).unwrap(),
        &f,
        r1.sample(N, &mut rng),
        1.0,
        0.0,
        400,
        &mut rng,
    );
    assert_reaches(&back, &r0, "backward SDE");
}

#[test]
fn ode_and_sde_reach_rho1_in_1d_for_each_interpolant() {
    let (r0, r1) = common::pair_1d();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for it in [
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Zero).unwrap(),
        Interpolant::encoder_decoder(),
    ] {
        let name = it.name();
        let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        let ode = run(&Heun, &f, r0.sample(N, &mut rng), 0.0, 1.0, 200, &mut rng);
        assert_reaches(&ode, &r1, &format!("ODE {name}"));
        let sde = run(
            &EulerMaruyama::constant(0.5).unwrap(),
            &f,
            r0.sample(N, &mut rng),
            0.0,
            1.0,
            500,
            &mut rng,
        );
        assert_reaches(&sde, &r1, &format!("SDE {name}"));
    }
}

#[test]
fn detects_wrong_targets() {
    // The check is not vacuous: exact samples of ρ1 pass, and each of these near misses is rejected.
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    assert_reaches(&r1.sample(N, &mut rng), &r1, "exact samples");
    // ρ0 instead of ρ1.
    assert!(check_reaches(&r0.sample(N, &mut rng), &r1).is_err());
    // ρ1 scaled by 1.1 about its mean (variance +21 %).
    let mut x = r1.sample(N, &mut rng);
    let m = r1.mean();
    for i in 0..N {
        for r in 0..2 {
            let v = &mut x.matrix_mut()[(r, i)];
            *v = m[r] + 1.1 * (*v - m[r]);
        }
    }
    let e = check_reaches(&x, &r1).unwrap_err();
    assert!(e.contains("variance"), "{e}");
    // Mass moved to the anti-diagonal modes: same marginals, mean and variances, opposite correlation; only
    // the diagonal projections see it.
    let flipped = GaussianMixture::new(
        vec![0.4, 0.1, 0.1, 0.4],
        r1.means().to_vec(),
        r1.covariances().to_vec(),
    )
    .unwrap();
    let e = check_reaches(&flipped.sample(N, &mut rng), &r1).unwrap_err();
    assert!(e.contains("KS"), "{e}");
}

#[test]
fn one_sided_ode_from_gaussian_noise_reaches_rho1() {
    let (_, r1) = common::pair_2d();
    let n0 = GaussianMixture::standard_normal(2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for it in [
        Interpolant::one_sided_linear(),
        Interpolant::one_sided_vp(),
        Interpolant::one_sided_sqrt(),
    ] {
        let name = it.name();
        let f = MixtureFields::new(n0.clone(), r1.clone(), it).unwrap();
        let x = run(&Heun, &f, n0.sample(N, &mut rng), 0.0, 1.0, 200, &mut rng);
        assert_reaches(&x, &r1, &format!("ODE {name}"));
    }
}

#[test]
fn mirror_sde_keeps_rho1_invariant() {
    // ρ(t) of the mirror interpolant starts and ends at ρ1: the SDE resamples the data distribution.
    let (_, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let f = MixtureFields::new(
        r1.clone(),
        r1.clone(),
        Interpolant::mirror(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let x = run(
        &EulerMaruyama::constant(1.0).unwrap(),
        &f,
        r1.sample(N, &mut rng),
        0.0,
        1.0,
        400,
        &mut rng,
    );
    assert_reaches(&x, &r1, "mirror SDE");
}

#[test]
fn time_dependent_diffusion_reaches_rho1() {
    // ε(t) = 2 t(1 − t): no noise at the ends, strong noise in the middle.
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(23);
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let em = EulerMaruyama::new(si_integrate::Diffusion::function("2t(1-t)", |t| {
        2.0 * t * (1.0 - t)
    }));
    let x = run(&em, &f, r0.sample(N, &mut rng), 0.0, 1.0, 400, &mut rng);
    assert_reaches(&x, &r1, "SDE with eps(t)");
}

#[test]
fn noise_first_sde_reaches_rho1() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let nf = EulerMaruyama::constant(1.0).unwrap().noise_first();
    let x = run(&nf, &f, r0.sample(N, &mut rng), 0.0, 1.0, 400, &mut rng);
    assert_reaches(&x, &r1, "noise-first SDE");
    let back = run(&nf, &f, r1.sample(N, &mut rng), 1.0, 0.0, 400, &mut rng);
    assert_reaches(&back, &r0, "noise-first backward SDE");
}
