//! Field models: hyper-parameters and the MLP.

mod config;
mod net;

pub use config::{Activation, Head, ModelConfig, ModelParams};
pub use net::{Context, FieldNet};
