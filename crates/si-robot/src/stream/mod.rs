//! The streaming trajectory policy as a stochastic interpolant (docs/math.md §7): the tube around
//! demonstrated action paths ([`tube`], [`windows`](mod@windows)), its regression source ([`source`]), the exact
//! fields of a finite set of paths ([`oracle`]), one-step-per-action integrators ([`step`]), the
//! policy that streams them ([`policy`]), and the chunked baseline built from the same parts ([`chunk`]). Generic over fields: a learned model plugs in from outside
//! (this crate never links libtorch).

pub mod chunk;
pub mod oracle;
pub mod policy;
pub mod source;
pub mod step;
pub mod tube;
pub mod windows;

pub use chunk::{ChunkPairs, ChunkedConfig, ChunkedPolicy};
pub use oracle::{DemoOracle, TubeMixture};
pub use policy::{StreamingConfig, StreamingPolicy};
pub use source::TubeSource;
pub use step::{TubeEulerMaruyama, TubeExponential};
pub use tube::{ActionPath, Tube, TubeConfig};
pub use windows::{
    context_point, decode_action, encode_action, encode_context, encode_obs, windows, Window,
    CONTEXT_DIM, OBS_DIM,
};
