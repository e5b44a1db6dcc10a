//! Field models: hyper-parameters (from si-model, shared with the host evaluator) and the MLP.

mod net;

pub use net::{Context, FieldNet};
pub use si_model::config::{Activation, Head, ModelConfig, ModelParams};
