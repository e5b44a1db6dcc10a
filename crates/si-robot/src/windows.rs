//! Training windows cut from demonstrations: an observation context and the action path that followed it.
//!
//! # What ξ is: the commanded targets, anchored at the measured pusher position
//! The pusher follows its commanded target through a PD controller and lags a moving target by about two
//! actions. The path of a window starting at row r is
//!
//! ```text
//! ξ(0) = the measured pusher position in obs[r],   ξ(j/T) = action[r + j − 1]  (j = 1..T),
//! ```
//!
//! the positions the expert *commanded*, repeated past the end of the episode (Diffusion Policy's padding).
//! The streaming policy sends its integration states as commands: the state at t = j/T is action j of the
//! chunk, so what the flow learned to produce is exactly what is sent, and the measured position (where a
//! re-anchored flow starts) is the one point of ξ that is never sent. Learning the measured positions
//! instead would need the controller's inverse to turn states into commands.
//!
//! The context of a window is the observation encoder's ([`crate::encode`]).
//!
//! Expert-labelled states (si-pusht's `labels`: DART, DAgger) give windows directly: the context of the
//! state's two observations and ξ(0) = its measured pusher position, ξ(j/T) = label j
//! ([`labelled_windows`]); with noise-free DART they are the demonstrations' windows bit for bit.

use si_pusht::{Action, Demonstrations, LabelledStates, Obs, TrainingData};

use crate::encode::{encode_action, encode_context, CONTEXT_DIM};
use crate::error::RobotError;
use crate::tube::ActionPath;

/// One training window: the context at row r and the path of the next T actions.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    /// The encoded last two observations.
    pub context: [f64; CONTEXT_DIM],
    /// ξ, in normalised units.
    pub path: ActionPath,
}

/// Every window of `demos` with horizon T = `horizon` ≥ 1: one per row of every episode. Empty
/// demonstrations, an empty episode, or a structure that does not validate are errors.
pub fn windows(demos: &Demonstrations, horizon: usize) -> Result<Vec<Window>, RobotError> {
    demos.validate()?;
    if demos.obs.is_empty() {
        return Err(RobotError::Demonstrations("no demonstrations".into()));
    }
    if horizon == 0 {
        return Err(RobotError::InvalidParameter {
            name: "horizon",
            value: "0".into(),
            reason: "a window spans at least one action",
        });
    }
    let mut out = Vec::with_capacity(demos.obs.len());
    let mut start = 0;
    for &end in &demos.episode_ends {
        if end == start {
            return Err(RobotError::Demonstrations(format!(
                "episode ending at row {end} is empty"
            )));
        }
        for r in start..end {
            let targets = (1..=horizon).map(|j| demos.actions[(r + j - 1).min(end - 1)]);
            out.push(window(
                &demos.obs[start.max(r.saturating_sub(1))..=r],
                targets,
            )?);
        }
        start = end;
    }
    Ok(out)
}

/// The windows of expert-labelled states with horizon T = `horizon` (at most the labels' length): one per
/// state, ξ(0) the state's pusher position and ξ(j/T) the label's target j. An empty set, or labels shorter
/// than the horizon, are errors.
pub fn labelled_windows(
    states: &LabelledStates,
    horizon: usize,
) -> Result<Vec<Window>, RobotError> {
    states.validate()?;
    if states.is_empty() {
        return Err(RobotError::Demonstrations("no labelled states".into()));
    }
    if horizon == 0 || horizon > states.horizon {
        return Err(RobotError::InvalidParameter {
            name: "horizon",
            value: horizon.to_string(),
            reason: "a window spans at least one action and at most the labels' length",
        });
    }
    (0..states.len())
        .map(|i| {
            window(
                &states.history[i],
                states.label(i)[..horizon].iter().copied(),
            )
        })
        .collect()
}

/// The window after the observations `history` (the last is the current one): the context of the last
/// two, ξ(0) the measured pusher position and ξ(j/T) the commanded `targets`.
fn window(history: &[Obs], targets: impl Iterator<Item = Action>) -> Result<Window, RobotError> {
    let cur = history[history.len() - 1];
    let mut knots = vec![encode_action([cur[0], cur[1]])];
    knots.extend(targets.map(encode_action));
    Ok(Window {
        context: encode_context(history)?,
        path: ActionPath::new(knots)?,
    })
}

/// For each window of a training file ([`data_windows`], same order), the index of the window of the next
/// state of the same episode, if the file holds it: the next row of a demonstration's episode; for
/// expert-labelled states, the next row when it has the same episode seed and the next step (a subset of
/// states, such as the near-goal ones, keeps only the links whose both ends it holds). The training source
/// follows these links to condition on the observation the policy will have seen at flow time t
/// ([`crate::ContextMode::Live`]).
pub fn successors(data: &TrainingData) -> Vec<Option<usize>> {
    match data {
        TrainingData::Demos(d) => {
            let mut next = Vec::with_capacity(d.obs.len());
            let mut start = 0;
            for &end in &d.episode_ends {
                next.extend((start..end).map(|r| (r + 1 < end).then_some(r + 1)));
                start = end;
            }
            next
        }
        TrainingData::Labelled(s) => (0..s.len())
            .map(|i| {
                let j = i + 1;
                (j < s.len() && s.seeds[j] == s.seeds[i] && s.steps[j] == s.steps[i] + 1)
                    .then_some(j)
            })
            .collect(),
    }
}

/// For each window of a training file ([`data_windows`], same order), the two observations its context
/// encodes (the previous one is the current one at an episode's first row):
/// [`crate::ContextMode::LiveBlock`] mixes the pusher of one with the block of another.
pub fn histories(data: &TrainingData) -> Vec<[Obs; 2]> {
    match data {
        TrainingData::Demos(d) => {
            let mut out = Vec::with_capacity(d.obs.len());
            let mut start = 0;
            for &end in &d.episode_ends {
                out.extend((start..end).map(|r| [d.obs[start.max(r.saturating_sub(1))], d.obs[r]]));
                start = end;
            }
            out
        }
        TrainingData::Labelled(s) => s.history.clone(),
    }
}

/// The windows of a training file, either kind ([`windows`], [`labelled_windows`]).
pub fn data_windows(data: &TrainingData, horizon: usize) -> Result<Vec<Window>, RobotError> {
    match data {
        TrainingData::Demos(d) => windows(d, horizon),
        TrainingData::Labelled(s) => labelled_windows(s, horizon),
    }
}
