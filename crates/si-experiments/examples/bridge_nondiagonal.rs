//! The learned Schrödinger bridge between random non-diagonal Gaussians in d = 10 against the closed form
//! (docs/math.md §9, docs/results.md): relative errors of the mean, of Cov(X1) and of Cov(X0, X1), mean ±
//! standard error over three seeds, beside the floor of the same estimator on exact bridge samples.
//!
//! `cargo run --release -p si-experiments --features nn --example bridge_nondiagonal` (`-- --quick` for one seed,
//! `-- --forward-only` for every Markovian-fitting round forward, as before the rounds alternated).

use si_experiments::figures::coupling::bridge::{nondiagonal, table, BridgeSizes};

fn main() -> anyhow::Result<()> {
    si_report::init_logging();
    let quick = std::env::args().any(|a| a == "--quick");
    let mut sizes = BridgeSizes::new(quick);
    if std::env::args().any(|a| a == "--forward-only") {
        sizes = sizes.forward_rounds_only();
    }
    let rows = nondiagonal(&sizes)?;
    println!(
        "relative errors: |mean - mu1|/sqrt(d), ||Cov X1 - Sigma1||_F/||Sigma1||_F, ||Cov(X0, X1) - C||_F/||C||_F\n{}",
        table(&rows)
    );
    Ok(())
}
