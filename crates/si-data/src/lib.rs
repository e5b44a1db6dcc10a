//! # si-data
//!
//! Host data for stochastic interpolants, without libtorch: `.npy` files of N × d points ([`npy`]), a data
//! set of rows with optional class labels that draws training pairs ([`ArrayData`]), and atomic file writes
//! ([`write_atomic`]) used by every crate that writes files (checkpoints, demonstrations, figures).
#![warn(missing_docs)]
#![deny(clippy::float_cmp)]

mod array;
mod atomic;
pub mod digits;
mod error;
pub mod npy;

pub use array::{one_hot, ArrayData};
pub use atomic::{temporary_sibling, write_atomic, write_atomic_with};
pub use error::{DataError, Result};
