//! The exact oracle of the demonstrations (a kernel-smoothed lookup, `DemoOracle`) as a streaming policy:
//! `cargo run --release -p si-robot --example stream_oracle -- DEMOS.safetensors [BANDWIDTH] [N_SEEDS]`.
//! Prints its score on the demonstrations' own seeds (where it can replay them) and on the test seeds.

use si_pusht::{evaluate, Demonstrations, TEST_SEEDS};
use si_robot::{
    windows, DemoOracle, StreamingConfig, StreamingPolicy, TubeConfig, TubeExponential,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let demos = Demonstrations::read(std::path::Path::new(
        args.get(1).ok_or("usage: DEMOS [h] [n]")?,
    ))?;
    let h: f64 = args.get(2).map_or(Ok(0.02), |s| s.parse())?;
    let n: usize = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let tube = TubeConfig::default().check()?;
    let oracle = DemoOracle::new(windows(&demos, tube.horizon())?, tube, h)?;
    for (name, seeds) in [
        (
            "training seeds",
            demos.seeds.iter().copied().take(n).collect::<Vec<_>>(),
        ),
        ("test seeds", TEST_SEEDS.take(n).collect()),
    ] {
        let mut p = StreamingPolicy::new(
            &oracle,
            TubeExponential::new(tube, 0.0)?,
            StreamingConfig::default().check(tube)?,
        )?;
        let t0 = std::time::Instant::now();
        let r = evaluate(&mut p, seeds.iter().copied())?;
        println!(
            "{name}: {} episodes, mean score {:.3}, success {:.0} %, latency {:.0} us, {:.1} s",
            seeds.len(),
            r.mean_score,
            100.0 * r.success_rate,
            r.mean_latency.as_secs_f64() * 1e6,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
