//! Forward models: the laws they produce (Monte Carlo, tolerances from the sample size), the matrices of
//! masking and blurring against hand-written ones, and bad input as typed errors.

use nalgebra::dmatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Uniform;
use si_core::{
    AdditiveGaussian, AdditiveNoise, Batch, CoreError, ForwardModel, LinearGaussian, Points,
};

const N: usize = 200_000;

/// Mean and variance of each coordinate of y − x.
fn noise_moments(f: &dyn ForwardModel, x: &Points, seed: u64) -> Vec<(f64, f64)> {
    let y = f.apply(x, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
    let mut diff = y.clone();
    diff.axpy(-1.0, x).unwrap();
    let (m, c) = (diff.mean(), diff.covariance());
    (0..x.dim()).map(|i| (m[i], c[(i, i)])).collect()
}

#[test]
fn additive_gaussian_adds_sigma_squared_to_the_variance() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Points::standard_normal(N, 3, &mut rng);
    let f = AdditiveGaussian::new(3, 0.5).unwrap();
    for (m, v) in noise_moments(&f, &x, 2) {
        // 5 standard errors: σ/√N for the mean, σ²√(2/N) for the variance
        assert!(m.abs() < 5.0 * 0.5 / (N as f64).sqrt(), "mean {m}");
        assert!(
            (v - 0.25).abs() < 5.0 * 0.25 * (2.0 / N as f64).sqrt(),
            "variance {v}"
        );
    }
    assert!(f.describe().contains("0.5"));
}

#[test]
fn uniform_noise_has_the_uniform_variance() {
    let x = Points::zeros(N, 2);
    let f = AdditiveNoise::new(2, Uniform::new(-1.0, 1.0).unwrap(), "U(-1, 1)").unwrap();
    for (m, v) in noise_moments(&f, &x, 3) {
        // Var U(−1, 1) = 1/3; the variance of (U²) is 4/45
        assert!(m.abs() < 5.0 * (1.0 / 3.0 / N as f64).sqrt(), "mean {m}");
        assert!(
            (v - 1.0 / 3.0).abs() < 5.0 * (4.0 / 45.0 / N as f64).sqrt(),
            "variance {v}"
        );
    }
}

#[test]
fn masking_and_blurring_are_the_hand_written_matrices() {
    let m = LinearGaussian::mask(&[true, false, true], 0.0).unwrap();
    assert_eq!(
        m.matrix(),
        &dmatrix![1.0, 0.0, 0.0; 0.0, 0.0, 0.0; 0.0, 0.0, 1.0]
    );
    let b = LinearGaussian::blur(4, &[0.25, 0.5, 0.25], 0.0).unwrap();
    let want = dmatrix![
        0.5, 0.25, 0.0, 0.25;
        0.25, 0.5, 0.25, 0.0;
        0.0, 0.25, 0.5, 0.25;
        0.25, 0.0, 0.25, 0.5
    ];
    assert_eq!(b.matrix(), &want);
    // without noise the map is exactly M x, point by point
    let x = Points::from_row_major(2, 4, &[1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 0.0, 0.0]).unwrap();
    let y = b.apply(&x, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    assert_eq!(
        y.to_row_major(),
        vec![2.0, 2.0, 3.0, 3.0, -0.5, -0.25, 0.0, -0.25]
    );
    let y = m
        .apply(
            &Points::from_row_major(1, 3, &[7.0, 8.0, 9.0]).unwrap(),
            &mut ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
    assert_eq!(y.to_row_major(), vec![7.0, 0.0, 9.0]);
}

#[test]
fn bad_input_is_a_typed_error() {
    assert!(matches!(
        AdditiveGaussian::new(2, 0.0),
        Err(CoreError::InvalidParameter { name: "sigma", .. })
    ));
    assert!(AdditiveGaussian::new(2, f64::NAN).is_err());
    assert!(AdditiveGaussian::new(0, 1.0).is_err());
    assert!(LinearGaussian::blur(3, &[1.0; 4], 0.1).is_err());
    assert!(LinearGaussian::blur(3, &[], 0.1).is_err());
    assert!(LinearGaussian::new(dmatrix![1.0, 2.0], 0.1).is_err());
    assert!(LinearGaussian::new(dmatrix![f64::NAN], 0.1).is_err());
    assert!(LinearGaussian::mask(&[true], -1.0).is_err());
    let f = AdditiveGaussian::new(2, 1.0).unwrap();
    let wrong = Points::zeros(3, 5);
    assert!(matches!(
        f.apply(&wrong, &mut ChaCha8Rng::seed_from_u64(0)),
        Err(CoreError::ShapeMismatch { .. })
    ));
    // a law whose draws overflow (half of these exceed f64::MAX) is reported, not passed on as infinities
    let heavy =
        AdditiveNoise::new(1, rand_distr::Cauchy::new(0.0, f64::MAX).unwrap(), "Cauchy").unwrap();
    let x = Points::zeros(1000, 1);
    assert!(matches!(
        heavy.apply(&x, &mut ChaCha8Rng::seed_from_u64(0)),
        Err(CoreError::NonFinite { .. })
    ));
}
