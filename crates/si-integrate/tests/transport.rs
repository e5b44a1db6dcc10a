//! ODE and SDE samples started from ρ0 reach ρ1 (and the backward SDE from ρ1 reaches ρ0): mean and
//! covariance within standard errors, and the energy distance to exact samples within the spread of
//! the same statistic between two exact samples of the same size.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::energy_distance;
use si_core::{Gamma, Interpolant, Points};
use si_integrate::{integrate, EulerMaruyama, Heun, Stepper, TimeGrid};

const N: usize = 1500;

/// Max of the energy distance between independent exact samples of size N (the null's spread).
fn null_level(target: &GaussianMixture, rng: &mut ChaCha8Rng) -> f64 {
    (0..4)
        .map(|_| energy_distance(&target.sample(N, rng), &target.sample(N, rng)).unwrap())
        .fold(0.0, f64::max)
}

fn check_reaches(samples: &Points, target: &GaussianMixture, rng: &mut ChaCha8Rng, what: &str) {
    let (m, c) = (target.mean(), target.covariance());
    let (sm, sc) = (samples.mean(), samples.covariance());
    for r in 0..target.dim() {
        let se = (c[(r, r)] / N as f64).sqrt();
        assert!(
            (sm[r] - m[r]).abs() < 5.0 * se,
            "{what}: mean {} vs {}",
            sm[r],
            m[r]
        );
        let se_var = (2.0 * c[(r, r)].powi(2) / N as f64).sqrt() * 2.0;
        assert!(
            (sc[(r, r)] - c[(r, r)]).abs() < 5.0 * se_var,
            "{what}: var {} vs {}",
            sc[(r, r)],
            c[(r, r)]
        );
    }
    let null = null_level(target, rng);
    let e = energy_distance(samples, &target.sample(N, rng)).unwrap();
    assert!(
        e < 3.0 * null,
        "{what}: energy distance {e} vs null level {null}"
    );
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
    check_reaches(&ode, &r1, &mut rng, "ODE (Heun)");
    let sde = run(
        &EulerMaruyama::constant(1.0).unwrap(),
        &f,
        r0.sample(N, &mut rng),
        0.0,
        1.0,
        400,
        &mut rng,
    );
    check_reaches(&sde, &r1, &mut rng, "forward SDE");
    let back = run(
        &EulerMaruyama::constant(1.0).unwrap(),
        &f,
        r1.sample(N, &mut rng),
        1.0,
        0.0,
        400,
        &mut rng,
    );
    check_reaches(&back, &r0, &mut rng, "backward SDE");
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
        check_reaches(&ode, &r1, &mut rng, &format!("ODE {name}"));
        let sde = run(
            &EulerMaruyama::constant(0.5).unwrap(),
            &f,
            r0.sample(N, &mut rng),
            0.0,
            1.0,
            500,
            &mut rng,
        );
        check_reaches(&sde, &r1, &mut rng, &format!("SDE {name}"));
    }
}

#[test]
fn detects_a_wrong_target() {
    // The check is not vacuous: ρ0 itself is far from ρ1 by the same statistic.
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let null = null_level(&r1, &mut rng);
    let e = energy_distance(&r0.sample(N, &mut rng), &r1.sample(N, &mut rng)).unwrap();
    assert!(e > 30.0 * null);
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
        check_reaches(&x, &r1, &mut rng, &format!("ODE {name}"));
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
    check_reaches(&x, &r1, &mut rng, "mirror SDE");
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
    check_reaches(&x, &r1, &mut rng, "SDE with eps(t)");
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
    check_reaches(&x, &r1, &mut rng, "noise-first SDE");
    let back = run(&nf, &f, r1.sample(N, &mut rng), 1.0, 0.0, 400, &mut rng);
    check_reaches(&back, &r0, &mut rng, "noise-first backward SDE");
}
