//! Figures 5–8: the checkerboard from N(0, I) with b and s (5) or b and η (6), from a Gaussian-mixture
//! base with the encoder–decoder interpolant (7), and resampled by the mirror interpolant (8).

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use si_analytic::GaussianMixture;
use si_core::{CouplingPairs, Gamma, Independent, Interpolant, PairSource, Points};
use si_nn::{
    Head, LearnedField, LrSchedule, ModelConfig, Progress, TrainConfig, TrainObserver, Trainer,
};
use tch::Device;

use crate::experiment::{
    checker_data, checker_sampler, coordinate_pairs, draw, inside, inside_fraction, normal_points,
    ode_nll, source, target_points, BEST_LOG_DENSITY,
};
use crate::figures::{three_decimals, Entry, Sizes};
use si_integrate::Scheme;
use si_report::{lines, png, scatter};

/// The mean NLL of held-out data under a field.
type NllFn<'a> = dyn Fn(&LearnedField<'_>) -> Result<f64> + 'a;
/// log ρ0 of host points.
type LogDensityFn<'a> = dyn Fn(&Points) -> si_core::Result<Vec<f64>> + 'a;

/// A trained model with its NLL-through-training curve.
pub struct Trained {
    pub trainer: Trainer,
    /// The interpolant it was trained for.
    pub interpolant: Interpolant,
    pub nll_curve: Vec<(f64, f64)>,
    pub train_s: f64,
}

fn config(
    sizes: &Sizes,
    heads: Vec<Head>,
    steps: usize,
    seed: u64,
) -> Result<(si_nn::ModelParams, si_nn::TrainParams)> {
    let mut m = ModelConfig::new(2);
    m.width = sizes.width;
    m.depth = sizes.depth;
    m.heads = heads;
    let mut t = TrainConfig::new(steps);
    t.batch = sizes.batch;
    t.schedule = LrSchedule::Step {
        every: lr_every(sizes, steps),
        gamma: 0.4,
    };
    t.seed = seed;
    t.log_every = (steps / 200).max(1);
    Ok((m.check()?, t.check()?))
}

/// StepLR period: the reference's 1500 of 12,000 steps (an eighth); half the run in quick mode.
fn lr_every(sizes: &Sizes, steps: usize) -> usize {
    if sizes.quick {
        (steps / 2).max(1)
    } else {
        (steps / 8).max(1)
    }
}

/// Trains with `evals` NLL evaluations along the way (when `nll` is given).
fn train(
    sizes: &Sizes,
    interpolant: Interpolant,
    heads: Vec<Head>,
    data: &dyn PairSource,
    steps: usize,
    seed: u64,
    nll: Option<&NllFn<'_>>,
) -> Result<Trained> {
    let (m, t) = config(sizes, heads, steps, seed)?;
    let device = Device::cuda_if_available();
    let source = source(interpolant.clone(), data, t.t_min, device)?;
    let mut trainer = Trainer::new(m, t, device)?;
    let evals = if sizes.quick { 2 } else { 6 };
    let mut curve = Vec::new();
    let mut train_s = 0.0;
    for k in 1..=evals {
        let stop = steps * k / evals;
        let t0 = Instant::now();
        let mut progress = Progress::new();
        let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
        if !sizes.quick {
            observers.push(&mut progress);
        }
        trainer.run_until(&source, stop, &mut observers)?;
        train_s += t0.elapsed().as_secs_f64();
        if let Some(f) = nll {
            let field = LearnedField::new(trainer.sampling_net(), interpolant.clone());
            let v = f(&field)?;
            tracing::info!(step = stop, nll = v, "ODE NLL");
            curve.push((stop as f64, v));
        }
    }
    Ok(Trained {
        trainer,
        interpolant,
        nll_curve: curve,
        train_s,
    })
}

