//! Figure 14: two demonstrations that split at t = ½ (the "wine glass"), streamed with the ODE and the SDE.
//!
//! Two paths in the plane share x = 0 and y = 0 up to t = ½, then go to y = +1 and y = −1 (weights ½ each;
//! one context). A model (b and η heads, with the segment phase) learns the tube; 200 streamed rollouts of 16
//! exponential steps (one per action) each: the ODE from N(ξ(0), σ0²), the ODE from exactly ξ(0), and the SDE
//! (λ = 1) from exactly ξ(0), with the learned and with the exact field.

use std::path::Path;

use anyhow::Result;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ConditionalField, Field, Points};
use si_integrate::{integrate, Stepper, TimeGrid, Trajectory};
use si_model::HostNet;
use si_nn::{LrSchedule, TrainConfig, Trainer, Uploaded};
use si_report::{color, plot_error, png, DrawError};
use si_robot::{
    ActionPath, Tube, TubeConfig, TubeExponential, TubeMixture, TubeSource, Window, CONTEXT_DIM,
};

use crate::figures::{Entry, Sizes};

const ROLLOUTS: usize = 200;
const T: usize = 16;

/// The two paths: y = 0 until t = ½, then linearly to ±1.
fn paths() -> [ActionPath; 2] {
    let path = |s: f64| {
        ActionPath::new(
            (0..=T)
                .map(|j| [0.0, s * (2.0 * (j as f64 / T as f64) - 1.0).max(0.0)])
                .collect(),
        )
        .expect("finite knots")
    };
    [path(1.0), path(-1.0)]
}

