//! Expert-labelled states: data that covers the states a learner visits (DART and DAgger).
//!
//! Demonstrations only hold the states the expert itself visits. The scripted expert can label *any*
//! state, which human demonstrators cannot, so the learner's training data can cover the states it drifts
//! into. The label of a state is the expert's action path from it ([`expert_path`]): the environment is
//! cloned at the state, the expert is run forward `T` steps on the clone, and its commanded targets are
//! recorded — exactly what the windows of a demonstration hold (ξ(j/T) = action j), padded with the last
//! action when the clone's episode ends first (Diffusion Policy's padding, as in the windows).
//!
//! * **DART** (Laskey et al. 2017, [`collect_dart`]): the expert's own episodes with Gaussian noise of
//!   standard deviation σ added to every *executed* target; each visited state is labelled with the
//!   expert's clean path from it (the expert's plan and random stream cloned with the environment). With
//!   σ = 0 the labels are the windows of ordinary demonstrations, bit for bit.
//! * **DAgger** (Ross et al. 2011, [`label_episode`]): a learner's episode, replayed from its seed; each
//!   visited state is labelled by a fresh expert (it holds no plan for a state it never reached), seeded from
//!   the episode's seed and the step.
//!
//! The file ([`LabelledStates::write`]) is a safetensors file with
//! * `history` — `[N, 2, 5]` f64: the observation before the state's (the state's own at an episode's
//!   first step) and the state's;
//! * `targets` — `[N, T, 2]` f64: the expert's commanded targets for the next T steps from the state;
//! * `seeds`, `steps` — `[N]` i64: the episode seed and the step of each state;
//!
//! and metadata `format = "pusht-labelled-v1"`. [`TrainingData::read`] reads either this or
//! [`Demonstrations`] by the tag.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use safetensors::tensor::Dtype;

use crate::demos::Demonstrations;
use crate::env::{Action, Obs, PushT, MAX_STEPS};
use crate::error::PushTError;
use crate::eval::{Episode, Policy};
use crate::expert::{training_seeds, Expert, ExpertParams};
use crate::tensors::{self, bad};

/// Format tag stored in the file's metadata.
pub const FORMAT: &str = "pusht-labelled-v1";

/// States and the expert's action path from each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelledStates {
    /// T, the actions in each label.
    pub horizon: usize,
    /// `[previous observation, observation]` of each state (the previous is the state's own at step 0).
    pub history: Vec<[Obs; 2]>,
    /// The labels, `horizon` targets per state, row after row.
    pub targets: Vec<Action>,
    /// The episode seed of each state.
    pub seeds: Vec<u64>,
    /// The step of each state in its episode (0 = after the reset).
    pub steps: Vec<usize>,
}

/// The expert's action path from the environment `env` after the observations `history` (the last two
/// are used, as the expert uses them): clones of `env` and `expert` are run forward `horizon` steps and
/// the expert's commanded targets recorded; once the clone's episode ends (success or the step limit),
/// the last target repeats. `env` and `expert` are left as they were.
pub fn expert_path(
    env: &PushT,
    expert: &Expert,
    history: &[Obs],
    horizon: usize,
) -> Result<Vec<Action>, PushTError> {
    let mut env = env.clone();
    let mut expert = expert.clone();
    let mut h: Vec<Obs> = history[history.len().saturating_sub(2)..].to_vec();
    let mut path = Vec::with_capacity(horizon);
    let mut done = env.steps() >= MAX_STEPS;
    while path.len() < horizon {
        if done {
            let last = *path
                .last()
                .ok_or_else(|| PushTError::Policy("no step left to label".into()))?;
            path.push(last);
            continue;
        }
        let a = next_action(&mut expert, &h)?;
        let s = env.step(a)?;
        path.push(a);
        done = s.done;
        h = vec![h[h.len() - 1], s.obs];
    }
    Ok(path)
}

/// The expert's next commanded target after `history`.
fn next_action(expert: &mut Expert, history: &[Obs]) -> Result<Action, PushTError> {
    expert
        .act(history)?
        .first()
        .copied()
        .ok_or_else(|| PushTError::Policy("empty action chunk".into()))
}

impl LabelledStates {
    /// Empty, for labels of `horizon` actions.
    pub fn new(horizon: usize) -> Self {
        Self {
            horizon,
            ..Self::default()
        }
    }

    /// Number of states.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether there is no state.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// The label of state `i`.
    pub fn label(&self, i: usize) -> &[Action] {
        &self.targets[i * self.horizon..(i + 1) * self.horizon]
    }

