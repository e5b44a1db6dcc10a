//! Fixtures shared by the integrator tests.
#![allow(dead_code)]

use nalgebra::{DMatrix, DVector};
use si_analytic::GaussianMixture;

fn m2(a: f64, b: f64, c: f64) -> DMatrix<f64> {
    DMatrix::from_row_slice(2, 2, &[a, b, b, c])
}
fn v2(a: f64, b: f64) -> DVector<f64> {
    DVector::from_vec(vec![a, b])
}

/// The 2-D reference pair (2 and 4 components).
pub fn pair_2d() -> (GaussianMixture, GaussianMixture) {
    (
        GaussianMixture::new(
            vec![0.5, 0.5],
            vec![v2(-2.0, 0.0), v2(2.0, 0.0)],
            vec![m2(0.3, 0.0, 0.3), m2(0.5, 0.2, 0.4)],
        )
        .unwrap(),
        GaussianMixture::new(
            vec![0.25; 4],
            vec![v2(-3.0, 3.0), v2(3.0, 3.0), v2(-3.0, -3.0), v2(3.0, -3.0)],
            vec![
                m2(0.2, 0.0, 0.2),
                m2(0.4, 0.0, 0.4),
                m2(0.3, -0.1, 0.3),
                m2(0.25, 0.0, 0.25),
            ],
        )
        .unwrap(),
    )
}

/// The 1-D reference pair.
pub fn pair_1d() -> (GaussianMixture, GaussianMixture) {
    let third = 1.0 / 3.0;
    (
        GaussianMixture::univariate(&[(0.5, -3.0, 0.25), (0.5, 3.0, 0.25)]).unwrap(),
        GaussianMixture::univariate(&[
            (third, -6.0, 0.5),
            (third, 0.0, 0.33),
            (1.0 - 2.0 * third, 6.0, 0.5),
        ])
        .unwrap(),
    )
}
