//! The observation encoder: positions, observations and the observation history as the numbers a field is
//! conditioned on.
//!
//! Positions are normalised to the arena: u = (p − 256)/256 ∈ [−1, 1] ([`encode_action`]). An observation
//! becomes [agent, block position (normalised), cos θ, sin θ, the block's offset from the goal (squashed
//! at 12 px), the pusher in the block's frame] ([`encode_obs`]; angles as points on the circle or wrapped,
//! so that 0 and 2π are the same input), and a context is the last two encoded observations (oldest first;
//! at an episode's first row the current one twice): [`CONTEXT_DIM`] = 22 numbers.

use std::f64::consts::PI;

use si_core::Points;
use si_pusht::geometry::{for_angle, GOAL, V2};
use si_pusht::{Action, Obs, PushTError};

use crate::error::RobotError;

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
pub fn encode_obs(o: &Obs) -> Result<[f64; OBS_DIM], PushTError> {
    if let Some(i) = o.iter().position(|v| !v.is_finite()) {
        return Err(PushTError::NonFiniteState {
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
pub fn encode_context(history: &[Obs]) -> Result<[f64; CONTEXT_DIM], PushTError> {
    let [prev, cur] = last_two(history)?;
    let mut c = [0.0; CONTEXT_DIM];
    c[..OBS_DIM].copy_from_slice(&encode_obs(&prev)?);
    c[OBS_DIM..].copy_from_slice(&encode_obs(&cur)?);
    Ok(c)
}

/// The last two observations of `history`, oldest first (the last one twice when there is only one); an
/// empty history is an error.
fn last_two(history: &[Obs]) -> Result<[Obs; 2], PushTError> {
    let cur = *history
        .last()
        .ok_or_else(|| PushTError::Policy("no observation".into()))?;
    Ok([
        history.len().checked_sub(2).map_or(cur, |i| history[i]),
        cur,
    ])
}

/// The context of observations whose pusher is `pusher`'s and whose block is `block`'s (the last two of
/// each, as [`encode_context`] takes them): [`crate::ContextMode::LiveBlock`], where the pusher stays the
/// anchor's and the block is the latest. Empty histories or non-finite values are errors.
pub fn mixed_context(pusher: &[Obs], block: &[Obs]) -> Result<[f64; CONTEXT_DIM], PushTError> {
    let (p, b) = (last_two(pusher)?, last_two(block)?);
    let mix = |k: usize| [p[k][0], p[k][1], b[k][2], b[k][3], b[k][4]];
    encode_context(&[mix(0), mix(1)])
}

/// [`encode_context`] as a batch of one context point, the form a conditioned field is given.
pub fn context_point(history: &[Obs]) -> Result<Points, RobotError> {
    Ok(Points::from_row_major(
        1,
        CONTEXT_DIM,
        &encode_context(history)?,
    )?)
}