    /// Appends a state: its observations so far (the last two are kept), the label, seed and step.
    fn push(&mut self, history: &[Obs], label: &[Action], seed: u64, step: usize) {
        let cur = history[history.len() - 1];
        let prev = history.len().checked_sub(2).map_or(cur, |i| history[i]);
        self.history.push([prev, cur]);
        self.targets.extend_from_slice(label);
        self.seeds.push(seed);
        self.steps.push(step);
    }

    /// The states at `rows`, in that order (each its history, label, seed and step). A row past the end
    /// is an error.
    pub fn subset(&self, rows: &[usize]) -> Result<LabelledStates, PushTError> {
        if let Some(&r) = rows.iter().find(|&&r| r >= self.len()) {
            return Err(bad(format!("row {r} of {} states", self.len())));
        }
        let mut out = LabelledStates::new(self.horizon);
        for &r in rows {
            out.history.push(self.history[r]);
            out.targets.extend_from_slice(self.label(r));
            out.seeds.push(self.seeds[r]);
            out.steps.push(self.steps[r]);
        }
        Ok(out)
    }

    /// The states whose current observation has the block's coverage of the goal above `threshold` (in
    /// their order): passed to training beside the whole set, they weight the last approach (docs/math.md
    /// §7, the near-goal weighting; [`NEAR_GOAL_COVERAGE`](crate::diagnose::NEAR_GOAL_COVERAGE) is the
    /// threshold used there).
    pub fn near_goal(&self, threshold: f64) -> LabelledStates {
        let rows: Vec<usize> = (0..self.len())
            .filter(|&i| crate::coverage(&crate::block_pose(&self.history[i][1])) > threshold)
            .collect();
        self.subset(&rows)
            .expect("every row is below the length by construction")
    }

    /// Appends every state of `other` (same horizon).
    pub fn extend(&mut self, other: &LabelledStates) -> Result<(), PushTError> {
        if other.horizon != self.horizon {
            return Err(bad(format!(
                "labels of {} actions cannot join labels of {}",
                other.horizon, self.horizon
            )));
        }
        self.history.extend_from_slice(&other.history);
        self.targets.extend_from_slice(&other.targets);
        self.seeds.extend_from_slice(&other.seeds);
        self.steps.extend_from_slice(&other.steps);
        Ok(())
    }

    /// Checks the structure: a horizon ≥ 1, `horizon` targets and a seed and step per state, every value
    /// finite.
    pub fn validate(&self) -> Result<(), PushTError> {
        let n = self.history.len();
        if self.horizon == 0 {
            return Err(bad("labels must hold at least one action"));
        }
        if Some(self.targets.len()) != n.checked_mul(self.horizon)
            || self.seeds.len() != n
            || self.steps.len() != n
        {
            return Err(bad(format!(
                "{n} states need {n} × {} targets and {n} seeds and steps",
                self.horizon
            )));
        }
        if let Some(i) = self
            .history
            .iter()
            .position(|h| h.iter().flatten().any(|v| !v.is_finite()))
        {
            return Err(bad(format!("state {i} is not finite")));
        }
        if let Some(i) = self
            .targets
            .iter()
            .position(|a| a.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!(
                "the label of state {} is not finite",
                i / self.horizon
            )));
        }
        Ok(())
    }

    /// The file's bytes (after [`LabelledStates::validate`]).
    pub fn to_bytes(&self) -> Result<Vec<u8>, PushTError> {
        self.validate()?;
        let n = self.len();
        let to_i64 = |v: usize| i64::try_from(v).map_err(|_| bad("a step does not fit in i64"));
        let steps = self
            .steps
            .iter()
            .map(|&s| to_i64(s))
            .collect::<Result<Vec<i64>, _>>()?;
        tensors::serialize(
            &[
                (
                    "history",
                    Dtype::F64,
                    vec![n, 2, 5],
                    tensors::f64_bytes(self.history.iter().flatten().flatten().copied()),
                ),
                (
                    "targets",
                    Dtype::F64,
                    vec![n, self.horizon, 2],
                    tensors::f64_bytes(self.targets.iter().flatten().copied()),
                ),
                (
                    "seeds",
                    Dtype::I64,
                    vec![n],
                    tensors::i64_bytes(self.seeds.iter().map(|&s| s as i64)),
                ),
                (
                    "steps",
                    Dtype::I64,
                    vec![n],
                    tensors::i64_bytes(steps.into_iter()),
                ),
            ],
            FORMAT,
        )
    }

    /// Parses a file's bytes; anything malformed is [`PushTError::Demonstrations`], never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PushTError> {
        let st = tensors::parse(bytes)?;
        let t = st
            .tensor("targets")
            .map_err(|e| bad(format!("targets: {e}")))?;
        let horizon = match t.shape() {
            &[_, h, 2] => h,
            s => return Err(bad(format!("targets: shape {s:?}"))),
        };
        let (history, n) = tensors::f64s(&st, "history", &[2, 5])?;
        let (targets, m) = tensors::f64s(&st, "targets", &[horizon, 2])?;
        let seeds = tensors::i64s(&st, "seeds")?;
        let steps = tensors::i64s(&st, "steps")?;
        if n != m || seeds.len() != n || steps.len() != n {
            return Err(bad("history, targets, seeds and steps differ in length"));
        }
        let obs = |c: &[f64]| [c[0], c[1], c[2], c[3], c[4]];
        let s = Self {
            horizon,
            history: history
                .chunks_exact(10)
                .map(|c| [obs(&c[..5]), obs(&c[5..])])
                .collect(),
            targets: targets.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
            seeds: seeds.into_iter().map(|s| s as u64).collect(),
            steps: steps
                .into_iter()
                .map(|x| usize::try_from(x).map_err(|_| bad(format!("step {x} is negative"))))
                .collect::<Result<_, _>>()?,
        };
        s.validate()?;
        Ok(s)
    }

    /// Writes the file atomically.
    pub fn write(&self, path: &Path) -> Result<(), PushTError> {
        Ok(si_data::write_atomic(path, &self.to_bytes()?)?)
    }
}

