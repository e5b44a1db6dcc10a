//! `si train`: a learned field on the user's own `.npy` data.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use si_core::{Interpolant, InterpolantSource, TimeRange, INTERPOLANT_NAMES};
use si_data::npy::read_points;
use si_data::ArrayData;
use si_nn::{
    Checkpoints, CsvLog, Head, LrSchedule, ModelConfig, Progress, TrainConfig, TrainObserver,
    Trainer, Uploaded,
};

use crate::device;

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

/// `si train`.
pub fn run(a: &TrainArgs) -> Result<()> {
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
