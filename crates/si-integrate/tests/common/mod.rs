//! Fixtures shared by the integrator tests.
#![allow(dead_code)]

use si_analytic::GaussianMixture;

/// The 2-D reference pair (2 and 4 components).
pub fn pair_2d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_2d().unwrap()
}

/// The 1-D reference pair.
pub fn pair_1d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_1d().unwrap()
}
