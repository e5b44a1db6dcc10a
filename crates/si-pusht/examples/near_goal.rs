//! The near-goal part of a file of expert-labelled states (si-pusht's `LabelledStates`): the states whose
//! observation has coverage above a threshold, written to a new file. Passing it to `si policy train --demos`
//! beside the whole file counts those states twice: a way to weight the last approach in training.
//!
//! `cargo run --release -p si-pusht --example near_goal -- IN OUT [COVERAGE]` (default coverage 0.8, the
//! threshold of the pauses' "near the goal").
use std::path::PathBuf;

use si_pusht::diagnose::NEAR_GOAL_COVERAGE;
use si_pusht::TrainingData;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = PathBuf::from(args.next().ok_or("usage: IN OUT [COVERAGE]")?);
    let output = PathBuf::from(args.next().ok_or("usage: IN OUT [COVERAGE]")?);
    let threshold: f64 = args.next().map_or(Ok(NEAR_GOAL_COVERAGE), |s| s.parse())?;
    let TrainingData::Labelled(all) = TrainingData::read(&input)? else {
        return Err("IN holds demonstrations, not labelled states".into());
    };
    let near = all.near_goal(threshold);
    near.write(&output)?;
    println!(
        "wrote {}: {} of {} states with coverage above {threshold}",
        output.display(),
        near.len(),
        all.len()
    );
    Ok(())
}
