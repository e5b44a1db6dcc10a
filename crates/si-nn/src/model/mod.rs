//! Field models: hyper-parameters (from si-model, shared with the host evaluator), the MLP and the U-Net.

mod net;
mod unet;

pub(crate) use net::init_weights;
pub use net::{Context, FieldNet};
pub use si_model::config::{Activation, Head, ModelConfig, ModelParams};
pub use si_model::UNetConfig;
pub(crate) use unet::{conv, linear};