fn loss_series(tr: &Trainer) -> Vec<(String, Vec<(f64, f64)>)> {
    let heads = tr.net().params().heads.clone();
    heads
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let pts = tr
                .log()
                .iter()
                .map(|r| (r.step as f64, r.losses[k]))
                .collect();
            (format!("L_{}", h.name()), pts)
        })
        .collect()
}

/// Shared panels: target, ODE, SDE samples, loss curves, NLL curve.
#[allow(clippy::too_many_arguments)]
fn checker_figure(
    out: &Path,
    name: &str,
    title: &str,
    base: &Points,
    target: &Points,
    ode: &Points,
    sde: &Points,
    tr: &Trained,
    nll: Option<f64>,
) -> Result<String> {
    png(out, name, (1500, 900), |root| {
        let (top, bottom) = root.split_vertically(450);
        let p = top.split_evenly((1, 4));
        scatter(&p[0], "base samples", &coordinate_pairs(base), 5.0, None)?;
        scatter(
            &p[1],
            "target (checkerboard)",
            &coordinate_pairs(target),
            5.0,
            None,
        )?;
        scatter(
            &p[2],
            &format!("ODE (Heun), inside {:.3}", inside_fraction(ode)),
            &coordinate_pairs(ode),
            5.0,
            None,
        )?;
        scatter(
            &p[3],
            &format!("SDE (EM, eps 0.5), inside {:.3}", inside_fraction(sde)),
            &coordinate_pairs(sde),
            5.0,
            None,
        )?;
        let q = bottom.split_evenly((1, 2));
        lines(
            &q[0],
            &format!("{title}: training losses"),
            ("step", "loss"),
            &loss_series(&tr.trainer),
            None,
        )?;
        if !tr.nll_curve.is_empty() {
            let t = match nll {
                Some(v) => format!("ODE NLL of held-out target (final {v:.3})"),
                None => "ODE NLL of held-out target".into(),
            };
            lines(
                &q[1],
                &t,
                ("step", "nats"),
                &[("ODE NLL".into(), tr.nll_curve.clone())],
                Some((-BEST_LOG_DENSITY, "log 32 (best)")),
            )?;
        }
        Ok(())
    })
    .map_err(Into::into)
}

/// Samples and numbers shared by figures 5–7.
struct Eval {
    ode: Points,
    sde: Points,
    sde_noise_first: Points,
    sde_s: f64,
    nll: Option<f64>,
}

fn evaluate(
    sizes: &Sizes,
    tr: &Trained,
    base: &Points,
    nll_base: Option<&LogDensityFn<'_>>,
) -> Result<Eval> {
    let field = LearnedField::new(tr.trainer.sampling_net(), tr.interpolant.clone());
    let (ode, _) = draw(
        &field,
        base,
        if sizes.quick { 50 } else { 200 },
        Scheme::Heun,
        11,
    )?;
    let (sde, sde_s) = draw(
        &field,
        base,
        100,
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: false,
        },
        12,
    )?;
    let (sde_noise_first, _) = draw(
        &field,
        base,
        100,
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: true,
        },
        12,
    )?;
    let nll = match nll_base {
        Some(lr0) => {
            let x = target_points(sizes.nll_points, 99);
            let ll =
                si_nn::sampling::ode_log_likelihood_of(&field, &x, sizes.nll_steps, 2500, lr0)?;
            Some(-ll.iter().sum::<f64>() / ll.len() as f64)
        }
        None => None,
    };
    Ok(Eval {
        ode,
        sde,
        sde_noise_first,
        sde_s,
        nll,
    })
}

