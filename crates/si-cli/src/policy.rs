//! `si policy train`, `si policy tune` and `si policy eval`: the streaming trajectory policy on Push-T
//! (docs/math.md §7).
//!
//! Training ([`train_policy`], si-robot's feature `nn`) regresses b and η of the tube x_t = ξ(t) + σ_t z
//! around the demonstrated action paths (si-robot's [`si_robot::TubeSource`]) with an MLP on (x, t, the
//! segment phase, the last two observations), on the GPU when there is one. The checkpoint is an ordinary
//! si-nn checkpoint; the tube's settings are written beside it (si-robot's [`si_robot::PolicyMeta`],
//! `CKPT.policy.json`). Evaluation reads both into si-robot's
//! [`TrainedPolicy`] (the model on the host: one small forward per action, no framework call) and builds the
//! policy from the arguments ([`TrainedPolicy::policy`]), one integration step per action. Tuning
//! ([`TrainedPolicy::tune`]) sweeps λ and the readout on validation seeds only (si-pusht's `SeedSet`) and
//! keeps the chosen pair in the sidecar, which evaluation uses when none is asked for. Evaluation says which seed set
//! its seeds are in and gives a Wilson 95 % interval for every success rate. This module only maps
//! arguments to those calls.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use si_core::metrics::{mean_std_err, wilson, Z95};
use si_nn::{Progress, TrainObserver};
use si_pusht::{
    run_seeds, summarise, Displacement, DisplacementParams, EndSummary, Episode, Outcomes, Policy,
    Seeds, MAX_STEPS,
};
use si_robot::training::{train_policy, PolicyTraining};
use si_robot::{
    sweep_grid, ContextMode, Criterion, LabelledPolicy, PolicyKind, PolicyMeta, PolicySettings,
    Readout, StepperChoice, StreamingConfig, TrainedPolicy, TubeConfig,
};

use crate::device;

/// `si policy …`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Train a streaming policy on demonstrations.
    Train(Box<TrainArgs>),
    /// Evaluate a trained policy on Push-T seeds.
    Eval(EvalArgs),
    /// Choose λ on validation seeds and keep it in the checkpoint's sidecar.
    Tune(TuneArgs),
    /// DAgger: roll a trained policy out on training seeds, label the visited states with the expert,
    /// retrain warm-started on everything so far; repeat.
    Dagger(Box<crate::dagger::DaggerArgs>),
    /// An ensemble of trained checkpoints (same kind and tube): a sidecar OUT.policy.json naming them, which
    /// `policy tune` and `policy eval` take as a checkpoint; its fields are the means of its members'.
    Ensemble(EnsembleArgs),
}

/// Arguments of `policy ensemble`.
#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// The members: checkpoints written by `policy train` (comma-separated, at least two).
    #[arg(long, required = true, num_args = 1.., value_delimiter = ',')]
    pub members: Vec<PathBuf>,
    /// The ensemble's name: OUT.policy.json is written (no weights of its own).
    #[arg(long)]
    pub out: PathBuf,
}

/// `policy ensemble`: writes the ensemble's sidecar.
pub fn ensemble(a: &EnsembleArgs) -> Result<()> {
    let meta = PolicyMeta::ensemble_of(&a.members, &a.out)?;
    meta.write(&a.out)?;
    println!(
        "an ensemble of {} members ({} kind), untuned: {}; run policy tune --checkpoint {}",
        a.members.len(),
        meta.kind,
        si_robot::recipe::meta_path(&a.out).display(),
        a.out.display()
    );
    Ok(())
}

