//! `si policy dagger`: DAgger rounds on a trained policy (si-robot's [`dagger_labels`], retraining with
//! [`train_policy`] warm-started from the previous round).
//!
//! Round r rolls the round r − 1 policy out on `--episodes` fresh training seeds, labels every visited state
//! with the expert's action path from it (written to `OUT/dagger_r.safetensors`), and retrains on the
//! original training files plus every round's labels so far, starting from the round r − 1 weights, for
//! `--steps` steps (`OUT/round_r.safetensors`). After each round it prints the policy's score and success on
//! the validation seeds (never test or final seeds: the rounds are a choice).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use si_nn::train::load_model;
use si_nn::{Progress, TrainObserver};
use si_pusht::expert::training_seeds;
use si_pusht::{ExpertConfig, ExpertParams, Outcomes, SeedSet, Seeds};
use si_robot::training::{train_policy, PolicyTraining};
use si_robot::{dagger_labels, Labeller, PolicyMeta, PolicySettings};

use crate::device;
use crate::policy::{episode_bar, load, run_seeds_with_bar, success_text};

/// Arguments of `policy dagger`.
#[derive(Args, Debug)]
pub struct DaggerArgs {
    /// The round-0 policy (written by `policy train`); its sidecar names its training files.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Folder for each round's labels and checkpoint.
    #[arg(long)]
    pub out: PathBuf,
    /// Rounds.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Episodes rolled out per round.
    #[arg(long, default_value_t = 50)]
    pub episodes: usize,
    /// The first training seed of the rollouts (round r takes the next `--episodes` training seeds).
    #[arg(long, default_value_t = 150_000)]
    pub first_seed: u64,
    /// Optimiser steps per round.
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 0.999)]
    pub ema: f64,
    /// Training seed of round r is this plus r.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The labelling expert's settle tolerance (px; si-pusht's `ExpertConfig::settle_tolerance`, default
    /// 0.3): label with the expert that made the training data (`cargo xtask demos --settle S`), since from
    /// a learned policy's imprecise states the 0.3-px expert may never settle and labels hovering.
    #[arg(long)]
    pub settle: Option<f64>,
    /// Who labels the visited states: `fresh` (a fresh expert at every state, which may draw another push
    /// at each) or `tracking` (one expert per episode that sees the states in order and keeps its plan, as
    /// DART's labeller does).
    #[arg(long, value_enum, default_value_t = LabellerName::Fresh)]
    pub labeller: LabellerName,
    /// Validation seeds scored after every round.
    #[arg(long, default_value = "200000..200100")]
    pub validation: String,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The labellers by name (si-robot's [`Labeller`]).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabellerName {
    /// A fresh expert at every state.
    Fresh,
    /// One expert tracking each episode.
    Tracking,
}

impl From<LabellerName> for Labeller {
    fn from(n: LabellerName) -> Self {
        match n {
            LabellerName::Fresh => Labeller::Fresh,
            LabellerName::Tracking => Labeller::Tracking,
        }
    }
}

/// `policy dagger`.
pub fn dagger(a: &DaggerArgs) -> Result<()> {
    let validation: Seeds = a.validation.parse()?;
    if validation.membership().single() != Some(SeedSet::Validation) {
        bail!(
            "--validation {}: the rounds are scored on validation seeds only",
            a.validation
        );
    }
    let mut cfg = ExpertConfig::default();
    if let Some(s) = a.settle {
        cfg.settle_tolerance = s;
    }
    // only a given --settle can be out of range: the default is valid
    let expert = ExpertParams::try_from(cfg)
        .with_context(|| format!("--settle {}", a.settle.unwrap_or_default()))?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let meta = PolicyMeta::read(&a.checkpoint)?;
    let tube = meta.tube()?;
    let mut data: Vec<PathBuf> = std::iter::once(&meta.demos)
        .chain(&meta.more_data)
        .map(PathBuf::from)
        .collect();
    let (net, _, _) = load_model(&a.checkpoint, tch::Device::Cpu)?;
    let (width, depth) = (net.params().config().width, net.params().config().depth);
    let settings = PolicySettings::default();
    let mut current = a.checkpoint.clone();
    let mut seeds = training_seeds(a.first_seed);
    for round in 1..=a.rounds {
        let trained = load(&current)?;
        let lambda = trained.lambda(&settings);
        let mut policy = trained.policy(&settings)?;
        let round_seeds: Vec<u64> = seeds.by_ref().take(a.episodes).collect();
        let bar = episode_bar(round_seeds.len(), a.quiet)?;
        let (labels, rollouts) = dagger_labels(
            policy.policy.as_mut(),
            &round_seeds,
            &expert,
            a.labeller.into(),
            tube.horizon(),
            |_| bar.inc(1),
        )?;
        bar.finish_and_clear();
        let file = a.out.join(format!("dagger_{round}.safetensors"));
        labels.write(&file)?;
        data.push(file.clone());
        println!(
            "round {round}: rolled out {} (lambda = {lambda}) on training seeds {}..={}: mean score {:.3}, {}; {} states labelled, {}",
            current.display(),
            round_seeds.first().copied().unwrap_or_default(),
            round_seeds.last().copied().unwrap_or_default(),
            rollouts.mean_score.unwrap_or(0.0),
            success_text(rollouts.successes, rollouts.episodes)?,
            labels.len(),
            file.display()
        );
        let out = a.out.join(format!("round_{round}.safetensors"));
        let training = PolicyTraining {
            data: &data,
            warm_start: Some(&current),
            kind: meta.kind,
            context: meta.context,
            out: &out,
            tube,
            width,
            depth,
            steps: a.steps,
            batch: a.batch,
            lr: a.lr,
            ema: a.ema,
            seed: a.seed + round as u64,
        };
        let mut progress = Progress::new();
        let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
        if !a.quiet {
            observers.push(&mut progress);
        }
        let t0 = Instant::now();
        let done = train_policy(&training, device(), &mut observers)?;
        // the round's policy evaluates with the λ the round-0 sidecar holds, as the rollouts did
        if let Some(t) = &meta.tuning {
            let mut m = PolicyMeta::read(&out)?;
            m.tuning = Some(t.clone());
            m.write(&out)?;
        }
        let trained = load(&out)?;
        let mut policy = trained.policy(&settings)?;
        let episodes = run_seeds_with_bar(
            policy.policy.as_mut(),
            validation.as_slice(),
            si_pusht::MAX_STEPS,
            None,
            a.quiet,
            &policy.label,
        )?;
        let v = Outcomes::of(&episodes);
        println!(
            "round {round}: trained {} steps on {} windows from {} files in {:.0} s, warm-started from {}; {}: validation {} seeds mean score {:.3}, {}",
            done.steps,
            done.windows,
            data.len(),
            t0.elapsed().as_secs_f64(),
            current.display(),
            out.display(),
            v.episodes,
            v.mean_score.unwrap_or(0.0),
            success_text(v.successes, v.episodes)?
        );
        current = out;
    }
    println!(
        "last round: {} (choose λ on validation seeds with policy tune before reporting it)",
        current.display()
    );
    Ok(())
}
