//! Host inference of si-nn field models, without libtorch.
//!
//! A robot policy asks its field for one point at a time, where a framework's per-call overhead (tensor
//! creation, dispatch, a kernel launch per layer) costs more than the arithmetic of a small MLP. [`HostNet`]
//! reads an si-nn checkpoint (safetensors; the `si_nn` metadata names the architecture) and evaluates the
//! same network in plain Rust, in f32 as the weights are stored:
//!
//! ```text
//! input  = (x, t, sin(πkt), cos(πkt) for k = 1..K, c·m, m)     (m = 1: the context is given)
//! hidden = act(W_l h + b_l), l = 0..depth−1;   output = W_depth h + b_depth
//! ```
//!
//! with one output slice of d per head on a shared trunk, or one MLP per head. The EMA weights (`ema.`)
//! are used when the checkpoint has them, as si-nn's loader does. Agreement with si-nn's own forward is
//! tested in si-nn (`tests/host_parity.rs`).
//!
//! [`HostNet`] is a [`ConditionalField`] on host [`Points`] (and, for a model without context, a
//! [`Field`] through [`HostNet::unconditional`]): b, s, η and v are the heads the model has. With a shared
//! trunk one forward gives every head; the last forward is cached, so b and η at the same (t, x) (an
//! exponential or Heun-type step) cost one pass.
#![warn(missing_docs)]

mod net;

pub use net::{HostField, HostNet, MlpError};

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
