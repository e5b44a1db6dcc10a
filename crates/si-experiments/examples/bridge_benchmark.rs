//! DSBM's Gaussian benchmark for the learned Schrödinger bridge (figure 17's table; docs/results.md):
//! N(−0.1, I) → N(0.1, I), σ = 1, in the dimensions given (default 5, 20, 50), three seeds, mean ± standard
//! error of the mean, variance and cross-covariance errors per stage, with the floor of exact samples. Each
//! (d, seed) draws from its own seeds, so splitting the dimensions over processes gives the same rows.
//!
//! `cargo run --release -p si-experiments --features nn --example bridge_benchmark -- 5,20,50` (add
//! `--forward-only` for every Markovian-fitting round forward, as before the rounds alternated)

use si_experiments::figures::coupling::bridge::{benchmark, table, BridgeSizes};

fn main() -> anyhow::Result<()> {
    si_report::init_logging();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let forward_only = args.iter().any(|a| a == "--forward-only");
    let dims: Vec<usize> = match args.iter().find(|a| !a.starts_with("--")) {
        Some(a) => a.split(',').map(str::parse).collect::<Result<_, _>>()?,
        None => vec![5, 20, 50],
    };
    let mut sizes = BridgeSizes::new(false).with_dims(dims);
    if forward_only {
        sizes = sizes.forward_rounds_only();
    }
    let rows = benchmark(&sizes)?;
    println!("{}", table(&rows));
    Ok(())
}
