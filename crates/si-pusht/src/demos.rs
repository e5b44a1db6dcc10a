//! Demonstration sets and their file format.
//!
//! A safetensors file with
//! * `obs` — `[N, 5]` f64: `[agent_x, agent_y, block_x, block_y, block_angle mod 2π]` before each action;
//! * `action` — `[N, 2]` f64: the pusher target taken from that observation;
//! * `episode_ends` — `[E]` i64: exclusive end index of each episode in the rows above (episode `e` is rows
//!   `episode_ends[e−1] .. episode_ends[e]`, the convention of Diffusion Policy's replay buffer);
//! * `seeds` — `[E]` i64: the environment seed of each episode;
//!
//! and metadata `format = "pusht-demos-v1"`.

use std::path::Path;

use safetensors::tensor::Dtype;

use crate::env::{Action, Obs, MAX_STEPS};
use crate::error::PushTError;
use crate::eval::{run_episode, Episode, Policy};
use crate::expert::training_seeds;
use crate::tensors::{self, bad};

/// Format tag stored in the file's metadata.
pub const FORMAT: &str = "pusht-demos-v1";

/// Observation–action pairs of whole episodes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Demonstrations {
    /// Observation before each action.
    pub obs: Vec<Obs>,
    /// Actions.
    pub actions: Vec<Action>,
    /// Exclusive end row of each episode.
    pub episode_ends: Vec<usize>,
    /// Environment seed of each episode.
    pub seeds: Vec<u64>,
}

impl Demonstrations {
    /// Appends an episode: its observations before each action and the actions.
    pub fn push_episode(&mut self, ep: &Episode) -> Result<(), PushTError> {
        if ep.observations.len() != ep.actions.len() + 1 {
            return Err(bad(format!(
                "episode {} has {} observations for {} actions",
                ep.seed,
                ep.observations.len(),
                ep.actions.len()
            )));
        }
        self.obs
            .extend_from_slice(&ep.observations[..ep.actions.len()]);
        self.actions.extend_from_slice(&ep.actions);
        self.episode_ends.push(self.obs.len());
        self.seeds.push(ep.seed);
        Ok(())
    }

    /// Number of episodes.
    pub fn episodes(&self) -> usize {
        self.episode_ends.len()
    }

    /// The file's bytes (after [`Demonstrations::validate`], so that what is written reads back).
    pub fn to_bytes(&self) -> Result<Vec<u8>, PushTError> {
        self.validate()?;
        let n = self.obs.len();
        let ends = self
            .episode_ends
            .iter()
            .map(|&e| i64::try_from(e).map_err(|_| bad("an episode end does not fit in i64")))
            .collect::<Result<Vec<i64>, _>>()?;
        let e = ends.len();
        tensors::serialize(
            &[
                (
                    "obs",
                    Dtype::F64,
                    vec![n, 5],
                    tensors::f64_bytes(self.obs.iter().flatten().copied()),
                ),
                (
                    "action",
                    Dtype::F64,
                    vec![n, 2],
                    tensors::f64_bytes(self.actions.iter().flatten().copied()),
                ),
                (
                    "episode_ends",
                    Dtype::I64,
                    vec![e],
                    tensors::i64_bytes(ends.into_iter()),
                ),
                (
                    "seeds",
                    Dtype::I64,
                    vec![e],
                    tensors::i64_bytes(self.seeds.iter().map(|&s| s as i64)),
                ),
            ],
            FORMAT,
        )
    }

