//! The ODE log-likelihood of points of ρ1 matches the exact log ρ1.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::{Gamma, Interpolant};
use si_integrate::{ode_log_likelihood, IntegrateError, TimeGrid};

#[test]
fn ode_log_likelihood_matches_exact_log_density() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for it in [
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Zero).unwrap(),
    ] {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        let x = r1.sample(30, &mut rng);
        let exact = r1.log_density(&x).unwrap();
        let grid = TimeGrid::uniform(1.0, 0.0, 400).unwrap();
        let ll = ode_log_likelihood(&f, &x, &grid, |p| Ok(r0.log_density(p)?)).unwrap();
        for (a, b) in ll.iter().zip(&exact) {
            assert!(
                (a - b).abs() < 2e-3,
                "{}: {a} vs exact {b}",
                f.interpolant().name()
            );
        }
    }
}

#[test]
fn likelihood_needs_a_backward_grid() {
    let (r0, r1) = common::pair_1d();
    let f = MixtureFields::new(
        r0.clone(),
        r1,
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let x = r0.sample(2, &mut rand::rng());
    let grid = TimeGrid::uniform(0.0, 1.0, 10).unwrap();
    let r = ode_log_likelihood(&f, &x, &grid, |p| Ok(vec![0.0; p.as_slice().len()]));
    assert!(matches!(r, Err(IntegrateError::LikelihoodGrid { .. })));
}
