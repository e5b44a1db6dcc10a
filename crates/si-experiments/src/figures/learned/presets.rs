//! Figure 16 (docs/figures.md part F): the presets (docs/math.md §8) on the checkerboard at equal network
//! budget and equal field evaluations: ODE and SDE sample quality, likelihood and straightness; and schedule
//! transfer with a learned field (flow matching's model sampled as the cosine path, and back) against the
//! model trained natively on the target path.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Field, Interpolant, Points, ScheduleTransfer, StandardNormal};
use si_integrate::{integrate, EulerMaruyama, Heun, Observer, Stepper, Straightness, TimeGrid};
use si_nn::{Head, LearnedField, LrSchedule, ModelConfig, TensorBatch, TrainConfig, Trainer};

use crate::experiment::{
    checker_data, coordinate_pairs, inside_fraction, normal_points, source, target_points,
};
use crate::figures::{three_decimals, Entry, Sizes};
use si_report::{png, scatter};

/// The presets compared (rectified flow's path is flow matching's with σ_min = 0, `fm`), and EDM with a
/// σ_max nearer the data's scale (the MLP sees its inputs unscaled: docs/math.md §8).
const PRESETS: [&str; 7] = [
    "edm",
    "edm:sigma_max=10",
    "ve",
    "vp",
    "fm",
    "cosine",
    "linear-vp",
];

/// One preset's model and its numbers.
struct Row {
    name: &'static str,
    trainer: Trainer,
    interpolant: Interpolant,
    ode: Points,
    sde: Points,
    straightness: f64,
    displacement: f64,
    nll: f64,
    train_s: f64,
}

fn train(sizes: &Sizes, it: &Interpolant, steps: usize) -> Result<Trainer> {
    let mut m = ModelConfig::new(2);
    m.width = sizes.width;
    m.depth = sizes.depth;
    m.heads = vec![Head::B, Head::Eta];
    let mut t = TrainConfig::new(steps);
    t.batch = sizes.batch;
    t.schedule = LrSchedule::Cosine { min_lr: 1e-4 };
    t.seed = 0;
    let (m, t) = (m.check()?, t.check()?);
    let source = source(it.clone(), checker_data(), t.t_min, tch::Device::Cpu)?;
    let mut trainer = Trainer::new(m, t, tch::Device::Cpu)?;
    trainer.run(&source, &mut [])?;
    Ok(trainer)
}

/// Samples of `field` from N(0, α(0)² I) (`scale`) along a uniform grid of `steps` steps.
fn sample<F: Field<TensorBatch>, S: Stepper<TensorBatch>>(
    field: &F,
    stepper: &S,
    base: &Points,
    scale: f64,
    steps: usize,
    seed: u64,
    observers: &mut [&mut dyn Observer<TensorBatch>],
) -> Result<Points> {
    let mut x = TensorBatch::from_points(base, &(tch::Kind::Float, tch::Device::Cpu))?;
    x.scale(scale)?;
    let grid = TimeGrid::uniform(0.0, 1.0, steps)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y = tch::no_grad(|| integrate(stepper, field, x, &grid, &mut rng, observers))?;
    Ok(y.to_points()?)
}

/// Binomial standard error of a fraction over n points.
fn se(p: f64, n: usize) -> f64 {
    (p * (1.0 - p) / n as f64).sqrt()
}

