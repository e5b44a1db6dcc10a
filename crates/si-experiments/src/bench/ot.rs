//! Minibatch OT: si-core's exact assignment beside POT's network simplex (run to its
//! optimum, its convergence checked), torchcfm's exact OT sampler, scipy's assignment solver and an
//! assignment crate (pathfinding's Hungarian algorithm), on the same points in the same run, each timed
//! as the best of the same number of repeats (N(0, I) to eight Gaussians
//! on a circle of radius 5). The Python anchors run in their own environment (POT 0.9.7, numpy, scipy from
//! the package registry, installed in the cache folder by `cargo xtask bench`) with the script
//! `python/ot_reference.py` of this crate.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::ot::{
    assignment, pair_optimally, sinkhorn_uniform, squared_distances, SinkhornConfig,
};
use si_core::{Points, Ring, Sampler, StandardNormal};
use si_data::npy::{write_points, NpyDtype};

use super::{best_ms, script, PythonAnchor};

/// The pathfinding version pinned in the workspace's Cargo.toml.
const PATHFINDING_VERSION: &str = "4.16.0";

fn points(n: usize) -> Result<(Points, Points)> {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let x0 = StandardNormal { dim: 2 }.sample(n, &mut rng)?;
    let x1 = Ring::new(8, 5.0, 0.1f64.sqrt())?.sample(n, &mut rng)?;
    Ok((x0, x1))
}

/// Timed repeats at n, the same for every solver, ours and the Python anchors.
fn reps(n: usize) -> usize {
    if n <= 256 {
        20
    } else if n <= 1024 {
        5
    } else {
        2
    }
}