/// Arguments of `policy train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training files, pooled: demonstrations or expert-labelled states (the files `cargo xtask demos`
    /// writes, with or without `--noise`; DAgger's rounds). Repeat the flag or separate by commas.
    #[arg(long, required = true, num_args = 1.., value_delimiter = ',')]
    pub demos: Vec<PathBuf>,
    /// Start from this policy checkpoint's weights (same kind, tube and network) instead of fresh ones.
    #[arg(long)]
    pub warm_start: Option<PathBuf>,
    /// streaming, streaming-sde or chunked.
    #[arg(long, default_value = "streaming")]
    pub kind: PolicyKind,
    /// Streaming kinds: the observations that condition each step between re-anchors, `anchor` (the
    /// anchor's, kept for the chunk) or `live` (the latest at every step; trained on the contexts of the
    /// states that follow each window); kept in the sidecar, which evaluation follows.
    #[arg(long, default_value = "anchor")]
    pub context: ContextMode,
    /// Checkpoint to write (safetensors); the tube's settings go to CKPT.policy.json.
    #[arg(long)]
    pub out: PathBuf,
    /// σ0: the tube's width at t = 0 (normalised action units; 1 = 256 px); the default was chosen on
    /// validation seeds.
    #[arg(long, default_value_t = TubeConfig::default().sigma0)]
    pub sigma0: f64,
    /// k: the tube narrows as e^{-kt}, and the flow pulls back onto the path at rate k.
    #[arg(long, default_value_t = TubeConfig::default().k)]
    pub k: f64,
    /// T_pred: actions per unit of flow time.
    #[arg(long, default_value_t = TubeConfig::default().horizon)]
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
    /// Checkpoints written by `policy train` (repeat the flag or separate by commas): several, e.g. one
    /// per training seed, are each evaluated and then summarised by the mean ± standard error over them and
    /// the pooled Wilson interval.
    #[arg(long, required = true, num_args = 1.., value_delimiter = ',')]
    pub checkpoint: Vec<PathBuf>,
    /// Seeds: a set's name (`validation`, `test`, `final`, `final-2`), `A..B` (B excluded) or a comma-separated list.
    #[arg(long)]
    pub seeds: Seeds,
    /// λ ≥ 0 (0: the ODE); default the λ `policy tune` chose, else 0 for `streaming`, 1 for `streaming-sde`.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// What the streaming policy sends: `state` (the integration state) or `mean` (the step's conditional
    /// mean); default the readout `policy tune` chose, else `state`.
    #[arg(long)]
    pub readout: Option<Readout>,
    /// Chunked policies: K, the Euler steps (network passes) from noise to a chunk.
    #[arg(long = "euler-steps", alias = "k", default_value_t = 10)]
    pub euler_steps: usize,
    /// Chunked policies: actions executed before re-planning.
    #[arg(long, default_value_t = 8)]
    pub execute: usize,
    /// The streaming policy's step and the episodes.
    #[command(flatten)]
    pub run: RunArgs,
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

/// How `policy eval` and `policy tune` run the streaming policy and its episodes.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// exponential or euler.
    #[arg(long, default_value = "exponential")]
    pub stepper: StepperChoice,
    /// T_chunk: actions between re-anchors.
    #[arg(long = "reanchor-every", alias = "chunk", default_value_t = 8)]
    pub reanchor_every: usize,
    /// Start each anchor at the measured position plus N(0, σ0²) instead of exactly at it.
    #[arg(long)]
    pub noisy_start: bool,
    /// Episode step limit (≤ 300).
    #[arg(long, default_value_t = MAX_STEPS)]
    pub max_steps: usize,
}

impl RunArgs {
    /// The streaming settings these arguments name.
    fn streaming(&self) -> StreamingConfig {
        StreamingConfig {
            reanchor_every: self.reanchor_every,
            noisy_start: self.noisy_start,
            readout: Readout::State,
            // the trained model's context mode replaces this (TrainedPolicy::policy)
            context: ContextMode::Anchor,
        }
    }
}

