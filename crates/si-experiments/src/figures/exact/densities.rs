//! Figure 1: exact densities ρ(t, x) of the 1-D pair at five times for three interpolants.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use si_analytic::MixtureFields;
use si_core::Points;

use super::{count_modes, pairs, three_interpolants};
use si_report::FigureEntry;
use si_report::{color as line_color, legend, plot_error, png};

pub fn figure(out: &Path, quick: bool) -> Result<FigureEntry> {
    let (r0, r1) = pairs::pair_1d()?;
    let n = if quick { 400 } else { 2000 };
    let (lo, hi) = (-10.0, 10.0);
    let xs: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect();
    let grid = Points::from_row_major(n, 1, &xs)?;
    let times = [0.0, 0.25, 0.5, 0.75, 1.0];
    let mut numbers = Vec::new();
    let mut panels = Vec::new();
    for (label, it) in three_interpolants()? {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it)?;
        let mut curves = Vec::new();
        for &t in &times {
            let rho: Vec<f64> = f.log_density(t, &grid)?.iter().map(|l| l.exp()).collect();
            let mass: f64 = rho.iter().sum::<f64>() * (hi - lo) / (n - 1) as f64;
            if t == 0.5 {
                numbers.push((
                    format!("modes of rho(1/2), {label}"),
                    count_modes(&rho).to_string(),
                ));
            }
            numbers.push((
                format!("integral of rho({t}), {label}"),
                format!("{mass:.6}"),
            ));
            curves.push((t, rho));
        }
        panels.push((label, curves));
    }
    let file = png(out, "fig01_densities.png", (1500, 450), |root| {
        let areas = root.split_evenly((1, 3));
        for (area, (label, curves)) in areas.iter().zip(&panels) {
            let ymax = curves
                .iter()
                .flat_map(|c| c.1.iter())
                .copied()
                .fold(0.0, f64::max)
                * 1.05;
            let mut chart = ChartBuilder::on(area)
                .caption(label, ("sans-serif", 18))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(45)
                .build_cartesian_2d(lo..hi, 0.0..ymax)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .x_desc("x")
                .y_desc("rho(t, x)")
                .draw()
                .map_err(plot_error)?;
            for (k, (t, rho)) in curves.iter().enumerate() {
                let c = line_color(k);
                chart
                    .draw_series(LineSeries::new(
                        xs.iter().copied().zip(rho.iter().copied()),
                        c.stroke_width(2),
                    ))
                    .map_err(plot_error)?
                    .label(format!("t = {t}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                    });
            }
            legend(&mut chart, 13)?;
        }
        Ok(())
    })?;
    Ok(FigureEntry {
        number: 1,
        title: "Exact densities rho(t, x) between two 1-D Gaussian mixtures".into(),
        files: vec![file],
        caption: "rho0 = 1/2 N(-3, 0.25) + 1/2 N(3, 0.25) and rho1 = 1/3 N(-6, 0.5) + 1/3 N(0, 0.33) + 1/3 N(6, 0.5), \
                  exact rho(t) of the stochastic interpolant at t = 0, 0.25, 0.5, 0.75, 1. rho(t) is a mixture of \
                  2 x 3 = 6 Gaussians (at t = 1/2 of the trigonometric interpolant they sit at 4 distinct places); \
                  gamma > 0 widens each by gamma^2 and fills the valleys between them; the encoder-decoder passes \
                  through pure noise N(0, 1) at t = 1/2."
            .into(),
        settings: format!("{n} grid points on [-10, 10]; closed-form rho(t, x) from si-analytic"),
        numbers,
    })
}