fn numbers(tr: &Trained, e: &Eval) -> Vec<(String, String)> {
    let steps = tr.trainer.steps_done();
    let mut v = vec![
        ("training steps".into(), steps.to_string()),
        ("training time (s)".into(), format!("{:.1}", tr.train_s)),
        (
            "training step (ms)".into(),
            format!("{:.1}", 1e3 * tr.train_s / steps.max(1) as f64),
        ),
        (
            "ODE samples inside the squares".into(),
            three_decimals(inside_fraction(&e.ode)),
        ),
        (
            "SDE samples inside the squares (eps 0.5, 100 steps)".into(),
            three_decimals(inside_fraction(&e.sde)),
        ),
        (
            "SDE inside, noise-first Euler-Maruyama (eps 0.5, 100 steps)".into(),
            three_decimals(inside_fraction(&e.sde_noise_first)),
        ),
        ("SDE draw time (s)".into(), format!("{:.2}", e.sde_s)),
    ];
    if let Some(n) = e.nll {
        v.push((
            "ODE NLL of held-out target samples (nats, exact divergence)".into(),
            three_decimals(n),
        ));
        v.push((
            "best achievable (log 32)".into(),
            three_decimals(-BEST_LOG_DENSITY),
        ));
    }
    v
}

fn settings(sizes: &Sizes, spec: &str, heads: &str, steps: usize) -> String {
    format!(
        "{spec}; heads {heads} on a shared {}x{} ReLU trunk with a Fourier time embedding; Adam 2e-3, StepLR({}, 0.4); \
         {} antithetic pairs per step; {steps} steps; {} samples; ODE: Heun 200 steps; SDE: Euler-Maruyama eps = 0.5, 100 steps; \
         NLL: {} held-out points, {} Heun steps, exact divergence; seed 0{}",
        sizes.depth,
        sizes.width,
        lr_every(sizes, steps),
        sizes.batch,
        sizes.samples,
        sizes.nll_points,
        sizes.nll_steps,
        if sizes.quick { " (quick mode)" } else { "" }
    )
}

fn std_normal_ll(x: &Points) -> si_core::Result<Vec<f64>> {
    si_core::StandardNormal {
        dim: si_core::Batch::dim(x),
    }
    .log_density(x)
}

/// Figure 5; also returns the trained model for figure 10.
pub fn figure5(out: &Path, sizes: &Sizes) -> Result<(Entry, Trained)> {
    one_sided(out, sizes, 5, vec![Head::B, Head::S], 12_000)
}

/// Figure 6.
pub fn figure6(out: &Path, sizes: &Sizes) -> Result<Entry> {
    Ok(one_sided(out, sizes, 6, vec![Head::B, Head::Eta], 4_000)?.0)
}

fn one_sided(
    out: &Path,
    sizes: &Sizes,
    number: u32,
    heads: Vec<Head>,
    full_steps: usize,
) -> Result<(Entry, Trained)> {
    let steps = sizes.steps(full_steps);
    let data = checker_data();
    let held = target_points(if sizes.quick { 300 } else { 1000 }, 98);
    let nll_steps = if sizes.quick { 20 } else { 50 };
    let nll = move |f: &LearnedField<'_>| ode_nll(f, &held, nll_steps);
    let tr = train(
        sizes,
        Interpolant::one_sided_linear(),
        heads.clone(),
        &data,
        steps,
        0,
        Some(&nll),
    )?;
    let base = normal_points(sizes.samples, 2, 5);
    let e = evaluate(sizes, &tr, &base, Some(&std_normal_ll))?;
    let which = if heads.contains(&Head::S) {
        "b and s"
    } else {
        "b and eta (s = -eta/alpha)"
    };
    let name = format!("fig{number}_checkerboard.png");
    let file = checker_figure(
        out,
        &name,
        &format!("Figure {number}"),
        &base,
        &target_points(sizes.samples, 3),
        &e.ode,
        &e.sde,
        &tr,
        e.nll,
    )?;
    let entry = Entry {
        number,
        title: format!("Checkerboard from N(0, I), one-sided linear interpolant, learned {which}"),
        files: vec![file],
        caption: format!(
            "Top: base, target, ODE samples and SDE samples of the learned {which}. Bottom: the training losses (the \
             quadratic forms of arXiv 2303.08797 eq. 2.13-2.17, minimised by the exact fields) and the ODE negative \
             log-likelihood of held-out target samples through training against the best achievable log 32 = 3.466 nats."
        ),
        settings: settings(sizes, "one-sided linear interpolant, N(0, I) base", if heads.contains(&Head::S) { "b, s" } else { "b, eta" }, steps),
        numbers: numbers(&tr, &e),
    };
    Ok((entry, tr))
}

