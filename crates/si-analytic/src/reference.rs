//! The reference Gaussian mixtures used by the figures, benchmarks, tests, examples and the README, each
//! written once: the pairs that the Python reference implementation's timings refer to ([`pair_1d`],
//! [`pair_2d`]), the Gaussian pair of the learned-field tests ([`gaussian_pair_1d`]) and the observations'
//! law of the variance-reduction toy ([`scsi_toy`]).

use nalgebra::{DMatrix, DVector};

use crate::error::Result;
use crate::mixture::GaussianMixture;

/// ρ0 = ½N(−3, 0.25) + ½N(3, 0.25); ρ1 = ⅓N(−6, 0.5) + ⅓N(0, 0.33) + ⅓N(6, 0.5) (variances).
pub fn pair_1d() -> Result<(GaussianMixture, GaussianMixture)> {
    let third = 1.0 / 3.0;
    Ok((
        GaussianMixture::univariate(&[(0.5, -3.0, 0.25), (0.5, 3.0, 0.25)])?,
        GaussianMixture::univariate(&[
            (third, -6.0, 0.5),
            (third, 0.0, 0.33),
            (1.0 - 2.0 * third, 6.0, 0.5),
        ])?,
    ))
}

fn m2(a: f64, b: f64, c: f64) -> DMatrix<f64> {
    DMatrix::from_row_slice(2, 2, &[a, b, b, c])
}

fn v2(a: f64, b: f64) -> DVector<f64> {
    DVector::from_vec(vec![a, b])
}

/// The 2-D pair: ρ0 weights ½, ½, means (−2, 0), (2, 0), covariances 0.3 I and [[0.5, 0.2], [0.2, 0.4]];
/// ρ1 weights ¼, means (±3, ±3), covariances 0.2 I, 0.4 I, [[0.3, −0.1], [−0.1, 0.3]], 0.25 I.
pub fn pair_2d() -> Result<(GaussianMixture, GaussianMixture)> {
    Ok((
        GaussianMixture::new(
            vec![0.5, 0.5],
            vec![v2(-2.0, 0.0), v2(2.0, 0.0)],
            vec![m2(0.3, 0.0, 0.3), m2(0.5, 0.2, 0.4)],
        )?,
        GaussianMixture::new(
            vec![0.25; 4],
            vec![v2(-3.0, 3.0), v2(3.0, 3.0), v2(-3.0, -3.0), v2(3.0, -3.0)],
            vec![
                m2(0.2, 0.0, 0.2),
                m2(0.4, 0.0, 0.4),
                m2(0.3, -0.1, 0.3),
                m2(0.25, 0.0, 0.25),
            ],
        )?,
    ))
}

/// ρ0 = N(0, 1), ρ1 = N(2, 0.25) (variance) in d = 1: a Gaussian pair whose fields are affine in x, so
/// that the marginals of every stepper have exact moment recursions.
pub fn gaussian_pair_1d() -> Result<(GaussianMixture, GaussianMixture)> {
    Ok((
        GaussianMixture::univariate(&[(1.0, 0.0, 1.0)])?,
        GaussianMixture::univariate(&[(1.0, 2.0, 0.25)])?,
    ))
}

/// The variance-reduction toy of the SCSI experiments (docs/math.md §6): the observations' law
/// y ~ ½N((−2, 0), 0.5 I) + ½N((2, 0), [[0.6, 0.2], [0.2, 0.5]]); y = x + σz has a clean law for
/// σ² < λ_min = 0.55 − √0.0425 ≈ 0.344 (the smallest eigenvalue of the second covariance).
pub fn scsi_toy() -> Result<GaussianMixture> {
    GaussianMixture::new(
        vec![0.5, 0.5],
        vec![v2(-2.0, 0.0), v2(2.0, 0.0)],
        vec![m2(0.5, 0.0, 0.5), m2(0.6, 0.2, 0.5)],
    )
}
