//! Shared fixtures: the reference mixture pairs and the interpolants under test.

#![allow(dead_code)]

use nalgebra::{DMatrix, DVector};
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant};

/// ρ0 = ½N(−3, 0.25) + ½N(3, 0.25); ρ1 = ⅓N(−6, 0.5) + ⅓N(0, 0.33) + ⅓N(6, 0.5).
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

fn m2(a: f64, b: f64, c: f64) -> DMatrix<f64> {
    DMatrix::from_row_slice(2, 2, &[a, b, b, c])
}

fn v2(a: f64, b: f64) -> DVector<f64> {
    DVector::from_vec(vec![a, b])
}

/// The 2-D reference pair (2 and 4 components, full covariances).
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

/// Every two-sided interpolant family the crate supports.
pub fn two_sided_interpolants() -> Vec<Interpolant> {
    vec![
        Interpolant::linear(Gamma::Zero).unwrap(),
        Interpolant::linear(Gamma::brownian()).unwrap(),
        Interpolant::linear(Gamma::sqrt(2.0).unwrap()).unwrap(),
        Interpolant::linear(Gamma::Quadratic).unwrap(),
        Interpolant::trigonometric(Gamma::Zero).unwrap(),
        Interpolant::trigonometric(Gamma::brownian()).unwrap(),
        Interpolant::trigonometric(Gamma::Quadratic).unwrap(),
        Interpolant::encoder_decoder(),
    ]
}

/// Fields of the 2-D pair for every two-sided interpolant, plus mirror and one-sided variants.
pub fn all_fields_2d() -> Vec<MixtureFields> {
    let (r0, r1) = pair_2d();
    let mut v: Vec<MixtureFields> = two_sided_interpolants()
        .into_iter()
        .map(|it| MixtureFields::new(r0.clone(), r1.clone(), it).unwrap())
        .collect();
    let n = GaussianMixture::standard_normal(2).unwrap();
    for it in [
        Interpolant::one_sided_linear(),
        Interpolant::one_sided_vp(),
        Interpolant::one_sided_sqrt(),
    ] {
        v.push(MixtureFields::new(n.clone(), r1.clone(), it).unwrap());
    }
    v.push(
        MixtureFields::new(
            r1.clone(),
            r1.clone(),
            Interpolant::mirror(Gamma::brownian()).unwrap(),
        )
        .unwrap(),
    );
    v
}