/// A training file: demonstrations or expert-labelled states.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainingData {
    /// Whole episodes ([`Demonstrations`], `pusht-demos-v1`).
    Demos(Demonstrations),
    /// Labelled states ([`LabelledStates`], `pusht-labelled-v1`).
    Labelled(LabelledStates),
}

impl TrainingData {
    /// Parses either format, told apart by the metadata's `format` tag.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PushTError> {
        match tensors::format_tag(bytes)?.as_deref() {
            Some(FORMAT) => Ok(Self::Labelled(LabelledStates::from_bytes(bytes)?)),
            Some(crate::demos::FORMAT) => Ok(Self::Demos(Demonstrations::from_bytes(bytes)?)),
            other => Err(bad(format!(
                "format {other:?}: neither {} nor {FORMAT}",
                crate::demos::FORMAT
            ))),
        }
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self, PushTError> {
        Self::from_bytes(&tensors::read(path)?)
    }
}

/// Settings of a DART collection ([`collect_dart`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dart {
    /// Episodes to run (every one is kept: a failed episode's states are labelled as well).
    pub episodes: usize,
    /// The first training seed ([`training_seeds`]).
    pub first_seed: u64,
    /// σ: standard deviation (px) of the Gaussian noise on each executed target, per coordinate.
    pub noise: f64,
    /// T, the actions per label.
    pub horizon: usize,
}

/// What a DART collection ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DartSummary {
    /// Episodes run.
    pub episodes: usize,
    /// Of which the (noisy) expert succeeded.
    pub successes: usize,
}

/// DART: `settings.episodes` episodes of `expert` on the training seeds from `settings.first_seed` on, each
/// executed target perturbed by N(0, σ² I) (drawn from a generator seeded with the episode's seed), every
/// visited state labelled with [`expert_path`]; `progress` is told after each episode (states so far,
/// whether it succeeded). σ must be finite and ≥ 0, T ≥ 1.
pub fn collect_dart(
    expert: &Expert,
    settings: Dart,
    mut progress: impl FnMut(usize, bool),
) -> Result<(LabelledStates, DartSummary), PushTError> {
    if !(settings.noise.is_finite() && settings.noise >= 0.0) {
        return Err(PushTError::InvalidParameter {
            name: "noise",
            value: settings.noise.to_string(),
            reason: "must be finite and >= 0 (px)",
        });
    }
    check_horizon(settings.horizon)?;
    let noise = Normal::new(0.0, settings.noise).map_err(|e| bad(e.to_string()))?;
    let mut out = LabelledStates::new(settings.horizon);
    let mut summary = DartSummary {
        episodes: 0,
        successes: 0,
    };
    let mut expert = expert.clone();
    for seed in training_seeds(settings.first_seed).take(settings.episodes) {
        let mut env = PushT::new();
        let mut history = vec![env.reset(seed)];
        expert.reset(seed);
        let mut rng = ChaCha8Rng::seed_from_u64(dart_noise_seed(seed));
        let mut success = false;
        while env.steps() < MAX_STEPS {
            let label = expert_path(&env, &expert, &history, settings.horizon)?;
            out.push(&history, &label, seed, env.steps());
            let a = next_action(&mut expert, &history)?;
            let executed = if settings.noise > 0.0 {
                [a[0] + noise.sample(&mut rng), a[1] + noise.sample(&mut rng)]
            } else {
                a
            };
            let s = env.step(executed)?;
            history.push(s.obs);
            if s.info.success {
                success = true;
                break;
            }
        }
        summary.episodes += 1;
        summary.successes += usize::from(success);
        progress(out.len(), success);
    }
    Ok((out, summary))
}

