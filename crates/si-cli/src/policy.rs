//! `si policy train` and `si policy eval`: the streaming trajectory policy on Push-T (docs/math.md §7).
//!
//! Training regresses b and η of the tube x_t = ξ(t) + σ_t z around the demonstrated action paths
//! (si-robot's [`TubeSource`]) with an MLP on (x, t, the segment phase, the last two observations), on the
//! GPU when there is one. The checkpoint is an ordinary si-nn checkpoint; the tube's settings are written
//! beside it (`CKPT.policy.json`). Evaluation runs the model on the host (si-model: one small forward per
//! action, no framework call) inside si-robot's [`StreamingPolicy`], one integration step per action.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use serde::{Deserialize, Serialize};
use si_core::{Interpolant, InterpolantSource, TargetSource, TimeRange};
use si_integrate::Euler;
use si_model::HostNet;
use si_nn::{
    Activation, CsvLog, Head, LrSchedule, ModelConfig, Progress, TensorBatch, TrainConfig,
    TrainObserver, Trainer, Uploaded,
};
use si_robot::stream::{
    windows, ChunkPairs, ChunkedConfig, ChunkedPolicy, StreamingConfig, StreamingPolicy,
    TubeConfig, TubeEulerMaruyama, TubeExponential, TubeSource, CONTEXT_DIM,
};
use si_robot::{
    run_episode, run_episode_displaced, summarise, Demonstrations, Displacement, Episode, Policy,
    Tube, MAX_STEPS,
};

/// `si policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Train a streaming policy on demonstrations.
    Train(Box<TrainArgs>),
    /// Evaluate a trained policy on Push-T seeds.
    Eval(EvalArgs),
}

/// The policy family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum Kind {
    /// One integration step per action, ODE (λ = 0 at evaluation unless asked otherwise).
    Streaming,
    /// One integration step per action, SDE (λ = 1 at evaluation unless asked otherwise).
    StreamingSde,
    /// Diffusion Policy's recipe: a whole chunk of T actions from noise with K Euler steps (one network pass
    /// each), execute the first n, re-plan.
    Chunked,
}

