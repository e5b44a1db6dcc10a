//! The image likelihood pipeline against a closed form: 8×8 "images" (exact samples of a digit-like Gaussian,
//! and dequantised counts) written and read as an (N, 1, 8, 8) .npy, scored by the ODE log-likelihood (exact divergence) of the exact field of a Gaussian
//! ρ1 = N(μ, Σ) in d = 64 under the one-sided linear interpolant, equal to log N(y; μ, Σ), and the bits per
//! dimension of si-data's convention equal to the closed form's; the SDE estimate with the digits' diffusion
//! ε(t) = ε₀ α(t)² converging to it at first order.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Interpolant, Points};
use si_data::digits::{bits_per_dim, dequantize, LEVELS, SHAPE};
use si_data::npy::{read_images, write_images, NpyDtype};
use si_integrate::{ode_log_likelihood, TimeGrid};

#[test]
fn the_ode_likelihood_of_an_exact_gaussian_field_on_images_is_the_closed_form() {
    let d = 64;
    let mut rng = ChaCha8Rng::seed_from_u64(18);
    // a digit-like Gaussian: a mean image and a covariance with neighbouring pixels correlated
    let mu = DVector::from_fn(d, |k, _| {
        0.6 * ((k % 8) as f64 / 7.0 - 0.5) - 0.2 * ((k / 8) as f64 / 7.0)
    });
    let a = DMatrix::from_fn(d, d, |i, j| {
        let (ri, ci, rj, cj) = (
            (i / 8) as f64,
            (i % 8) as f64,
            (j / 8) as f64,
            (j % 8) as f64,
        );
        0.25 * (-((ri - rj).powi(2) + (ci - cj).powi(2)) / 2.0).exp()
    });
    let cov = &a * a.transpose() + DMatrix::identity(d, d) * 0.05;
    let rho1 = GaussianMixture::new(vec![1.0], vec![mu], vec![cov]).unwrap();
    let field = MixtureFields::new(
        GaussianMixture::standard_normal(d).unwrap(),
        rho1.clone(),
        Interpolant::one_sided_linear(),
    )
    .unwrap();
    // images: exact samples of ρ1 and dequantised counts 0..16 (far in its tails), through an (N, 1, 8, 8) file
    let n = 8;
    let typical = rho1.sample(n, &mut rng);
    let counts: Vec<f64> = (0..4 * d)
        .map(|_| f64::from(rng.random_range(0..17u8)))
        .collect();
    let tails = dequantize(
        &Points::from_row_major(4, d, &counts).unwrap(),
        LEVELS,
        &mut rng,
    );
    let mut rows = typical.to_row_major();
    rows.extend(tails.to_row_major());
    let y = Points::from_row_major(n + 4, d, &rows).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("y.npy");
    write_images(&path, &y, SHAPE, NpyDtype::F64).unwrap();
    let (images, shape) = read_images(&path).unwrap();
    assert_eq!(shape, SHAPE);
    let base = GaussianMixture::standard_normal(d).unwrap();
    let ode = |steps: usize| {
        let grid = TimeGrid::uniform(1.0, 0.0, steps).unwrap();
        ode_log_likelihood(
            &field,
            &images,
            &grid,
            |p: &Points| Ok(base.log_density(p)?),
        )
        .unwrap()
    };
    let exact = rho1.log_density(&images).unwrap();
    let (ll, finer) = (ode(400), ode(800));
    // Heun's error is second order: measured 1e-5 to 3e-5 of |log ρ1| at 400 steps (the dequantised counts lie
    // far in the tails, log ρ1 ≈ −90 to −140); 1e-4 leaves room, and doubling the steps divides it by about 4
    for ((a, f), b) in ll.iter().zip(&finer).zip(&exact) {
        assert!((a - b).abs() < 1e-4 * b.abs(), "ODE {a}, closed form {b}");
        let ratio = (a - b).abs() / (f - b).abs();
        assert!(
            (3.0..5.0).contains(&ratio),
            "error ratio {ratio} between 400 and 800 steps"
        );
    }
    let nll = |v: &[f64]| -v.iter().sum::<f64>() / v.len() as f64;
    let (bpd, bpd_exact) = (
        bits_per_dim(nll(&ll), d, LEVELS),
        bits_per_dim(nll(&exact), d, LEVELS),
    );
    let worst = exact.iter().map(|b| 1e-4 * b.abs()).fold(0.0, f64::max);
    assert!((bpd - bpd_exact).abs() <= worst / (d as f64 * std::f64::consts::LN_2));

    // the SDE estimate with the digits' diffusion ε(t) = ε₀ α(t)² (zero at the data end, where the score of
    // a learned one-sided model is −η/0): the path average of the exact field against the closed form
    let sde = |steps: usize| {
        let alpha = |t: f64| Interpolant::one_sided_linear().schedule_unchecked(t).alpha;
        si_integrate::sde_log_likelihood(
            &field,
            &images,
            &TimeGrid::uniform(1.0, 0.0, steps).unwrap(),
            &si_integrate::Diffusion::function("0.5 alpha^2", move |t| 0.5 * alpha(t).powi(2)),
            8,
            &mut ChaCha8Rng::seed_from_u64(19),
            |p: &Points| Ok(base.log_density(p)?),
        )
        .unwrap()
    };
    // Euler–Maruyama's bias is first order: measured +0.06 to +0.59 nats at 800 steps (+0.5 on average at
    // 400, +0.25 at 800), so each image is within 0.75 nats (the largest seen, with a quarter of room) plus
    // 5 standard errors of its paths at 800 steps; the strong check is that doubling the steps halves the
    // average error (ratio 1.5 to 2.7 allowed; measured 2.0)
    let (coarse, fine) = (sde(400), sde(800));
    for ((f, se), b) in fine.mean().iter().zip(fine.std_error()).zip(&exact) {
        assert!(
            (f - b).abs() < 0.75 + 5.0 * se,
            "SDE {f} ± {se}, closed form {b}"
        );
    }
    let mean_err =
        |v: &[f64]| v.iter().zip(&exact).map(|(m, b)| m - b).sum::<f64>() / v.len() as f64;
    let ratio = mean_err(&coarse.mean()) / mean_err(&fine.mean());
    assert!(
        (1.5..2.7).contains(&ratio),
        "error ratio {ratio} between 400 and 800 steps"
    );
}