fn check_horizon(horizon: usize) -> Result<(), PushTError> {
    if horizon == 0 {
        return Err(PushTError::InvalidParameter {
            name: "horizon",
            value: "0".into(),
            reason: "a label holds at least one action",
        });
    }
    Ok(())
}

/// The seed of the generator of DART's noise in the episode of `seed` ([`collect_dart`]): distinct for
/// distinct seeds, so that episodes draw independent noise, and apart from the environment's own draws.
pub fn dart_noise_seed(seed: u64) -> u64 {
    seed ^ 0xda27_0000_0000
}

/// The seed of the fresh expert that labels step `step` of the episode of `seed` ([`label_episode`]): distinct
/// for distinct (seed, step) pairs of the protocol's seeds and episode lengths, so that no two labellers share a
/// random stream.
pub fn labeller_seed(seed: u64, step: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(step as u64) ^ 0xda99_e700
}

/// DAgger's labels for a learner's episode `episode` (not displaced): the episode is replayed from its seed
/// with its actions, and each state it visited (before each action) is labelled with [`expert_path`] of
/// a fresh expert with settings `params`, reset with [`labeller_seed`]. A replay that does not reproduce the
/// episode's observations exactly is an error.
pub fn label_episode(
    episode: &Episode,
    params: &ExpertParams,
    horizon: usize,
) -> Result<LabelledStates, PushTError> {
    replay_labelled(episode, horizon, |env, history, step| {
        let mut expert = Expert::with_params(params.clone());
        expert.reset(labeller_seed(episode.seed, step));
        expert_path(env, &expert, history, horizon)
    })
}

/// DAgger's labels by one expert that tracks the episode: reset once with `expert_seed`, it sees every
/// visited state in order and keeps its plan from one to the next, as DART's labeller does along its
/// own noisy episode ([`collect_dart`]); each state's label is its [`expert_path`] from there, and its own
/// next action is then taken (to advance its plan) and discarded, the episode's being the one executed.
/// Neighbouring states so get labels of one plan, where [`label_episode`]'s fresh experts may each draw
/// another push. On the expert's own episode (run with the same seed) every label starts with the action
/// executed. A replay that does not reproduce the episode's observations exactly is an error.
pub fn label_episode_tracking(
    episode: &Episode,
    params: &ExpertParams,
    horizon: usize,
    expert_seed: u64,
) -> Result<LabelledStates, PushTError> {
    let mut expert = Expert::with_params(params.clone());
    expert.reset(expert_seed);
    replay_labelled(episode, horizon, |env, history, _| {
        let label = expert_path(env, &expert, history, horizon)?;
        next_action(&mut expert, history)?;
        Ok(label)
    })
}

/// Replays `episode` (not displaced) from its seed with its actions, labelling each visited state (before
/// each action) with `label(environment, history, step)`; a replay that departs from the episode's
/// observations is an error.
fn replay_labelled(
    episode: &Episode,
    horizon: usize,
    mut label: impl FnMut(&PushT, &[Obs], usize) -> Result<Vec<Action>, PushTError>,
) -> Result<LabelledStates, PushTError> {
    check_horizon(horizon)?;
    if episode.displaced_at.is_some() {
        return Err(bad(
            "a displaced episode cannot be replayed from its actions",
        ));
    }
    let mut out = LabelledStates::new(horizon);
    let mut env = PushT::new();
    let mut history = vec![env.reset(episode.seed)];
    for (step, &a) in episode.actions.iter().enumerate() {
        if episode.observations.get(step) != history.last() {
            return Err(bad(format!(
                "the replay of episode {} parts from its observations at step {step}",
                episode.seed
            )));
        }
        let l = label(&env, &history, step)?;
        out.push(&history, &l, episode.seed, step);
        history.push(env.step(a)?.obs);
    }
    Ok(out)
}
