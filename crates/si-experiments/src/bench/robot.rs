//! Push-T: the environment step and the coverage beside the reference simulator (gym-pusht on pymunk,
//! shapely).

use anyhow::Result;

/// Prints the environment's steps per second and the coverage's time per call beside the reference's.
pub fn run(quick: bool) -> Result<()> {
    const REF_STEPS_PER_S: f64 = 3_000.0;
    const REF_COVERAGE_US: f64 = 180.0;
    let (n_steps, n_cov) = if quick {
        (20_000, 200_000)
    } else {
        (200_000, 2_000_000)
    };
    let steps_per_s = si_pusht::throughput::env_steps_per_second(n_steps, 0)?;
    let cov_us = si_pusht::throughput::coverage_micros(n_cov, 0);
    println!(
        "push-t env steps/s (random targets within 60 px of the block, one thread): {steps_per_s:>10.0}   reference (gym-pusht 0.1.8): {REF_STEPS_PER_S:>6.0}   ratio {:>6.1}x",
        steps_per_s / REF_STEPS_PER_S
    );
    println!(
        "push-t coverage (overlapping poses near the goal), us/call:            {cov_us:>10.3}   reference (shapely):         {REF_COVERAGE_US:>6.0}   ratio {:>6.0}x",
        REF_COVERAGE_US / cov_us
    );
    Ok(())
}