/// pathfinding's Hungarian algorithm (`kuhn_munkres`, integer weights, maximising) on the squared distances
/// scaled to integers (−round(C_ij · 10⁹ / max C)): the assignment and its cost in the float costs.
fn kuhn_munkres_assignment(x0: &Points, x1: &Points) -> Result<(Vec<usize>, f64)> {
    let c = squared_distances(x0, x1)?;
    let n = c.nrows();
    let scale = 1e9 / c.max().max(f64::MIN_POSITIVE);
    let w =
        pathfinding::matrix::Matrix::from_fn(n, n, |(i, j)| -(c[(i, j)] * scale).round() as i64);
    let (_, col_of_row) = pathfinding::kuhn_munkres::kuhn_munkres(&w);
    let cost = col_of_row.iter().enumerate().map(|(i, &j)| c[(i, j)]).sum();
    Ok((col_of_row, cost))
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// Runs the comparison and prints its table.
pub fn run(quick: bool, anchor: &PythonAnchor) -> Result<()> {
    let sizes: &[usize] = if quick {
        &[64, 256, 1024]
    } else {
        &[64, 128, 256, 512, 1024, 2048, 4096]
    };
    let work = tempfile::TempDir::new()?;
    let folder = work.path();
    let mut ours = Vec::new();
    for &n in sizes {
        let (x0, x1) = points(n)?;
        write_points(&folder.join(format!("x0_{n}.npy")), &x0, NpyDtype::F64)?;
        write_points(&folder.join(format!("x1_{n}.npy")), &x1, NpyDtype::F64)?;
        let reps = reps(n);
        let solve = best_ms(reps, || {
            std::hint::black_box(pair_optimally(x0.clone(), &x1)?);
            Ok(())
        })?;
        let cost = assignment(&squared_distances(&x0, &x1)?)?.cost();
        ours.push((n, solve, cost));
    }
    let script = script("ot_reference.py");
    let list: Vec<String> = sizes.iter().map(|&n| format!("{n}:{}", reps(n))).collect();
    let out = anchor
        .command()
        .arg(&script)
        .arg(folder)
        .arg(list.join(","))
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "the OT anchors failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let r: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii())?;
    println!(
        "Exact minibatch OT, N(0, I) to 8 Gaussians (radius 5), one thread, best of the same repeats for \
         every solver (20 up to n = 256, 5 up to 1024, 2 above), this run \
         (POT {}, scipy {}):",
        r["versions"]["pot"].as_str().unwrap_or("?"),
        r["versions"]["scipy"].as_str().unwrap_or("?")
    );
    println!(
        "{:>6} {:>10} {:>14} {:>7} {:>12} {:>7} {:>10} {:>14} {:>10}",
        "n",
        "si-core ms",
        "torchcfm ms",
        "ratio",
        "POT emd ms",
        "ratio",
        "scipy ms",
        "cost gap",
        "distinct"
    );
    for &(n, ms, cost) in &ours {
        let row = &r[n.to_string()];
        let (cfm, emd, scipy) = (
            f(&row["torchcfm_ms"]),
            f(&row["emd_ms"]),
            f(&row["scipy_ms"]),
        );
        let gap = (cost - f(&row["cost"])) / f(&row["cost"]);
        println!(
            "{n:>6} {ms:>10.3} {cfm:>14.3} {:>6.1}x {emd:>12.3} {:>6.1}x {:>10} {gap:>14.1e} {:>5.0}%/100%",
            cfm / ms,
            emd / ms,
            if scipy.is_nan() { "-".into() } else { format!("{scipy:.3}") },
            100.0 * f(&row["torchcfm_distinct_pairs"]),
        );
        if row["emd_converged"].as_bool() != Some(true) {
            println!(
                "       POT's emd did NOT converge at n = {n} ({}): its cost and time are those of an unfinished plan",
                row["emd_warning"].as_str().unwrap_or("no result code")
            );
        }
        if row["torchcfm_emd_converged"].as_bool() == Some(false) {
            println!(
                "       torchcfm's ot.emd call (POT's default iteration limit) stops before the optimum at n = {n}"
            );
        }
    }
    println!(
        "(si-core: squared distances, the exact assignment and the re-pairing; torchcfm: its exact OTPlanSampler \
         re-stated on numpy (cost, ot.emd, pairs drawn from the plan); ratio = their time / ours; cost gap: \
         (ours - POT's optimum) / POT's; distinct: pairs of the batch that are distinct, torchcfm's / ours)"
    );
    println!(
        "An assignment crate, same points, same process, best of the same repeats: pathfinding {} kuhn_munkres \
         (Hungarian, O(n^3), on the squared distances scaled to integers):",
        PATHFINDING_VERSION
    );
    println!(
        "{:>6} {:>10} {:>16} {:>7} {:>14}",
        "n", "si-core ms", "kuhn_munkres ms", "ratio", "cost gap"
    );
    for &(n, ms, cost) in ours.iter().filter(|(n, ..)| [256, 1024].contains(n)) {
        let (x0, x1) = points(n)?;
        let km = best_ms(reps(n), || {
            std::hint::black_box(kuhn_munkres_assignment(&x0, &x1)?);
            Ok(())
        })?;
        let (_, km_cost) = kuhn_munkres_assignment(&x0, &x1)?;
        println!(
            "{n:>6} {ms:>10.3} {km:>16.3} {:>6.1}x {:>14.1e}",
            km / ms,
            (km_cost - cost) / cost
        );
    }
    println!(
        "(ratio = kuhn_munkres's time / ours, both including the squared distances; cost gap: (theirs - ours) / \
         ours, from rounding the costs to integers)"
    );
    let mut cfg = SinkhornConfig::new(0.05);
    cfg.max_iter = 5000;
    let params = cfg.check()?;
    for &n in sizes.iter().filter(|&&n| n <= 256) {
        let row = &r[n.to_string()];
        let finite = row["sinkhorn_finite"].as_bool().unwrap_or(false);
        let theirs = if finite {
            format!(
                "row-marginal L1 error {:.2e}, total mass {:.3}",
                f(&row["sinkhorn_row_error"]),
                f(&row["sinkhorn_total_mass"])
            )
        } else {
            "non-finite plan".into()
        };
        let (x0, x1) = points(n)?;
        let t = Instant::now();
        let ours = sinkhorn_uniform(&squared_distances(&x0, &x1)?, &params)?;
        println!(
            "Sinkhorn, reg 0.05, n = {n}: POT's default (float32): {theirs}; si-core (log domain, float64, at most \
             {} iterations): row error {:.2e}, column error {:.2e} after {} iterations, {:.0} ms",
            params.max_iter(),
            ours.row_error(),
            ours.col_error(),
            ours.iterations(),
            1e3 * t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
