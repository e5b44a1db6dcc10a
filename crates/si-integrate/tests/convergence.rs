//! Measured convergence orders on the exact ODE: Euler 1, Heun 2.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::{Gamma, Interpolant, Points};
use si_integrate::{integrate, Euler, Heun, Stepper, TimeGrid};

fn solve<S: Stepper<Points>>(s: &S, f: &MixtureFields, x: &Points, steps: usize) -> Points {
    integrate(
        s,
        f,
        x.clone(),
        &TimeGrid::uniform(0.0, 1.0, steps).unwrap(),
        &mut rand::rng(),
        &mut [],
    )
    .unwrap()
}

fn max_err(a: &Points, b: &Points) -> f64 {
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max)
}

fn orders<S: Stepper<Points>>(
    s: &S,
    f: &MixtureFields,
    x: &Points,
    reference: &Points,
) -> Vec<f64> {
    let errs: Vec<f64> = [128, 256, 512, 1024]
        .iter()
        .map(|&n| max_err(&solve(s, f, x, n), reference))
        .collect();
    errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

#[test]
fn euler_is_first_and_heun_second_order() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for it in [
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
    ] {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        let x = r0.sample(40, &mut rng);
        let reference = solve(&Heun, &f, &x, 32768);
        let pe = orders(&Euler, &f, &x, &reference);
        let ph = orders(&Heun, &f, &x, &reference);
        let last_e = *pe.last().unwrap();
        let last_h = *ph.last().unwrap();
        assert!(
            (0.8..1.25).contains(&last_e),
            "Euler orders {pe:?}, Heun {ph:?}"
        );
        assert!((1.7..2.3).contains(&last_h), "Heun orders {ph:?}");
    }
}
