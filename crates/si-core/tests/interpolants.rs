//! Property tests of the interpolants: boundary conditions, derivatives against finite differences,
//! γγ̇ in closed form, finiteness on [0, 1], and typed errors for invalid constructions.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Coefficients, CoreError, CustomGamma, Gamma, Interpolant, Points, Sidedness};

fn all() -> Vec<Interpolant> {
    vec![
        Interpolant::linear(Gamma::Zero).unwrap(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::linear(Gamma::sqrt(3.0).unwrap()).unwrap(),
        Interpolant::linear(Gamma::Quadratic).unwrap(),
        Interpolant::linear(Gamma::SinSquared).unwrap(),
        Interpolant::trigonometric(Gamma::Zero).unwrap(),
        Interpolant::trigonometric(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
        Interpolant::encoder_decoder(),
        Interpolant::one_sided_linear(),
        Interpolant::one_sided_vp(),
        Interpolant::one_sided_sqrt(),
        Interpolant::mirror(Gamma::brownian()).unwrap(),
        Interpolant::mirror(Gamma::Quadratic).unwrap(),
    ]
}

#[test]
fn boundary_conditions_of_every_interpolant() {
    for it in all() {
        let (a, b) = (it.schedule(0.0).unwrap(), it.schedule(1.0).unwrap());
        if it.sidedness() == Sidedness::Mirror {
            assert!(a.alpha.abs() < 1e-15 && (a.beta - 1.0).abs() < 1e-15);
            assert!(b.alpha.abs() < 1e-15 && (b.beta - 1.0).abs() < 1e-15);
        } else {
            assert!(
                (a.alpha - 1.0).abs() < 1e-12 && a.beta.abs() < 1e-12,
                "{}",
                it.name()
            );
            assert!(
                b.alpha.abs() < 1e-12 && (b.beta - 1.0).abs() < 1e-12,
                "{}",
                it.name()
            );
        }
        assert!(a.gamma.abs() < 1e-12 && b.gamma.abs() < 1e-12);
    }
    let ed = Interpolant::encoder_decoder().schedule(0.5).unwrap();
    assert!((ed.gamma - 1.0).abs() < 1e-12 && ed.alpha.abs() < 1e-12 && ed.beta.abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// α̇, β̇, γ̇ agree with central differences; αα̇ and γγ̇ agree with the products.
    #[test]
    fn derivatives_match_finite_differences(t in 0.01f64..0.99, which in 0usize..14) {
        let it = &all()[which];
        prop_assume!(!(matches!(it.coefficients(), Coefficients::EncoderDecoder) && (t - 0.5).abs() < 1e-3));
        let h = 1e-6;
        let (p, m, c) = (it.schedule(t + h).unwrap(), it.schedule(t - h).unwrap(), it.schedule(t).unwrap());
        let tol = |v: f64| 1e-5 * (1.0 + v.abs());
        prop_assert!((c.dalpha - (p.alpha - m.alpha) / (2.0 * h)).abs() < tol(c.dalpha), "{} alpha", it.name());
        prop_assert!((c.dbeta - (p.beta - m.beta) / (2.0 * h)).abs() < tol(c.dbeta), "{} beta", it.name());
        prop_assert!((c.dgamma - (p.gamma - m.gamma) / (2.0 * h)).abs() < tol(c.dgamma), "{} gamma", it.name());
        prop_assert!((c.gamma_dgamma - c.gamma * c.dgamma).abs() < 1e-10 * (1.0 + c.gamma_dgamma.abs()));
        prop_assert!((c.alpha_dalpha - c.alpha * c.dalpha).abs() < 1e-10 * (1.0 + c.alpha_dalpha.abs()));
    }

    /// Every coefficient (γ̇ aside, which may be singular at the ends) is finite on [0, 1]; γ ≥ 0.
    #[test]
    fn finite_on_closed_interval(t in prop_oneof![Just(0.0), Just(1.0), 0.0f64..=1.0], which in 0usize..14) {
        let c = all()[which].schedule(t).unwrap();
        for v in [c.alpha, c.beta, c.dbeta, c.gamma, c.gamma_dgamma, c.alpha_dalpha] {
            prop_assert!(v.is_finite());
        }
        prop_assert!(c.gamma >= 0.0);
    }

    /// Times outside [0, 1] (and NaN) are rejected with a typed error.
    #[test]
    fn out_of_range_times_are_errors(t in prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -10.0f64..-1e-12, (1.0 + 1e-12)..10.0f64]) {
        let r = Interpolant::linear(Gamma::brownian()).unwrap().schedule(t);
        prop_assert!(matches!(r, Err(CoreError::TimeOutOfRange { .. })), "{:?}", r);
    }

    /// Targets: x_t = α x0 + β x1 + γ z exactly; the antithetic sample mirrors the noise.
    #[test]
    fn targets_are_consistent(t in 0.01f64..0.99, which in 0usize..14, seed in 0u64..1000) {
        let it = &all()[which];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (x0, x1, z) = (Points::standard_normal(5, 3, &mut rng), Points::standard_normal(5, 3, &mut rng), Points::standard_normal(5, 3, &mut rng));
        let ts = vec![t; 5];
        let p = it.targets(&ts, &x0, &x1, &z, false).unwrap();
        let m = it.targets(&ts, &x0, &x1, &z, true).unwrap();
        let c = it.schedule(t).unwrap();
        for k in 0..15 {
            let (a, b, n) = (x0.as_slice()[k], x1.as_slice()[k], z.as_slice()[k]);
            let expect = match it.sidedness() {
                Sidedness::OneSided => c.alpha * a + c.beta * b,
                _ => c.alpha * a + c.beta * b + c.gamma * n,
            };
            prop_assert!((p.xt.as_slice()[k] - expect).abs() < 1e-12);
            // x_t⁺ + x_t⁻ = 2 I(t, x0, x1) (two-sided and mirror) or 2 β x1 (one-sided)
            let mid = match it.sidedness() {
                Sidedness::OneSided => c.beta * b,
                _ => c.alpha * a + c.beta * b,
            };
            prop_assert!((p.xt.as_slice()[k] + m.xt.as_slice()[k] - 2.0 * mid).abs() < 1e-12);
            prop_assert!((p.eta.as_slice()[k] + m.eta.as_slice()[k]).abs() < 1e-12);
            // the score target −z/σ exists only where the noise scale σ > 0
            match &p.s {
                Some(sc) => prop_assert!((sc.as_slice()[k] + p.eta.as_slice()[k] / c.noise_scale).abs() < 1e-9 * (1.0 + sc.as_slice()[k].abs())),
                None => prop_assert!(c.noise_scale == 0.0),
            }
        }
    }
}

#[test]
fn invalid_constructions_are_typed_errors() {
    assert!(matches!(
        Gamma::sqrt(-1.0),
        Err(CoreError::InvalidParameter { .. })
    ));
    assert!(matches!(
        Gamma::sqrt(f64::NAN),
        Err(CoreError::InvalidParameter { .. })
    ));
    // γ(0) ≠ 0
    let bad = Gamma::Custom(CustomGamma::new("1", |_| 1.0, |_| 0.0));
    assert!(matches!(
        Interpolant::linear(bad),
        Err(CoreError::BoundaryCondition { .. })
    ));
    // negative γ
    let neg = Gamma::Custom(CustomGamma::new(
        "-t(1-t)",
        |t| -t * (1.0 - t),
        |t| 2.0 * t - 1.0,
    ));
    assert!(matches!(
        Interpolant::linear(neg),
        Err(CoreError::NegativeGamma { .. })
    ));
    // trigonometric needs γ ≤ 1
    assert!(matches!(
        Interpolant::trigonometric(Gamma::sqrt(8.0).unwrap()),
        Err(CoreError::InvalidParameter { .. })
    ));
    // encoder–decoder needs γ(½) = 1
    assert!(matches!(
        Interpolant::encoder_decoder_with(Gamma::Quadratic),
        Err(CoreError::BoundaryCondition { .. })
    ));
    // a one-sided interpolant carries no γ
    assert!(matches!(
        Interpolant::new(Sidedness::OneSided, Coefficients::Linear, Gamma::brownian()),
        Err(CoreError::InvalidParameter { .. })
    ));
    // wrong α(1)
    let c = Coefficients::Custom(si_core::CustomCoefficients::new("bad", |t| {
        [1.0 - 0.5 * t, -0.5, t, 1.0]
    }));
    assert!(matches!(
        Interpolant::new(Sidedness::TwoSided, c, Gamma::Zero),
        Err(CoreError::BoundaryCondition { .. })
    ));
    // NaN in a custom γ
    let nan = Gamma::Custom(CustomGamma::new(
        "nan",
        |t| {
            if (t - 0.5).abs() < 1e-9 {
                f64::NAN
            } else {
                0.0
            }
        },
        |_| 0.0,
    ));
    assert!(matches!(
        Interpolant::linear(nan),
        Err(CoreError::NegativeGamma { .. })
    ));
    // mirror needs γ > 0 inside (0, 1) and α = 0, β = 1
    assert!(Interpolant::mirror(Gamma::Zero).is_err());
    let bump = Coefficients::Custom(si_core::CustomCoefficients::new("1+t(1-t)", |t| {
        [0.0, 0.0, 1.0 + t * (1.0 - t), 1.0 - 2.0 * t]
    }));
    assert!(matches!(
        Interpolant::new(Sidedness::Mirror, bump, Gamma::brownian()),
        Err(CoreError::InvalidParameter { .. })
    ));
    // a scale a ≤ 0 given through the public variant is caught at construction
    for a in [-1.0, 0.0, f64::NAN] {
        assert!(matches!(
            Interpolant::linear(Gamma::Sqrt { a }),
            Err(CoreError::InvalidParameter { .. })
        ));
        assert!(Interpolant::mirror(Gamma::Sqrt { a }).is_err());
    }
    // an inconsistent closed-form γγ̇
    let wrong = Gamma::Custom(
        CustomGamma::new("t(1-t)", |t| t * (1.0 - t), |t| 1.0 - 2.0 * t).with_gamma_dgamma(|_| 0.3),
    );
    assert!(matches!(
        Interpolant::linear(wrong),
        Err(CoreError::InvalidParameter { .. })
    ));
    // a two-sided interpolant whose α̇ is singular at t = 1
    assert!(matches!(
        Interpolant::new(
            Sidedness::TwoSided,
            Coefficients::SqrtOneMinusTSquared,
            Gamma::brownian()
        ),
        Err(CoreError::NonFinite { .. })
    ));
}

#[test]
fn singular_targets_are_errors_and_missing_scores_are_none() {
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let p = Points::from_row_major(1, 1, &[1.0]).unwrap();
    // γ̇ is infinite at t = 0
    assert!(matches!(
        it.targets(&[0.0], &p, &p, &p, false),
        Err(CoreError::SingularTarget { .. })
    ));
    let inside = it.targets(&[0.3], &p, &p, &p, false).unwrap();
    assert!(inside.s.is_some());
    // γ ≡ 0: no score target, b still available
    let det = Interpolant::linear(Gamma::Zero)
        .unwrap()
        .targets(&[0.3], &p, &p, &p, false)
        .unwrap();
    assert!(det.s.is_none());
    assert!(det.b.as_slice()[0].is_finite());
}

#[test]
fn shape_errors_in_targets_and_points() {
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let a = Points::zeros(3, 2);
    let b = Points::zeros(4, 2);
    assert!(matches!(
        it.targets(&[0.5; 3], &a, &b, &a, false),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        it.targets(&[0.5; 2], &a, &a, &a, false),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        it.targets(&[0.5, 0.5, 2.0], &a, &a, &a, false),
        Err(CoreError::TimeOutOfRange { .. })
    ));
    assert!(matches!(
        Points::from_row_major(2, 2, &[1.0; 3]),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        Points::from_row_major(1, 2, &[1.0, f64::NAN]),
        Err(CoreError::NonFinite { .. })
    ));
    let mut c = a.clone();
    assert!(matches!(
        c.axpy(1.0, &b),
        Err(CoreError::ShapeMismatch { .. })
    ));
}
