//! Typed errors of `si-report`.

use thiserror::Error;

/// A figure or index could not be written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReportError {
    /// plotters failed (drawing or encoding).
    #[error("plotting: {0}")]
    Plot(String),
    /// The drawing code of a figure failed.
    #[error("drawing: {0}")]
    Draw(DrawError),
    /// A file could not be written.
    #[error(transparent)]
    Data(#[from] si_data::DataError),
    /// The index could not be serialised.
    #[error("figure index: {0}")]
    Json(#[from] serde_json::Error),
}

/// Any error of a figure's drawing code.
pub type DrawError = Box<dyn std::error::Error + Send + Sync>;

/// Result alias for `si-report`.
pub type Result<T> = std::result::Result<T, ReportError>;