/// Streams `n` rollouts of `field` with `stepper` from y = 0 (plus σ0 noise when `noisy`); returns the
/// y-coordinates of every rollout at t = j/16.
fn rollouts<F: Field<Points> + ?Sized, S: Stepper<Points>>(
    field: &F,
    stepper: &S,
    tube: &Tube,
    noisy: bool,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<f64>>> {
    let mut x = Points::zeros(ROLLOUTS, 2);
    if noisy {
        x.add_noise(tube.sigma0(), rng)?;
    }
    let mut tr = Trajectory::every(1);
    integrate(
        stepper,
        field,
        x,
        &TimeGrid::uniform(0.0, 1.0, T)?,
        rng,
        &mut [&mut tr],
    )?;
    Ok((0..ROLLOUTS)
        .map(|i| tr.states.iter().map(|s| s.point(i)[1]).collect())
        .collect())
}

/// Fractions of rollouts ending near y = +1, near y = −1 and between (|y(1) ∓ 1| ≥ ½ for both).
fn fractions(r: &[Vec<f64>]) -> (f64, f64, f64) {
    let end = |v: &Vec<f64>| v[v.len() - 1];
    let n = r.len() as f64;
    let up = r.iter().filter(|v| (end(v) - 1.0).abs() < 0.5).count() as f64 / n;
    let down = r.iter().filter(|v| (end(v) + 1.0).abs() < 0.5).count() as f64 / n;
    (up, down, (1.0 - up - down).max(0.0))
}

/// Figure 14.
pub fn figure14(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let tube = TubeConfig {
        sigma0: 0.3,
        k: 2.0,
        horizon: T,
    }
    .check()?;
    let [up, down] = paths();
    let windows: Vec<Window> = [up.clone(), down.clone()]
        .into_iter()
        .map(|path| Window {
            context: [0.0; CONTEXT_DIM],
            path,
        })
        .collect();
    let exact = TubeMixture::new(vec![up.clone(), down.clone()], &[1.0, 1.0], tube)?;
    // the model: b and η on one trunk, with the segment phase
    let steps = if sizes.quick { 1500 } else { 6000 };
    let m = si_robot::recipe::tube_model(T, 64, 3);
    let mut t = TrainConfig::new(steps);
    t.batch = 256;
    t.lr = 3e-3;
    t.antithetic = false;
    t.schedule = LrSchedule::Cosine { min_lr: 3e-5 };
    t.ema_decay = Some(0.995);
    t.seed = 14;
    let mut trainer = Trainer::new(m.check()?, t.check()?, tch::Device::cuda_if_available())?;
    trainer.run(
        &Uploaded::new(TubeSource::new(windows, tube)?, trainer.net().device()),
        &mut [],
    )?;
    let ckpt = out.join("fig14_model.safetensors");
    trainer.save(&ckpt)?;
    let host = HostNet::read(&ckpt)?;
    let ctx = Points::from_row_major(1, CONTEXT_DIM, &[0.0; CONTEXT_DIM])?;
    let learned = host.given(&ctx)?;
    // field errors on the tube's own law at a few times
    let mut rng = ChaCha8Rng::seed_from_u64(140);
    let (mut eb, mut ee) = (Vec::new(), Vec::new());
    for &tt in &[0.2, 0.5, 0.8] {
        let mut x = Points::standard_normal(2000, 2, &mut rng);
        for i in 0..2000usize {
            let p = if i.is_multiple_of(2) {
                up.at(tt)
            } else {
                down.at(tt)
            };
            for (r, pr) in p.iter().enumerate() {
                let v = &mut x.as_mut_slice()[2 * i + r];
                *v = pr + tube.sigma(tt) * *v;
            }
        }
        eb.push(si_core::metrics::relative_l2(
            &learned.velocity(tt, &x)?,
            &exact.velocity(tt, &x)?,
        )?);
        ee.push(si_core::metrics::relative_l2(
            &learned.denoiser(tt, &x)?,
            &exact.denoiser(tt, &x)?,
        )?);
    }
    // rollouts: three settings, learned and exact fields
    let ode = TubeExponential::new(tube, 0.0)?;
    let sde = TubeExponential::new(tube, 1.0)?;
    let settings: [(&str, &TubeExponential, bool); 3] = [
        ("ODE, start ~ N(xi(0), sigma0^2)", &ode, true),
        ("ODE, start exactly at xi(0)", &ode, false),
        ("SDE lambda = 1, start exactly at xi(0)", &sde, false),
    ];
    let mut panels = Vec::new();
    let mut exact_sde = Vec::new();
    let mut learned_fracs = Vec::new();
    let mut numbers = vec![
        (
            "relative L2 error of the learned b at t = 0.2 / 0.5 / 0.8".to_string(),
            format!("{:.3} / {:.3} / {:.3}", eb[0], eb[1], eb[2]),
        ),
        (
            "relative L2 error of the learned eta at t = 0.2 / 0.5 / 0.8".to_string(),
            format!("{:.3} / {:.3} / {:.3}", ee[0], ee[1], ee[2]),
        ),
    ];
    for (k, (name, stepper, noisy)) in settings.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(1400 + k as u64);
        let l = rollouts(&learned, *stepper, &tube, *noisy, &mut rng)?;
        let mut rng = ChaCha8Rng::seed_from_u64(1400 + k as u64);
        let e = rollouts(&exact, *stepper, &tube, *noisy, &mut rng)?;
        for (which, r) in [("learned", &l), ("exact", &e)] {
            let (u, d, b) = fractions(r);
            let text = format!(
                "{:.1} % / {:.1} % / {:.1} %",
                100.0 * u,
                100.0 * d,
                100.0 * b
            );
            if which == "learned" {
                learned_fracs.push(text.clone());
            }
            numbers.push((format!("{name}, {which} field: up / down / between"), text));
        }
        panels.push((name.to_string(), l));
        exact_sde = e;
    }
    let _ = std::fs::remove_file(&ckpt);
    let file = png(out, "fig14_wine_glass.png", (1500, 900), |root| {
        let areas = root.split_evenly((2, 3));
        tube_panel(&areas[0], &tube, &[up.clone(), down.clone()])?;
        field_panel(&areas[1], &exact, &learned)?;
        rollout_panel(
            &areas[2],
            "exact field: SDE lambda = 1, start exactly at xi(0)",
            &exact_sde,
        )?;
        for (a, (name, r)) in areas[3..].iter().zip(&panels) {
            rollout_panel(a, name, r)?;
        }
        Ok(())
    })?;
    let [d, b, u] = [&learned_fracs[0], &learned_fracs[1], &learned_fracs[2]];
    Ok(Entry {
        number: 14,
        title: "Two demonstrations that split (wine glass), streamed with the ODE and the SDE".into(),
        files: vec![file],
        caption: format!(
            "Two demonstrated paths share y = 0 until t = 1/2 and then go to y = +1 and y = -1 (weights 1/2). \
             Top: the demonstrations with the tube mean +- 2 sigma_t around the upper one (sigma0 = 0.3, k = 2); \
             the velocity b_y(t, y) of the learned model (dashed) against the exact field (solid) at three times. \
             Top right: the SDE with the exact field. Bottom: 200 rollouts of the learned field, 16 exponential \
             steps (one per action). Up / down / between: \
             ODE from the noisy start {d}; ODE from exactly xi(0) {b} (one deterministic path for every rollout); \
             SDE (lambda = 1) from exactly xi(0) {u}."
        ),
        settings: format!(
            "2-D tube, T = 16, sigma0 = 0.3, k = 2; model 3x64 SiLU, heads b and eta, segment phase, {steps} steps, \
             batch 256, EMA 0.995; evaluated on the host (si-model); {ROLLOUTS} rollouts per panel"
        ),
        numbers,
    })
}

