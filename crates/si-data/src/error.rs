//! Typed errors of `si-data`.

use std::path::PathBuf;

use thiserror::Error;

/// Every error that `si-data` reports: bad files come back as one of these, never as a panic.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DataError {
    /// A data file cannot be used (wrong dtype, shape, non-finite values, not a .npy file).
    #[error("bad data file {path}: {reason}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file-system error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An error of the core types (shapes, non-finite points).
    #[error(transparent)]
    Core(#[from] si_core::CoreError),
}

impl DataError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// Result alias for `si-data`.
pub type Result<T> = std::result::Result<T, DataError>;
