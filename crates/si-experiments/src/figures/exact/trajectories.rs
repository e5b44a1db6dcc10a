//! Figure 2: trajectories of the exact fields (ODE and SDEs, ε ∈ {0, 0.5, 5}) over ρ(t, x).

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::Points;
use si_integrate::{integrate, EulerMaruyama, Heun, TimeGrid, Trajectory};

use super::{ks_vs_exact, pairs, three_interpolants};
use si_report::FigureEntry;
use si_report::{plot_error, png, viridis};

const EPS: [f64; 3] = [0.0, 0.5, 5.0];
const X_RANGE: (f64, f64) = (-10.0, 10.0);

struct Panel {
    title: String,
    /// heat[ti][xi] = ρ(t, x)^(1/3), scaled to [0, 1].
    heat: Vec<Vec<f64>>,
    times: Vec<f64>,
    /// paths[p][k]: position of path p at recorded time k.
    paths: Vec<Vec<f64>>,
}

pub fn figure(out: &Path, quick: bool) -> Result<FigureEntry> {
    let (r0, r1) = pairs::pair_1d()?;
    let (n_paths, steps) = if quick { (300, 100) } else { (2500, 200) };
    let (nt, nx) = if quick { (60, 80) } else { (100, 160) };
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let xs: Vec<f64> = (0..nx)
        .map(|i| X_RANGE.0 + (X_RANGE.1 - X_RANGE.0) * (i as f64 + 0.5) / nx as f64)
        .collect();
    let xgrid = Points::from_row_major(nx, 1, &xs)?;
    let mut panels = Vec::new();
    let mut numbers = Vec::new();
    for (label, it) in three_interpolants()? {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it)?;
        let mut heat = Vec::with_capacity(nt);
        for k in 0..nt {
            let t = (k as f64 + 0.5) / nt as f64;
            heat.push(
                f.log_density(t, &xgrid)?
                    .iter()
                    .map(|l| (l / 3.0).exp())
                    .collect::<Vec<f64>>(),
            );
        }
        let m = heat
            .iter()
            .flatten()
            .copied()
            .fold(0.0, f64::max)
            .max(1e-300);
        heat.iter_mut().flatten().for_each(|v| *v /= m);
        for &eps in &EPS {
            let grid = TimeGrid::uniform(0.0, 1.0, steps)?;
            let mut traj = Trajectory::every(1);
            let x0 = r0.sample(n_paths, &mut rng);
            let x1 = if eps == 0.0 {
                integrate(&Heun, &f, x0, &grid, &mut rng, &mut [&mut traj])?
            } else {
                let em = EulerMaruyama::constant(eps)?;
                integrate(&em, &f, x0, &grid, &mut rng, &mut [&mut traj])?
            };
            numbers.push((
                format!("Kolmogorov-Smirnov distance to rho1, {label}, eps = {eps}"),
                ks_vs_exact(&x1, &r1)?,
            ));
            let paths = (0..n_paths)
                .map(|p| traj.states.iter().map(|s| s.as_slice()[p]).collect())
                .collect();
            panels.push(Panel {
                title: format!("{label}, eps = {eps}"),
                heat: heat.clone(),
                times: traj.times.clone(),
                paths,
            });
        }
    }
    let alpha = if quick { 0.12 } else { 0.035 };
    let file = png(out, "fig02_trajectories.png", (1500, 1200), |root| {
        let areas = root.split_evenly((3, 3));
        for (area, p) in areas.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(&p.title, ("sans-serif", 15))
                .margin(6)
                .x_label_area_size(25)
                .y_label_area_size(35)
                .build_cartesian_2d(0.0..1.0, X_RANGE.0..X_RANGE.1)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("t")
                .y_desc("x")
                .draw()
                .map_err(plot_error)?;
            let (nt, nx) = (p.heat.len(), p.heat[0].len());
            let dx = (X_RANGE.1 - X_RANGE.0) / nx as f64;
            chart
                .draw_series(p.heat.iter().enumerate().flat_map(|(k, col)| {
                    col.iter().enumerate().map(move |(i, &v)| {
                        let (t0, t1) = (k as f64 / nt as f64, (k + 1) as f64 / nt as f64);
                        let x0 = X_RANGE.0 + i as f64 * dx;
                        Rectangle::new([(t0, x0), (t1, x0 + dx)], viridis(v).filled())
                    })
                }))
                .map_err(plot_error)?;
            for path in &p.paths {
                chart
                    .draw_series(LineSeries::new(
                        p.times.iter().copied().zip(path.iter().copied()),
                        WHITE.mix(alpha),
                    ))
                    .map_err(plot_error)?;
            }
        }
        Ok(())
    })?;
    Ok(FigureEntry {
        number: 2,
        title: "Trajectories of the exact fields over the density rho(t, x)".into(),
        files: vec![file],
        caption: "Rows: trigonometric gamma = 0, trigonometric gamma = sqrt(t(1-t)), encoder-decoder. Columns: the \
                  probability-flow ODE (eps = 0, Heun) and the forward SDE dX = (b + eps s) dt + sqrt(2 eps) dW \
                  (Euler-Maruyama) with eps = 0.5 and 5, from samples of rho0. Background: rho(t, x)^(1/3). ODE paths never cross; SDE paths wander but every column ends on rho1; the \
                  Kolmogorov-Smirnov distances below compare the end points with the exact CDF of rho1."
            .into(),
        settings: format!("{n_paths} paths, {steps} steps, seed 2; heat map {nt} x {nx} cells"),
        numbers,
    })
}
