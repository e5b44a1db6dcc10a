//! The field model of si-rs without libtorch: its configuration, its checkpoint format, and its evaluation
//! on the host.
//!
//! - [`config`]: [`ModelConfig`] (the architecture, as serde writes it into a checkpoint) and its checked form
//!   [`ModelParams`], with [`Activation`] and [`Head`]. si-nn builds its libtorch model from the same type,
//!   so a field added to [`ModelConfig`] is read the same on the host and on the device: both parse the one
//!   serde type, with no second hand-written reader to fall out of step.
//! - [`format`](mod@format): the checkpoint's metadata key, format tags, tensor names and the typed parse of the model
//!   part of the metadata; si-nn writes and reads checkpoints through it.
//! - [`HostNet`]: the checkpoint's network evaluated in plain Rust.
//!
//! A robot policy asks its field for one point at a time, where a framework's per-call overhead (tensor
//! creation, dispatch, a kernel launch per layer) costs more than the arithmetic of a small MLP. [`HostNet`]
//! reads an si-nn checkpoint (safetensors; the `si_nn` metadata holds the [`ModelConfig`]) and evaluates the
//! same network in plain Rust, in f32 as the weights are stored:
//!
//! ```text
//! input  = (x, t, sin(πkt) for k = 1..K, cos(πkt) for k = 1..K, [frac(T t)], c·m, m)   (m = 1: context given)
//! hidden = act(W_l h + b_l), l = 0..depth−1;   output = W_depth h + b_depth
//! ```
//!
//! (docs/math.md §7; the phase frac(T t) only when `time_segments` = T > 0, c and m only for a conditional
//! model) with one output slice of d per head on a shared trunk, or one MLP per head; act is ReLU, SiLU or
//! tanh (a model with another activation is [`ModelError::UnsupportedActivation`]). The EMA weights (`ema.`)
//! are used when the checkpoint has them, as si-nn's loader does. Agreement with si-nn's own forward is
//! tested in si-nn (`tests/model_roundtrip.rs`: every config field) and in si-cli (`tests/host_parity.rs`:
//! the streaming policy's models).
//!
//! [`HostNet`] is a [`ConditionalField`] on host [`Points`] (and, for a model without context, a
//! [`Field`] through [`HostNet::unconditional`]): b, s, η and v are the heads the model has. With a shared
//! trunk one forward gives every head; the last forward is cached, so b and η at the same (t, x) (an
//! exponential or Heun-type step) cost one pass.
#![warn(missing_docs)]

pub mod config;
mod error;
pub mod format;
mod net;
pub mod unet;

pub use config::{Activation, Head, ModelConfig, ModelParams};
pub use error::{ModelError, Result};
pub use net::{HostField, HostNet};
pub use unet::UNetConfig;

use si_core::{ConditionalField, Field, Points};

/// Compile-time check that the types implement the core traits.
#[allow(dead_code)]
fn _traits(n: &HostNet) {
    fn cf<T: ConditionalField<Points>>(_: &T) {}
    fn f<T: Field<Points>>(_: &T) {}
    cf(n);
    if let Ok(u) = n.unconditional() {
        f(&u);
    }
}