/// Arguments of `policy tune`.
#[derive(Args, Debug)]
pub struct TuneArgs {
    /// A checkpoint written by `policy train`; the chosen λ goes to its sidecar, CKPT.policy.json.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// The λ values to try (comma-separated, each ≥ 0).
    #[arg(long, default_value = "0,1,2,4,8,16,32,64,128,256")]
    pub lambdas: String,
    /// The readouts to try with each λ > 0 (comma-separated: `state`, `mean`).
    #[arg(long, default_value = "state,mean", value_delimiter = ',')]
    pub readouts: Vec<Readout>,
    /// Validation seeds only: `validation`, or a range or list inside it.
    #[arg(long, default_value = "validation")]
    pub seeds: String,
    /// What the sweep maximises: `success` (the success rate, then the mean score) or `score` (the mean
    /// score; what sidecars written before this choice existed were tuned by).
    #[arg(long, default_value = "success")]
    pub criterion: Criterion,
    /// The streaming policy's step and the episodes.
    #[command(flatten)]
    pub run: RunArgs,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// `success s/n = p % (95 % Wilson [lo, hi] %)`.
pub(crate) fn success_text(successes: usize, n: usize) -> Result<String> {
    let w = wilson(successes, n, Z95)?;
    Ok(format!(
        "success {successes}/{n} = {:.1} % (95 % Wilson [{:.1}, {:.1}] %)",
        100.0 * w.rate,
        100.0 * w.lower,
        100.0 * w.upper
    ))
}

/// `policy train`.
pub fn train(a: &TrainArgs) -> Result<()> {
    let tube = a.kind.training_tube(TubeConfig {
        sigma0: a.sigma0,
        k: a.k,
        horizon: a.horizon,
    })?;
    let training = PolicyTraining {
        data: &a.demos,
        warm_start: a.warm_start.as_deref(),
        kind: a.kind,
        context: a.context,
        out: &a.out,
        tube,
        width: a.width,
        depth: a.depth,
        steps: a.steps,
        batch: a.batch,
        lr: a.lr,
        ema: a.ema,
        seed: a.seed,
    };
    eprintln!(
        "tube sigma0 = {}, k = {}, T_pred = {}; device {:?}",
        tube.sigma0(),
        tube.k(),
        tube.horizon(),
        device()
    );
    let mut progress = Progress::new();
    let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
    if !a.quiet {
        observers.push(&mut progress);
    }
    let t0 = Instant::now();
    let done = train_policy(&training, device(), &mut observers)
        .with_context(|| format!("reading {:?} and training on it", a.demos))?;
    eprintln!(
        "{} training files, {} windows ({} with a successor in their episode; context {}): trained {} steps in {:.1} s; checkpoint {}",
        done.files,
        done.windows,
        done.linked,
        a.context,
        done.steps,
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}

/// Parses a comma-separated list of λ values.
fn parse_lambdas(s: &str) -> Result<Vec<f64>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<f64>()
                .with_context(|| format!("lambda `{}` in --lambdas {s}", x.trim()))
        })
        .collect()
}

/// The progress bar of `n` episodes (hidden when `quiet`).
pub(crate) fn episode_bar(n: usize, quiet: bool) -> Result<indicatif::ProgressBar> {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(n as u64)
    };
    bar.set_style(indicatif::ProgressStyle::with_template(
        "{bar:40} {pos}/{len} episodes {msg} [{elapsed_precise} < {eta_precise}]",
    )?);
    Ok(bar)
}

