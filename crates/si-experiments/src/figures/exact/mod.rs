//! Figures 1–4 (docs/figures.md part A): exact fields of Gaussian mixtures, no learning.

pub mod densities;
pub mod histograms;
pub mod scatter;
pub mod trajectories;

/// The reference Gaussian-mixture pairs of the figures and benchmarks.
pub use si_analytic::reference as pairs;

use anyhow::Result;
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianMixture;
use si_core::metrics::{energy_distance, ks_critical_5pct, ks_statistic};
use si_core::{Batch, Gamma, Interpolant, Points};

/// The three interpolants of figures 1 and 2.
pub(crate) fn three_interpolants() -> Result<Vec<(String, Interpolant)>> {
    Ok(vec![
        (
            "trigonometric, gamma = 0".into(),
            Interpolant::trigonometric(Gamma::Zero)?,
        ),
        (
            "trigonometric, gamma = sqrt(t(1-t))".into(),
            Interpolant::trigonometric(Gamma::brownian())?,
        ),
        (
            "encoder-decoder, gamma = sin^2(pi t)".into(),
            Interpolant::encoder_decoder(),
        ),
    ])
}

/// Energy distance of `samples` (first ≤ 2000) to exact samples of `target`, and the null level: the
/// largest of ten distances between independent exact samples of the same size.
pub(crate) fn energy_vs_null(
    samples: &Points,
    target: &GaussianMixture,
    rng: &mut ChaCha8Rng,
) -> Result<(f64, f64)> {
    let n = samples.len().min(2000);
    let sub = Points::from_matrix_unchecked(samples.matrix().columns(0, n).into_owned());
    let e = energy_distance(&sub, &target.sample(n, rng))?;
    let mut null: f64 = 0.0;
    for _ in 0..10 {
        null = null.max(energy_distance(
            &target.sample(n, rng),
            &target.sample(n, rng),
        )?);
    }
    Ok((e, null))
}

/// The Kolmogorov–Smirnov distance of 1-D samples to the exact CDF of `target`, as a table entry with the
/// 5 % critical value.
pub(crate) fn ks_vs_exact(samples: &Points, target: &GaussianMixture) -> Result<String> {
    let (d, crit) = ks_and_critical(samples, target)?;
    Ok(format!("{d:.4} (5 % critical value {crit:.4})"))
}

/// The Kolmogorov–Smirnov distance of 1-D samples to the exact CDF and its 5 % critical value.
pub(crate) fn ks_and_critical(samples: &Points, target: &GaussianMixture) -> Result<(f64, f64)> {
    let d = ks_statistic(samples.as_slice(), |x| target.cdf_1d(x).unwrap_or(f64::NAN))?;
    Ok((d, ks_critical_5pct(samples.len())))
}

/// Number of local maxima of a sampled curve (peaks above 1e-3 of the maximum; a flat top of two equal
/// samples counts once).
pub(crate) fn count_modes(y: &[f64]) -> usize {
    let top = y.iter().copied().fold(0.0, f64::max);
    y.windows(3)
        .filter(|w| w[1] >= w[0] && w[1] > w[2] && w[1] > 1e-3 * top)
        .count()
}