/// Arguments of `policy train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Demonstrations (the file `cargo xtask demos` writes).
    #[arg(long)]
    pub demos: PathBuf,
    #[arg(long, value_enum, default_value = "streaming")]
    pub kind: Kind,
    /// Checkpoint to write (safetensors); the tube's settings go to CKPT.policy.json.
    #[arg(long)]
    pub out: PathBuf,
    /// σ0: the tube's width at t = 0 (normalised action units; 1 = 256 px).
    #[arg(long, default_value_t = 0.05)]
    pub sigma0: f64,
    /// k: the tube narrows as e^{-kt}, and the flow pulls back onto the path at rate k.
    #[arg(long, default_value_t = 2.0)]
    pub k: f64,
    /// T_pred: actions per unit of flow time.
    #[arg(long, default_value_t = 16)]
    pub horizon: usize,
    #[arg(long, default_value_t = 256)]
    pub width: usize,
    #[arg(long, default_value_t = 3)]
    pub depth: usize,
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    #[arg(long, default_value_t = 512)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// EMA decay of the weights (evaluation uses the EMA weights).
    #[arg(long, default_value_t = 0.999)]
    pub ema: f64,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `policy eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A checkpoint written by `policy train`.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Seeds: `A..B` (B excluded) or a comma-separated list; default the published test seeds.
    #[arg(long, default_value = "100000..100050")]
    pub seeds: String,
    /// λ ≥ 0 (0: the ODE); default 0 for `streaming`, 1 for `streaming-sde`.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Chunked policies: K, the Euler steps (network passes) from noise to a chunk.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Chunked policies: actions executed before re-planning.
    #[arg(long, default_value_t = 8)]
    pub execute: usize,
    #[arg(long, value_enum, default_value = "exponential")]
    pub stepper: StepperKind,
    /// T_chunk: actions between re-anchors.
    #[arg(long, default_value_t = 8)]
    pub chunk: usize,
    /// Start each anchor at the measured position plus N(0, σ0²) instead of exactly at it.
    #[arg(long)]
    pub noisy_start: bool,
    /// Episode step limit (≤ 300).
    #[arg(long, default_value_t = MAX_STEPS)]
    pub max_steps: usize,
    /// Per-episode results (CSV).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Robustness protocol: displace the block after this step (si-robot's `Displacement`).
    #[arg(long)]
    pub displace_at: Option<usize>,
    /// How far the block is displaced (px).
    #[arg(long, default_value_t = 60.0)]
    pub displace_by: f64,
    /// Largest turn of the displaced block (radians).
    #[arg(long, default_value_t = std::f64::consts::FRAC_PI_4)]
    pub displace_turn: f64,
}

/// The integration step of the streaming policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StepperKind {
    /// The linear pull onto the path integrated exactly (needs b and η).
    Exponential,
    /// Euler–Maruyama (Euler on b alone for λ = 0).
    Euler,
}

/// What is written beside the checkpoint.
#[derive(Debug, Serialize, Deserialize)]
struct PolicyMeta {
    kind: Kind,
    sigma0: f64,
    k: f64,
    horizon: usize,
    demos: String,
}

fn meta_path(ckpt: &Path) -> PathBuf {
    let mut s = ckpt.as_os_str().to_owned();
    s.push(".policy.json");
    PathBuf::from(s)
}

fn device() -> tch::Device {
    tch::Device::cuda_if_available()
}

/// The streaming policy's model: b and η of the tube on one SiLU trunk, with 4 time frequencies, the
/// segment phase of a T-action horizon and the observation context.
pub fn tube_model(horizon: usize, width: usize, depth: usize) -> ModelConfig {
    let mut m = ModelConfig::new(2);
    m.width = width;
    m.depth = depth;
    m.activation = Activation::Silu;
    m.time_features = 4;
    m.time_segments = horizon;
    m.context_dim = CONTEXT_DIM;
    m.heads = vec![Head::B, Head::Eta];
    m.shared_trunk = true;
    m
}

/// `policy train`.
pub fn train(a: &TrainArgs) -> Result<()> {
    let tube = TubeConfig {
        sigma0: a.sigma0,
        k: a.k,
        horizon: a.horizon,
    }
    .check()?;
    if tube.sigma0() <= 0.0 && a.kind != Kind::Chunked {
        bail!("--sigma0 must be > 0: the regression of eta needs a tube of positive width");
    }
    let demos =
        Demonstrations::read(&a.demos).with_context(|| format!("reading {}", a.demos.display()))?;
    let w = windows(&demos, tube.horizon())?;
    eprintln!(
        "{} demonstrations, {} windows; tube sigma0 = {}, k = {}, T_pred = {}; device {:?}",
        demos.episodes(),
        w.len(),
        tube.sigma0(),
        tube.k(),
        tube.horizon(),
        device()
    );
    // streaming: b and η of the tube, with the segment phase; chunked: b of the one-sided linear
    // interpolant from N(0, I) to the chunk
    let (m, source): (ModelConfig, Box<dyn TargetSource<TensorBatch>>) = if a.kind == Kind::Chunked
    {
        let mut m = tube_model(tube.horizon(), a.width, a.depth);
        m.dim = 2 * tube.horizon();
        m.heads = vec![Head::B];
        m.time_segments = 0;
        let pairs = ChunkPairs::new(w, tube.horizon())?;
        let it = Interpolant::one_sided_linear();
        let source = InterpolantSource::new(it, pairs, TimeRange::new(1e-3)?);
        (m, Box::new(Uploaded::new(source, device())))
    } else {
        let m = tube_model(tube.horizon(), a.width, a.depth);
        (
            m,
            Box::new(Uploaded::new(TubeSource::new(w, tube)?, device())),
        )
    };
    let mut t = TrainConfig::new(a.steps);
    t.batch = a.batch;
    t.lr = a.lr;
    t.schedule = LrSchedule::Cosine {
        min_lr: a.lr * 0.01,
    };
    t.ema_decay = Some(a.ema);
    t.antithetic = false;
    t.seed = a.seed;
    let mut trainer = Trainer::new(m.check()?, t.check()?, device())?;
    let mut progress = Progress::new();
    let mut log = CsvLog {
        path: a.out.with_extension("csv"),
        every: 500,
    };
    let mut observers: Vec<&mut dyn TrainObserver> = vec![&mut log];
    if !a.quiet {
        observers.push(&mut progress);
    }
    let t0 = Instant::now();
    trainer.run(source.as_ref(), &mut observers)?;
    trainer.save(&a.out)?;
    let meta = PolicyMeta {
        kind: a.kind,
        sigma0: tube.sigma0(),
        k: tube.k(),
        horizon: tube.horizon(),
        demos: a.demos.display().to_string(),
    };
    si_data::write_atomic(
        &meta_path(&a.out),
        serde_json::to_string_pretty(&meta)?.as_bytes(),
    )?;
    eprintln!(
        "trained {} steps in {:.1} s; checkpoint {}",
        trainer.steps_done(),
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}

/// Parses `A..B` or `a,b,c`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    if let Some((a, b)) = s.split_once("..") {
        let (a, b): (u64, u64) = (a.trim().parse()?, b.trim().parse()?);
        if b <= a {
            bail!("empty seed range {s}");
        }
        return Ok((a..b).collect());
    }
    let v: Vec<u64> = s
        .split(',')
        .map(|x| x.trim().parse())
        .collect::<Result<_, _>>()?;
    if v.is_empty() {
        bail!("no seeds");
    }
    Ok(v)
}

/// A trained streaming policy: the host model and its tube.
pub struct Loaded {
    /// The model.
    pub net: HostNet,
    /// The tube it was trained on.
    pub tube: Tube,
    /// Its kind.
    pub kind: Kind,
}

/// Reads a checkpoint of `policy train` and its settings.
pub fn load(ckpt: &Path) -> Result<Loaded> {
    let mp = meta_path(ckpt);
    let meta: PolicyMeta = serde_json::from_slice(
        &std::fs::read(&mp)
            .with_context(|| format!("reading {} (written by policy train)", mp.display()))?,
    )?;
    let net = HostNet::read(ckpt)?;
    let dim = if meta.kind == Kind::Chunked {
        2 * meta.horizon
    } else {
        2
    };
    if net.dim() != dim || net.context_dim() != CONTEXT_DIM {
        bail!(
            "{} is not a Push-T streaming policy (dimension {}, context {})",
            ckpt.display(),
            net.dim(),
            net.context_dim()
        );
    }
    let tube = TubeConfig {
        sigma0: meta.sigma0,
        k: meta.k,
        horizon: meta.horizon,
    }
    .check()?;
    Ok(Loaded {
        net,
        tube,
        kind: meta.kind,
    })
}

/// Runs `policy` on `seeds` with a progress bar; returns the episodes.
pub fn run_seeds(
    policy: &mut dyn Policy,
    seeds: &[u64],
    max_steps: usize,
    displacement: Option<&Displacement>,
    quiet: bool,
    label: &str,
) -> Result<Vec<Episode>> {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(seeds.len() as u64)
    };
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} episodes {msg} [{elapsed_precise} < {eta_precise}]",
    )?);
    let mut eps = Vec::with_capacity(seeds.len());
    let mut successes = 0;
    for &s in seeds {
        let e = match displacement {
            Some(d) => run_episode_displaced(policy, s, max_steps, d)?,
            None => run_episode(policy, s, max_steps)?,
        };
        successes += usize::from(e.success);
        eps.push(e);
        bar.set_message(format!("{label}: {successes} successes"));
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(eps)
}

/// The policy `a` describes, built on the loaded model, and a label that says what it is.
pub fn build<'a>(l: &'a Loaded, a: &EvalArgs) -> Result<(Box<dyn Policy + 'a>, String)> {
    let lambda = a.lambda.unwrap_or(match l.kind {
        Kind::StreamingSde => 1.0,
        Kind::Streaming | Kind::Chunked => 0.0,
    });
    let config = StreamingConfig {
        chunk: a.chunk,
        noisy_start: a.noisy_start,
    };
    let label = match l.kind {
        Kind::Chunked => format!("chunked, K = {} Euler steps, execute {}", a.k, a.execute),
        _ => format!(
            "streaming, {:?} step, lambda = {lambda}, T_chunk = {}, {} start",
            a.stepper,
            a.chunk,
            if a.noisy_start { "noisy" } else { "exact" }
        ),
    };
    let policy: Box<dyn Policy + 'a> = match (l.kind, a.stepper) {
        (Kind::Chunked, _) => {
            let config = ChunkedConfig {
                horizon: l.tube.horizon(),
                execute: a.execute,
                steps: a.k,
            };
            Box::new(ChunkedPolicy::new(&l.net, Euler, config)?)
        }
        (_, StepperKind::Exponential) => Box::new(StreamingPolicy::new(
            &l.net,
            TubeExponential::new(l.tube, lambda)?,
            l.tube,
            config,
        )?),
        (_, StepperKind::Euler) => Box::new(StreamingPolicy::new(
            &l.net,
            TubeEulerMaruyama::new(l.tube, lambda)?,
            l.tube,
            config,
        )?),
    };
    Ok((policy, label))
}

impl EvalArgs {
    /// The displacement `--displace-at` asks for, checked.
    pub fn displacement(&self) -> Result<Option<Displacement>> {
        self.displace_at
            .map(|at_step| {
                Displacement {
                    at_step,
                    distance: self.displace_by,
                    max_turn: self.displace_turn,
                }
                .check()
            })
            .transpose()
            .map_err(Into::into)
    }
}

/// `policy eval`.
pub fn eval(a: &EvalArgs) -> Result<()> {
    let l = load(&a.checkpoint)?;
    let seeds = parse_seeds(&a.seeds)?;
    let displacement = a.displacement()?;
    let (mut policy, mut label) = build(&l, a)?;
    if let Some(d) = &displacement {
        label.push_str(&format!(
            ", block displaced {} px after step {}",
            d.distance, d.at_step
        ));
    }
    let episodes = run_seeds(
        policy.as_mut(),
        &seeds,
        a.max_steps,
        displacement.as_ref(),
        a.quiet,
        &label,
    )?;
    if let Some(csv) = &a.csv {
        let mut text = String::from("seed,score,success,steps,latency_us,displaced_at\n");
        for e in &episodes {
            text.push_str(&format!(
                "{},{},{},{},{:.2},{}\n",
                e.seed,
                e.score,
                e.success,
                e.steps,
                e.latency.as_secs_f64() * 1e6,
                e.displaced_at.map_or(String::new(), |s| s.to_string())
            ));
        }
        si_data::write_atomic(csv, text.as_bytes())?;
    }
    let displaced = episodes.iter().filter(|e| e.displaced_at.is_some()).count();
    let r = summarise(episodes);
    if displacement.is_some() {
        label.push_str(&format!(" ({displaced} episodes displaced)"));
    }
    println!(
        "{label}: {} seeds, mean score {:.3}, success {:.1} %, latency to the first action {:.1} us (this machine, one thread)",
        seeds.len(),
        r.mean_score,
        100.0 * r.success_rate,
        r.mean_latency.as_secs_f64() * 1e6
    );
    Ok(())
}
