//! The reference Gaussian-mixture pairs of the figures and benchmarks (from si-analytic).

pub use si_analytic::reference::{pair_1d, pair_2d};
