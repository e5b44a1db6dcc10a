//! Typed errors of the Push-T simulator.

use std::path::PathBuf;

/// Everything that can go wrong at the public boundary of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushTError {
    /// An action (target position) had a NaN or infinite coordinate; the state was left unchanged.
    #[error("action ({x}, {y}) is not finite")]
    NonFiniteAction {
        /// Target x.
        x: f64,
        /// Target y.
        y: f64,
    },
    /// A state given to `reset_to` had a NaN or infinite entry.
    #[error("state entry {index} = {value} is not finite")]
    NonFiniteState {
        /// Position in `[agent_x, agent_y, block_x, block_y, block_angle]`.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// `step` was called on an episode that already reached its step limit.
    #[error("the episode is over ({steps} steps taken, limit {limit})")]
    EpisodeOver {
        /// Steps taken.
        steps: usize,
        /// The limit.
        limit: usize,
    },
    /// A policy failed to produce an action.
    #[error("policy failed: {0}")]
    Policy(String),
    /// Arrays of a demonstration set disagree in length.
    #[error("demonstration arrays disagree: {0}")]
    Demonstrations(String),
    /// A setting (expert configuration, image size, frame delay) is outside its valid range; nothing was done.
    #[error("invalid parameter `{name}` = {value}: {reason}")]
    InvalidParameter {
        /// Name of the setting.
        name: &'static str,
        /// The value that was given.
        value: String,
        /// What a valid value is.
        reason: &'static str,
    },
    /// A demonstration collection ran out of attempts before it had the episodes it was asked for.
    #[error("only {successes} successes in {attempts} episodes")]
    TooFewSuccesses {
        /// Successful episodes collected.
        successes: usize,
        /// Episodes run.
        attempts: usize,
    },
    /// Rendering failed.
    #[error("rendering failed: {0}")]
    Render(String),
    /// A zarr store (Diffusion Policy's replay buffer) could not be read: it is not a directory, an array is
    /// missing or has another data type or shape, its metadata is malformed, or a chunk is missing or fails to
    /// decode.
    #[error("zarr store {0}")]
    Zarr(String),
    /// Reading or writing a file failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file could not be written atomically.
    #[error(transparent)]
    Data(#[from] si_data::DataError),
}
