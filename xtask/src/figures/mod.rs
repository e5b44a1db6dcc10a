//! `cargo xtask reproduce-figures`: figures 1–4 (exact fields) here, the rest from the robot and
//! learned-field modules, and one index.html.

mod densities;
mod histograms;
pub mod pairs;
mod scatter;
mod trajectories;

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianMixture;
use si_core::metrics::{energy_distance, ks_critical_5pct, ks_statistic};
use si_core::{Batch, Gamma, Interpolant, Points};

use si_report::FigureEntry;

/// Makes every figure under `out` (or those numbered in `only`, when it is not empty).
pub fn reproduce(out: &Path, quick: bool, only: &[u32]) -> Result<()> {
    let wanted = |numbers: &[u32]| only.is_empty() || numbers.iter().any(|n| only.contains(n));
    std::fs::create_dir_all(out)?;
    let mut entries = Vec::new();
    type Maker = fn(&Path, bool) -> Result<FigureEntry>;
    let makers: [(u32, &str, Maker); 4] = [
        (1, "1 (exact densities)", densities::figure),
        (2, "2 (exact trajectories)", trajectories::figure),
        (3, "3 (gamma = 0 against gamma > 0)", histograms::figure),
        (
            4,
            "4 (2-D mixture samples and likelihoods)",
            scatter::figure,
        ),
    ];
    for (number, name, make) in makers {
        if !wanted(&[number]) {
            continue;
        }
        let start = Instant::now();
        eprintln!("==> figure {name}");
        entries.push(make(out, quick)?);
        eprintln!("    done in {:.1} s", start.elapsed().as_secs_f64());
    }
    if wanted(&[15]) {
        let start = Instant::now();
        eprintln!("==> Push-T figures");
        entries.extend(crate::robot::figures(out, quick)?);
        eprintln!("    done in {:.1} s", start.elapsed().as_secs_f64());
    }
    const LEARNED: [u32; 11] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    if wanted(&LEARNED) {
        let start = Instant::now();
        eprintln!("==> learned-field figures (si-nn)");
        let subset: Vec<u32> = only
            .iter()
            .copied()
            .filter(|n| LEARNED.contains(n))
            .collect();
        entries.extend(crate::nn::figures(out, quick, &subset)?);
        eprintln!("    done in {:.1} s", start.elapsed().as_secs_f64());
    }
    let cmd = format!(
        "cargo xtask reproduce-figures{}",
        if quick { " --quick" } else { "" }
    );
    si_report::write_index(out, &entries, &cmd)?;
    eprintln!("==> wrote {}", out.join("index.html").display());
    Ok(())
}

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
