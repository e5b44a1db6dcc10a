//! `si-nn train` and `si-nn sample`: learned fields on the user's own `.npy` data.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::Batch;
use si_integrate::{EulerMaruyama, Heun};
use si_nn::npy::{read_points, write_points, NpyDtype};
use si_nn::sampling::{sample, standard_normal};
use si_nn::train::load_model;
use si_nn::{
    ArrayData, Head, InterpolantSpec, LearnedField, LrSchedule, ModelConfig, RunOptions,
    TrainConfig, Trainer,
};
use tch::Device;

/// Arguments of `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// N × d data (f32 or f64 .npy): samples of the target ρ1.
    #[arg(long)]
    data: PathBuf,
    /// Checkpoint to write (safetensors).
    #[arg(long)]
    checkpoint: PathBuf,
    /// Continue the run stored in --checkpoint.
    #[arg(long)]
    resume: bool,
    /// Interpolant: one-sided-linear, one-sided-vp, linear, linear-zero, trig, encoder-decoder, mirror.
    #[arg(long, default_value = "one-sided-linear")]
    interpolant: String,
    /// Fields to learn (comma-separated: b, s, eta, v).
    #[arg(long, default_value = "b,s")]
    heads: String,
    /// One net per field instead of a shared trunk.
    #[arg(long)]
    separate_nets: bool,
    #[arg(long, default_value_t = 256)]
    width: usize,
    #[arg(long, default_value_t = 4)]
    depth: usize,
    #[arg(long, default_value = "relu")]
    activation: String,
    #[arg(long, default_value_t = 5000)]
    steps: usize,
    /// Pairs per step (antithetic: twice as many rows).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    /// Learning-rate schedule: constant, step (×0.4 every 1500 steps) or cosine.
    #[arg(long, default_value = "cosine")]
    schedule: String,
    /// EMA decay of the weights (sampling uses the EMA weights).
    #[arg(long)]
    ema: Option<f64>,
    /// Clip the global gradient norm.
    #[arg(long)]
    clip: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    checkpoint_every: usize,
    /// Loss log (CSV); default: the checkpoint path with `.csv`.
    #[arg(long)]
    csv: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Abort the process after this many steps (tests of --resume).
    #[arg(long, hide = true)]
    abort_after: Option<usize>,
}

/// Arguments of `sample`.
#[derive(Args, Debug)]
pub struct SampleArgs {
    /// Checkpoint written by `train`.
    #[arg(long)]
    checkpoint: PathBuf,
    /// Number of samples.
    #[arg(long)]
    n: usize,
    /// Output .npy (N × d).
    #[arg(long)]
    out: PathBuf,
    /// Integration steps.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Diffusion ε of the SDE (0: the probability-flow ODE with Heun's method).
    #[arg(long, default_value_t = 0.0)]
    eps: f64,
    /// Output dtype: f32 or f64.
    #[arg(long, default_value = "f32")]
    dtype: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// SDE: add each step's noise before its drift step (the last noise is then corrected).
    #[arg(long)]
    noise_first: bool,
}

fn device() -> Device {
    Device::cuda_if_available()
}

pub fn train(a: &TrainArgs) -> Result<()> {
    let points = read_points(&a.data)?;
    let data = ArrayData::new(points)?;
    let csv = a
        .csv
        .clone()
        .unwrap_or_else(|| a.checkpoint.with_extension("csv"));
    let mut trainer = if a.resume {
        let t = Trainer::resume(&a.checkpoint, device())?;
        tracing::info!(step = t.steps_done(), "resuming");
        t
    } else {
        let mut m = ModelConfig::new(si_core::Sampler::dim(&data));
        m.width = a.width;
        m.depth = a.depth;
        m.activation = a.activation.parse()?;
        m.heads = a
            .heads
            .split(',')
            .map(|h| h.trim().parse::<Head>())
            .collect::<Result<_, _>>()?;
        m.shared_trunk = !a.separate_nets;
        let mut t = TrainConfig::new(a.steps);
        t.batch = a.batch;
        t.lr = a.lr;
        t.schedule = match a.schedule.as_str() {
            "constant" => LrSchedule::Constant,
            "step" => LrSchedule::Step {
                every: 1500,
                gamma: 0.4,
            },
            "cosine" => LrSchedule::Cosine {
                min_lr: a.lr * 0.01,
            },
            s => bail!("unknown schedule `{s}` (constant, step, cosine)"),
        };
        t.ema_decay = a.ema;
        t.clip_grad_norm = a.clip;
        t.seed = a.seed;
        let spec: InterpolantSpec = a.interpolant.parse()?;
        Trainer::new(m.check()?, spec, t.check()?, device())?
    };
    let opts = RunOptions {
        progress: !a.quiet,
        checkpoint: Some(a.checkpoint.clone()),
        checkpoint_every: a.checkpoint_every,
        csv: Some(csv),
        stop_at: None,
    };
    if let Some(k) = a.abort_after {
        // Emulates a kill after step k: checkpoints up to the last multiple of checkpoint_every, then
        // steps without writing anything, then abort.
        let every = a.checkpoint_every.max(1);
        trainer.run(
            &data,
            &RunOptions {
                stop_at: Some(k / every * every),
                ..opts.clone()
            },
        )?;
        trainer.run(
            &data,
            &RunOptions {
                stop_at: Some(k),
                checkpoint: None,
                csv: None,
                ..opts.clone()
            },
        )?;
        std::process::abort();
    }
    trainer.run(&data, &opts)?;
    eprintln!(
        "trained {} steps; checkpoint {}",
        trainer.steps_done(),
        a.checkpoint.display()
    );
    Ok(())
}

pub fn sample_cmd(a: &SampleArgs) -> Result<()> {
    let dtype = match a.dtype.as_str() {
        "f32" => NpyDtype::F32,
        "f64" => NpyDtype::F64,
        s => bail!("unknown dtype `{s}` (f32, f64)"),
    };
    if a.n == 0 {
        bail!("--n must be at least 1");
    }
    let (net, spec, _) = load_model(&a.checkpoint, device()).context("loading the checkpoint")?;
    let field = LearnedField::new(&net, spec.build()?);
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let d = net.params().dim;
    let x0 = standard_normal(a.n, d, net.device(), &mut rng);
    let x1 = if a.eps > 0.0 && a.noise_first {
        sample(
            &field,
            &EulerMaruyama::constant(a.eps)?.noise_first(),
            x0,
            a.steps,
            &mut rng,
        )?
    } else if a.eps > 0.0 {
        sample(
            &field,
            &EulerMaruyama::constant(a.eps)?,
            x0,
            a.steps,
            &mut rng,
        )?
    } else {
        sample(&field, &Heun, x0, a.steps, &mut rng)?
    };
    let p = x1.to_points()?;
    write_points(&a.out, &p, dtype)?;
    eprintln!(
        "wrote {} samples of dimension {d} to {}",
        p.len(),
        a.out.display()
    );
    Ok(())
}
