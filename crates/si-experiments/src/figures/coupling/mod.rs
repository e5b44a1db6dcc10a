//! Figures 11–12 (docs/figures.md part C): couplings and rectification.

#[cfg(feature = "nn")]
pub mod bridge;
#[cfg(feature = "nn")]
pub mod bridge_opt;
#[cfg(feature = "nn")]
pub mod reflow;