/// Runs `policy` on `seeds` with a progress bar; returns the episodes.
pub(crate) fn run_seeds_with_bar(
    policy: &mut dyn Policy,
    seeds: &[u64],
    max_steps: usize,
    displacement: Option<&DisplacementParams>,
    quiet: bool,
    label: &str,
) -> Result<Vec<Episode>> {
    let bar = episode_bar(seeds.len(), quiet)?;
    let mut successes = 0;
    let episodes = run_seeds(policy, seeds, max_steps, displacement, |e| {
        successes += usize::from(e.success);
        bar.set_message(format!("{label}: {successes} successes"));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    Ok(episodes)
}

impl EvalArgs {
    /// The displacement `--displace-at` asks for, checked.
    pub fn displacement(&self) -> Result<Option<DisplacementParams>> {
        let Some(at_step) = self.displace_at else {
            return Ok(None);
        };
        let d = Displacement {
            at_step,
            distance: self.displace_by,
            max_turn: self.displace_turn,
        };
        Ok(Some(d.check()?))
    }

    /// How the arguments ask the trained policy to be evaluated.
    pub fn settings(&self) -> PolicySettings {
        PolicySettings {
            lambda: self.lambda,
            readout: self.readout,
            stepper: self.run.stepper,
            streaming: self.run.streaming(),
            execute: self.execute,
            euler_steps: self.euler_steps,
        }
    }
}

/// The trained policy at `checkpoint`, with its sidecar.
pub(crate) fn load(checkpoint: &Path) -> Result<TrainedPolicy> {
    TrainedPolicy::load(checkpoint)
        .with_context(|| format!("reading {} (written by policy train)", checkpoint.display()))
}

/// `policy tune`: sweeps λ on validation seeds and keeps the best in the sidecar.
pub fn tune(a: &TuneArgs) -> Result<()> {
    let trained = load(&a.checkpoint)?;
    let seeds: Seeds = a.seeds.parse()?;
    let lambdas = parse_lambdas(&a.lambdas)?;
    let settings = PolicySettings {
        lambda: None,
        readout: None,
        stepper: a.run.stepper,
        streaming: a.run.streaming(),
        ..PolicySettings::default()
    };
    let runs = sweep_grid(&lambdas, &a.readouts).len();
    let bar = episode_bar(runs * seeds.as_slice().len(), a.quiet)?;
    let tuning = trained.tune(
        &settings,
        &lambdas,
        &a.readouts,
        &seeds,
        &a.seeds,
        a.run.max_steps,
        a.criterion,
        |lambda, readout, _| {
            bar.set_message(format!("lambda = {lambda}, sends the {readout}"));
            bar.inc(1);
        },
    )?;
    bar.finish_and_clear();
    println!(
        "lambda and readout sweep on {} ({} seeds), {} step, T_chunk = {}:",
        seeds.membership(),
        seeds.as_slice().len(),
        a.run.stepper,
        a.run.reanchor_every
    );
    for r in &tuning.sweep {
        println!(
            "  lambda = {:<6} {:<5} mean score {:.3}, {}",
            r.lambda,
            r.readout,
            r.mean_score,
            success_text(r.successes, r.episodes)?
        );
    }
    let mut meta = PolicyMeta::read(&a.checkpoint)?;
    let (chosen, readout) = (tuning.lambda, tuning.readout);
    meta.tuning = Some(tuning);
    meta.write(&a.checkpoint)?;
    let best = match a.criterion {
        Criterion::Score => "the best mean score",
        Criterion::Success => "the best success rate, then the best mean score",
    };
    println!(
        "chosen lambda = {chosen}, sending the {readout} ({best} on {}; ties to the smaller lambda, then to the state), kept in {}",
        seeds.membership(),
        si_robot::recipe::meta_path(&a.checkpoint).display()
    );
    Ok(())
}

/// `policy eval`: each checkpoint, then the summary over them when there are several.
pub fn eval(a: &EvalArgs) -> Result<()> {
    let (mut all, mut displaced) = (Vec::new(), Vec::new());
    let mut csv = String::from("checkpoint,seed,score,success,steps,latency_us,displaced_at\n");
    for ckpt in &a.checkpoint {
        let (every, moved, rows) = eval_one(a, ckpt)?;
        all.push(every);
        displaced.push(moved);
        csv.push_str(&rows);
    }
    if let Some(path) = &a.csv {
        si_data::write_atomic(path, csv.as_bytes())?;
    }
    let n = a.checkpoint.len();
    if n > 1 {
        println!("{}", across_seeds("all episodes", &all, n)?);
        if a.displace_at.is_some() {
            println!(
                "{}",
                across_seeds("displaced episodes only", &displaced, n)?
            );
        }
    }
    Ok(())
}

/// `over N checkpoints (WHAT): score m ± se, success m ± se %; pooled s/n (Wilson)`.
fn across_seeds(what: &str, runs: &[Outcomes], n: usize) -> Result<String> {
    let scores: Vec<f64> = runs.iter().filter_map(|o| o.mean_score).collect();
    let rates: Vec<f64> = runs
        .iter()
        .filter_map(|o| o.success_rate().map(|r| 100.0 * r))
        .collect();
    if scores.len() < 2 {
        return Ok(format!(
            "over {n} checkpoints ({what}): fewer than two with episodes"
        ));
    }
    let s = mean_std_err(&scores)?;
    let r = mean_std_err(&rates)?;
    let (succ, eps) = runs
        .iter()
        .fold((0, 0), |(s, e), o| (s + o.successes, e + o.episodes));
    Ok(format!(
        "over {n} checkpoints ({what}): mean score {:.3} ± {:.3}, success {:.1} ± {:.1} % (mean ± standard error over checkpoints); pooled {}",
        s.mean,
        s.std_err,
        r.mean,
        r.std_err,
        success_text(succ, eps)?
    ))
}

/// Evaluates one checkpoint as `a` asks; returns the outcomes of all episodes and of the displaced ones, and
/// the episodes' CSV rows.
fn eval_one(a: &EvalArgs, checkpoint: &Path) -> Result<(Outcomes, Outcomes, String)> {
    let trained = load(checkpoint)?;
    let seeds = a.seeds.as_slice();
    let membership = a.seeds.membership();
    let displacement = a.displacement()?;
    let settings = a.settings();
    if trained.kind != PolicyKind::Chunked && settings.lambda.is_none() {
        match &trained.tuning {
            Some(t) => {
                eprintln!(
                    "lambda = {}{} as chosen on {} seeds ({}) by policy tune",
                    t.lambda,
                    if settings.readout.is_none() {
                        format!(", sending the {}", t.readout)
                    } else {
                        String::new()
                    },
                    t.chosen_on,
                    t.seeds
                );
                if !t.fits(&settings) {
                    eprintln!(
                        "warning: lambda was chosen with the {} step and T_chunk = {}, not with these settings",
                        t.stepper, t.reanchor_every
                    );
                }
                if t.chosen_on_set().is_some_and(|s| membership.touches(s)) {
                    eprintln!(
                        "warning: evaluating on {} seeds, the set lambda was chosen on: these numbers flatter the policy",
                        t.chosen_on
                    );
                }
            }
            None => eprintln!(
                "lambda = {} (the default of {}: not tuned, see policy tune)",
                trained.kind.default_lambda(),
                trained.kind
            ),
        }
    }
    let LabelledPolicy {
        mut policy,
        mut label,
    } = trained.policy(&settings)?;
    if let Some(d) = &displacement {
        label.push_str(&format!(
            ", block displaced {} px after step {}",
            d.distance(),
            d.at_step()
        ));
    }
    let episodes = run_seeds_with_bar(
        policy.as_mut(),
        seeds,
        a.run.max_steps,
        displacement.as_ref(),
        a.quiet,
        &label,
    )?;
    let mut text = String::new();
    {
        for e in &episodes {
            text.push_str(&format!(
                "{},{},{},{},{},{:.2},{}\n",
                checkpoint.display(),
                e.seed,
                e.score,
                e.success,
                e.steps,
                e.latency.as_secs_f64() * 1e6,
                e.displaced_at.map_or(String::new(), |s| s.to_string())
            ));
        }
    }
    let displaced = Outcomes::displaced(&episodes);
    let all = Outcomes::of(&episodes);
    let ends = EndSummary::of(&episodes);
    let r = summarise(episodes);
    if displacement.is_some() {
        label.push_str(&format!(" ({} episodes displaced)", displaced.episodes));
    }
    println!(
        "{}: {label}: {} seeds ({membership}), mean score {:.3}, {}, latency to the first action {:.1} us (this machine, one thread)",
        checkpoint.display(),
        seeds.len(),
        r.mean_score,
        success_text(all.successes, all.episodes)?,
        r.mean_latency.as_secs_f64() * 1e6
    );
    println!("{ends}");
    if displacement.is_some() {
        match displaced.mean_score {
            Some(score) => println!(
                "displaced episodes only: {} of {}, mean score {score:.3}, {}",
                displaced.episodes,
                seeds.len(),
                success_text(displaced.successes, displaced.episodes)?
            ),
            None => println!(
                "displaced episodes only: none of {} (each succeeded before the step, or its draw failed)",
                seeds.len()
            ),
        }
    }
    Ok((all, displaced, text))
}
