//! Schemes by name: the canonical name reads back to the same scheme, bad names are typed errors, the
//! names the `si` binary accepted before schemes existed still parse, and every scheme integrates bit for
//! bit as the stepper it names on an exact mixture field.

use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, MixtureFields};
use si_core::{ErrorNorm, Gamma, Interpolant, Points};
use si_integrate::{
    integrate, AdaptiveConfig, DormandPrince, Euler, EulerMaruyama, Heun, IntegrateError, Scheme,
    Stepper, StochasticHeun, TimeGrid,
};

/// The 2-D reference pair under the linear interpolant with γ = √(t(1−t)) (velocity and score exact).
fn field() -> MixtureFields {
    let (r0, r1) = reference::pair_2d().unwrap();
    MixtureFields::new(r0, r1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap()
}

fn starts() -> Points {
    Points::standard_normal(16, 2, &mut ChaCha8Rng::seed_from_u64(3))
}

fn bits(p: &Points) -> Vec<u64> {
    p.as_slice().iter().map(|v| v.to_bits()).collect()
}

/// Integrates with `s` from the same start and seed.
fn run<S: Stepper<Points>>(s: &S, grid: &TimeGrid) -> Vec<u64> {
    let x = integrate(
        s,
        &field(),
        starts(),
        grid,
        &mut ChaCha8Rng::seed_from_u64(9),
        &mut [],
    )
    .unwrap();
    bits(&x)
}

#[test]
fn every_scheme_steps_as_the_stepper_it_names() {
    let forward = TimeGrid::uniform(0.0, 1.0, 25).unwrap();
    let backward = TimeGrid::uniform(1.0, 0.0, 25).unwrap();
    for grid in [&forward, &backward] {
        assert_eq!(run(&Scheme::Euler, grid), run(&Euler, grid));
        assert_eq!(run(&Scheme::Heun, grid), run(&Heun, grid));
        for eps in [0.0, 0.5, 1.3] {
            for noise_first in [false, true] {
                let em = EulerMaruyama::constant(eps).unwrap();
                let em = if noise_first { em.noise_first() } else { em };
                assert_eq!(
                    run(&Scheme::EulerMaruyama { eps, noise_first }, grid),
                    run(&em, grid),
                    "eps {eps}, noise first {noise_first}"
                );
            }
            assert_eq!(
                run(&Scheme::StochasticHeun { eps }, grid),
                run(&StochasticHeun::constant(eps).unwrap(), grid),
                "eps {eps}"
            );
        }
    }
    // the SDE schemes do draw noise: a different seed gives different samples
    let s = Scheme::EulerMaruyama {
        eps: 0.5,
        noise_first: false,
    };
    let other = integrate(
        &s,
        &field(),
        starts(),
        &forward,
        &mut ChaCha8Rng::seed_from_u64(10),
        &mut [],
    )
    .unwrap();
    assert_ne!(bits(&other), run(&s, &forward));
}

#[test]
fn dormand_prince_steps_fixed_and_drives_adaptive() {
    let cfg = AdaptiveConfig::tolerance(1e-7);
    let scheme = Scheme::DormandPrince(cfg);
    let dp = cfg.check().unwrap();
    // one step: the fixed fifth-order step
    for (t, dt) in [(0.0, 0.1), (0.4, 0.25), (1.0, -0.2)] {
        let mut a = starts();
        let mut b = starts();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        scheme.step(&field(), t, dt, &mut a, &mut rng).unwrap();
        dp.step(&field(), t, dt, &mut b, &mut rng).unwrap();
        assert_eq!(bits(&a), bits(&b));
    }
    // over a grid: the adaptive solve, landing on the grid's times
    for grid in [
        TimeGrid::uniform(0.0, 1.0, 4).unwrap(),
        TimeGrid::uniform(1.0, 0.0, 1).unwrap(),
    ] {
        let (want, _) = dp.solve(&field(), starts(), &grid, &mut []).unwrap();
        assert_eq!(run(&scheme, &grid), bits(&want));
    }
    // not the fixed steps: 4 fixed steps are far from the tolerance the adaptive solve meets
    let grid = TimeGrid::uniform(0.0, 1.0, 4).unwrap();
    assert_ne!(run(&scheme, &grid), run(&DormandPrince::new(), &grid));
}

#[test]
fn captions_are_those_of_the_named_steppers() {
    let name = |s: &Scheme| <Scheme as Stepper<Points>>::name(s);
    assert_eq!(name(&Scheme::Heun), "Heun");
    assert_eq!(name(&Scheme::Euler), "Euler");
    assert_eq!(
        name(&Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: true
        }),
        <EulerMaruyama as Stepper<Points>>::name(
            &EulerMaruyama::constant(0.5).unwrap().noise_first()
        )
    );
    assert_eq!(
        name(&Scheme::StochasticHeun { eps: 1.0 }),
        <StochasticHeun as Stepper<Points>>::name(&StochasticHeun::constant(1.0).unwrap())
    );
    assert_eq!(
        name(&Scheme::DormandPrince(AdaptiveConfig::default())),
        "Dormand-Prince 5"
    );
}

