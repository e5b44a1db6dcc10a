//! `cargo xtask demos`: Push-T demonstrations of the scripted expert (si-pusht), written without libtorch.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use si_pusht::demos::{collect, Collection};
use si_pusht::{Expert, Pauses};

/// Arguments of `cargo xtask demos`.
#[derive(clap::Args)]
pub struct DemosArgs {
    /// Number of successful episodes to write.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Output file (safetensors: obs N × 5, action N × 2, episode_ends and seeds E each).
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
pub fn write(args: &DemosArgs) -> Result<()> {
    let bar = ProgressBar::new(args.n as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} demos {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .context("progress template")?,
    );
    let collection = Collection {
        episodes: args.n,
        first_seed: args.seed,
        max_attempts_per_demo: args.max_attempts_per_demo,
    };
    let (demos, attempts) = collect(&mut Expert::default(), collection, |p| {
        if p.success {
            bar.inc(1);
        }
        bar.set_message(format!("({} episodes, {} steps)", p.attempts, p.steps));
    })?;
    bar.finish();
    demos.write(&args.out)?;
    println!(
        "wrote {}: {} episodes, {} steps (success rate of the expert on these seeds {:.1} %)",
        args.out.display(),
        demos.episodes(),
        demos.obs.len(),
        100.0 * demos.episodes() as f64 / attempts.max(1) as f64
    );
    println!("{}", Pauses::of(&demos)?);
    Ok(())
}
