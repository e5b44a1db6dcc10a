//! The typed error of `si-model`.

use std::path::PathBuf;

use crate::config::Activation;

/// Every error that `si-model` reports: a model configuration out of range, or a checkpoint that cannot be
/// read, is not in a format this version reads, or describes a model the host cannot evaluate. Bad input
/// comes back as one of these, never as a panic.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A hyper-parameter of the model is out of range (or a name does not parse).
    #[error("invalid hyper-parameter `{name}`: {reason}")]
    InvalidHyperParameter {
        /// Its name (the [`ModelConfig`](crate::ModelConfig) field).
        name: &'static str,
        /// Why it is rejected (with the value).
        reason: String,
    },
    /// A checkpoint file could not be read.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The checkpoint's metadata names a format this version does not read.
    #[error(
        "checkpoint format {found}; this version reads {} and {}",
        crate::format::FORMAT,
        crate::format::FORMAT_V1
    )]
    Format {
        /// The format tag found (`(none)` when there is none).
        found: String,
    },
    /// The file is not an si-nn checkpoint (no metadata, unparsable JSON, missing or misshapen tensors).
    #[error("bad checkpoint: {0}")]
    BadCheckpoint(String),
    /// The model uses an activation the host evaluator does not implement.
    #[error("activation {0:?} is not supported on the host (Relu, Silu and Tanh are)")]
    UnsupportedActivation(Activation),
    /// The model is not an MLP (a U-Net): the host evaluator runs MLPs only.
    #[error("the host evaluator runs MLPs only; this checkpoint's model is a U-Net (evaluate it with si-nn)")]
    UnsupportedArchitecture,
}

impl ModelError {
    pub(crate) fn hyper(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidHyperParameter {
            name,
            reason: reason.into(),
        }
    }
    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        Self::BadCheckpoint(reason.into())
    }
}

/// Result alias for `si-model`.
pub type Result<T> = std::result::Result<T, ModelError>;