pub fn figure16(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let t_all = Instant::now();
    let steps = sizes.steps(6000);
    let ode_steps = 50; // Heun: 100 evaluations
    let sde_steps = 100; // Euler-Maruyama: 100 evaluations (b and eta in one forward pass)
    let base = normal_points(sizes.samples, 2, 16);
    let held = target_points(sizes.nll_points, 97);
    let mut rows = Vec::new();
    for name in PRESETS {
        let it: Interpolant = name.parse()?;
        let t0 = Instant::now();
        let trainer = train(sizes, &it, steps)?;
        let train_s = t0.elapsed().as_secs_f64();
        let field = LearnedField::new(trainer.sampling_net(), it.clone());
        let scale = it.base_scale();
        let mut straight = Straightness::new();
        let ode = sample(
            &field,
            &Heun,
            &base,
            scale,
            ode_steps,
            1,
            &mut [&mut straight],
        )?;
        let sde = sample(
            &field,
            &EulerMaruyama::constant(0.5)?.noise_first(),
            &base,
            scale,
            sde_steps,
            2,
            &mut [],
        )?;
        let ll = si_nn::sampling::ode_log_likelihood_of(
            &field,
            &held,
            sizes.nll_steps,
            2500,
            &|p: &Points| StandardNormal { dim: 2 }.log_density_scaled(p, scale),
        )?;
        let nll = -ll.iter().sum::<f64>() / ll.len() as f64;
        tracing::info!(
            preset = name,
            ode = inside_fraction(&ode),
            sde = inside_fraction(&sde),
            nll,
            "preset done"
        );
        rows.push(Row {
            name,
            interpolant: it,
            trainer,
            ode,
            sde,
            straightness: straight.value(),
            displacement: straight.mean_displacement(),
            nll,
            train_s,
        });
    }
    // schedule transfer with learned fields: fm's model as the cosine path and cosine's as fm's
    let find = |n: &str| rows.iter().find(|r| r.name == n).expect("trained");
    let mut transfer = Vec::new();
    for (from, to) in [("fm", "cosine"), ("cosine", "fm")] {
        let (a, b) = (find(from), find(to));
        let field = LearnedField::new(a.trainer.sampling_net(), a.interpolant.clone());
        let moved = ScheduleTransfer::new(field, a.interpolant.clone(), b.interpolant.clone())?;
        let x = sample(
            &moved,
            &Heun,
            &base,
            b.interpolant.base_scale(),
            ode_steps,
            1,
            &mut [],
        )?;
        transfer.push((from, to, inside_fraction(&x), inside_fraction(&b.ode)));
    }
    let n = sizes.samples;
    let file = png(
        out,
        "fig16_presets.png",
        (300 * PRESETS.len() as u32, 600),
        |root| {
            let p = root.split_evenly((2, PRESETS.len()));
            for (k, r) in rows.iter().enumerate() {
                let (o, s) = (inside_fraction(&r.ode), inside_fraction(&r.sde));
                scatter(
                    &p[k],
                    &format!("{} ODE {o:.2}", r.name),
                    &coordinate_pairs(&r.ode),
                    5.0,
                    None,
                )?;
                scatter(
                    &p[PRESETS.len() + k],
                    &format!("{} SDE {s:.2}", r.name),
                    &coordinate_pairs(&r.sde),
                    5.0,
                    None,
                )?;
            }
            Ok(())
        },
    )?;
    let mut numbers = Vec::new();
    for r in &rows {
        let (o, s) = (inside_fraction(&r.ode), inside_fraction(&r.sde));
        numbers.push((
            format!(
                "{}: ODE inside / SDE inside / NLL (nats) / straightness S / S over E|Z1 - Z0|^2 / training s",
                r.name
            ),
            format!(
                "{} ± {} / {} ± {} / {} / {} / {} / {:.0}",
                three_decimals(o),
                three_decimals(se(o, n)),
                three_decimals(s),
                three_decimals(se(s, n)),
                three_decimals(r.nll),
                three_decimals(r.straightness),
                three_decimals(r.straightness / r.displacement),
                r.train_s
            ),
        ));
    }
    for (from, to, moved, native) in &transfer {
        numbers.push((
            format!(
                "transfer: {from}'s model sampled as {to} (ODE inside) against {to}'s own model"
            ),
            format!(
                "{} ± {} against {} ± {}",
                three_decimals(*moved),
                three_decimals(se(*moved, n)),
                three_decimals(*native),
                three_decimals(se(*native, n))
            ),
        ));
    }
    numbers.push((
        "best achievable NLL (log 32)".into(),
        three_decimals(3.4657),
    ));
    Ok(Entry {
        number: 16,
        title: "The presets on the checkerboard at equal budget: EDM (two sigma_max), VE, VP, flow matching, cosine, linear-VP".into(),
        files: vec![file],
        caption: "Each preset's model (the same MLP, heads b and eta, the same steps and batch) sampled by the ODE (top: Heun, \
                  50 steps = 100 field evaluations) and by the SDE (bottom: noise-first Euler-Maruyama, eps = 0.5 in each \
                  path's own t in [0, 1], 100 steps), each from N(0, alpha(0)^2 I) on the path's uniform grid (for EDM that \
                  is its rho = 7 grid). Numbers: fraction inside the squares (binomial standard error), ODE NLL of held-out \
                  points (exact divergence; base N(0, alpha(0)^2 I)), straightness S of the ODE paths (0 = straight; in the \
                  data's units squared, so EDM's and VE's start at scale sigma_max inflates it) and S relative to the mean \
                  squared displacement, and \
                  schedule transfer: a model trained on one path sampled as another without retraining, against the model \
                  trained on that path. EDM and VE feed the unscaled MLP inputs of scale sigma_max (80, 50): without EDM's \
                  preconditioning (docs/math.md §8) they fit worst at this budget."
            .into(),
        settings: format!(
            "checkerboard; {}x{} ReLU MLP, heads b and eta; Adam 2e-3 cosine; {} antithetic pairs; {steps} steps; seed 0; \
             {} samples; NLL: {} held-out points, {} Heun steps; {:.0} s{}",
            sizes.depth,
            sizes.width,
            sizes.batch,
            n,
            sizes.nll_points,
            sizes.nll_steps,
            t_all.elapsed().as_secs_f64(),
            if sizes.quick { " (quick mode)" } else { "" }
        ),
        numbers,
    })
}
