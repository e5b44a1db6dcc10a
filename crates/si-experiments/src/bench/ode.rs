//! Adaptive ODE: si-integrate's Dormand–Prince 5(4) beside torchdiffeq's dopri5 (the
//! solver of interflow and of Meta's flow_matching) on the exact velocity field of the 2-D reference mixtures
//! (each side its own implementation of the same field, float64, one thread), same tolerances, same points,
//! same run. torchdiffeq runs with the Python that `cargo xtask bench` prepares (the libtorch install's, with
//! torchdiffeq 0.2.5, scipy and numpy on its `PYTHONPATH` in their own folder of the cache), and the script
//! `python/ode_reference.py` of this crate.

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{reference, GaussianMixture, MixtureFields};
use si_core::{ErrorNorm, Gamma, Interpolant, Points};
use si_data::npy::{read_points, write_points, NpyDtype};
use si_integrate::{AdaptiveConfig, SolveStats, TimeGrid};

use si_data::write_atomic;

use super::{best_ms, PythonAnchor};

fn mixture_json(g: &GaussianMixture) -> serde_json::Value {
    let d = g.dim();
    serde_json::json!({
        "weights": g.weights(),
        "means": g.means().iter().map(|m| m.as_slice().to_vec()).collect::<Vec<_>>(),
        "covs": g.covariances().iter().map(|c| {
            (0..d).map(|r| (0..d).map(|k| c[(r, k)]).collect::<Vec<_>>()).collect::<Vec<_>>()
        }).collect::<Vec<_>>(),
    })
}

fn max_diff(a: &Points, b: &Points) -> f64 {
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f64::max)
}

/// Runs the comparison against torchdiffeq run by `anchor` and prints its table.
pub fn run(quick: bool, anchor: &PythonAnchor) -> Result<()> {
    let (r0, r1) = reference::pair_2d()?;
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian())?,
    )?;
    let n = if quick { 200 } else { 1000 };
    let reps = if quick { 2 } else { 5 };
    let x0 = r0.sample(n, &mut ChaCha8Rng::seed_from_u64(0));
    let work = tempfile::TempDir::new()?;
    let folder = work.path();
    let spec = folder.join("spec.json");
    let text = serde_json::json!({"rho0": mixture_json(&r0), "rho1": mixture_json(&r1)});
    write_atomic(&spec, text.to_string().as_bytes())?;
    let x0_file = folder.join("x0.npy");
    write_points(&x0_file, &x0, NpyDtype::F64)?;
    let span = TimeGrid::uniform(0.0, 1.0, 1)?;
    // the exact flow to round-off: the yardstick of both solvers' errors
    let tight = AdaptiveConfig::tolerance(1e-12).check()?;
    let (truth, _) = tight.solve(&f, x0.clone(), &span, &mut [])?;
    let script = super::script("ode_reference.py");
    println!(
        "Adaptive Dormand-Prince 5(4) on the exact 2-D mixture field (2 x 4 components), {n} points from t = 0 to 1, \
         float64, one thread, best of {reps}, this run:"
    );
    println!(
        "{:>6} | {:>11} {:>6} {:>9} | {:>11} {:>6} {:>9} {:>7} | {:>11} {:>6} {:>9}",
        "tol",
        "torchdiffeq",
        "evals",
        "error",
        "ours (RMS)",
        "evals",
        "error",
        "ratio",
        "ours (pt)",
        "evals",
        "error"
    );
    let mut versions = String::new();
    for tol in [1e-3, 1e-5, 1e-7] {
        let out_file = folder.join(format!("x1_{tol:.0e}.npy"));
        let out = anchor
            .command()
            .arg(&script)
            .arg(&spec)
            .arg(&x0_file)
            .arg(tol.to_string())
            .arg(reps.to_string())
            .arg(&out_file)
            .output()
            .with_context(|| format!("running {}", script.display()))?;
        if !out.status.success() {
            bail!(
                "the torchdiffeq anchor failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let r: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii())?;
        versions = format!(
            "torch {}, torchdiffeq {}",
            r["versions"]["torch"].as_str().unwrap_or("?"),
            r["versions"]["torchdiffeq"].as_str().unwrap_or("?")
        );
        let theirs = read_points(&out_file)?;
        let ours = |norm| -> Result<(f64, SolveStats, Points)> {
            let solver = AdaptiveConfig {
                norm,
                ..AdaptiveConfig::tolerance(tol)
            }
            .check()?;
            let mut last = None;
            let ms = best_ms(reps, || {
                last = Some(solver.solve(&f, x0.clone(), &span, &mut [])?);
                Ok(())
            })?;
            let (x, s) = last.context("at least one repetition")?;
            Ok((ms, s, x))
        };
        let (ms_rms, s_rms, x_rms) = ours(ErrorNorm::Rms)?;
        let (ms_pt, s_pt, x_pt) = ours(ErrorNorm::WorstPoint)?;
        let their_ms = r["ms"].as_f64().unwrap_or(f64::NAN);
        println!(
            "{tol:>6.0e} | {their_ms:>9.1}ms {:>6} {:>9.1e} | {ms_rms:>9.1}ms {:>6} {:>9.1e} {:>6.1}x | {ms_pt:>9.1}ms {:>6} {:>9.1e}",
            r["nfe"].as_u64().unwrap_or(0),
            max_diff(&theirs, &truth),
            s_rms.evaluations,
            max_diff(&x_rms, &truth),
            their_ms / ms_rms,
            s_pt.evaluations,
            max_diff(&x_pt, &truth),
        );
    }
    println!(
        "({versions}; error: the largest coordinate error over the points against our solve at 1e-12; ratio: their \
         time / ours with the same batch-RMS error norm as torchdiffeq; (pt): our default, every point within \
         the tolerance)"
    );
    Ok(())
}
