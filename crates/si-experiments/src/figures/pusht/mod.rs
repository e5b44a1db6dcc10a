//! Figures 14–15 (docs/figures.md part E): the streaming policy's wine glass, and Push-T (the scripted
//! expert on the host; the learned policies with the feature `nn`).

pub mod expert;
#[cfg(feature = "nn")]
pub mod policies;
#[cfg(feature = "nn")]
pub mod wine;
