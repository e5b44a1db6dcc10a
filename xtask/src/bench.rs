//! `cargo xtask bench`: throughput beside the Python references.

use anyhow::Result;

/// Runs every benchmark.
pub fn run(quick: bool) -> Result<()> {
    crate::robot::bench(quick)?;
    crate::nn::bench(quick)
}
