//! Robustness protocol: the block is displaced mid-episode and the policy must recover (none of the published
//! Push-T evaluations reports this; docs/math.md §7.2).
//!
//! At step `at_step` of an episode the T is picked up and put down `distance` px away in a uniformly drawn
//! direction, turned by an angle uniform in `±max_turn`, at rest; the pusher keeps its position and velocity.
//! Draws whose T would overlap the pusher, or whose origin would leave `[MARGIN, 512 − MARGIN]²`, are redrawn.
//! The draws come from a ChaCha8 generator seeded with the episode's seed, so every policy sees the same
//! displacement of the same episode when its state at `at_step` allows it.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::env::Obs;
use crate::error::PushTError;
use crate::geometry::{t_world, Pose, AGENT_RADIUS, ARENA, V2};

/// Closest distance of the T's origin to the arena's edge after a displacement (px).
pub const MARGIN: f64 = 100.0;
/// Most draws tried before a displacement is given up (the episode then goes on undisturbed).
pub const MAX_DRAWS: usize = 64;

/// When and how far the block is displaced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Displacement {
    /// The control step after which the block moves (1 = after the first action).
    pub at_step: usize,
    /// Distance of the move (px).
    pub distance: f64,
    /// Largest turn (radians), drawn uniformly in `±max_turn`.
    pub max_turn: f64,
}

impl Default for Displacement {
    /// After 50 steps, 60 px and up to ±π/4: far enough that the pre-displacement plan is wrong.
    fn default() -> Self {
        Self {
            at_step: 50,
            distance: 60.0,
            max_turn: std::f64::consts::FRAC_PI_4,
        }
    }
}

/// Checked displacement settings ([`Displacement::check`]): what draws the new block pose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DisplacementParams {
    at_step: usize,
    distance: f64,
    max_turn: f64,
}

impl Displacement {
    /// Checks the settings: `at_step ≥ 1`, finite `distance ≥ 0` and `max_turn ≥ 0`.
    pub fn check(self) -> Result<DisplacementParams, PushTError> {
        let bad = |name, value: f64, reason| PushTError::InvalidParameter {
            name,
            value: value.to_string(),
            reason,
        };
        if self.at_step == 0 {
            return Err(bad("at_step", 0.0, "must be >= 1"));
        }
        if !(self.distance.is_finite() && self.distance >= 0.0) {
            return Err(bad("distance", self.distance, "must be finite and >= 0"));
        }
        if !(self.max_turn.is_finite() && self.max_turn >= 0.0) {
            return Err(bad("max_turn", self.max_turn, "must be finite and >= 0"));
        }
        Ok(DisplacementParams {
            at_step: self.at_step,
            distance: self.distance,
            max_turn: self.max_turn,
        })
    }
}

impl DisplacementParams {
    /// The control step after which the block moves (≥ 1).
    pub fn at_step(&self) -> usize {
        self.at_step
    }

    /// Distance of the move (px, finite, ≥ 0).
    pub fn distance(&self) -> f64 {
        self.distance
    }

    /// Largest turn (radians, finite, ≥ 0).
    pub fn max_turn(&self) -> f64 {
        self.max_turn
    }

    /// The new block pose for the episode of `seed` in state `obs`, or `None` when no draw of
    /// [`MAX_DRAWS`] keeps the T inside the margin and clear of the pusher.
    pub fn draw(&self, seed: u64, obs: &Obs) -> Option<Pose> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD15_B1AC);
        let agent = V2::new(obs[0], obs[1]);
        for _ in 0..MAX_DRAWS {
            let dir = rng.random_range(0.0..std::f64::consts::TAU);
            let turn = if self.max_turn > 0.0 {
                rng.random_range(-self.max_turn..=self.max_turn)
            } else {
                0.0
            };
            let pose = Pose {
                position: V2::new(
                    obs[2] + self.distance * dir.cos(),
                    obs[3] + self.distance * dir.sin(),
                ),
                angle: obs[4] + turn,
            };
            let inside = |v: f64| (MARGIN..=ARENA - MARGIN).contains(&v);
            if inside(pose.position.x)
                && inside(pose.position.y)
                && distance_to_t(agent, &pose) > AGENT_RADIUS + 1.0
            {
                return Some(pose);
            }
        }
        None
    }
}

/// Distance from `p` to the T at `pose` (0 inside it).
pub fn distance_to_t(p: V2, pose: &Pose) -> f64 {
    t_world(pose)
        .iter()
        .map(|b| distance_to_convex(p, b))
        .fold(f64::INFINITY, f64::min)
}

/// Distance from `p` to the convex quadrilateral `b` (0 inside it).
fn distance_to_convex(p: V2, b: &[V2; 4]) -> f64 {
    let sides: Vec<f64> = (0..4)
        .map(|i| (b[(i + 1) % 4] - b[i]).cross(p - b[i]))
        .collect();
    if sides.iter().all(|&s| s >= 0.0) || sides.iter().all(|&s| s <= 0.0) {
        return 0.0;
    }
    (0..4)
        .map(|i| {
            let (a, c) = (b[i], b[(i + 1) % 4]);
            let e = c - a;
            let u = ((p - a).dot(e) / e.norm2()).clamp(0.0, 1.0);
            (p - (a + e * u)).norm()
        })
        .fold(f64::INFINITY, f64::min)
}
