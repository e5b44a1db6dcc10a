//! Push-T: demonstrations, expert figures and the environment benchmark (si-robot).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use si_robot::expert::training_seeds;
use si_robot::render::{episode_frames, episode_gif, strip_png};
use si_robot::{evaluate, run_episode, Demonstrations, Expert, MAX_STEPS, TEST_SEEDS};

use si_report::FigureEntry;

/// Arguments of `cargo xtask demos`.
#[derive(clap::Args)]
pub struct DemosArgs {
    /// Number of successful episodes to write.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Output file (safetensors: obs [N,5], action [N,2], episode_ends [E], seeds [E]).
    #[arg(long, default_value = "pusht_demos.safetensors")]
    pub out: PathBuf,
    /// First training seed (the test seeds 100000..100049 are always skipped).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Give up after this many episodes per requested demonstration.
    #[arg(long, default_value_t = 3)]
    pub max_attempts_per_demo: usize,
}

/// Writes demonstrations: successful expert episodes from training seeds disjoint from the test seeds.
pub fn demos(args: &DemosArgs) -> Result<()> {
    let bar = ProgressBar::new(args.n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} demos {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .context("progress template")?,
    );
    let mut expert = Expert::default();
    let mut demos = Demonstrations::default();
    let mut attempts = 0usize;
    let limit = args.n.saturating_mul(args.max_attempts_per_demo.max(1));
    for seed in training_seeds(args.seed) {
        if demos.episodes() >= args.n {
            break;
        }
        anyhow::ensure!(
            attempts < limit,
            "only {} successes in {attempts} episodes",
            demos.episodes()
        );
        attempts += 1;
        let ep = run_episode(&mut expert, seed, MAX_STEPS)?;
        if ep.success {
            demos.push_episode(&ep)?;
            bar.inc(1);
        }
        bar.set_message(format!("({attempts} episodes, {} steps)", demos.obs.len()));
    }
    bar.finish();
    demos.write(&args.out)?;
    println!(
        "wrote {}: {} episodes, {} steps (success rate of the expert on these seeds {:.1} %)",
        args.out.display(),
        demos.episodes(),
        demos.obs.len(),
        100.0 * demos.episodes() as f64 / attempts.max(1) as f64
    );
    Ok(())
}