/// The base of figure 7: four Gaussians on a circle.
fn mixture_base() -> Result<GaussianMixture> {
    let means = [(2.5, 0.0), (0.0, 2.5), (-2.5, 0.0), (0.0, -2.5)]
        .iter()
        .map(|&(a, b)| DVector::from_vec(vec![a, b]))
        .collect();
    let covs = (0..4).map(|_| DMatrix::identity(2, 2) * 0.3).collect();
    Ok(GaussianMixture::new(vec![0.25; 4], means, covs)?)
}

/// Figure 7.
pub fn figure7(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let steps = sizes.steps(4_000);
    let base_mix = mixture_base()?;
    let data = CouplingPairs(Independent::new(base_mix.clone(), checker_sampler())?);
    let m2 = base_mix.clone();
    let base_ll = move |x: &Points| -> si_core::Result<Vec<f64>> { Ok(m2.log_density(x)?) };
    let held = target_points(if sizes.quick { 300 } else { 1000 }, 98);
    let nll_steps = if sizes.quick { 20 } else { 50 };
    let bl = base_ll.clone();
    let nll = move |f: &LearnedField<'_>| -> Result<f64> {
        let ll = si_nn::sampling::ode_log_likelihood_of(f, &held, nll_steps, 2500, &bl)?;
        Ok(-ll.iter().sum::<f64>() / ll.len() as f64)
    };
    let tr = train(
        sizes,
        Interpolant::encoder_decoder(),
        vec![Head::B, Head::S],
        &data,
        steps,
        0,
        Some(&nll),
    )?;
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(5);
    let base = base_mix.sample(sizes.samples, &mut rng);
    let e = evaluate(sizes, &tr, &base, Some(&base_ll))?;
    let file = checker_figure(
        out,
        "fig7_encoder_decoder.png",
        "Figure 7",
        &base,
        &target_points(sizes.samples, 3),
        &e.ode,
        &e.sde,
        &tr,
        e.nll,
    )?;
    Ok(Entry {
        number: 7,
        title: "Checkerboard from a Gaussian-mixture base, encoder-decoder interpolant".into(),
        files: vec![file],
        caption: "Two-sided encoder-decoder interpolant (x_t passes through pure noise at t = 1/2, gamma = sin^2(pi t)) from \
                  a four-component Gaussian mixture to the checkerboard: learned b and s, ODE and SDE samples, losses and \
                  the ODE NLL (log rho0 of the mixture base, exact divergence)."
            .into(),
        settings: settings(sizes, "encoder-decoder interpolant, base: 4 Gaussians (var 0.3) at radius 2.5", "b, s", steps),
        numbers: numbers(&tr, &e),
    })
}

/// γ = √(a t(1−t)) of figure 8: γ(½) = √2, wide enough to connect the squares.
const MIRROR_A: f64 = 8.0;
/// ε of figure 8's SDE.
const MIRROR_EPS: f64 = 2.0;

