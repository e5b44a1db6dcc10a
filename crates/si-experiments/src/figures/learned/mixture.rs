//! Figure 9: Gaussian mixtures in d = 4 and d = 400 against the exact fields of si-analytic: KL(ρ1 ‖ model)
//! of the ODE and SDE models from likelihoods, and the L² errors of b and s, through training.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::relative_l2;
use si_core::{
    Batch, CouplingPairs, ErrorNorm, Field, Gamma, Independent, Interpolant, Points,
    StandardNormal, TargetSource, TimeRange,
};
use si_integrate::{ode_log_likelihood, sde_log_likelihood, AdaptiveConfig, Diffusion, TimeGrid};
use si_nn::sampling::{log_likelihood_of, LikelihoodMethod};
use si_nn::{
    DeviceData, Divergence, Head, LearnedField, LrSchedule, ModelConfig, Progress, TensorBatch,
    TrainConfig, TrainObserver, Trainer,
};
use tch::{Device, Kind};

use crate::experiment::source;
use crate::figures::{three_decimals, Entry, Sizes};
use si_report::{lines, png};

/// ε of the SDE models: the bound of the SDE likelihood tightens as ε falls (its gap grows like
/// ε ∫ E|ŝ − s|² dt), and the SDE model tends to the ODE's.
const EPS: [f64; 2] = [0.1, 1.0];

/// The three-component target in d = 4.
fn target4() -> Result<GaussianMixture> {
    let d = 4;
    let means = [
        [3.0, 0.0, 0.0, 1.0],
        [-3.0, 1.0, 0.0, 0.0],
        [0.0, -2.0, 2.5, 0.0],
    ]
    .iter()
    .map(|m| DVector::from_row_slice(m))
    .collect();
    let covs = (0..3)
        .map(|k| DMatrix::identity(d, d) * (0.25 + 0.1 * k as f64))
        .collect();
    Ok(GaussianMixture::new(vec![0.5, 0.3, 0.2], means, covs)?)
}

/// Four components in d = 400: means ±0.5 per coordinate by a seeded sign pattern (pairwise distances
/// about 14), diagonal variances in [0.3, 1].
fn target400() -> Result<GaussianMixture> {
    let d = 400;
    let mut rng = ChaCha8Rng::seed_from_u64(400);
    let means = (0..4)
        .map(|_| DVector::from_fn(d, |_, _| if rng.random::<bool>() { 0.5 } else { -0.5 }))
        .collect();
    let covs = (0..4)
        .map(|_| DMatrix::from_diagonal(&DVector::from_fn(d, |_, _| rng.random_range(0.3..1.0))))
        .collect();
    Ok(GaussianMixture::new(vec![0.4, 0.3, 0.2, 0.1], means, covs)?)
}

/// One run of the figure: a dimension, a target, a model and how likelihoods are computed.
struct Setup {
    d: usize,
    rho1: GaussianMixture,
    width: usize,
    depth: usize,
    batch: usize,
    steps: usize,
    evals: usize,
    held_out: usize,
    /// The ODE likelihood of the learned model, and how its divergence is computed.
    ode: LikelihoodMethod,
    divergence: Divergence,
    /// Euler–Maruyama steps and paths of the SDE likelihood.
    sde_steps: usize,
    sde_paths: usize,
    /// Train on this many samples of ρ1 kept on the device (draws made there: no n × d host work per
    /// step), or on fresh host draws uploaded every step (`None`).
    resident: Option<usize>,
}

/// What a run measured, as (training step, value) series.
#[derive(Default)]
struct Curves {
    kl_ode: Vec<(f64, f64)>,
    /// One series per ε of [`EPS`].
    kl_sde: Vec<Vec<(f64, f64)>>,
    err_b: Vec<(f64, f64)>,
    err_s: Vec<(f64, f64)>,
    /// The same estimators on the exact fields: what they read for a perfect model.
    floor_ode: f64,
    floor_sde: Vec<f64>,
    adaptive_steps: usize,
    seconds: f64,
}

