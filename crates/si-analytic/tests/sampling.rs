//! Exact samples of ρ(t) and of the mixtures have the exact moments (tolerances from the sample size).

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::Batch;

#[test]
fn rho_t_samples_have_exact_moments() {
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let n = 20_000;
    for it in common::two_sided_interpolants() {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it).unwrap();
        for &t in &[0.0, 0.3, 0.5, 0.8, 1.0] {
            let x = f.sample(t, n, &mut rng).unwrap();
            let (m, c) = f.moments(t).unwrap();
            let (sm, sc) = (x.mean(), x.covariance());
            for r in 0..2 {
                let se = (c[(r, r)] / n as f64).sqrt();
                assert!(
                    (sm[r] - m[r]).abs() < 5.0 * se,
                    "{} t={t}: mean {} vs {}",
                    f.interpolant().name(),
                    sm[r],
                    m[r]
                );
                for q in 0..2 {
                    // Var of a sample covariance entry ≲ (c_rr c_qq + c_rq²) · kurtosis factor / n
                    let se = (3.0 * (c[(r, r)] * c[(q, q)] + c[(r, q)].powi(2)) / n as f64).sqrt();
                    assert!(
                        (sc[(r, q)] - c[(r, q)]).abs() < 5.0 * se,
                        "cov {} vs {}",
                        sc[(r, q)],
                        c[(r, q)]
                    );
                }
            }
        }
    }
    assert_eq!(r0.sample(5, &mut rng).len(), 5);
}

#[test]
fn interpolant_samples_match_rho_t_moments() {
    // x_t = α x0 + β x1 + γ z built from si-core's targets has the exact moments of ρ(t).
    let (r0, r1) = common::pair_2d();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 20_000;
    for it in common::two_sided_interpolants() {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it.clone()).unwrap();
        for &t in &[0.2, 0.5, 0.9] {
            let x0 = r0.sample(n, &mut rng);
            let x1 = r1.sample(n, &mut rng);
            let z = si_core::Points::standard_normal(n, 2, &mut rng);
            let xt = it.targets(&vec![t; n], &x0, &x1, &z, false).unwrap().xt;
            let (m, c) = f.moments(t).unwrap();
            let (sm, sc) = (xt.mean(), xt.covariance());
            for r in 0..2 {
                assert!((sm[r] - m[r]).abs() < 5.0 * (c[(r, r)] / n as f64).sqrt());
                let se = (3.0 * 2.0 * c[(r, r)].powi(2) / n as f64).sqrt();
                assert!((sc[(r, r)] - c[(r, r)]).abs() < 5.0 * se);
            }
        }
    }
}

mod property {
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use si_analytic::MixtureFields;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// x_t = I(t, x0, x1) + γ z sampled through si-core matches the exact moments of ρ(t), for random
        /// times, interpolants and seeds.
        #[test]
        fn xt_sampling_matches_exact_moments(t in 0.0f64..=1.0, which in 0usize..8, seed in 0u64..10_000) {
            let (r0, r1) = super::common::pair_2d();
            let it = super::common::two_sided_interpolants().swap_remove(which);
            let f = MixtureFields::new(r0.clone(), r1.clone(), it.clone()).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let n = 6000;
            let x0 = r0.sample(n, &mut rng);
            let x1 = r1.sample(n, &mut rng);
            let z = si_core::Points::standard_normal(n, 2, &mut rng);
            let xt = it.targets(&vec![t; n], &x0, &x1, &z, false).unwrap().xt;
            let (m, c) = f.moments(t).unwrap();
            let (sm, sc) = (xt.mean(), xt.covariance());
            for r in 0..2 {
                prop_assert!((sm[r] - m[r]).abs() < 5.0 * (c[(r, r)] / n as f64).sqrt());
                let se = (2.0 * c[(r, r)].powi(2) / n as f64).sqrt() * 2.0;
                prop_assert!((sc[(r, r)] - c[(r, r)]).abs() < 5.0 * se);
            }
        }
    }
}

#[test]
fn cdf_1d_matches_samples_and_limits() {
    let (r0, _) = common::pair_1d();
    assert!(r0.cdf_1d(-100.0).unwrap() < 1e-12 && (r0.cdf_1d(100.0).unwrap() - 1.0).abs() < 1e-12);
    assert!((r0.cdf_1d(0.0).unwrap() - 0.5).abs() < 1e-12); // symmetric pair
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = r0.sample(4000, &mut rng);
    let d = si_core::metrics::ks_statistic(x.as_slice(), |v| r0.cdf_1d(v).unwrap()).unwrap();
    assert!(d < si_core::metrics::ks_critical_5pct(4000) * 1.5, "KS {d}");
    let (_, r2) = common::pair_2d();
    assert!(r2.cdf_1d(0.0).is_err());
}
