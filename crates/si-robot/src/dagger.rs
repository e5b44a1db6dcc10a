//! DAgger's data (Ross et al. 2011): the states a trained policy visits, labelled by the expert.
//!
//! One round ([`dagger_labels`]) rolls the policy out on training seeds and labels every state of every
//! episode with an expert's action path from it (the environment cloned at the state, the expert run
//! forward T steps, its commanded targets recorded): a fresh expert at every state (si-pusht's
//! [`label_episode`]) or one expert tracking the episode and keeping its plan from state to state
//! ([`label_episode_tracking`], as DART's labeller does) — see [`Labeller`]. The caller aggregates the
//! rounds' labelled states with the demonstrations and retrains warm-started (`si policy dagger`, the
//! feature `nn`'s `training` module).

use si_pusht::labels::labeller_seed;
use si_pusht::{
    label_episode, label_episode_tracking, run_seeds, Episode, ExpertParams, LabelledStates,
    Outcomes, Policy, MAX_STEPS,
};

use crate::error::RobotError;

/// Who labels the visited states.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Labeller {
    /// A fresh expert at every state (reset with si-pusht's `labeller_seed(seed, step)`): each may draw
    /// another push.
    #[default]
    Fresh,
    /// One expert per episode (reset with `labeller_seed(seed, 0)`) that sees the states in order and keeps
    /// its plan across them.
    Tracking,
}

/// The labelled states of `policy`'s episodes on `seeds` (each [`MAX_STEPS`] steps at most) with labels of
/// `horizon` actions by experts with settings `expert`, labelled as `labeller` says, and how the policy did on them; `on_episode` is told
/// after each episode. Seeds outside the training set are refused: the labelled states become training
/// data.
pub fn dagger_labels(
    policy: &mut dyn Policy,
    seeds: &[u64],
    expert: &ExpertParams,
    labeller: Labeller,
    horizon: usize,
    mut on_episode: impl FnMut(&Episode),
) -> Result<(LabelledStates, Outcomes), RobotError> {
    if let Some(s) = seeds
        .iter()
        .find(|&&s| !si_pusht::SeedSet::Training.contains(s))
    {
        return Err(RobotError::InvalidParameter {
            name: "seeds",
            value: s.to_string(),
            reason: "DAgger rolls out on training seeds only (si-pusht's SeedSet::Training)",
        });
    }
    let mut out = LabelledStates::new(horizon);
    let episodes = run_seeds(policy, seeds, MAX_STEPS, None, |e| on_episode(e))?;
    for e in &episodes {
        let labels = match labeller {
            Labeller::Fresh => label_episode(e, expert, horizon)?,
            Labeller::Tracking => {
                label_episode_tracking(e, expert, horizon, labeller_seed(e.seed, 0))?
            }
        };
        out.extend(&labels)?;
    }
    Ok((out, Outcomes::of(&episodes)))
}