fn mean_gap(exact: &[f64], model: &[f64]) -> f64 {
    exact.iter().zip(model).map(|(a, b)| a - b).sum::<f64>() / exact.len() as f64
}

fn run(s: &Setup, quick: bool) -> Result<Curves> {
    let start = Instant::now();
    let d = s.d;
    let interpolant = Interpolant::linear(Gamma::brownian())?;
    let rho0 = GaussianMixture::standard_normal(d)?;
    let exact = MixtureFields::new(rho0.clone(), s.rho1.clone(), interpolant.clone())?;
    let mut m = ModelConfig::new(d);
    m.width = s.width;
    m.depth = s.depth;
    m.heads = vec![Head::B, Head::S];
    let mut t = TrainConfig::new(s.steps);
    t.batch = s.batch;
    t.schedule = LrSchedule::Cosine { min_lr: 2e-5 };
    t.log_every = (s.steps / 100).max(1);
    let device = Device::cuda_if_available();
    let t = t.check()?;
    let data: Box<dyn TargetSource<TensorBatch>> = match s.resident {
        Some(n) => Box::new(DeviceData::new(
            interpolant.clone(),
            &s.rho1.sample(n, &mut ChaCha8Rng::seed_from_u64(10)),
            None,
            TimeRange::new(t.t_min)?,
            device,
        )?),
        None => Box::new(source(
            interpolant.clone(),
            CouplingPairs(Independent::new(StandardNormal { dim: d }, s.rho1.clone())?),
            t.t_min,
            device,
        )?),
    };
    let mut tr = Trainer::new(m.check()?, t, device)?;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let held = s.rho1.sample(s.held_out, &mut rng);
    let log_p = s.rho1.log_density(&held)?;
    let base = |p: &Points| StandardNormal { dim: d }.log_density(p);
    let sde = |eps| LikelihoodMethod::Sde {
        steps: s.sde_steps,
        eps,
        paths: s.sde_paths,
    };
    let mut c = Curves {
        kl_sde: vec![Vec::new(); EPS.len()],
        ..Curves::default()
    };
    // the estimators on the exact fields (host): their reading for a perfect model
    let floor_ll = ode_log_likelihood(&exact, &held, &TimeGrid::uniform(1.0, 0.0, 200)?, |p| {
        Ok(rho0.log_density(p)?)
    })?;
    c.floor_ode = mean_gap(&log_p, &floor_ll);
    for eps in EPS {
        let floor = sde_log_likelihood(
            &exact,
            &held,
            &TimeGrid::uniform(1.0, 0.0, s.sde_steps)?,
            &Diffusion::constant(eps)?,
            s.sde_paths,
            &mut rng,
            |p| Ok(rho0.log_density(p)?),
        )?;
        c.floor_sde.push(mean_gap(&log_p, &floor.mean()));
    }
    for k in 1..=s.evals {
        let stop = s.steps * k / s.evals;
        let mut progress = Progress::new();
        let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
        if !quick {
            observers.push(&mut progress);
        }
        tr.run_until(data.as_ref(), stop, &mut observers)?;
        let field =
            LearnedField::new(tr.sampling_net(), interpolant.clone()).with_divergence(s.divergence);
        let ode = log_likelihood_of(&field, &held, &s.ode, 500, &base, &mut rng, &mut |_| {})?;
        c.adaptive_steps = ode.stats.accepted;
        let mut ks = Vec::new();
        for (k, eps) in EPS.into_iter().enumerate() {
            let ll =
                log_likelihood_of(&field, &held, &sde(eps), 500, &base, &mut rng, &mut |_| {})?;
            ks.push(mean_gap(&log_p, &ll.values));
            c.kl_sde[k].push((stop as f64, ks[k]));
        }
        let (mut eb, mut es) = (0.0, 0.0);
        let ts = [0.1, 0.3, 0.5, 0.7, 0.9];
        for &tt in &ts {
            let x = exact.sample(tt, s.held_out, &mut rng)?;
            let (be, se) = exact.velocity_and_score(tt, &x)?;
            let (bl, sl) = field.velocity_and_score(
                tt,
                &TensorBatch::upload(&x, Kind::Float, field.net().device())?,
            )?;
            eb += relative_l2(&bl.to_points()?, &be)? / ts.len() as f64;
            es += relative_l2(&sl.to_points()?, &se)? / ts.len() as f64;
        }
        let st = stop as f64;
        let ko = mean_gap(&log_p, &ode.values);
        c.kl_ode.push((st, ko));
        c.err_b.push((st, eb));
        c.err_s.push((st, es));
        tracing::info!(d, step = stop, kl_ode = ko, kl_sde = ?ks, eb, es, "figure 9");
    }
    c.seconds = start.elapsed().as_secs_f64();
    Ok(c)
}

