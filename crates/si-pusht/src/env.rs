//! The Push-T environment: PD-controlled pusher, quasi-static T, coverage reward.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::coverage::{coverage, reward, SUCCESS_THRESHOLD};
use crate::error::PushTError;
use crate::geometry::{Pose, COG, V2};
use crate::physics::World;
use crate::test_starts::TEST_STARTS;

/// Proportional gain of the pusher's PD control.
pub const K_P: f64 = 100.0;
/// Derivative gain of the pusher's PD control.
pub const K_V: f64 = 20.0;
/// Physics sub-step (s).
pub const DT: f64 = 0.01;
/// Physics sub-steps per control step (control at 10 Hz).
pub const SUBSTEPS: usize = 10;
/// Step limit of an episode.
pub const MAX_STEPS: usize = 300;

/// Observation `[agent_x, agent_y, block_x, block_y, block_angle mod 2π]`.
pub type Obs = [f64; 5];

/// The block's pose in an observation (`[.., block_x, block_y, block_angle]`).
pub fn block_pose(o: &Obs) -> Pose {
    Pose {
        position: V2::new(o[2], o[3]),
        angle: o[4],
    }
}
/// Action: the pusher's target position `(x, y)`.
pub type Action = [f64; 2];

/// What a step reports besides the observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Info {
    /// `area(goal ∩ block) / area(goal)`.
    pub coverage: f64,
    /// `coverage > 0.95`.
    pub success: bool,
    /// Steps taken in this episode.
    pub steps: usize,
}

/// The result of one control step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// Observation after the step.
    pub obs: Obs,
    /// `clip(coverage / 0.95, 0, 1)`.
    pub reward: f64,
    /// Success or the step limit.
    pub done: bool,
    /// Coverage and success.
    pub info: Info,
}

/// The Push-T environment.
///
/// ```
/// use si_pusht::PushT;
/// let mut env = PushT::new();
/// let obs = env.reset(7);
/// let s = env.step([obs[2], obs[3]]).unwrap();
/// assert!(s.reward >= 0.0 && s.reward <= 1.0);
/// ```
#[derive(Clone, Debug)]
pub struct PushT {
    world: World,
    steps: usize,
}

impl Default for PushT {
    fn default() -> Self {
        Self::new()
    }
}

impl PushT {
    /// An environment in the reference's initial layout (pusher at (256, 400), T at (256, 300), angle 0).
    pub fn new() -> Self {
        Self {
            world: World::new(
                V2::new(256.0, 400.0),
                Pose {
                    position: V2::new(256.0, 300.0),
                    angle: 0.0,
                },
            ),
            steps: 0,
        }
    }

    /// An environment with the pusher at `agent` and the T at `pose`, both at rest, and no remembered contacts
    /// (no sub-step is run). Used to simulate pushes when planning.
    pub fn from_pose(agent: V2, pose: Pose) -> Self {
        Self {
            world: World::new(agent, pose),
            steps: 0,
        }
    }

    /// The start state for `seed`: pusher `(x, y)` uniform integers in `[50, 450)`, block `(x, y)` uniform
    /// integers in `[100, 400)`, angle uniform in `(−π, π)`.
    ///
    /// For the published test seeds 100000..100049 these are the reference's own draws (numpy's generator, stored
    /// in [`crate::test_starts`]), so evaluations start from the same 50 episodes; other seeds draw from a
    /// ChaCha8 generator seeded with `seed`.
    pub fn initial_state(seed: u64) -> [f64; 5] {
        if let Some((_, s, _)) = TEST_STARTS.iter().find(|(k, _, _)| *k == seed) {
            return *s;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let pi = std::f64::consts::PI;
        [
            f64::from(rng.random_range(50i32..450)),
            f64::from(rng.random_range(50i32..450)),
            f64::from(rng.random_range(100i32..400)),
            f64::from(rng.random_range(100i32..400)),
            rng.random_range(-pi..pi),
        ]
    }

    /// Resets to the start state drawn for `seed` (see [`PushT::initial_state`]).
    pub fn reset(&mut self, seed: u64) -> Obs {
        let s = Self::initial_state(seed);
        // finite by construction
        self.set_state(s);
        self.obs()
    }

    /// Resets to `state = [ax, ay, bx, by, θ]` as the reference does: `(bx, by)` is placed as the body origin
    /// at angle 0, then the body turns by `θ` about its centre of gravity, so the observed origin is
    /// `(bx + 45 sin θ, by + 45 − 45 cos θ)`; then one physics sub-step runs without control.
    pub fn reset_to(&mut self, state: [f64; 5]) -> Result<Obs, PushTError> {
        if let Some((index, &value)) = state.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(PushTError::NonFiniteState { index, value });
        }
        self.set_state(state);
        Ok(self.obs())
    }

