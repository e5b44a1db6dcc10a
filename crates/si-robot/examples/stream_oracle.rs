//! The exact oracle of the training data (a kernel-smoothed lookup, `DemoOracle`) as a streaming policy:
//! `cargo run --release -p si-robot --example stream_oracle -- FILES [BANDWIDTH] [N_SEEDS] [LAMBDA]`, FILES
//! comma-separated demonstrations or expert-labelled states (si-pusht's `TrainingData`). Prints its score on
//! the first demonstrations' own seeds (where it can replay them) and on the first N validation seeds.

use std::path::PathBuf;

use si_pusht::{evaluate, TrainingData, VALIDATION_SEEDS};
use si_robot::{
    data_windows, DemoOracle, StreamingConfig, StreamingPolicy, TubeConfig, TubeExponential,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let files: Vec<PathBuf> = args
        .get(1)
        .ok_or("usage: FILES [h] [n] [lambda]")?
        .split(',')
        .map(PathBuf::from)
        .collect();
    let h: f64 = args.get(2).map_or(Ok(0.02), |s| s.parse())?;
    let n: usize = args.get(3).map_or(Ok(10), |s| s.parse())?;
    let lambda: f64 = args.get(4).map_or(Ok(0.0), |s| s.parse())?;
    // the tube the lookup was measured with (docs/results.md)
    let tube = TubeConfig {
        sigma0: 0.05,
        ..TubeConfig::default()
    }
    .check()?;
    let mut windows = Vec::new();
    let mut demo_seeds = Vec::new();
    for f in &files {
        let data = TrainingData::read(f)?;
        if let TrainingData::Demos(d) = &data {
            demo_seeds.extend(d.seeds.iter().copied());
        }
        windows.extend(data_windows(&data, tube.horizon())?);
    }
    let oracle = DemoOracle::new(windows, tube, h)?;
    for (name, seeds) in [
        (
            "demonstrations' seeds",
            demo_seeds.into_iter().take(n).collect::<Vec<_>>(),
        ),
        (
            "validation seeds",
            VALIDATION_SEEDS[0].clone().take(n).collect(),
        ),
    ] {
        if seeds.is_empty() {
            continue;
        }
        let mut p = StreamingPolicy::new(
            &oracle,
            TubeExponential::new(tube, lambda)?,
            StreamingConfig::default().check(tube)?,
        )?;
        let t0 = std::time::Instant::now();
        let r = evaluate(&mut p, seeds.iter().copied())?;
        println!(
            "{name}: {} episodes, lambda {lambda}, mean score {:.3}, success {:.0} %, latency {:.0} us, {:.1} s",
            seeds.len(),
            r.mean_score,
            100.0 * r.success_rate,
            r.mean_latency.as_secs_f64() * 1e6,
            t0.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
