//! Bias and spread of the SDE log-likelihood estimator against the exact log ρ1 of Gaussian mixtures, by
//! number of paths and of steps, with and without the stochastic integral (docs/math.md §3.1).
//!
//! `cargo run --release -p si-integrate --example sde_likelihood_table`

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, MixtureFields};
use si_core::{Gamma, Interpolant};
use si_integrate::{sde_log_likelihood, Diffusion, TimeGrid};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("SDE log-likelihood of 200 points of rho1 against the exact log rho1 (nats), linear interpolant, gamma = sqrt(t(1-t)):");
    println!(
        "{:>4} {:>5} {:>6} {:>7} | {:>9} {:>9} {:>9} | {:>9} {:>9}",
        "d", "eps", "steps", "paths", "bias", "|bias|", "spread", "bias -SI", "spread -SI"
    );
    let cases = [("1", reference::pair_1d()?), ("2", reference::pair_2d()?)];
    for (d, (r0, r1)) in cases {
        let f = MixtureFields::new(
            r0.clone(),
            r1.clone(),
            Interpolant::linear(Gamma::brownian())?,
        )?;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = r1.sample(200, &mut rng);
        let exact = r1.log_density(&x)?;
        for eps in [0.5, 2.0] {
            for steps in [50, 200, 1000] {
                for paths in [1, 10, 100] {
                    let grid = TimeGrid::uniform(1.0, 0.0, steps)?;
                    let est = sde_log_likelihood(
                        &f,
                        &x,
                        &grid,
                        &Diffusion::constant(eps)?,
                        paths,
                        &mut rng,
                        |p| Ok(r0.log_density(p)?),
                    )?;
                    let (m, m0) = (est.mean(), est.drift_only_mean());
                    let n = exact.len() as f64;
                    let bias = m.iter().zip(&exact).map(|(a, b)| a - b).sum::<f64>() / n;
                    let abs = m
                        .iter()
                        .zip(&exact)
                        .map(|(a, b)| (a - b).abs())
                        .sum::<f64>()
                        / n;
                    let bias0 = m0.iter().zip(&exact).map(|(a, b)| a - b).sum::<f64>() / n;
                    let spread = if paths > 1 {
                        est.spread().iter().sum::<f64>() / n
                    } else {
                        f64::NAN
                    };
                    let spread0 = if paths > 1 {
                        est.drift_only_spread().iter().sum::<f64>() / n
                    } else {
                        f64::NAN
                    };
                    println!(
                        "{d:>4} {eps:>5} {steps:>6} {paths:>7} | {bias:>9.4} {abs:>9.4} {spread:>9.4} | {bias0:>9.4} {spread0:>9.4}"
                    );
                }
            }
        }
    }
    println!("(bias: mean over points of (path average - exact); |bias|: mean absolute error of the path average; spread: per-path standard deviation; -SI: without the stochastic integral)");
    Ok(())
}
