//! `cargo xtask bench`: throughput beside the Python references. The xtask installs the Python anchors
//! into the cache folder; `si-experiments bench` measures.

use anyhow::{bail, Result};

/// The parts, in the order they run.
const PARTS: [&str; 5] = ["fields", "ode", "ot", "robot", "nn"];

/// Runs the benchmarks in `only` (every one when empty): fields, ode, ot, robot, nn.
pub fn run(quick: bool, only: &[String]) -> Result<()> {
    if let Some(bad) = only.iter().find(|o| !PARTS.contains(&o.as_str())) {
        bail!("unknown bench part `{bad}`; expected one of {}", PARTS.join(", "));
    }
    let want = |part: &str| only.is_empty() || only.iter().any(|o| o == part);
    if want("ode") {
        crate::ode_bench::run(quick)?;
    }
    if want("ot") {
        crate::ot_bench::run(quick)?;
    }
    let forwarded: Vec<&str> = ["fields", "robot", "nn"]
        .into_iter()
        .filter(|p| want(p))
        .collect();
    if !forwarded.is_empty() {
        crate::nn::bench(quick, &forwarded)?;
    }
    Ok(())
}
