//! The digits table of docs/results.md ("Images"): the class-conditional U-Net of figure 18 trained with
//! several seeds under each interpolant of `interpolants()` (linear and variance-preserving, at equal field
//! evaluations), each scored by bits per dimension of the test images (ODE, exact divergence), by the
//! observer's bits per dimension of validation images while training, and, for the ODE and for the SDE at
//! each ε and each guidance weight, the Fréchet distance in the classifier's features to the validation
//! and test images and the conditional accuracy; mean ± standard error over the seeds, w and ε chosen on
//! validation; with the floor and the Gaussian baseline. With `--inpainting`, the inpainter of each seed
//! too (hidden-pixel error and accuracy on its completions, beside the mean fill).
//!
//! `SI_RS_DIGITS=$(cargo xtask digits) cargo run --release -p si-experiments --features nn --example digits --
//! [--seeds 0,1,2] [--steps N] [--interpolants linear,vp|none] [--inpainting] [--best-checkpoint] [--quick]`

use anyhow::{bail, Result};
use si_data::digits::CLASSES;
use si_experiments::figures::images::digits::{
    baselines, chosen, digits_dir, interpolants, load, measure, train_classifier, DigitsMetrics,
    DigitsSizes, Family,
};
use si_experiments::figures::images::inpainting::{measure_inpainting, train_inpainter};

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
    // the model of the lowest validation score instead of the last (docs/results.md's tables: the last)
    sizes.best_checkpoint = std::env::args().any(|a| a == "--best-checkpoint");
    let seeds: Vec<u64> = arg("--seeds")
        .unwrap_or_else(|| "0,1,2".into())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let names = arg("--interpolants").unwrap_or_else(|| "linear,vp".into());
    let mut chosen_interpolants = Vec::new();
    // `none`: no generative model (with --inpainting, the inpainters alone)
    for name in names.split(',').filter(|n| *n != "none") {
        match interpolants().into_iter().find(|(n, _)| *n == name) {
            Some(i) => chosen_interpolants.push(i),
            None => bail!("--interpolants: unknown {name} (linear, vp)"),
        }
    }
    let data = load(&digits_dir()?)?;
    let classifier = train_classifier(&data, sizes.classifier_steps, 0)?;
    let b = baselines(&data, &classifier, CLASSES * sizes.per_class)?;
    println!(
        "classifier test accuracy {:.3}; Frechet floor (train vs test) {:.2}; Gaussian baseline: Frechet {:.2}, bits/dim {:.3}",
        b.acc_test, b.floor, b.gauss_fd, b.gauss_bpd
    );
    let mut table = Vec::new();
    for (name, interpolant) in &chosen_interpolants {
        let mut all = Vec::new();
        for &seed in &seeds {
            let (_, m) = measure(&data, &classifier, &sizes, interpolant, seed)?;
            println!("{name}, seed {seed}: {m:?}");
            all.push(m);
        }
        table.push((*name, all));
    }
    if !table.is_empty() {
        print_table(&table, &sizes, seeds[0]);
    }
    if std::env::args().any(|a| a == "--inpainting") {
        let mut rows = Vec::new();
        for &seed in &seeds {
            let t0 = std::time::Instant::now();
            let tr = train_inpainter(&data, &sizes, 1 + seed)?;
            let secs = t0.elapsed().as_secs_f64();
            let r = measure_inpainting(&tr, &data, &classifier, sizes.ode_steps)?;
            println!("inpainter, seed {seed} ({secs:.0} s of training): {r:?}");
            rows.push(r);
        }
        println!("| hidden half | RMSE, hidden pixels | (mean fill) | accuracy on completions | (mean fill) |");
        println!("|---|---|---|---|---|");
        for k in 0..rows.first().map_or(0, Vec::len) {
            let col =
                |f: &dyn Fn(&si_experiments::figures::images::inpainting::InpaintRow) -> f64| {
                    mean_se(&rows.iter().map(|r| f(&r[k])).collect::<Vec<_>>())
                };
            println!(
                "| {} | {} | {} | {} | {} |",
                rows[0][k].half,
                col(&|r| r.rmse),
                col(&|r| r.rmse_mean),
                col(&|r| r.accuracy),
                col(&|r| r.accuracy_mean)
            );
        }
    }
    Ok(())
}

/// The table of docs/results.md: one row per interpolant and sampler family, mean ± s.e. over the seeds.
fn print_table(table: &[(&str, Vec<DigitsMetrics>)], sizes: &DigitsSizes, first_seed: u64) {
    println!("| interpolant | bits/dim, unconditional (ODE row: ODE, exact divergence; SDE row: the SDE estimate at the chosen eps0) | validation bits/dim while training (seed {first_seed}) | sampler | w, eps0 (chosen on validation) | Frechet (test) | conditional accuracy | training |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, all) in table {
        let col =
            |f: &dyn Fn(&DigitsMetrics) -> f64| mean_se(&all.iter().map(f).collect::<Vec<_>>());
        let curve = all.first().map_or(String::new(), |m| {
            m.validation_bpd
                .iter()
                .map(|(k, b)| format!("{k}: {b:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        });
        for family in [Family::Ode, Family::Sde] {
            let picks: Vec<String> = all
                .iter()
                .map(|m| {
                    chosen(m, family).map_or("-".into(), |r| format!("{} ({})", r.w, r.sampler))
                })
                .collect();
            println!(
                "| {name}, U-Net base {}, {} steps | {} | {curve} | {family:?} | {} | {} | {} | {} s |",
                sizes.base,
                sizes.steps,
                match family {
                    Family::Ode => col(&|m| m.bpd_ode),
                    Family::Sde => col(&|m| m.bpd_sde.unwrap_or(f64::NAN)),
                },
                picks.join("; "),
                col(&|m| chosen(m, family).map_or(f64::NAN, |r| r.fd_test)),
                col(&|m| chosen(m, family).map_or(f64::NAN, |r| r.accuracy)),
                col(&|m| m.train_seconds),
            );
        }
    }
}
