//! A Push-T simulator: a circular pusher pushes a T-shaped block into a goal pose on a 2-D table.
//!
//! The environment ([`PushT`]) defines the same task as the reference Push-T (gym-pusht 0.1.8 on pymunk 6):
//! a 512 × 512 arena with four wall segments, a PD-controlled kinematic pusher of radius 15
//! (`a = k_p (target − x) − k_v v`, `k_p = 100`, `k_v = 20`, 10 sub-steps of 0.01 s per control step), a T of
//! mass 1 and moment 3000 whose velocity is zeroed every sub-step (space damping 0: quasi-static), frictionless
//! contacts, the goal pose `(256, 256, π/4)`, reward `clip(coverage / 0.95, 0, 1)`, success `coverage > 0.95`,
//! and 300 steps per episode.
//!
//! # Physics: a purpose-built solver, not a general engine
//! The reference's block motion is whatever Chipmunk's sub-step does: positions integrated with the velocity
//! left by the previous solve, the velocity then zeroed by damping, contacts warm-started from cached impulses
//! and solved by 10 sweeps of sequential impulses with Chipmunk's slop (0.1) and bias (`1 − 0.9⁶⁰ᵈᵗ`). A general
//! engine (rapier2d) has a different integrator, contact model and solver, so the T would move differently
//! under the same pushes. [`physics`] reproduces that sub-step for this scene (one kinematic circle, one body of
//! two boxes, four static segments), with Chipmunk's contact geometry in [`contact`] and its broad phase in
//! [`broadphase`]. Against replay vectors recorded from the reference (`tools/pusht/make_replay_vectors.py`,
//! 18 contact-rich episodes of 60 steps):
//!
//! | episodes | steps | pusher | block position | block angle | coverage |
//! |---|---|---|---|---|---|
//! | 14 without wall contact | 10 / 25 / 40 / 60 | ≤ 2e-13 px | 1e-13 / 2e-13 / 3e-13 / 1.3e-12 px | 5e-14 / 1e-13 / 1.3e-13 / 9e-13 ° | ≤ 4e-15 |
//! | 4 pushing the T into walls | 10 / 25 / 40 / 60 | ≤ 6e-14 px | 6e-14 / 1.3e-13 / 1.3e-13 / 1e-12 px | 3e-14 / 5e-14 / 1e-13 / 6e-13 ° | ≤ 3e-15 |
//!
//! Sequential impulses depend on the order in which the contacts are solved, and when the pusher and a wall
//! (or two walls, in a corner) touch the T together, Chipmunk's order changes from sub-step to sub-step: it is
//! the order in which its bounding-box trees report the pairs, which depends on the history of the trees
//! (leaves refitted and reinserted when a shape leaves its fattened box, cached pair lists). [`broadphase`]
//! replays that algorithm for these seven shapes, so the port solves the pairs in the reference's order at
//! every sub-step of the replay vectors (checked against the order recorded from the reference); solving
//! wall contacts first instead made a T squeezed against a wall part from the reference after ~25 steps
//! (35 px after 40).
//!
//! Coverage is the exact polygon intersection of the two Ts ([`coverage()`]): identical to the reference's
//! (shapely) to 5e-15 and about 0.5 µs a call instead of 180 µs. An environment step takes about 5 µs
//! (about 65× the reference's 3,000 steps/s on the same machine; `cargo bench -p si-pusht`; modelling the
//! broad phase costs about 1 µs of it).
//!
//! # Expert, evaluation, demonstrations
//! [`Expert`] plans pushes by simulating them ([`expert`]); [`evaluate`] runs any [`Policy`] on seeds
//! (the published protocol: [`TEST_SEEDS`], whose start states are the reference's own draws; [`eval`]);
//! [`Demonstrations`] is the file format of successful episodes and [`demos::collect`] gathers them;
//! [`labels`] labels any state with the expert's action path from it (DART, DAgger);
//! [`protocol`] names the four disjoint seed sets (training, validation, test, final);
//! [`diagnose`] measures where episodes end and how often the pusher stands still;
//! [`disturb`] displaces the block mid-episode (the robustness protocol); [`render`] draws frames, strips and GIFs.
//!
//! A learned policy plugs in through [`Policy`]; the crate has no learning code and links no
//! machine-learning framework.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

pub mod broadphase;
pub mod contact;
pub mod coverage;
pub mod demos;
pub mod diagnose;
pub mod disturb;
pub mod env;
pub mod error;
pub mod eval;
pub mod expert;
pub mod geometry;
pub mod labels;
pub mod physics;
pub mod protocol;
pub mod render;
mod tensors;
pub mod test_starts;
pub mod throughput;
#[cfg(feature = "zarr")]
pub mod zarr;

pub use coverage::{coverage, reward, SUCCESS_THRESHOLD};
pub use demos::{Collection, CollectionProgress, Demonstrations};
pub use diagnose::{EndMeans, EndSummary, EpisodeEnd, Pauses};
pub use disturb::{Displacement, DisplacementParams};
pub use env::{block_pose, Action, Info, Obs, PushT, Step, MAX_STEPS};
pub use error::PushTError;
pub use eval::{
    evaluate, run_episode, run_episode_displaced, run_seeds, summarise, Episode, Outcomes, Policy,
    Report, TEST_SEEDS,
};
pub use expert::{Expert, ExpertConfig, ExpertParams};
pub use geometry::{Pose, GOAL, V2};
pub use labels::{
    collect_dart, expert_path, label_episode, label_episode_tracking, Dart, DartSummary,
    LabelledStates, TrainingData,
};
pub use protocol::{Membership, SeedSet, Seeds, FINAL_SEEDS, TRAINING_SEEDS, VALIDATION_SEEDS};
