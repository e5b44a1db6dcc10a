//! Exact Gaussian-mixture fields: points per second beside the Python reference (interflow's exact GMM code).

use std::time::Instant;

use anyhow::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use si_analytic::MixtureFields;
use si_core::{Gamma, Interpolant, Points};

use si_analytic::reference as pairs;

/// Points per second for b and s together at random (t, x), one thread: t ~ U(0.01, 0.99), x ~ N(0, 16 I).
fn throughput(f: &MixtureFields, n: usize, reps: usize) -> Result<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let d = f.dim();
    let ts: Vec<f64> = (0..n).map(|_| rng.random_range(0.01..0.99)).collect();
    let xs: Vec<f64> = (0..n * d)
        .map(|_| 4.0 * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let x = Points::from_row_major(n, d, &xs)?;
    let _ = f.evaluate_per_point(&ts, &x, false)?; // warm-up
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let start = Instant::now();
        let v = f.evaluate_per_point(&ts, &x, false)?;
        std::hint::black_box(&v);
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok(n as f64 / best)
}

/// Prints the throughput of the exact fields on the reference pairs beside the Python reference's.
pub fn run(quick: bool) -> Result<()> {
    let (n, reps) = if quick { (50_000, 3) } else { (400_000, 5) };
    let (a0, a1) = pairs::pair_1d()?;
    let (b0, b1) = pairs::pair_2d()?;
    let brownian = Gamma::brownian();
    let cases = [
        (
            "1-D pair, trigonometric, gamma = sqrt(t(1-t))",
            MixtureFields::new(
                a0.clone(),
                a1.clone(),
                Interpolant::trigonometric(brownian.clone())?,
            )?,
            200_000.0,
        ),
        (
            "1-D pair, linear, gamma = sqrt(t(1-t))",
            MixtureFields::new(a0, a1, Interpolant::linear(brownian.clone())?)?,
            200_000.0,
        ),
        (
            "2-D pair (2 x 4 components), linear, gamma = sqrt(t(1-t))",
            MixtureFields::new(b0, b1, Interpolant::linear(brownian)?)?,
            85_000.0,
        ),
    ];
    println!("Exact Gaussian-mixture fields: b and s together at random (t, x), one thread");
    println!(
        "{:<60} {:>14} {:>16} {:>8}",
        "pair", "points/s", "Python points/s", "ratio"
    );
    for (name, f, reference) in cases {
        let rate = throughput(&f, n, reps)?;
        println!(
            "{:<60} {:>14.0} {:>16.0} {:>7.1}x",
            name,
            rate,
            reference,
            rate / reference
        );
    }
    println!("(target: at least 20x the Python reference, interflow's exact GMM code on PyTorch 2.11, one thread)");
    Ok(())
}
