//! The streaming trajectory policy (docs/math.md §7) on the Push-T simulator ([`si_pusht`]).
//!
//! The policy learns the demonstrated action paths as a stochastic interpolant, a tube
//! x_t = ξ(t) + σ_t z around each path ([`tube`]), and streams one integration step per action
//! ([`StreamingPolicy`]), ODE or SDE. The parts:
//!
//! * [`encode`]: the observation encoder (positions normalised to the arena, the goal offsets, the pusher
//!   in the block's frame; a context is the last two observations);
//! * [`windows`](mod@windows): training windows cut from demonstrations or expert-labelled states, a context
//!   and the path that followed;
//! * [`tube`]: the tube's width σ_t = σ0 e^{−kt} and the paths it surrounds;
//! * [`source`]: the regression targets of b and η drawn from the windows;
//! * [`oracle`]: the exact fields of a finite set of paths (no learning);
//! * [`step`]: one-step-per-action integrators of the tube's SDE;
//! * [`streaming`]: the policy that streams them;
//! * [`chunked`]: the chunked baseline — Diffusion Policy's horizons with an MLP flow-matching sampler (not
//!   its 1-D U-Net) — built from the same parts;
//! * [`recipe`]: the policy kinds, the sidecar written beside a checkpoint, loading a trained policy and
//!   building the evaluated policy by name;
//! * [`tuning`]: λ chosen in code on the validation seeds, kept in the sidecar;
//! * [`dagger`](mod@dagger): the states a trained policy visits, labelled by the expert (DAgger's data);
//! * `training` (feature `nn`): the policy's model trained with si-nn, the checkpoint and sidecar written.
//!
//! Generic over fields: the exact oracle, the host evaluator of a trained model and any other
//! [`ConditionalField`](si_core::ConditionalField) run through the same code. Without its feature `nn`
//! this crate links no machine-learning framework.
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

mod choices;
pub mod chunked;
pub mod dagger;
pub mod encode;
pub mod error;
pub mod oracle;
pub mod recipe;
pub mod source;
pub mod step;
pub mod streaming;
#[cfg(feature = "nn")]
pub mod training;
pub mod tube;
pub mod tuning;
pub mod windows;

pub use chunked::{ChunkPairs, ChunkedConfig, ChunkedParams, ChunkedPolicy};
pub use dagger::{dagger_labels, Labeller};
pub use encode::{
    context_point, decode_action, encode_action, encode_context, encode_obs, mixed_context,
    CONTEXT_DIM, OBS_DIM,
};
pub use error::RobotError;
pub use oracle::{DemoOracle, TubeMixture};
pub use recipe::{
    LabelledPolicy, PolicyKind, PolicyMeta, PolicySettings, StepperChoice, TrainedPolicy,
};
pub use source::{LiveLinks, TubeSource};
pub use step::{TubeEulerMaruyama, TubeExponential, TubeStep};
pub use streaming::{ContextMode, Readout, StreamingConfig, StreamingParams, StreamingPolicy};
pub use tube::{ActionPath, Tube, TubeConfig};
pub use tuning::{choose_by, sweep_grid, Criterion, SweepRow, Tuning};
pub use windows::{data_windows, histories, labelled_windows, successors, windows, Window};
