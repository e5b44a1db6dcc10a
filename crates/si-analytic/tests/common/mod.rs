//! Shared fixtures: the reference mixture pairs and the interpolants under test.

#![allow(dead_code)]

use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant};

/// The 1-D reference pair.
pub fn pair_1d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_1d().unwrap()
}

/// The 2-D reference pair (2 and 4 components, full covariances).
pub fn pair_2d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_2d().unwrap()
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
