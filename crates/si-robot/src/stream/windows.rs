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
//! # Coordinates
//! Positions are normalised to the arena: u = (p − 256)/256 ∈ [−1, 1] ([`encode_action`]). An observation
//! becomes [agent, block position (normalised), cos θ, sin θ, the block's offset from the goal (squashed
//! at 12 px), the pusher in the block's frame] ([`encode_obs`]; angles as points on the circle or wrapped,
//! so that 0 and 2π are the same input), and a context is the last two encoded observations (oldest first;
//! at an episode's first row the current one twice): [`CONTEXT_DIM`] = 22 numbers.

use std::f64::consts::PI;

use si_core::Points;

use crate::demos::Demonstrations;
use crate::env::{Action, Obs};
use crate::error::RobotError;
use crate::geometry::{for_angle, GOAL, V2};
use crate::stream::tube::ActionPath;

/// Size of an encoded observation.
pub const OBS_DIM: usize = 11;
/// Size of a context: two encoded observations.
pub const CONTEXT_DIM: usize = 2 * OBS_DIM;
/// Arena centre and half-width (pixels): the normalisation of positions.
const CENTRE: f64 = 256.0;
const HALF: f64 = 256.0;
/// Scale of the goal offsets (pixels): `tanh(offset / GOAL_SCALE)` resolves the last few pixels.
pub const GOAL_SCALE: f64 = 12.0;
/// Lever arm that turns the angle offset into a length (pixels, about the T's length).
const LEVER: f64 = 128.0;
/// Scale of the pusher's position in the block's frame (pixels).
const BODY_SCALE: f64 = 64.0;

/// A position in pixels → normalised units, (p − 256)/256.
pub fn encode_action(a: Action) -> [f64; 2] {
    [(a[0] - CENTRE) / HALF, (a[1] - CENTRE) / HALF]
}

/// Normalised units → a position in pixels, 256 + 256 u.
pub fn decode_action(u: [f64; 2]) -> Action {
    [CENTRE + HALF * u[0], CENTRE + HALF * u[1]]
}

/// An observation (pusher `a`, block position `p`, angle θ) → eleven numbers; a non-finite entry is an
/// error:
///
/// ```text
/// [ (a − 256)/256 (2),  (p − 256)/256 (2),  cos θ, sin θ,
///   tanh((p − p_goal)/12) (2),  tanh(128 wrap(θ − θ_goal)/12),  R(−θ)(a − p)/64 (2) ]
/// ```
///
/// The first six place everything in the arena; the goal offsets (`wrap` to (−π, π]) resolve the last
/// pixels and degrees, where success (coverage > 0.95) needs about 2 px and 2° and the arena coordinates
/// differ only in the third decimal; the last two are the pusher in the block's frame, which decides
/// where a push lands. See docs/results.md for the measured effect.
pub fn encode_obs(o: &Obs) -> Result<[f64; OBS_DIM], RobotError> {
    if let Some(i) = o.iter().position(|v| !v.is_finite()) {
        return Err(RobotError::NonFiniteState {
            index: i,
            value: o[i],
        });
    }
    let [a0, a1] = encode_action([o[0], o[1]]);
    let [b0, b1] = encode_action([o[2], o[3]]);
    let turn = (o[4] - GOAL.angle + PI).rem_euclid(2.0 * PI) - PI;
    let body = (V2::new(o[0], o[1]) - V2::new(o[2], o[3])).rotate(for_angle(-o[4]));
    Ok([
        a0,
        a1,
        b0,
        b1,
        o[4].cos(),
        o[4].sin(),
        ((o[2] - GOAL.position.x) / GOAL_SCALE).tanh(),
        ((o[3] - GOAL.position.y) / GOAL_SCALE).tanh(),
        (LEVER * turn / GOAL_SCALE).tanh(),
        body.x / BODY_SCALE,
        body.y / BODY_SCALE,
    ])
}

/// The context of the last two observations of `history` (oldest first; the last one twice when there is
/// only one). An empty history or a non-finite observation is an error.
pub fn encode_context(history: &[Obs]) -> Result<[f64; CONTEXT_DIM], RobotError> {
    let cur = history
        .last()
        .ok_or_else(|| RobotError::Policy("no observation".into()))?;
    let prev = history.len().checked_sub(2).map_or(cur, |i| &history[i]);
    let mut c = [0.0; CONTEXT_DIM];
    c[..OBS_DIM].copy_from_slice(&encode_obs(prev)?);
    c[OBS_DIM..].copy_from_slice(&encode_obs(cur)?);
    Ok(c)
}

/// [`encode_context`] as a batch of one context point, the form a conditioned field is given.
pub fn context_point(history: &[Obs]) -> Result<Points, RobotError> {
    Ok(Points::from_row_major(
        1,
        CONTEXT_DIM,
        &encode_context(history)?,
    )?)
}

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
            let o = &demos.obs[r];
            let mut knots = Vec::with_capacity(horizon + 1);
            knots.push(encode_action([o[0], o[1]]));
            for j in 1..=horizon {
                knots.push(encode_action(demos.actions[(r + j - 1).min(end - 1)]));
            }
            let context = encode_context(&demos.obs[start.max(r.saturating_sub(1))..=r])?;
            out.push(Window {
                context,
                path: ActionPath::new(knots)?,
            });
        }
        start = end;
    }
    Ok(out)
}