#[test]
fn the_names_of_the_si_binary_still_parse() {
    let p = |s: &str| s.parse::<Scheme>().unwrap();
    assert_eq!(p("heun"), Scheme::Heun);
    assert_eq!(p("euler"), Scheme::Euler);
    assert_eq!(
        p("euler-maruyama"),
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: false
        }
    );
    assert_eq!(
        p("noise-first"),
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: true
        }
    );
    assert_eq!(p("stochastic-heun"), Scheme::StochasticHeun { eps: 0.5 });
    assert_eq!(
        p("stochastic-heun:eps=1"),
        Scheme::StochasticHeun { eps: 1.0 }
    );
    assert_eq!(
        p("stochastic-heun:eps=1").to_string(),
        "stochastic-heun:eps=1"
    );
    assert_eq!(
        p("euler-maruyama:eps=0.5,noise-first"),
        p("noise-first:eps=0.5")
    );
    assert_eq!(
        p("dormand-prince:rtol=1e-6,atol=1e-6"),
        Scheme::DormandPrince(AdaptiveConfig::tolerance(1e-6))
    );
    assert_eq!(
        p("dormand-prince"),
        Scheme::DormandPrince(AdaptiveConfig::default())
    );
    assert_eq!(p("dormand-prince").to_string(), "dormand-prince");
    assert_eq!(
        p("dormand-prince:norm=rms,max-steps=50,first-step=0.01,fac-max=4,fac-min=0.5"),
        Scheme::DormandPrince(AdaptiveConfig {
            norm: ErrorNorm::Rms,
            max_steps: 50,
            first_step: Some(0.01),
            fac_max: 4.0,
            fac_min: 0.5,
            ..AdaptiveConfig::default()
        })
    );
    assert_eq!(p("noise-first").eps(), Some(0.5));
    assert_eq!(p("heun").eps(), None);
    assert_eq!(
        p("noise-first").with_eps(0.3),
        Scheme::EulerMaruyama {
            eps: 0.3,
            noise_first: true
        }
    );
    assert_eq!(p("heun").with_eps(0.3), Scheme::Heun);
}

#[test]
fn bad_names_are_typed_errors() {
    let e = |s: &str| s.parse::<Scheme>().unwrap_err();
    for s in ["milstein", "", "Heun", "euler-maruyama-x", ":eps=1"] {
        assert!(
            matches!(&e(s), IntegrateError::UnknownScheme { got, .. } if got == s),
            "{s}: {:?}",
            e(s)
        );
    }
    assert!(e("milstein").to_string().contains("noise-first"));
    for s in [
        "heun:eps=1",
        "euler:",
        "euler-maruyama:eps=abc",
        "euler-maruyama:eps",
        "euler-maruyama:eps=1,eps=2",
        "euler-maruyama:sigma=1",
        "noise-first:noise-first",
        "stochastic-heun:noise-first",
        "dormand-prince:rtol",
        "dormand-prince:norm=l2",
        "dormand-prince:max-steps=1.5",
        "dormand-prince:tol=1e-6,rtol=1e-5",
        "dormand-prince:order=5",
    ] {
        assert!(
            matches!(e(s), IntegrateError::SchemeSetting { .. }),
            "{s}: {:?}",
            e(s)
        );
    }
    for s in [
        "euler-maruyama:eps=-1",
        "stochastic-heun:eps=NaN",
        "noise-first:eps=inf",
    ] {
        assert!(
            matches!(e(s), IntegrateError::InvalidDiffusion { .. }),
            "{s}: {:?}",
            e(s)
        );
    }
    for s in [
        "dormand-prince:rtol=0",
        "dormand-prince:atol=-1e-6",
        "dormand-prince:fac-max=1",
        "dormand-prince:fac-min=1",
        "dormand-prince:first-step=2",
        "dormand-prince:max-steps=0",
    ] {
        assert!(
            matches!(e(s), IntegrateError::InvalidSolver(_)),
            "{s}: {:?}",
            e(s)
        );
    }
}

