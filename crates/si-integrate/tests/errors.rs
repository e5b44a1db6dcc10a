//! Bad input to the integrators gets a typed error, never a panic.

mod common;

use proptest::prelude::*;
use si_analytic::MixtureFields;
use si_core::{CoreError, Gamma, Interpolant, Points};
use si_integrate::{integrate, Diffusion, Euler, EulerMaruyama, IntegrateError, TimeGrid};

#[test]
fn invalid_grids() {
    assert!(matches!(
        TimeGrid::uniform(0.0, 1.0, 0),
        Err(IntegrateError::InvalidGrid(_))
    ));
    assert!(matches!(
        TimeGrid::uniform(-0.5, 1.0, 3),
        Err(IntegrateError::InvalidGrid(_))
    ));
    assert!(matches!(
        TimeGrid::uniform(0.0, f64::NAN, 3),
        Err(IntegrateError::InvalidGrid(_))
    ));
    assert!(matches!(
        TimeGrid::from_times(vec![0.0, 0.5, 0.4]),
        Err(IntegrateError::InvalidGrid(_))
    ));
    assert!(matches!(
        TimeGrid::from_times(vec![0.3]),
        Err(IntegrateError::InvalidGrid(_))
    ));
}

#[test]
fn invalid_diffusion() {
    assert!(matches!(
        EulerMaruyama::constant(-1.0),
        Err(IntegrateError::InvalidDiffusion { .. })
    ));
    assert!(matches!(
        Diffusion::constant(f64::NAN),
        Err(IntegrateError::InvalidDiffusion { .. })
    ));
    let (r0, r1) = common::pair_1d();
    let f = MixtureFields::new(
        r0.clone(),
        r1,
        Interpolant::linear(Gamma::brownian()).unwrap(),
    )
    .unwrap();
    let em = EulerMaruyama::new(Diffusion::function("1 - 2t", |t| 1.0 - 2.0 * t));
    let r = integrate(
        &em,
        &f,
        r0.sample(3, &mut rand::rng()),
        &TimeGrid::uniform(0.0, 1.0, 10).unwrap(),
        &mut rand::rng(),
        &mut [],
    );
    assert!(matches!(r, Err(IntegrateError::InvalidDiffusion { .. })));
}

#[test]
fn wrong_dimension_is_reported() {
    let (r0, r1) = common::pair_1d();
    let f = MixtureFields::new(r0, r1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap();
    let r = integrate(
        &Euler,
        &f,
        Points::zeros(3, 2),
        &TimeGrid::uniform(0.0, 1.0, 2).unwrap(),
        &mut rand::rng(),
        &mut [],
    );
    assert!(matches!(
        r,
        Err(IntegrateError::Core(CoreError::ShapeMismatch { .. }))
    ));
}

proptest! {
    /// Any grid built from arbitrary numbers is either valid (monotone, in [0, 1]) or an error.
    #[test]
    fn grids_never_panic(a in proptest::num::f64::ANY, b in proptest::num::f64::ANY, n in 0usize..50) {
        match TimeGrid::uniform(a, b, n) {
            Ok(g) => {
                prop_assert!(g.times().iter().all(|t| (0.0..=1.0).contains(t)));
                prop_assert_eq!(g.steps(), n);
            }
            Err(IntegrateError::InvalidGrid(_)) => {}
            Err(e) => prop_assert!(false, "unexpected {e}"),
        }
    }
}
