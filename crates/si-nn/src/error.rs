//! Typed errors of `si-nn`.

use std::path::PathBuf;

use thiserror::Error;

/// Every error that `si-nn` reports at its public boundary. Bad user input (hyper-parameters, data files,
/// checkpoints) comes back as one of these, never as a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NnError {
    /// A hyper-parameter is out of range.
    #[error("invalid hyper-parameter `{name}`: {reason}")]
    InvalidHyperParameter {
        /// Its name.
        name: &'static str,
        /// Why it is rejected (with the value).
        reason: String,
    },
    /// The model configuration is out of range, or a name does not parse (si-model's error, message
    /// unchanged: `invalid hyper-parameter ...`).
    #[error(transparent)]
    Model(#[from] si_model::ModelError),
    /// A data file cannot be used (wrong dtype, shape, non-finite values, not a .npy file).
    #[error("bad data file {path}: {reason}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A checkpoint is missing tensors, has the wrong shapes or cannot be parsed.
    #[error("bad checkpoint {path}: {reason}")]
    BadCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Shapes disagree (model dimension against data, context size, ...).
    #[error("shape mismatch: expected {expected}, got {got}")]
    Shape {
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        got: String,
    },
    /// The model was asked for a field it has no head for.
    #[error("the model has no head for {0}")]
    MissingHead(&'static str),
    /// Training produced a non-finite loss.
    #[error("non-finite loss at step {step}")]
    NonFiniteLoss {
        /// The step.
        step: usize,
    },
    /// A libtorch error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// An error of the core traits.
    #[error(transparent)]
    Core(#[from] si_core::CoreError),
    /// A data-file error.
    #[error(transparent)]
    Data(#[from] si_data::DataError),
    /// An error of the integrators.
    #[error(transparent)]
    Integrate(#[from] si_integrate::IntegrateError),
    /// A file-system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl NnError {
    pub(crate) fn hyper(name: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidHyperParameter {
            name,
            reason: reason.into(),
        }
    }
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<NnError> for si_core::CoreError {
    fn from(e: NnError) -> Self {
        match e {
            NnError::Core(c) => c,
            other => si_core::CoreError::Backend(other.to_string()),
        }
    }
}

/// Result alias for `si-nn`.
pub type Result<T> = std::result::Result<T, NnError>;

/// Maps a tch error into the core error type (for the `Field` and `Batch` implementations).
pub(crate) fn backend(e: tch::TchError) -> si_core::CoreError {
    si_core::CoreError::Backend(e.to_string())
}