fn setups(quick: bool, sizes: &Sizes) -> Result<[Setup; 2]> {
    Ok([
        Setup {
            d: 4,
            rho1: target4()?,
            width: if quick { 64 } else { 128 },
            depth: 3,
            batch: if quick { 256 } else { 500 },
            steps: sizes.steps(3_000),
            evals: if quick { 2 } else { 6 },
            held_out: if quick { 300 } else { 1000 },
            // the batch RMS (torchdiffeq's norm): the KL is a mean over points, and the worst-point norm
            // makes a ReLU net's kinks (a jump of the error estimate at some point of the batch) force
            // tiny steps
            ode: LikelihoodMethod::Adaptive(
                AdaptiveConfig {
                    norm: ErrorNorm::Rms,
                    ..AdaptiveConfig::tolerance(1e-5)
                }
                .check()?,
            ),
            divergence: Divergence::Exact,
            sde_steps: if quick { 50 } else { 200 },
            sde_paths: if quick { 2 } else { 4 },
            resident: None,
        },
        Setup {
            d: 400,
            rho1: target400()?,
            width: if quick { 256 } else { 512 },
            depth: 3,
            batch: if quick { 128 } else { 256 },
            steps: if quick { 200 } else { 2_000 },
            evals: if quick { 2 } else { 5 },
            held_out: if quick { 100 } else { 500 },
            // Hutchinson with one probe per evaluation: unbiased, two passes instead of 400
            ode: LikelihoodMethod::Ode {
                steps: if quick { 20 } else { 50 },
            },
            divergence: Divergence::Hutchinson {
                probes: 1,
                seed: 400,
            },
            sde_steps: if quick { 20 } else { 100 },
            sde_paths: if quick { 1 } else { 2 },
            resident: Some(if quick { 5_000 } else { 50_000 }),
        },
    ])
}

