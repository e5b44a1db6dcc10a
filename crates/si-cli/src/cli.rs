//! `si train` and `si sample`: learned fields on the user's own `.npy` data.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Interpolant, InterpolantSource, TimeRange, INTERPOLANT_NAMES};
use si_data::npy::{read_points, write_points, NpyDtype};
use si_data::ArrayData;
use si_integrate::{Scheme, SCHEME_NAMES};
use si_nn::sampling::{sample, standard_normal};
use si_nn::train::load_model;
use si_nn::{
    Checkpoints, CsvLog, Head, LearnedField, LrSchedule, ModelConfig, Progress, TrainConfig,
    TrainObserver, Trainer, Uploaded,
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
    /// Interpolant, by name (si-core's grammar, e.g. `one-sided-linear`, `linear`, `linear:sqrt=2`,
    /// `trigonometric:quadratic`, `encoder-decoder`, `mirror`; see --help).
    #[arg(long, default_value = "one-sided-linear", long_help = INTERPOLANT_NAMES)]
    interpolant: Interpolant,
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
    /// How to integrate, by name (si-integrate's grammar): the probability-flow ODE with `heun` (or
    /// `euler`, `dormand-prince:rtol=R,atol=A`, which lands on the --steps grid times), or the SDE by
    /// `euler-maruyama`, `noise-first` (each step's noise before its drift) or `stochastic-heun`, with
    /// diffusion --eps or `:eps=E`; see --help.
    #[arg(long, default_value = "heun", long_help = SCHEME_NAMES)]
    stepper: Scheme,
    /// Diffusion ε of the SDE steppers (>= 0; not used by the ODE); overrides an `eps=` in --stepper.
    #[arg(long)]
    eps: Option<f64>,
    /// Output dtype: f32 or f64.
    #[arg(long, default_value = "f32")]
    dtype: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub(crate) fn device() -> Device {
    Device::cuda_if_available()
}

pub fn train(a: &TrainArgs) -> Result<()> {
    let points = read_points(&a.data)?;
    let data = ArrayData::new(points)?;
    let dim = si_core::PairSource::dim(&data);
    let csv = a
        .csv
        .clone()
        .unwrap_or_else(|| a.checkpoint.with_extension("csv"));
    let mut trainer = if a.resume {
        let t = Trainer::resume(&a.checkpoint, device())?;
        tracing::info!(step = t.steps_done(), "resuming");
        t
    } else {
        let mut m = ModelConfig::new(dim);
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
        Trainer::new(m.check()?, t.check()?, device())?
    };
    // A resumed run continues with the interpolant stored in its checkpoint.
    let interpolant = trainer
        .interpolant()
        .cloned()
        .unwrap_or_else(|| a.interpolant.clone());
    let times = TimeRange::new(trainer.train_params().t_min)?;
    let source = Uploaded::new(InterpolantSource::new(interpolant, data, times), device());
    let mut progress = Progress::new();
    let mut checkpoints = Checkpoints {
        path: a.checkpoint.clone(),
        every: a.checkpoint_every,
    };
    let mut log = CsvLog {
        path: csv,
        every: a.checkpoint_every,
    };
    let mut observers: Vec<&mut dyn TrainObserver> = vec![&mut checkpoints, &mut log];
    if !a.quiet {
        observers.push(&mut progress);
    }
    if let Some(k) = a.abort_after {
        // Emulates a kill after step k: checkpoints up to the last multiple of checkpoint_every, then
        // steps without writing anything, then abort.
        let every = a.checkpoint_every.max(1);
        trainer.run_until(&source, k / every * every, &mut observers)?;
        trainer.run_until(&source, k, &mut [])?;
        std::process::abort();
    }
    trainer.run(&source, &mut observers)?;
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
    let (net, interpolant, _) =
        load_model(&a.checkpoint, device()).context("loading the checkpoint")?;
    let Some(interpolant) = interpolant else {
        bail!("the checkpoint stores no interpolant (trained on another source): cannot sample from N(0, I)");
    };
    let scheme = match a.eps {
        Some(eps) => a.stepper.with_eps(eps).check()?,
        None => a.stepper,
    };
    if matches!(scheme, Scheme::StochasticHeun { eps } if eps > 0.0)
        && net.head_index(Head::S).is_none()
        && interpolant.schedule(1.0)?.noise_scale == 0.0
    {
        bail!(
            "stochastic Heun evaluates the score at t = 1, where this model's score s = -eta/sigma is singular \
             (sigma(1) = 0 for {interpolant}); use --stepper euler-maruyama or noise-first, or a model with an s head"
        );
    }
    let field = LearnedField::new(&net, interpolant);
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let d = net.params().dim;
    let x0 = standard_normal(a.n, d, net.device(), &mut rng)?;
    let x1 = sample(&field, &scheme, x0, a.steps, &mut rng)?;
    let p = x1.to_points()?;
    write_points(&a.out, &p, dtype)?;
    eprintln!(
        "wrote {} samples of dimension {d} to {}",
        p.len(),
        a.out.display()
    );
    Ok(())
}
