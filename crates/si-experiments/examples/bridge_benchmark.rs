//! DSBM's Gaussian benchmark for the learned Schrödinger bridge (figure 17's table; docs/results.md):
//! N(−0.1, I) → N(0.1, I), σ = 1, in the dimensions given (default 5, 20, 50), three seeds, mean ± standard
//! error of the mean, variance and cross-covariance errors per stage, with the floor of exact samples. Each
//! (d, seed) draws from its own seeds, so splitting the dimensions over processes gives the same rows.
//!
//! `cargo run --release -p si-experiments --features nn --example bridge_benchmark -- 5,20,50`

use si_experiments::figures::coupling::bridge::{benchmark, table, BridgeSizes};

fn main() -> anyhow::Result<()> {
    si_report::init_logging();
    let dims: Vec<usize> = match std::env::args().nth(1) {
        Some(a) => a.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![5, 20, 50],
    };
    let rows = benchmark(&BridgeSizes::new(false).with_dims(dims))?;
    println!("{}", table(&rows));
    Ok(())
}
