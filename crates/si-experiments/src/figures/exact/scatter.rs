//! Figure 4: a 2-D mixture: exact target, ODE samples and SDE samples (ε = 2), coloured by
//! log-likelihood.

use std::path::Path;

use anyhow::Result;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::{Batch, Gamma, Interpolant, Points};
use si_integrate::{integrate, ode_log_likelihood, EulerMaruyama, Heun, TimeGrid};

use super::{energy_vs_null, pairs};
use si_report::FigureEntry;
use si_report::{plot_error, png, viridis};

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() - 1) as f64 * p) as usize]
}

pub fn figure(out: &Path, quick: bool) -> Result<FigureEntry> {
    let (r0, r1) = pairs::pair_2d()?;
    let (n, steps, ll_steps) = if quick {
        (1000, 100, 100)
    } else {
        (4000, 400, 400)
    };
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let f = MixtureFields::new(
        r0.clone(),
        r1.clone(),
        Interpolant::linear(Gamma::brownian())?,
    )?;
    let target = r1.sample(n, &mut rng);
    let ode = integrate(
        &Heun,
        &f,
        r0.sample(n, &mut rng),
        &TimeGrid::uniform(0.0, 1.0, steps)?,
        &mut rng,
        &mut [],
    )?;
    let em = EulerMaruyama::constant(2.0)?;
    let sde = integrate(
        &em,
        &f,
        r0.sample(n, &mut rng),
        &TimeGrid::uniform(0.0, 1.0, steps)?,
        &mut rng,
        &mut [],
    )?;
    let ll_target = r1.log_density(&target)?;
    let ll_ode = ode_log_likelihood(&f, &ode, &TimeGrid::uniform(1.0, 0.0, ll_steps)?, |p| {
        Ok(r0.log_density(p)?)
    })?;
    let exact_ode = r1.log_density(&ode)?;
    let ll_sde = r1.log_density(&sde)?;
    let max_err = ll_ode
        .iter()
        .zip(&exact_ode)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (lo, hi) = (percentile(&ll_target, 0.01), percentile(&ll_target, 1.0));
    let mut numbers = vec![
        (
            "mean exact log rho1 of target samples".to_string(),
            format!("{:.4}", mean(&ll_target)),
        ),
        (
            "mean ODE log-likelihood of ODE samples".to_string(),
            format!("{:.4}", mean(&ll_ode)),
        ),
        (
            "mean exact log rho1 of ODE samples".to_string(),
            format!("{:.4}", mean(&exact_ode)),
        ),
        (
            "max |ODE log-likelihood - exact log rho1| over ODE samples".to_string(),
            format!("{max_err:.2e}"),
        ),
        (
            "mean exact log rho1 of SDE samples".to_string(),
            format!("{:.4}", mean(&ll_sde)),
        ),
    ];
    for (what, x) in [("ODE", &ode), ("SDE eps = 2", &sde)] {
        let (e, null) = energy_vs_null(x, &r1, &mut rng)?;
        numbers.push((
            format!("energy distance to rho1, {what}"),
            format!("{e:.5} (exact-vs-exact level {null:.5})"),
        ));
    }
    let panels: [(&str, &Points, &Vec<f64>); 3] = [
        ("target rho1 (exact log rho1)", &target, &ll_target),
        ("ODE samples (ODE log-likelihood)", &ode, &ll_ode),
        ("SDE samples, eps = 2 (exact log rho1)", &sde, &ll_sde),
    ];
    let file = png(out, "fig04_mixture_2d.png", (1600, 540), |root| {
        let (main, bar) = root.split_horizontally(1470);
        let areas = main.split_evenly((1, 3));
        for (area, (title, x, ll)) in areas.iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(25)
                .y_label_area_size(30)
                .build_cartesian_2d(-6.0..6.0, -6.0..6.0)
                .map_err(plot_error)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .draw()
                .map_err(plot_error)?;
            chart
                .draw_series((0..x.len()).map(|i| {
                    let p = x.point(i);
                    let c = viridis((ll[i] - lo) / (hi - lo));
                    Circle::new((p[0], p[1]), 2, c.filled())
                }))
                .map_err(plot_error)?;
        }
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(30)
            .y_label_area_size(75)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(plot_error)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_desc("log-likelihood")
            .y_label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(plot_error)?;
        let k = 100;
        cb.draw_series((0..k).map(|i| {
            let (a, b) = (
                lo + (hi - lo) * i as f64 / k as f64,
                lo + (hi - lo) * (i + 1) as f64 / k as f64,
            );
            Rectangle::new([(0.0, a), (1.0, b)], viridis(i as f64 / k as f64).filled())
        }))
        .map_err(plot_error)?;
        Ok(())
    })?;
    Ok(FigureEntry {
        number: 4,
        title: "2-D mixture: target, ODE and SDE samples coloured by log-likelihood".into(),
        files: vec![file],
        caption: "rho0 = two Gaussians at (+-2, 0), rho1 = four Gaussians at (+-3, +-3) (one with a tilted \
                  covariance); linear interpolant with gamma = sqrt(t(1-t)), exact fields. The middle panel is \
                  coloured by the ODE log-likelihood (backward integration of the exact divergence from t = 1 to 0), \
                  which agrees with the exact log rho1 to the error given below."
            .into(),
        settings: format!("{n} samples per panel, {steps} integration steps, {ll_steps} likelihood steps (Heun), seed 4"),
        numbers,
    })
}