/// A titled chart on `area` with labelled axes over the two ranges (every panel of the figure).
fn chart<'a, 'b>(
    area: &'a si_report::Area<'b>,
    title: &str,
    font: u32,
    (xr, xd): (std::ops::Range<f64>, &str),
    (yr, yd): (std::ops::Range<f64>, &str),
) -> Result<
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    DrawError,
> {
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", font))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(32)
        .build_cartesian_2d(xr, yr)
        .map_err(plot_error)?;
    c.configure_mesh()
        .x_desc(xd)
        .y_desc(yd)
        .draw()
        .map_err(plot_error)?;
    Ok(c)
}

fn tube_panel(
    area: &si_report::Area<'_>,
    tube: &Tube,
    paths: &[ActionPath],
) -> Result<(), DrawError> {
    let mut c = chart(
        area,
        "demonstrations and the tube around one",
        16,
        (0.0..1.0, "t"),
        (-1.5..1.5, "y"),
    )?;
    let ts: Vec<f64> = (0..=100).map(|i| i as f64 / 100.0).collect();
    let band: Vec<(f64, f64)> = ts
        .iter()
        .map(|&t| (t, paths[0].at(t)[1] + 2.0 * tube.sigma(t)))
        .chain(
            ts.iter()
                .rev()
                .map(|&t| (t, paths[0].at(t)[1] - 2.0 * tube.sigma(t))),
        )
        .collect();
    c.draw_series(std::iter::once(Polygon::new(band, color(0).mix(0.2))))
        .map_err(plot_error)?;
    for (k, p) in paths.iter().enumerate() {
        c.draw_series(LineSeries::new(
            ts.iter().map(|&t| (t, p.at(t)[1])),
            color(k).stroke_width(3),
        ))
        .map_err(plot_error)?;
    }
    Ok(())
}

fn field_panel(
    area: &si_report::Area<'_>,
    exact: &TubeMixture,
    learned: &dyn Field<Points>,
) -> Result<(), DrawError> {
    let title = "b_y(t, y): exact (solid), learned (dashed)";
    let mut c = chart(area, title, 16, (-1.5..1.5, "y"), (-8.0..8.0, "b_y"))?;
    let ys: Vec<f64> = (0..=120).map(|i| -1.5 + 3.0 * i as f64 / 120.0).collect();
    let x = Points::from_row_major(
        ys.len(),
        2,
        &ys.iter().flat_map(|&y| [0.0, y]).collect::<Vec<_>>(),
    )
    .map_err(plot_error)?;
    for (k, &t) in [0.3, 0.6, 0.85].iter().enumerate() {
        let e = exact.velocity(t, &x).map_err(plot_error)?;
        let l = learned.velocity(t, &x).map_err(plot_error)?;
        let col = color(k + 2);
        c.draw_series(LineSeries::new(
            ys.iter().enumerate().map(|(i, &y)| (y, e.point(i)[1])),
            col.stroke_width(2),
        ))
        .map_err(plot_error)?
        .label(format!("t = {t}"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2)));
        c.draw_series(DashedLineSeries::new(
            ys.iter().enumerate().map(|(i, &y)| (y, l.point(i)[1])),
            6,
            4,
            col.stroke_width(2),
        ))
        .map_err(plot_error)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)?;
    Ok(())
}

fn rollout_panel(area: &si_report::Area<'_>, name: &str, r: &[Vec<f64>]) -> Result<(), DrawError> {
    let mut c = chart(area, name, 15, (0.0..1.0, "t"), (-1.5..1.5, "y"))?;
    for v in r {
        c.draw_series(LineSeries::new(
            v.iter().enumerate().map(|(j, &y)| (j as f64 / T as f64, y)),
            color(0).mix(0.15),
        ))
        .map_err(plot_error)?;
    }
    Ok(())
}