/// Figure 8: the mirror interpolant resamples the checkerboard with the SDE from one starting point.
pub fn figure8(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let steps = sizes.steps(3_000);
    let data = CouplingPairs(Independent::new(checker_sampler(), checker_sampler())?);
    let spec = Interpolant::mirror(Gamma::sqrt(MIRROR_A)?)?;
    let tr = train(sizes, spec, vec![Head::B, Head::S], &data, steps, 0, None)?;
    let field = LearnedField::new(tr.trainer.sampling_net(), tr.interpolant.clone());
    let start = Points::from_row_major(sizes.samples, 2, &[1.0, 1.0].repeat(sizes.samples))?;
    let mut mids = Vec::new();
    for (k, &t_end) in [0.25, 0.5, 1.0].iter().enumerate() {
        let grid = si_integrate::TimeGrid::uniform(0.0, t_end, (200.0 * t_end) as usize)?;
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(20 + k as u64);
        let x = si_nn::TensorBatch::upload(&start, tch::Kind::Float, field.net().device())?;
        let y = tch::no_grad(|| {
            si_integrate::integrate(
                &si_integrate::EulerMaruyama::constant(MIRROR_EPS)?,
                &field,
                x,
                &grid,
                &mut rng,
                &mut [],
            )
        })?;
        mids.push(si_core::Batch::to_points(&y)?);
    }
    let frac = inside_fraction(&mids[2]);
    // How the particles inside the squares spread over the checkerboard's 8 squares at t = 1.
    let mut per_square = [0usize; 8];
    for (x, y) in coordinate_pairs(&mids[2]) {
        if inside(x, y) {
            let (i, j) = ((x / 2.0).floor() as i64 + 2, (y / 2.0).floor() as i64 + 2);
            per_square[((j * 4 + i) / 2) as usize % 8] += 1;
        }
    }
    let inside_n: usize = per_square.iter().sum();
    let fair = inside_n as f64 / 8.0;
    let reached = per_square
        .iter()
        .filter(|&&c| c as f64 >= 0.5 * fair)
        .count();
    let (lo, hi) = (
        per_square.iter().min().copied().unwrap_or(0) as f64 / fair.max(1.0),
        per_square.iter().max().copied().unwrap_or(0) as f64 / fair.max(1.0),
    );
    let file = png(out, "fig8_mirror.png", (1500, 450), |root| {
        let p = root.split_evenly((1, 4));
        scatter(
            &p[0],
            "start: every particle at (1, 1)",
            &[(1.0, 1.0)],
            5.0,
            None,
        )?;
        scatter(
            &p[1],
            "SDE at t = 0.25",
            &coordinate_pairs(&mids[0]),
            5.0,
            None,
        )?;
        scatter(
            &p[2],
            "SDE at t = 0.5",
            &coordinate_pairs(&mids[1]),
            5.0,
            None,
        )?;
        scatter(
            &p[3],
            &format!("SDE at t = 1, inside {frac:.3}"),
            &coordinate_pairs(&mids[2]),
            5.0,
            None,
        )?;
        Ok(())
    })?;
    Ok(Entry {
        number: 8,
        title: "Mirror interpolant: the checkerboard resampled by the SDE from a single point".into(),
        files: vec![file],
        caption: format!(
            "x_t = x1 + gamma(t) z with rho0 = rho1 = checkerboard, gamma = sqrt(8 t(1-t)); learned b and s. Every \
             particle starts at (1, 1) (a point of the data); the forward SDE (eps = 2) spreads them while gamma is \
             large. At t = 1, {:.1} % of the particles are inside the squares, and {reached} of the 8 squares hold at \
             least half of an even share of them (fewest {lo:.2}, most {hi:.2} of an even share).",
            100.0 * frac
        ),
        settings: format!(
            "mirror interpolant, gamma = sqrt(8 t(1-t)); heads b, s; {}x{} ReLU trunk; {} pairs/step; {steps} steps; Euler-Maruyama eps = 2, 200 steps; {} particles{}",
            sizes.depth,
            sizes.width,
            sizes.batch,
            sizes.samples,
            if sizes.quick { " (quick mode)" } else { "" }
        ),
        numbers: vec![
            ("training steps".into(), steps.to_string()),
            ("SDE samples inside the squares at t = 1".into(), three_decimals(frac)),
            (
                "squares holding at least half an even share".into(),
                format!("{reached} of 8"),
            ),
            (
                "particles per square / even share (fewest, most)".into(),
                format!("{lo:.2}, {hi:.2}"),
            ),
        ],
    })
}
