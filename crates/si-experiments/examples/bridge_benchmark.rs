//! DSBM's Gaussian benchmark for the learned Schrödinger bridge (figure 17's table; docs/results.md):
//! N(−0.1, I) → N(0.1, I), σ = 1, in the dimensions given (default 5, 20, 50), three seeds, mean ± standard
//! error of the mean, variance and cross-covariance errors per stage, with the floor of exact samples. Each
//! (d, seed) draws from its own seeds, so splitting the dimensions over processes gives the same rows.
//!
//! `cargo run --release -p si-experiments --features nn --example bridge_benchmark -- 5,20,50` (add
//! `--forward-only` for every Markovian-fitting round forward, as before the rounds alternated;
//! `--backward-network` for DSBM's second network in the backward rounds; `--sde-steps N` for N
//! Euler–Maruyama steps in every simulation, default 100; `--steps A,B` for A training steps on entropic
//! OT and B per round, default 1000,1500; `--seeds 10,11` to try settings on seeds other than the reported
//! 0, 1, 2; `--route-b` for route (b), the optimisation over the interpolant, instead of route (a);
//! anything else is refused)

use si_experiments::figures::coupling::bridge::{benchmark, table, BridgeSizes};
use si_experiments::figures::coupling::bridge_opt::benchmark_route_b;

fn main() -> anyhow::Result<()> {
    si_report::init_logging();
    let list = |s: &str| -> anyhow::Result<Vec<usize>> {
        Ok(s.split(',').map(str::parse).collect::<Result<_, _>>()?)
    };
    let mut sizes = BridgeSizes::new(false);
    let mut dims = None;
    let mut route_b = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))
        };
        match a.as_str() {
            "--route-b" => route_b = true,
            "--forward-only" => sizes = sizes.forward_rounds_only(),
            "--backward-network" => sizes = sizes.with_backward_network(),
            "--sde-steps" => sizes = sizes.with_sde_steps(value()?.parse()?),
            "--steps" => match list(&value()?)?.as_slice() {
                [a, b] => sizes = sizes.with_training_steps(*a, *b),
                _ => anyhow::bail!("--steps A,B: training steps on entropic OT and per round"),
            },
            "--seeds" => {
                let v = value()?;
                sizes = sizes.with_seeds(list(&v)?.into_iter().map(|s| s as u64).collect());
            }
            flag if flag.starts_with("--") => anyhow::bail!("unknown option {flag}"),
            d if dims.is_none() => dims = Some(list(d)?),
            other => anyhow::bail!("unexpected argument {other} (the dimensions are given once)"),
        }
    }
    let sizes = sizes.with_dims(dims.unwrap_or_else(|| vec![5, 20, 50]));
    let rows = if route_b {
        benchmark_route_b(&sizes)?
    } else {
        benchmark(&sizes)?
    };
    println!("{}", table(&rows));
    Ok(())
}
