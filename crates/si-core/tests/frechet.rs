//! The Fréchet distance between fitted Gaussians against closed forms.

use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::metrics::frechet_distance;
use si_core::Points;

/// A sample whose mean is exactly zero and covariance exactly the identity.
fn white(n: usize, d: usize, seed: u64) -> Points {
    let base = sample(n, d, seed);
    let w = base
        .covariance()
        .cholesky()
        .unwrap()
        .l()
        .try_inverse()
        .unwrap();
    let m = base.mean();
    map(&base, &w, &(-(&w * &m)))
}

fn sample(n: usize, d: usize, seed: u64) -> Points {
    Points::standard_normal(n, d, &mut ChaCha8Rng::seed_from_u64(seed))
}

fn map(p: &Points, a: &DMatrix<f64>, b: &DVector<f64>) -> Points {
    let mut m = a * p.matrix();
    for mut c in m.column_iter_mut() {
        c += b;
    }
    Points::from_matrix_unchecked(m)
}

#[test]
fn a_sample_against_itself_is_zero_and_against_a_shifted_copy_the_squared_shift() {
    let x = map(
        &sample(500, 6, 1),
        &DMatrix::from_fn(6, 6, |i, j| {
            if i >= j {
                1.0 / (1 + i + j) as f64
            } else {
                0.0
            }
        }),
        &DVector::zeros(6),
    );
    assert!(frechet_distance(&x, &x).unwrap().abs() < 1e-9);
    let shift = DVector::from_vec(vec![0.3, -1.0, 0.0, 2.0, 0.5, -0.25]);
    let y = map(&x, &DMatrix::identity(6, 6), &shift);
    let want = shift.norm_squared();
    assert!((frechet_distance(&x, &y).unwrap() - want).abs() < 1e-9 * (1.0 + want));
}

#[test]
fn scaled_copies_give_the_diagonal_closed_form() {
    // Y = D X with D diagonal: Σy = D Σx D; when Σx is diagonal too the distance is Σ_k (sx_k − sy_k)²
    // with s the standard deviations (the matrices commute)
    let white = white(400, 4, 2);
    let sx = DVector::from_vec(vec![1.0, 0.5, 2.0, 1.5]);
    let x = map(&white, &DMatrix::from_diagonal(&sx), &DVector::zeros(4));
    let sy = DVector::from_vec(vec![2.0, 0.5, 1.0, 0.1]);
    let y = map(
        &white,
        &DMatrix::from_diagonal(&sy),
        &DVector::from_element(4, 1.0),
    );
    let want = (&sx - &sy).norm_squared() + 4.0;
    assert!((frechet_distance(&x, &y).unwrap() - want).abs() < 1e-9);
}

#[test]
fn non_commuting_covariances_in_2d_match_the_trace_formula() {
    // for 2 × 2 positive semi-definite M, tr √M = √(tr M + 2 √det M); with M = Σx^{1/2} Σy Σx^{1/2}:
    // tr M = tr(Σx Σy), det M = det Σx det Σy (a route that takes no matrix square root)
    let a = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.8, 0.6]);
    let b = DMatrix::from_row_slice(2, 2, &[0.3, 1.2, -0.5, 0.4]);
    let (sx, sy) = (&a * a.transpose(), &b * b.transpose());
    assert!(
        (&sx * &sy - &sy * &sx).norm() > 0.1,
        "the covariances do not commute"
    );
    let z = white(300, 2, 7);
    let (mx, my) = (
        DVector::from_vec(vec![0.5, 0.0]),
        DVector::from_vec(vec![-1.0, 2.0]),
    );
    let x = map(&z, &a, &mx);
    let y = map(&white(200, 2, 8), &b, &my);
    let tr_root = ((&sx * &sy).trace() + 2.0 * (sx.determinant() * sy.determinant()).sqrt()).sqrt();
    let want = (&mx - &my).norm_squared() + sx.trace() + sy.trace() - 2.0 * tr_root;
    assert!((frechet_distance(&x, &y).unwrap() - want).abs() < 1e-9);
}

#[test]
fn mismatched_or_too_small_samples_are_errors() {
    assert!(frechet_distance(&sample(10, 2, 3), &sample(10, 3, 4)).is_err());
    assert!(frechet_distance(&sample(1, 2, 3), &sample(10, 2, 4)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Symmetric, non-negative, and invariant under a common rotation and translation.
    #[test]
    fn symmetric_nonnegative_and_invariant_under_rigid_motions(seed in 0u64..1000, angle in 0.0f64..std::f64::consts::TAU) {
        let x = map(&sample(60, 2, seed), &DMatrix::from_row_slice(2, 2, &[1.0, 0.3, 0.0, 0.7]), &DVector::zeros(2));
        let y = map(&sample(80, 2, seed + 1), &DMatrix::from_row_slice(2, 2, &[0.5, 0.0, 0.2, 1.4]), &DVector::from_vec(vec![0.4, -0.2]));
        let d = frechet_distance(&x, &y).unwrap();
        prop_assert!(d >= -1e-12);
        prop_assert!((d - frechet_distance(&y, &x).unwrap()).abs() < 1e-9 * (1.0 + d));
        let (c, s) = (angle.cos(), angle.sin());
        let r = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
        let t = DVector::from_vec(vec![3.0, -1.0]);
        let d2 = frechet_distance(&map(&x, &r, &t), &map(&y, &r, &t)).unwrap();
        prop_assert!((d - d2).abs() < 1e-9 * (1.0 + d));
    }
}
