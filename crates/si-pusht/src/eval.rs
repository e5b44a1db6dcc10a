//! Policies and the evaluation protocol: a policy maps the observation history to a chunk of actions; the
//! evaluator runs it on fixed seeds and reports mean score (maximum reward per episode), success rate and the
//! time from observation to first action.

use std::ops::Range;
use std::time::{Duration, Instant};

use crate::disturb::{Displacement, DisplacementParams};
use crate::env::{Action, Obs, PushT, MAX_STEPS};
use crate::error::PushTError;

/// The published test seeds (Diffusion Policy's protocol): 100000..100049.
pub const TEST_SEEDS: Range<u64> = 100_000..100_050;

/// A policy: observation history (oldest first, the current observation last) → a chunk of one or more
/// actions, executed in order before the policy is asked again. A streaming policy returns one action.
///
/// ```
/// use si_pusht::{evaluate, Action, Obs, Policy, PushTError};
///
/// /// Heads for the block's origin, four steps at a time.
/// struct Chase;
/// impl Policy for Chase {
///     fn reset(&mut self, _seed: u64) {}
///     fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
///         let o = history.last().ok_or_else(|| PushTError::Policy("no observation".into()))?;
///         Ok(vec![[o[2], o[3]]; 4])
///     }
/// }
///
/// let report = evaluate(&mut Chase, [1, 2]).unwrap();
/// assert_eq!(report.episodes.len(), 2);
/// assert!((0.0..=1.0).contains(&report.mean_score));
/// ```
pub trait Policy {
    /// Prepares for a new episode; `seed` seeds any randomness of the policy.
    fn reset(&mut self, seed: u64);
    /// The next actions.
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError>;
}

/// The outcome of one episode.
#[derive(Clone, Debug)]
pub struct Episode {
    /// Environment seed.
    pub seed: u64,
    /// Maximum reward over the episode.
    pub score: f64,
    /// Whether coverage exceeded 0.95.
    pub success: bool,
    /// Steps taken.
    pub steps: usize,
    /// Observations from the reset on (`steps + 1` of them).
    pub observations: Vec<Obs>,
    /// Actions taken (`steps` of them).
    pub actions: Vec<Action>,
    /// Mean time from an observation to the policy's first action.
    pub latency: Duration,
    /// The step after which the block was displaced ([`run_episode_displaced`]), if it was.
    pub displaced_at: Option<usize>,
}

/// Summary over a set of episodes.
#[derive(Clone, Debug)]
pub struct Report {
    /// The episodes.
    pub episodes: Vec<Episode>,
    /// Mean score.
    pub mean_score: f64,
    /// Fraction of successful episodes.
    pub success_rate: f64,
    /// Mean time from observation to first action over all policy calls.
    pub mean_latency: Duration,
}

/// Runs one episode of `policy` from the start state of `seed`, for at most `max_steps` steps (≤ 300).
pub fn run_episode<P: Policy + ?Sized>(
    policy: &mut P,
    seed: u64,
    max_steps: usize,
) -> Result<Episode, PushTError> {
    run(policy, seed, max_steps, None)
}

/// As [`run_episode`], with the block displaced after step `d.at_step` as [`DisplacementParams::draw`] says (an
/// episode that succeeds earlier, or whose draw fails, is not displaced: see [`Episode::displaced_at`]).
pub fn run_episode_displaced<P: Policy + ?Sized>(
    policy: &mut P,
    seed: u64,
    max_steps: usize,
    d: &Displacement,
) -> Result<Episode, PushTError> {
    run(policy, seed, max_steps, Some(d.check()?))
}

fn run<P: Policy + ?Sized>(
    policy: &mut P,
    seed: u64,
    max_steps: usize,
    displacement: Option<DisplacementParams>,
) -> Result<Episode, PushTError> {
    let mut displaced_at = None;
    let mut env = PushT::new();
    let mut history = vec![env.reset(seed)];
    policy.reset(seed);
    let mut score = 0.0f64;
    let mut success = false;
    let mut actions = Vec::new();
    let mut calls = 0u32;
    let mut latency = Duration::ZERO;
    let limit = max_steps.min(MAX_STEPS);
    'episode: while actions.len() < limit {
        let t0 = Instant::now();
        let chunk = policy.act(&history)?;
        latency += t0.elapsed();
        calls += 1;
        if chunk.is_empty() {
            return Err(PushTError::Policy("empty action chunk".into()));
        }
        for a in chunk {
            let s = env.step(a)?;
            actions.push(a);
            history.push(s.obs);
            if let Some(d) =
                displacement.filter(|d| d.at_step() == actions.len() && !s.info.success)
            {
                if let Some(pose) = d.draw(seed, &s.obs) {
                    // the policy sees the moved block in the observation of this step
                    *history.last_mut().expect("just pushed") = env.place_block(pose)?;
                    displaced_at = Some(actions.len());
                }
            }
            score = score.max(s.reward);
            if s.info.success {
                success = true;
                break 'episode;
            }
            if actions.len() >= limit {
                break 'episode;
            }
        }
    }
    Ok(Episode {
        seed,
        score,
        success,
        steps: actions.len(),
        observations: history,
        actions,
        latency: latency / calls.max(1),
        displaced_at,
    })
}

