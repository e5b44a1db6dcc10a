//! The digits table of docs/results.md ("Images"): the class-conditional U-Net of figure 18 trained with
//! several seeds, each scored by bits per dimension of the test images (ODE, exact divergence) and, for the
//! ODE and the SDE at each guidance weight, the Fréchet distance in the classifier's features to the
//! validation and test images and the conditional accuracy; mean ± standard error over the seeds, the
//! weight chosen on validation; with the floor and the Gaussian baseline.
//!
//! `SI_RS_DIGITS=$(cargo xtask digits) cargo run --release -p si-experiments --features nn --example digits --
//! [--seeds 0,1,2] [--steps N] [--quick]`

use anyhow::Result;
use si_data::digits::CLASSES;
use si_experiments::figures::images::digits::{
    baselines, chosen, digits_dir, load, measure, train_classifier, DigitsSizes, Sampler,
};

fn arg(name: &str) -> Option<String> {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1).cloned())
}

fn mean_se(v: &[f64]) -> String {
    match si_core::metrics::mean_std_err(v) {
        Ok(m) if v.len() > 1 => format!("{:.3} ± {:.3}", m.mean, m.std_err),
        _ => format!("{:.3}", v.iter().sum::<f64>() / v.len().max(1) as f64),
    }
}

fn main() -> Result<()> {
    si_report::init_logging();
    let quick = std::env::args().any(|a| a == "--quick");
    let mut sizes = DigitsSizes::new(quick);
    if let Some(s) = arg("--steps") {
        sizes.steps = s.parse()?;
    }
    let seeds: Vec<u64> = arg("--seeds")
        .unwrap_or_else(|| "0,1,2".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let data = load(&digits_dir()?)?;
    let classifier = train_classifier(&data, sizes.classifier_steps, 0)?;
    let b = baselines(&data, &classifier, CLASSES * sizes.per_class)?;
    println!(
        "classifier test accuracy {:.3}; Frechet floor (train vs test) {:.2}; Gaussian baseline: Frechet {:.2}, bits/dim {:.3}",
        b.acc_test, b.floor, b.gauss_fd, b.gauss_bpd
    );
    let mut all = Vec::new();
    for &seed in &seeds {
        let (_, m) = measure(&data, &classifier, &sizes, seed)?;
        println!("seed {seed}: {m:?}");
        all.push(m);
    }
    let col = |f: &dyn Fn(&si_experiments::figures::images::digits::DigitsMetrics) -> f64| {
        mean_se(&all.iter().map(f).collect::<Vec<_>>())
    };
    println!("| model | bits/dim (ODE) | sampler | w (chosen on validation) | Frechet (test) | conditional accuracy | training |");
    println!("|---|---|---|---|---|---|---|");
    for sampler in [Sampler::Ode, Sampler::Sde] {
        let ws: Vec<String> = all
            .iter()
            .map(|m| chosen(m, sampler).map_or("-".into(), |r| r.w.to_string()))
            .collect();
        println!(
            "| U-Net base {}, {} steps | {} | {sampler:?} | {} | {} | {} | {} s |",
            sizes.base,
            sizes.steps,
            col(&|m| m.bpd_ode),
            ws.join(", "),
            col(&|m| chosen(m, sampler).map_or(f64::NAN, |r| r.fd_test)),
            col(&|m| chosen(m, sampler).map_or(f64::NAN, |r| r.accuracy)),
            col(&|m| m.train_seconds),
        );
    }
    Ok(())
}
