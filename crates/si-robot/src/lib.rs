//! Push-T: a circular pusher pushes a T-shaped block into a goal pose on a 2-D table.
//!
//! The environment ([`PushT`]) defines the same task as the reference Push-T (gym-pusht 0.1.8 on pymunk):
//! a 512 × 512 arena, a PD-controlled kinematic pusher (`k_p = 100`, `k_v = 20`, 10 sub-steps of 0.01 s per
//! control step), a quasi-static T of mass 1 and moment 3000, frictionless contacts, the goal pose
//! `(256, 256, π/4)`, reward `clip(coverage / 0.95, 0, 1)` and success `coverage > 0.95`.
//! The contact solver ([`physics`]) reproduces Chipmunk's sub-step for this scene.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod contact;
pub mod coverage;
pub mod demos;
pub mod env;
pub mod error;
pub mod expert;
pub mod geometry;
pub mod physics;
pub mod policy;
pub mod render;
pub mod speed;
pub mod test_starts;

pub use coverage::{coverage, reward, SUCCESS_THRESHOLD};
pub use demos::Demonstrations;
pub use env::{Action, Info, Obs, PushT, Step, MAX_STEPS};
pub use error::RobotError;
pub use expert::{Expert, ExpertConfig};
pub use geometry::{Pose, GOAL, V2};
pub use policy::{evaluate, run_episode, Episode, Policy, Report, TEST_SEEDS};
