//! Typed errors of the streaming trajectory policy.

use std::path::PathBuf;

use si_pusht::PushTError;

/// Everything that can go wrong at the public boundary of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RobotError {
    /// A setting (tube, policy, stepper, oracle) is outside its valid range; nothing was done.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Name of the setting.
        name: &'static str,
        /// The value that was given.
        value: String,
        /// What a valid value is.
        reason: &'static str,
    },
    /// Demonstrations or training windows cannot be used (none, or of mixed horizons).
    #[error("demonstrations: {0}")]
    Demonstrations(String),
    /// The policy could not produce an action.
    #[error("policy failed: {0}")]
    Policy(String),
    /// A checkpoint is not a model of the kind its sidecar names (dimension or context size).
    #[error("{path} is not a Push-T {kind} policy (dimension {dim}, context {context_dim})")]
    NotAPolicy {
        /// The checkpoint.
        path: PathBuf,
        /// The kind its sidecar names.
        kind: String,
        /// The model's dimension.
        dim: usize,
        /// The model's context size.
        context_dim: usize,
    },
    /// The settings file beside a checkpoint could not be parsed or written.
    #[error("policy settings {path}: {reason}")]
    Sidecar {
        /// The settings file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A choice (λ, …) was asked to be made on seeds outside the validation set (test or final seeds are
    /// reported, never chosen on).
    #[error("choices are made on validation seeds only, not on {seeds}")]
    NotValidationSeeds {
        /// Which sets the seeds fall in (si-pusht's `Membership`, in words).
        seeds: String,
    },
    /// Reading a file failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The simulator refused an action, a state or the demonstrations.
    #[error(transparent)]
    PushT(#[from] PushTError),
    /// A file could not be written atomically.
    #[error(transparent)]
    Data(#[from] si_data::DataError),
    /// A field or batch failed.
    #[error(transparent)]
    Core(#[from] si_core::CoreError),
    /// An integration step failed.
    #[error(transparent)]
    Integrate(#[from] si_integrate::IntegrateError),
    /// A checkpoint could not be read into the host evaluator.
    #[error(transparent)]
    Model(#[from] si_model::ModelError),
    /// Training the policy's model failed (feature `nn`).
    #[cfg(feature = "nn")]
    #[error(transparent)]
    Nn(#[from] si_nn::NnError),
}

/// A policy's error as the simulator's evaluator reports it: the simulator's own errors as they are, the
/// others as [`PushTError::Policy`] with their message.
impl From<RobotError> for PushTError {
    fn from(e: RobotError) -> Self {
        match e {
            RobotError::PushT(e) => e,
            other => PushTError::Policy(other.to_string()),
        }
    }
}
