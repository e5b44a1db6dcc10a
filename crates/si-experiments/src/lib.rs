//! The experiments of si-rs: every figure of docs/figures.md ([`figures`]) and the benchmarks beside the
//! Python references. An application of the libraries, kept apart from them: the `si-experiments` binary
//! is what `cargo xtask reproduce-figures` and `cargo xtask bench` run.
//!
//! Without the feature `nn` it makes what needs no libtorch (figures 1–4 and the scripted expert's part of
//! figure 15); with it, also the learned-field figures 5–15.

pub mod bench;
pub mod figures;

#[cfg(feature = "nn")]
pub mod experiment;
