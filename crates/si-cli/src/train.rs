//! `si train`: a learned field on the user's own `.npy` data.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use si_core::{
    Interpolant, InterpolantSource, Points, StandardNormal, TimeRange, INTERPOLANT_NAMES,
};
use si_data::ArrayData;
use si_nn::{
    Checkpoints, CsvLog, Divergence, Head, LrSchedule, ModelConfig, Progress, TrainConfig,
    TrainEvent, TrainObserver, Trainer, UNetConfig, Uploaded, ValidationNll,
};

use crate::device;
use crate::images::{check_fits, read_data};

/// Arguments of `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Samples of the target ρ1 (f32 or f64 .npy): points N × d, or images (N, H, W) or (N, C, H, W),
    /// which train a U-Net (see --arch).
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
    /// The network: `mlp`, `unet` (images only: a U-Net on the images, docs/design.md "Images"), or
    /// `auto` (a U-Net for images, an MLP for points; images through an MLP are flattened).
    #[arg(long, default_value = "auto")]
    arch: String,
    /// The U-Net's feature maps at its first level.
    #[arg(long, default_value_t = 32)]
    unet_base: usize,
    /// The U-Net's width multipliers per level (comma-separated; levels − 1 halvings of the image).
    #[arg(long, default_value = "1,2")]
    unet_mults: String,
    /// The U-Net's residual blocks per level.
    #[arg(long, default_value_t = 2)]
    unet_blocks: usize,
    /// The U-Net's levels with self-attention (comma-separated, 0-based; empty for none).
    #[arg(long, default_value = "1")]
    unet_attention: String,
    /// The U-Net's GroupNorm groups.
    #[arg(long, default_value_t = 8)]
    unet_groups: usize,
    /// Hidden width of the MLP.
    #[arg(long, default_value_t = 256)]
    width: usize,
    /// Hidden layers of the MLP.
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
    /// Held-out samples of ρ1 (the shape of --data) scored while training: every --validate-every steps
    /// and at the end, their mean −log-likelihood under the sampling model (the EMA weights with --ema, else
    /// the weights; probability-flow ODE, 20 Heun steps, Hutchinson's divergence with one probe; base
    /// N(0, α(0)² I) as `si likelihood`), printed and written after each score to the checkpoint path with
    /// `.validation.csv` (step, nats per point, nats per dimension; a resumed run keeps the rows up to its
    /// start). The model must give b: a b head, or v with s or eta.
    #[arg(long)]
    validation: Option<PathBuf>,
    /// Steps between the scores of --validation (default --checkpoint-every; 0: only at the end).
    #[arg(long)]
    validate_every: Option<usize>,
    /// With --validation, also keep the checkpoint of the lowest validation score so far, written whenever a
    /// score improves to the checkpoint path with `.best.safetensors` (the checkpoint chosen on held-out
    /// data: the one to sample and report from). A resumed run keeps the earlier best.
    #[arg(long, requires = "validation")]
    keep_best: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Abort the process after this many steps (tests of --resume).
    #[arg(long, hide = true)]
    abort_after: Option<usize>,
}

/// A comma-separated list of sizes (empty: none).
fn list(s: &str, flag: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| anyhow::anyhow!("{flag}: `{v}` is not a size"))
        })
        .collect()
}