pub fn figure9(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let quick = sizes.quick;
    let setups = setups(quick, sizes)?;
    let curves = setups
        .iter()
        .map(|s| run(s, quick))
        .collect::<Result<Vec<_>>>()?;
    let device = if Device::cuda_if_available().is_cuda() {
        "GPU"
    } else {
        "CPU"
    };
    let file = png(out, "fig9_mixture_d4_d400.png", (1400, 1000), |root| {
        let rows = root.split_evenly((2, 2));
        for (r, (s, c)) in setups.iter().zip(&curves).enumerate() {
            let (first, last) = (
                c.kl_ode.first().map_or(0.0, |p| p.0),
                c.kl_ode.last().map_or(1.0, |p| p.0),
            );
            lines(
                &rows[2 * r],
                &format!("d = {}: KL(rho1 || model) from likelihoods", s.d),
                ("training step", "nats"),
                &[
                    vec![("ODE model".into(), c.kl_ode.clone())],
                    EPS.iter()
                        .zip(&c.kl_sde)
                        .map(|(e, v)| (format!("SDE model, eps {e} (upper bound)"), v.clone()))
                        .collect(),
                    vec![(
                        "ODE estimator on the exact fields".into(),
                        vec![(first, c.floor_ode), (last, c.floor_ode)],
                    )],
                    EPS.iter()
                        .zip(&c.floor_sde)
                        .map(|(e, f)| {
                            (
                                format!("SDE estimator, eps {e}, on the exact fields"),
                                vec![(first, *f), (last, *f)],
                            )
                        })
                        .collect(),
                ]
                .concat(),
                Some((0.0, "0")),
            )?;
            lines(
                &rows[2 * r + 1],
                &format!("d = {}: relative L2 error against the exact fields", s.d),
                ("training step", "relative L2 error"),
                &[("b".into(), c.err_b.clone()), ("s".into(), c.err_s.clone())],
                None,
            )?;
        }
        Ok(())
    })?;
    let last = |v: &Vec<(f64, f64)>| three_decimals(v.last().map(|p| p.1).unwrap_or(f64::NAN));
    let mut numbers = Vec::new();
    for (s, c) in setups.iter().zip(&curves) {
        let d = s.d;
        for (k, e) in EPS.iter().enumerate() {
            numbers.push((
                format!("d = {d}: KL SDE model, eps {e} (upper bound), final"),
                last(&c.kl_sde[k]),
            ));
            numbers.push((
                format!("d = {d}: SDE estimator, eps {e}, on the exact fields"),
                three_decimals(c.floor_sde[k]),
            ));
        }
        numbers.extend([
            (format!("d = {d}: KL ODE model, final"), last(&c.kl_ode)),
            (
                format!("d = {d}: ODE estimator on the exact fields"),
                three_decimals(c.floor_ode),
            ),
            (
                format!("d = {d}: relative L2 error of b, final"),
                last(&c.err_b),
            ),
            (
                format!("d = {d}: relative L2 error of s, final"),
                last(&c.err_s),
            ),
            (
                format!("d = {d}: seconds ({device})"),
                format!("{:.0}", c.seconds),
            ),
        ]);
    }
    numbers.push((
        "d = 4: Dormand-Prince steps of the last ODE likelihood".into(),
        curves[0].adaptive_steps.to_string(),
    ));
    let settings = setups
        .iter()
        .map(|s| {
            format!(
                "d = {}: heads b, s, {}x{} ReLU trunk, {} antithetic pairs/step, cosine schedule from 2e-3, {} steps, {}, {} held-out points, SDE likelihood {} steps x {} paths",
                s.d, s.depth, s.width, s.batch, s.steps,
                match s.resident {
                    Some(n) => format!("{n} samples of rho1 resident on the device"),
                    None => "fresh draws of rho1 every step".into(),
                },
                s.held_out, s.sde_steps, s.sde_paths
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Ok(Entry {
        number: 9,
        title: "Gaussian mixtures in d = 4 and d = 400: KL of ODE and SDE models from likelihoods, L2 errors of b and s".into(),
        files: vec![file],
        caption: format!(
            "N(0, I) to Gaussian mixtures (d = 4: three components, fresh draws every step; d = 400: four, diagonal \
             covariances, a fixed set of samples kept on the device so that every draw is made there), linear \
             interpolant with gamma = sqrt(t(1-t)), trained on {device}. Left: KL(rho1 || model) = E[log rho1 - log \
             rho_model] over held-out points of rho1, from likelihoods: the ODE model's by the probability-flow \
             likelihood (d = 4: adaptive Dormand-Prince at rtol = atol = 1e-5, batch-RMS error norm, with the exact divergence; d = 400: \
             Heun with Hutchinson's one-probe divergence, unbiased), the SDE models' (eps = 0.1 and 1) by the path-by-path \
             SDE estimate (docs/math.md section 3.1), which for a learned model bounds its log-likelihood from \
             below, so its KL is an upper bound whose gap grows like eps times the integrated score error (small eps: \
             a tighter bound of a model closer to the ODE's). The flat lines are the same estimators run on the exact fields: \
             what each reads for a perfect model (its discretisation bias). Right: relative L2 errors of the learned \
             b and s against the exact fields on samples of rho(t), averaged over t = 0.1, 0.3, 0.5, 0.7, 0.9."
        ),
        settings: format!("{settings}{}", if quick { " (quick mode)" } else { "" }),
        numbers,
    })
}
