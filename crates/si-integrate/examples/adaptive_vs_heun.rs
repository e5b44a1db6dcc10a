//! Dormand–Prince 5(4) against Heun at equal accuracy, measured on the ODE log-likelihood of the 2-D
//! reference mixtures, whose exact value is known (docs/math.md §3.2): the error and the number of field
//! evaluations (b with ∇·b) of each.
//!
//! `cargo run --release -p si-integrate --example adaptive_vs_heun`

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, MixtureFields};
use si_core::{Gamma, Interpolant};
use si_integrate::{ode_log_likelihood, AdaptiveConfig, TimeGrid};

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (r0, r1) = reference::pair_2d()?;
    for it in [
        Interpolant::linear(Gamma::brownian())?,
        Interpolant::trigonometric(Gamma::Zero)?,
    ] {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it)?;
        let x = r1.sample(200, &mut ChaCha8Rng::seed_from_u64(1));
        let exact = r1.log_density(&x)?;
        let base = |p: &si_core::Points| Ok(r0.log_density(p)?);
        println!(
            "{}: max |log-likelihood error| over 200 points of rho1 (exact log rho1 known)",
            f.interpolant().name()
        );
        println!("  Dormand-Prince 5(4)                               | Heun");
        println!(
            "  tol      error     steps  rejected  evaluations  | steps   error     evaluations"
        );
        let heun: Vec<(usize, f64)> = [8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
            .iter()
            .map(|&n| {
                let g = TimeGrid::uniform(1.0, 0.0, n).unwrap();
                let ll = ode_log_likelihood(&f, &x, &g, base).unwrap();
                (n, max_err(&ll, &exact))
            })
            .collect();
        for tol in [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9] {
            let (ll, s) = AdaptiveConfig::tolerance(tol)
                .check()?
                .log_likelihood(&f, &x, base)?;
            let e = max_err(&ll, &exact);
            // the fewest Heun steps (of the grid above) that reach the same error
            let h = heun.iter().find(|(_, he)| *he <= e);
            let (hs, he, hev) = match h {
                Some(&(n, he)) => (n.to_string(), format!("{he:.2e}"), (2 * n).to_string()),
                None => ("> 4096".into(), "-".into(), "> 8192".into()),
            };
            println!(
                "  {tol:.0e}  {e:.2e}  {:>6}  {:>8}  {:>11}  | {hs:>6}  {he:>8}  {hev:>11}",
                s.accepted, s.rejected, s.evaluations
            );
        }
    }
    println!("(Heun: two evaluations per step)");
    Ok(())
}