/// `si train`.
pub fn run(a: &TrainArgs) -> Result<()> {
    let (points, image) = read_data(&a.data)?;
    let dim = si_core::Batch::dim(&points);
    let csv = a
        .csv
        .clone()
        .unwrap_or_else(|| a.checkpoint.with_extension("csv"));
    let mut trainer = if a.resume {
        let t = Trainer::resume(&a.checkpoint, device())?;
        check_fits(&a.data, t.sampling_net().params().config(), &points, image)?;
        tracing::info!(step = t.steps_done(), "resuming");
        t
    } else {
        let mut m = ModelConfig::new(dim);
        m.width = a.width;
        m.depth = a.depth;
        m.activation = a.activation.parse()?;
        m.unet = match (a.arch.as_str(), image) {
            ("mlp", _) | ("auto", None) => None,
            ("unet" | "auto", Some(s)) => Some(UNetConfig {
                channels: s.channels,
                height: s.height,
                width: s.width,
                base: a.unet_base,
                mults: list(&a.unet_mults, "--unet-mults")?,
                blocks: a.unet_blocks,
                attention: list(&a.unet_attention, "--unet-attention")?,
                groups: a.unet_groups,
            }),
            ("unet", None) => bail!(
                "--arch unet needs images, (N, H, W) or (N, C, H, W); {} holds points N x {dim}",
                a.data.display()
            ),
            (other, _) => bail!("unknown --arch `{other}` (auto, mlp, unet)"),
        };
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
    let mut validation = match &a.validation {
        None => None,
        Some(path) => Some(ValidationLog::new(a, path, &trainer, &interpolant, dim)?),
    };
    let data = ArrayData::new(points)?;
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
    if let Some(v) = validation.as_mut() {
        observers.push(v);
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

/// `--validation`: si-nn's [`ValidationNll`] on the held-out file, its scores printed and the CSV rewritten
/// (atomically) after each one.
struct ValidationLog {
    nll: ValidationNll,
    path: PathBuf,
    dim: usize,
    /// Rows of an earlier run up to the resumed step, kept in front.
    kept: String,
    /// With --keep-best: where the best checkpoint goes, and the best (step, score) so far.
    best: Option<(PathBuf, Option<(usize, f64)>)>,
}

impl ValidationLog {
    fn new(
        a: &TrainArgs,
        file: &std::path::Path,
        trainer: &Trainer,
        interpolant: &Interpolant,
        dim: usize,
    ) -> Result<Self> {
        let net = trainer.sampling_net();
        let has = |h: Head| net.head_index(h).is_some();
        if !(has(Head::B) || (has(Head::V) && (has(Head::S) || has(Head::Eta)))) {
            bail!(
                "--validation scores the ODE likelihood, which needs b: train a b head (--heads b,...), or v with s or eta"
            );
        }
        let (held_out, shape) = read_data(file)?;
        check_fits(file, net.params().config(), &held_out, shape)?;
        let scale = interpolant.base_scale();
        let base = StandardNormal { dim };
        let nll = ValidationNll::new(
            held_out,
            interpolant.clone(),
            Box::new(move |p: &Points| base.log_density_scaled(p, scale)),
            a.validate_every.unwrap_or(a.checkpoint_every),
            20,
        )
        .with_divergence(Divergence::Hutchinson {
            probes: 1,
            // the run's own seed (a resumed run's is in its checkpoint), so every row uses the same probes
            seed: trainer.train_params().seed,
        });
        let path = a.checkpoint.with_extension("validation.csv");
        let start = trainer.steps_done();
        let kept = match (a.resume, std::fs::read_to_string(&path)) {
            (true, Ok(old)) => old
                .lines()
                .skip(1)
                .filter(|l| {
                    l.split(',')
                        .next()
                        .and_then(|v| v.parse::<usize>().ok())
                        .is_some_and(|step| step <= start)
                })
                .map(|l| format!("{l}\n"))
                .collect(),
            _ => String::new(),
        };
        // the kept rows' lowest score is the best so far, if its checkpoint is on disk at that step (an
        // earlier run without --keep-best, a file of another run, or one written after the resumed step
        // leave no best: the next score starts it again)
        let kept_best = kept
            .lines()
            .filter_map(|l| {
                let mut f = l.split(',');
                Some((
                    f.next()?.parse::<usize>().ok()?,
                    f.next()?.parse::<f64>().ok()?,
                ))
            })
            .filter(|r| r.1.is_finite())
            .min_by(|x, y| x.1.total_cmp(&y.1));
        let best = a.keep_best.then(|| {
            let path = a.checkpoint.with_extension("best.safetensors");
            let kept_best = kept_best.filter(|&(step, _)| {
                let on_disk = si_nn::train::checkpoint::load(&path)
                    .map(|(meta, _)| meta.step)
                    .ok();
                if on_disk != Some(step) {
                    eprintln!(
                        "validation: the earlier best (step {step}) has no checkpoint at {}; the best starts again",
                        path.display()
                    );
                }
                on_disk == Some(step)
            });
            (path, kept_best)
        });
        Ok(Self {
            nll,
            path,
            dim,
            kept,
            best,
        })
    }
}

impl TrainObserver for ValidationLog {
    fn observe(&mut self, state: &si_nn::TrainState, event: TrainEvent) -> si_nn::Result<()> {
        let before = self.nll.record().len();
        self.nll.observe(state, event)?;
        if self.nll.record().len() == before {
            return Ok(());
        }
        let d = self.dim as f64;
        let mut csv = String::from("step,nll_nats,nll_nats_per_dim\n");
        csv.push_str(&self.kept);
        for (step, nll) in self.nll.record() {
            csv.push_str(&format!("{step},{nll},{}\n", nll / d));
        }
        si_data::write_atomic(&self.path, csv.as_bytes())?;
        if let (Some((path, best)), Some(&(step, nll))) =
            (self.best.as_mut(), self.nll.record().last())
        {
            if nll.is_finite() && best.is_none_or(|b| nll < b.1) {
                si_nn::train::checkpoint::write_state(path, state)?;
                *best = Some((step, nll));
                eprintln!("validation: best so far, kept in {}", path.display());
            }
        }
        if let Some((step, nll)) = self.nll.record().last() {
            eprintln!(
                "validation: mean -log-likelihood {nll:.4} nats ({:.4} per dimension) at step {step}; {}",
                nll / d,
                self.path.display()
            );
        }
        Ok(())
    }
}
