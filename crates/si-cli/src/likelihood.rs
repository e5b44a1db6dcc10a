//! `si likelihood`: log-likelihoods of the rows of a .npy under a checkpoint's model, written as a .npy.
//!
//! The model's base density is the sampler's, ρ0 = N(0, I). Methods (docs/math.md §3, §3.1, §3.2):
//! `ode` (probability-flow ODE backward with Heun's method, exact divergence), `ode-adaptive` (the same
//! with Dormand–Prince 5(4) at --tol), `hutchinson` (Heun, Hutchinson's divergence estimate with --probes
//! Rademacher probes: unbiased, for large d) and `sde` (the path-by-path SDE estimate with diffusion --eps,
//! averaged over --paths backward paths; its standard error is written as a second column).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ErrorNorm, Points, StandardNormal};
use si_data::npy::{write_points, NpyDtype};
use si_integrate::AdaptiveConfig;
use si_nn::sampling::{log_likelihood_of, LikelihoodMethod};
use si_nn::train::load_model;
use si_nn::{Divergence, Head, LearnedField};

/// How `likelihood` computes log ρ1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Probability-flow ODE, Heun's method on --steps, exact divergence (d backward passes per step).
    Ode,
    /// Probability-flow ODE, adaptive Dormand–Prince 5(4) at --tol, exact divergence.
    OdeAdaptive,
    /// Probability-flow ODE, Heun's method, Hutchinson's estimate of the divergence (--probes per step).
    Hutchinson,
    /// The SDE estimate along --paths backward paths with diffusion --eps (a lower bound for a learned
    /// model, in expectation); writes the standard error as a second column.
    Sde,
}

/// The error norms of `ode-adaptive`, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NormName {
    /// RMS over every coordinate of the chunk.
    Rms,
    /// The largest per-point RMS.
    WorstPoint,
}

/// Arguments of `likelihood`.
#[derive(Args, Debug)]
pub struct LikelihoodArgs {
    /// Checkpoint written by `train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// N × d points (f32 or f64 .npy).
    #[arg(long)]
    data: PathBuf,
    /// Output .npy: N × 1 log-likelihoods in nats (N × 2 with the standard error for `sde`), f64.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Method::Ode)]
    method: Method,
    /// Integration steps (all but `ode-adaptive`).
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Relative and absolute tolerance of `ode-adaptive`.
    #[arg(long, default_value_t = 1e-5)]
    tol: f64,
    /// How `ode-adaptive` combines the error of a chunk's points: `rms` over the chunk (torchdiffeq's), or
    /// `worst-point` (every point within --tol; a ReLU net's kinks can make it take many more steps).
    #[arg(long, value_enum, default_value_t = NormName::Rms)]
    error_norm: NormName,
    /// Hutchinson probes per evaluation (`hutchinson`, and `sde` when given).
    #[arg(long)]
    probes: Option<usize>,
    /// Diffusion ε of `sde` (> 0).
    #[arg(long, default_value_t = 0.5)]
    eps: f64,
    /// Backward paths per point (`sde`).
    #[arg(long, default_value_t = 16)]
    paths: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = 1024)]
    chunk: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn check(a: &LikelihoodArgs) -> Result<()> {
    if a.steps == 0 || a.chunk == 0 {
        bail!("--steps and --chunk must be at least 1");
    }
    if a.method == Method::Sde {
        if !(a.eps.is_finite() && a.eps > 0.0) {
            bail!("--eps must be finite and > 0 for the SDE estimate (eps = 0 is --method ode)");
        }
        if a.paths == 0 {
            bail!("--paths must be at least 1");
        }
    }
    if a.probes == Some(0) {
        bail!("--probes must be at least 1");
    }
    Ok(())
}

pub fn likelihood(a: &LikelihoodArgs) -> Result<()> {
    check(a)?;
    let (points, image) = crate::images::read_data(&a.data)?;
    let (net, interpolant, _) =
        load_model(&a.checkpoint, crate::device()).context("loading the checkpoint")?;
    let Some(interpolant) = interpolant else {
        bail!("the checkpoint stores no interpolant (trained on another source): its base density is unknown");
    };
    if a.method == Method::Sde
        && net.head_index(Head::S).is_none()
        && interpolant.schedule(1.0)?.noise_scale == 0.0
    {
        bail!(
            "the SDE estimate starts at t = 1, where this model's score s = -eta/sigma is singular (sigma(1) = 0 \
             for {interpolant}); use --method ode or ode-adaptive, or a model with an s head"
        );
    }
    crate::images::check_fits(&a.data, net.params().config(), &points, image)?;
    let d = net.params().dim;
    let divergence = match (a.method, a.probes) {
        (Method::Hutchinson, p) => Divergence::Hutchinson {
            probes: p.unwrap_or(1),
            seed: a.seed,
        },
        (Method::Sde, Some(p)) => Divergence::Hutchinson {
            probes: p,
            seed: a.seed,
        },
        _ => Divergence::Exact,
    };
    // the density the backward integration ends on: N(0, α(0)² I) (α(0) = σ_max for EDM and VE)
    let base_scale = interpolant.base_scale();
    let field = LearnedField::new(&net, interpolant).with_divergence(divergence);
    let method = match a.method {
        Method::Ode | Method::Hutchinson => LikelihoodMethod::Ode { steps: a.steps },
        Method::OdeAdaptive => LikelihoodMethod::Adaptive(
            AdaptiveConfig {
                norm: match a.error_norm {
                    NormName::Rms => ErrorNorm::Rms,
                    NormName::WorstPoint => ErrorNorm::WorstPoint,
                },
                ..AdaptiveConfig::tolerance(a.tol)
            }
            .check()?,
        ),
        Method::Sde => LikelihoodMethod::Sde {
            steps: a.steps,
            eps: a.eps,
            paths: a.paths,
        },
    };
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let n = points.len();
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(n as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("log-likelihood [{bar:40}] {pos}/{len} points ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let ll = log_likelihood_of(
        &field,
        &points,
        &method,
        a.chunk,
        &|p: &Points| StandardNormal { dim: d }.log_density_scaled(p, base_scale),
        &mut rng,
        &mut |k| bar.inc(k as u64),
    )?;
    bar.finish_and_clear();
    let cols = if ll.std_error.is_some() { 2 } else { 1 };
    let out: Vec<f64> = match &ll.std_error {
        Some(se) => ll
            .values
            .iter()
            .zip(se)
            .flat_map(|(m, s)| [*m, *s])
            .collect(),
        None => ll.values.clone(),
    };
    let stats = ll.stats;
    let result = Points::from_row_major(n, cols, &out)?;
    write_points(&a.out, &result, NpyDtype::F64)?;
    let mean = (0..n).map(|i| out[i * cols]).sum::<f64>() / n.max(1) as f64;
    eprintln!(
        "wrote {n} log-likelihoods ({:?}) to {}; mean {mean:.4} nats ({:.4} per dimension)",
        a.method,
        a.out.display(),
        mean / d as f64
    );
    if a.method == Method::OdeAdaptive {
        eprintln!(
            "Dormand-Prince: {} accepted and {} rejected steps, {} evaluations over all chunks",
            stats.accepted, stats.rejected, stats.evaluations
        );
    }
    Ok(())
}