    fn set_state(&mut self, s: [f64; 5]) {
        let cog = V2::new(s[2], s[3]) + COG;
        let rot = crate::geometry::for_angle(s[4]);
        let origin = cog - COG.rotate(rot);
        self.world = World::new(
            V2::new(s[0], s[1]),
            Pose {
                position: origin,
                angle: s[4],
            },
        );
        self.world.substep(DT);
        self.steps = 0;
    }

    /// One control step: 10 sub-steps of `a = k_p (target − x) − k_v v`, `v ← v + a dt`, then physics.
    /// A non-finite target is refused with [`PushTError::NonFiniteAction`] and leaves the state unchanged.
    pub fn step(&mut self, action: Action) -> Result<Step, PushTError> {
        let target = V2::new(action[0], action[1]);
        if !target.is_finite() {
            return Err(PushTError::NonFiniteAction {
                x: action[0],
                y: action[1],
            });
        }
        if self.steps >= MAX_STEPS {
            return Err(PushTError::EpisodeOver {
                steps: self.steps,
                limit: MAX_STEPS,
            });
        }
        for _ in 0..SUBSTEPS {
            let w = &mut self.world;
            let acc = (target - w.agent_p) * K_P + (V2::default() - w.agent_v) * K_V;
            w.agent_v = w.agent_v + acc * DT;
            w.substep(DT);
        }
        self.steps += 1;
        let cov = coverage(&self.world.block_pose());
        let success = cov > SUCCESS_THRESHOLD;
        Ok(Step {
            obs: self.obs(),
            reward: reward(cov),
            done: success || self.steps >= MAX_STEPS,
            info: Info {
                coverage: cov,
                success,
                steps: self.steps,
            },
        })
    }

    /// Current observation.
    pub fn obs(&self) -> Obs {
        let p = self.world.block_pose();
        [
            self.world.agent_p.x,
            self.world.agent_p.y,
            p.position.x,
            p.position.y,
            p.angle.rem_euclid(std::f64::consts::TAU),
        ]
    }

    /// Current coverage.
    pub fn coverage(&self) -> f64 {
        coverage(&self.world.block_pose())
    }

    /// The physical state (read only).
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Places the pusher at `p` at rest, keeping the T and the contact cache (for planning by simulation).
    pub fn place_agent(&mut self, p: V2) {
        self.world.agent_p = p;
        self.world.agent_v = V2::default();
    }

    /// Puts the T down at `pose`, at rest, with no remembered contacts; the pusher keeps its position and
    /// velocity (the robustness protocol's displacement, [`crate::disturb`]). A non-finite pose is refused with
    /// [`PushTError::NonFiniteState`] and leaves the state unchanged.
    pub fn place_block(&mut self, pose: Pose) -> Result<Obs, PushTError> {
        let s = [pose.position.x, pose.position.y, pose.angle];
        if let Some((index, &value)) = s.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(PushTError::NonFiniteState {
                index: index + 2,
                value,
            });
        }
        let (p, v) = (self.world.agent_p, self.world.agent_v);
        self.world = World::new(p, pose);
        self.world.agent_v = v;
        Ok(self.obs())
    }

    /// Steps taken in this episode.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Pusher velocity.
    pub fn agent_velocity(&self) -> V2 {
        self.world.agent_v
    }
}