/// Runs `policy` on each of `seeds` for at most `max_steps` steps, with the block displaced as the checked
/// `displacement` says when it is given, calling `on_episode` after each episode (a progress bar, a log); returns the
/// episodes in seed order.
pub fn run_seeds<P: Policy + ?Sized>(
    policy: &mut P,
    seeds: &[u64],
    max_steps: usize,
    displacement: Option<&DisplacementParams>,
    mut on_episode: impl FnMut(&Episode),
) -> Result<Vec<Episode>, PushTError> {
    let mut episodes = Vec::with_capacity(seeds.len());
    for &seed in seeds {
        let e = run(policy, seed, max_steps, displacement.copied())?;
        on_episode(&e);
        episodes.push(e);
    }
    Ok(episodes)
}

/// Evaluates `policy` on `seeds` (the protocol uses [`TEST_SEEDS`]) with the 300-step limit.
pub fn evaluate<P: Policy + ?Sized>(
    policy: &mut P,
    seeds: impl IntoIterator<Item = u64>,
) -> Result<Report, PushTError> {
    let mut episodes = Vec::new();
    for seed in seeds {
        episodes.push(run_episode(policy, seed, MAX_STEPS)?);
    }
    Ok(summarise(episodes))
}

/// Mean score, success rate and latency of `episodes`.
pub fn summarise(episodes: Vec<Episode>) -> Report {
    let n = episodes.len().max(1) as f64;
    let counted = Outcomes::of(&episodes);
    let mean_score = counted.mean_score.unwrap_or(0.0);
    let success_rate = counted.success_rate().unwrap_or(0.0);
    // The mean of the latencies in seconds (f64): no overflow of a Duration sum, no u32 count.
    let mean_latency = Duration::try_from_secs_f64(
        episodes
            .iter()
            .map(|e| e.latency.as_secs_f64())
            .sum::<f64>()
            / n,
    )
    .unwrap_or(Duration::MAX);
    Report {
        episodes,
        mean_score,
        success_rate,
        mean_latency,
    }
}

/// Counts and mean score of a subset of episodes (e.g. those that were displaced: [`Outcomes::displaced`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outcomes {
    /// Episodes counted.
    pub episodes: usize,
    /// How many of them succeeded.
    pub successes: usize,
    /// Their mean score; `None` when no episode was counted.
    pub mean_score: Option<f64>,
}

impl Outcomes {
    /// Counts `episodes`.
    pub fn of<'a>(episodes: impl IntoIterator<Item = &'a Episode>) -> Self {
        let (mut n, mut successes, mut score) = (0usize, 0usize, 0.0f64);
        for e in episodes {
            n += 1;
            successes += usize::from(e.success);
            score += e.score;
        }
        Self {
            episodes: n,
            successes,
            mean_score: (n > 0).then(|| score / n as f64),
        }
    }

    /// The robustness protocol's summary: only the episodes whose block was actually displaced
    /// ([`Episode::displaced_at`] is set); an episode that succeeded before the displacement step, or whose
    /// draw failed, is left out.
    pub fn displaced(episodes: &[Episode]) -> Self {
        Self::of(episodes.iter().filter(|e| e.displaced_at.is_some()))
    }

    /// The fraction of counted episodes that succeeded; `None` when none was counted.
    pub fn success_rate(&self) -> Option<f64> {
        (self.episodes > 0).then(|| self.successes as f64 / self.episodes as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode(seed: u64, score: f64, success: bool, displaced_at: Option<usize>) -> Episode {
        Episode {
            seed,
            score,
            success,
            steps: 10,
            observations: Vec::new(),
            actions: Vec::new(),
            latency: Duration::ZERO,
            displaced_at,
        }
    }

    #[test]
    fn displaced_outcomes_count_only_the_displaced_episodes() {
        let eps = vec![
            episode(1, 1.0, true, None), // succeeded before the displacement
            episode(2, 0.5, false, Some(50)),
            episode(3, 1.0, true, Some(50)),
            episode(4, 0.25, false, Some(50)),
            episode(5, 0.0, false, None), // the draw failed
        ];
        let d = Outcomes::displaced(&eps);
        assert_eq!((d.episodes, d.successes), (3, 1));
        assert_eq!(d.mean_score, Some(0.5833333333333334)); // (0.5 + 1 + 0.25) / 3
        assert_eq!(d.success_rate(), Some(1.0 / 3.0));
        let all = Outcomes::of(&eps);
        assert_eq!((all.episodes, all.successes), (5, 2));
        assert_eq!(all.mean_score, Some(0.55));
        let none = Outcomes::displaced(&eps[..1]);
        assert_eq!(
            (none.episodes, none.mean_score, none.success_rate()),
            (0, None, None)
        );
    }
}
