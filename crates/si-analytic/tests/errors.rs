//! Bad input gets a typed error, never a panic.

use nalgebra::{DMatrix, DVector};
use si_analytic::{AnalyticError, GaussianMixture, MixtureFields};
use si_core::{CoreError, Gamma, Interpolant, Points};

fn one(mean: f64, var: f64) -> (Vec<DVector<f64>>, Vec<DMatrix<f64>>) {
    (
        vec![DVector::from_element(1, mean)],
        vec![DMatrix::from_element(1, 1, var)],
    )
}

#[test]
fn weights_must_sum_to_one_and_be_non_negative() {
    let (m, c) = one(0.0, 1.0);
    assert!(matches!(
        GaussianMixture::new(vec![0.9], m.clone(), c.clone()),
        Err(AnalyticError::WeightsNotNormalised { .. })
    ));
    assert!(matches!(
        GaussianMixture::new(vec![f64::NAN], m.clone(), c.clone()),
        Err(AnalyticError::InvalidWeight { .. })
    ));
    let two_m = vec![m[0].clone(), m[0].clone()];
    let two_c = vec![c[0].clone(), c[0].clone()];
    assert!(matches!(
        GaussianMixture::new(vec![1.5, -0.5], two_m, two_c),
        Err(AnalyticError::InvalidWeight { .. })
    ));
    assert!(matches!(
        GaussianMixture::new(vec![], vec![], vec![]),
        Err(AnalyticError::Empty)
    ));
    // within 1e-9 is accepted
    assert!(GaussianMixture::new(vec![1.0 + 5e-10], m, c).is_ok());
}

#[test]
fn covariances_must_be_spd_symmetric_and_finite() {
    let m = vec![DVector::zeros(2)];
    let not_spd = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    assert!(matches!(
        GaussianMixture::new(vec![1.0], m.clone(), vec![not_spd]),
        Err(AnalyticError::NotPositiveDefinite { .. })
    ));
    let asym = DMatrix::from_row_slice(2, 2, &[1.0, 0.1, 0.0, 1.0]);
    assert!(matches!(
        GaussianMixture::new(vec![1.0], m.clone(), vec![asym]),
        Err(AnalyticError::NotSymmetric { .. })
    ));
    let nan = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, f64::NAN]);
    assert!(matches!(
        GaussianMixture::new(vec![1.0], m.clone(), vec![nan]),
        Err(AnalyticError::NonFinite(_))
    ));
    let wrong = DMatrix::identity(3, 3);
    assert!(matches!(
        GaussianMixture::new(vec![1.0], m, vec![wrong]),
        Err(AnalyticError::DimensionMismatch(_))
    ));
    let nan_mean = vec![DVector::from_vec(vec![0.0, f64::INFINITY])];
    assert!(matches!(
        GaussianMixture::new(vec![1.0], nan_mean, vec![DMatrix::identity(2, 2)]),
        Err(AnalyticError::NonFinite(_))
    ));
}

#[test]
fn fields_reject_bad_times_points_and_pairs() {
    let g1 = GaussianMixture::standard_normal(1).unwrap();
    let g2 = GaussianMixture::standard_normal(2).unwrap();
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    assert!(matches!(
        MixtureFields::new(g1.clone(), g2, it.clone()),
        Err(AnalyticError::DimensionMismatch(_))
    ));
    let shifted = GaussianMixture::univariate(&[(1.0, 1.0, 1.0)]).unwrap();
    assert!(matches!(
        MixtureFields::new(shifted, g1.clone(), Interpolant::one_sided_linear()),
        Err(AnalyticError::NotStandardNormalBase)
    ));
    let f = MixtureFields::new(g1.clone(), g1, it).unwrap();
    let x = Points::from_row_major(1, 1, &[0.0]).unwrap();
    for t in [-0.1, 1.1, f64::NAN] {
        assert!(matches!(
            f.evaluate(t, &x, false),
            Err(AnalyticError::Core(CoreError::TimeOutOfRange { .. }))
        ));
    }
    let x2 = Points::zeros(1, 2);
    assert!(matches!(
        f.evaluate(0.5, &x2, false),
        Err(AnalyticError::DimensionMismatch(_))
    ));
    let nan = Points::from_matrix_unchecked(DMatrix::from_element(1, 1, f64::NAN));
    assert!(matches!(
        f.evaluate(0.5, &nan, false),
        Err(AnalyticError::Core(CoreError::NonFinite { .. }))
    ));
    assert!(f.evaluate_per_point(&[0.5, 0.5], &x, false).is_err());
    assert!(f.sample(2.0, 3, &mut rand::rng()).is_err());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn any_f64() -> impl Strategy<Value = f64> {
        prop_oneof![proptest::num::f64::ANY, -10.0f64..10.0]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary (NaN, infinite, negative, non-SPD) mixtures give Ok or a typed error, never a panic;
        /// when construction succeeds, evaluation at arbitrary points and times does not panic either.
        #[test]
        fn arbitrary_inputs_never_panic(
            w in proptest::collection::vec(any_f64(), 1..4),
            m in proptest::collection::vec(any_f64(), 8),
            c in proptest::collection::vec(any_f64(), 16),
            x in proptest::collection::vec(any_f64(), 4),
            t in any_f64(),
            plausible in proptest::bool::ANY,
        ) {
            let k = w.len();
            // Half the cases are made plausible (normalised weights, symmetric covariances) so that
            // construction often succeeds and evaluation is exercised too.
            let (w, c) = if plausible {
                let a: Vec<f64> = w.iter().map(|v| v.abs().min(1e6)).collect();
                let sum: f64 = a.iter().sum();
                let w = if sum.is_finite() && sum > 0.0 { a.iter().map(|v| v / sum).collect() } else { vec![1.0 / k as f64; k] };
                let c = c.chunks(4).flat_map(|q| [q[0].abs(), q[1], q[1], q[3].abs()]).collect();
                (w, c)
            } else {
                (w, c)
            };
            let means = (0..k).map(|i| DVector::from_vec(vec![m[2 * i], m[2 * i + 1]])).collect();
            let covs = (0..k).map(|i| DMatrix::from_row_slice(2, 2, &[c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]])).collect();
            if let Ok(g) = GaussianMixture::new(w, means, covs) {
                let f = MixtureFields::new(g.clone(), g, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap();
                let p = Points::from_matrix_unchecked(DMatrix::from_column_slice(2, 2, &x));
                let _ = f.evaluate(t, &p, true);
                let _ = f.evaluate_per_point(&[t, t], &p, false);
                let _ = f.sample(t, 2, &mut rand::rng());
            }
        }
    }
}