#[test]
fn settings_written_directly_are_checked_where_used() {
    let grid = TimeGrid::uniform(0.0, 1.0, 4).unwrap();
    let go = |s: Scheme| {
        integrate(
            &s,
            &field(),
            starts(),
            &grid,
            &mut ChaCha8Rng::seed_from_u64(0),
            &mut [],
        )
        .unwrap_err()
    };
    assert!(matches!(
        go(Scheme::StochasticHeun { eps: -0.1 }),
        IntegrateError::InvalidDiffusion { .. }
    ));
    assert!(matches!(
        go(Scheme::EulerMaruyama {
            eps: f64::NAN,
            noise_first: true
        }),
        IntegrateError::InvalidDiffusion { .. }
    ));
    assert!(matches!(
        go(Scheme::DormandPrince(AdaptiveConfig::tolerance(0.0))),
        IntegrateError::InvalidSolver(_)
    ));
    let mut x = starts();
    let bad = Scheme::DormandPrince(AdaptiveConfig::tolerance(-1.0));
    assert!(bad
        .step(
            &field(),
            0.0,
            0.1,
            &mut x,
            &mut ChaCha8Rng::seed_from_u64(0)
        )
        .is_err());
    assert!(Scheme::StochasticHeun { eps: -1.0 }.check().is_err());
}

/// A positive finite number spanning many magnitudes.
fn positive() -> impl Strategy<Value = f64> {
    prop_oneof![
        1e-12f64..1e3,
        any::<f64>().prop_filter("positive and finite", |v| v.is_finite() && *v > 0.0),
    ]
}

fn scheme() -> impl Strategy<Value = Scheme> {
    let eps = prop_oneof![Just(0.0), Just(0.5), 0.0f64..20.0, positive()];
    let dp = (
        positive(),
        positive(),
        proptest::option::of(0.0f64..1.0),
        1.0f64..100.0,
        0.0f64..1.0,
        1usize..1_000_000,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter_map(
            "valid adaptive settings",
            |(rtol, atol, first, fac_max, fac_min, max_steps, rms, default)| {
                let cfg = if default {
                    AdaptiveConfig::default()
                } else {
                    AdaptiveConfig {
                        rtol,
                        atol,
                        first_step: first,
                        fac_max,
                        fac_min,
                        max_steps,
                        norm: if rms {
                            ErrorNorm::Rms
                        } else {
                            ErrorNorm::WorstPoint
                        },
                    }
                };
                cfg.check().ok().map(|_| Scheme::DormandPrince(cfg))
            },
        );
    prop_oneof![
        Just(Scheme::Euler),
        Just(Scheme::Heun),
        (eps.clone(), any::<bool>())
            .prop_map(|(eps, noise_first)| Scheme::EulerMaruyama { eps, noise_first }),
        eps.prop_map(|eps| Scheme::StochasticHeun { eps }),
        dp,
    ]
}

proptest! {
    #[test]
    fn the_canonical_name_reads_back(s in scheme()) {
        let name = s.to_string();
        let back: Scheme = name.parse().unwrap();
        prop_assert_eq!(back, s, "{}", name);
        prop_assert_eq!(back.to_string(), name);
    }
}
