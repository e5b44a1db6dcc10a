//! Cost of one integration of 1,000 points over 100 steps on the exact 2-D field, per stepper; adaptive
//! Dormand–Prince 5(4) at rtol = atol = 1e-5 over the same span; the ODE and SDE log-likelihoods.

use criterion::{criterion_group, criterion_main, Criterion};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant, Points};
use si_integrate::{
    integrate, ode_log_likelihood, sde_log_likelihood, AdaptiveConfig, Diffusion, Euler,
    EulerMaruyama, Heun, Stepper, TimeGrid,
};

fn field() -> MixtureFields {
    let v = |a: f64, b: f64| DVector::from_vec(vec![a, b]);
    let r0 = GaussianMixture::new(
        vec![0.5, 0.5],
        vec![v(-2.0, 0.0), v(2.0, 0.0)],
        vec![DMatrix::identity(2, 2) * 0.3; 2],
    )
    .unwrap();
    let r1 = GaussianMixture::new(
        vec![0.5, 0.5],
        vec![v(0.0, 3.0), v(0.0, -3.0)],
        vec![DMatrix::identity(2, 2) * 0.2; 2],
    )
    .unwrap();
    MixtureFields::new(r0, r1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap()
}

fn run<S: Stepper<Points>>(s: &S, f: &MixtureFields, x0: &Points, rng: &mut ChaCha8Rng) -> Points {
    integrate(
        s,
        f,
        x0.clone(),
        &TimeGrid::uniform(0.0, 1.0, 100).unwrap(),
        rng,
        &mut [],
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let f = field();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x0 = f.rho0().sample(1000, &mut rng);
    let em = EulerMaruyama::constant(1.0).unwrap();
    let mut g = c.benchmark_group("integrate_1000x100");
    g.bench_function("euler", |b| b.iter(|| run(&Euler, &f, &x0, &mut rng)));
    g.bench_function("heun", |b| b.iter(|| run(&Heun, &f, &x0, &mut rng)));
    g.bench_function("euler_maruyama", |b| b.iter(|| run(&em, &f, &x0, &mut rng)));
    g.finish();
    let dp = AdaptiveConfig::tolerance(1e-5).check().unwrap();
    let span = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    c.bench_function("dormand_prince_1e-5_1000", |b| {
        b.iter(|| dp.solve(&f, x0.clone(), &span, &mut []).unwrap())
    });
    let x1 = f.rho1().sample(200, &mut rng);
    let back = TimeGrid::uniform(1.0, 0.0, 100).unwrap();
    let base = |p: &Points| Ok(f.rho0().log_density(p)?);
    let mut g = c.benchmark_group("likelihood_200");
    g.bench_function("ode_heun_100", |b| {
        b.iter(|| ode_log_likelihood(&f, &x1, &back, base).unwrap())
    });
    g.bench_function("ode_dormand_prince_1e-5", |b| {
        b.iter(|| dp.log_likelihood(&f, &x1, base).unwrap())
    });
    let eps = Diffusion::constant(0.5).unwrap();
    g.bench_function("sde_100_steps_1_path", |b| {
        b.iter(|| sde_log_likelihood(&f, &x1, &back, &eps, 1, &mut rng, base).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