    /// Checks the structure: as many actions as observations, as many seeds as episodes, `episode_ends`
    /// non-decreasing up to the number of rows (every row in an episode), every value finite.
    pub fn validate(&self) -> Result<(), PushTError> {
        let n = self.obs.len();
        if self.actions.len() != n || self.seeds.len() != self.episode_ends.len() {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
        }
        if self.episode_ends.windows(2).any(|w| w[0] > w[1])
            || self.episode_ends.last().copied().unwrap_or(0) != n
        {
            return Err(bad(format!(
                "episode_ends must be non-decreasing and end at the number of rows ({n})"
            )));
        }
        if let Some(row) = self
            .obs
            .iter()
            .position(|o| o.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!("obs row {row} is not finite")));
        }
        if let Some(row) = self
            .actions
            .iter()
            .position(|a| a.iter().any(|v| !v.is_finite()))
        {
            return Err(bad(format!("action row {row} is not finite")));
        }
        Ok(())
    }

    /// Parses a file's bytes; anything malformed is [`PushTError::Demonstrations`], never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PushTError> {
        let st = tensors::parse(bytes)?;
        let (obs, n) = tensors::f64s(&st, "obs", &[5])?;
        let (act, m) = tensors::f64s(&st, "action", &[2])?;
        let ends = tensors::i64s(&st, "episode_ends")?;
        let seeds = tensors::i64s(&st, "seeds")?;
        if n != m || ends.len() != seeds.len() {
            return Err(bad("obs/action or seeds/episode_ends lengths differ"));
        }
        let obs = obs
            .chunks_exact(5)
            .map(|c| [c[0], c[1], c[2], c[3], c[4]])
            .collect();
        let actions = act.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        let episode_ends = ends
            .into_iter()
            .map(|x| usize::try_from(x).map_err(|_| bad(format!("episode end {x} is negative"))))
            .collect::<Result<Vec<usize>, _>>()?;
        let d = Self {
            obs,
            actions,
            episode_ends,
            seeds: seeds.into_iter().map(|s| s as u64).collect(),
        };
        d.validate()?;
        Ok(d)
    }

    /// Writes the file atomically (a temporary file in the same folder, then a rename).
    pub fn write(&self, path: &Path) -> Result<(), PushTError> {
        Ok(si_data::write_atomic(path, &self.to_bytes()?)?)
    }

    /// Reads a file.
    pub fn read(path: &Path) -> Result<Self, PushTError> {
        Self::from_bytes(&tensors::read(path)?)
    }
}

/// Settings of a demonstration collection ([`collect`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Collection {
    /// Successful episodes wanted.
    pub episodes: usize,
    /// The first training seed ([`training_seeds`]: the test seeds are always skipped).
    pub first_seed: u64,
    /// Give up after this many episodes per wanted episode (0 counts as 1).
    pub max_attempts_per_demo: usize,
}

/// Where a collection stands, after each episode it ran ([`collect`]'s callback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollectionProgress {
    /// Episodes run so far.
    pub attempts: usize,
    /// Successful episodes kept so far.
    pub collected: usize,
    /// Steps (observation–action rows) kept so far.
    pub steps: usize,
    /// Whether the episode just run succeeded (and was kept).
    pub success: bool,
}

/// Demonstrations: the successful episodes of `policy` (usually the [`Expert`](crate::Expert)) on the
/// training seeds from `settings.first_seed` on, each at most [`MAX_STEPS`] steps, until
/// `settings.episodes` succeeded; `progress` is told after every episode. Returns the demonstrations and the
/// number of episodes run. Running out of attempts is [`PushTError::TooFewSuccesses`].
pub fn collect<P: Policy + ?Sized>(
    policy: &mut P,
    settings: Collection,
    mut progress: impl FnMut(CollectionProgress),
) -> Result<(Demonstrations, usize), PushTError> {
    let mut demos = Demonstrations::default();
    let mut attempts = 0usize;
    let limit = settings
        .episodes
        .saturating_mul(settings.max_attempts_per_demo.max(1));
    for seed in training_seeds(settings.first_seed) {
        if demos.episodes() >= settings.episodes {
            break;
        }
        if attempts >= limit {
            return Err(PushTError::TooFewSuccesses {
                successes: demos.episodes(),
                attempts,
            });
        }
        attempts += 1;
        let ep = run_episode(policy, seed, MAX_STEPS)?;
        if ep.success {
            demos.push_episode(&ep)?;
        }
        progress(CollectionProgress {
            attempts,
            collected: demos.episodes(),
            steps: demos.obs.len(),
            success: ep.success,
        });
    }
    if demos.episodes() < settings.episodes {
        // the training seeds ran out
        return Err(PushTError::TooFewSuccesses {
            successes: demos.episodes(),
            attempts,
        });
    }
    Ok((demos, attempts))
}
