//! `cargo xtask demos`: Push-T demonstrations of the scripted expert (si-pusht), written without libtorch.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use si_pusht::demos::{collect, Collection};
use si_pusht::{collect_dart, Dart, Expert, ExpertConfig, Pauses};

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
    /// DART: add Gaussian noise of this standard deviation (px) to every executed target and label each
    /// visited state with the expert's clean action path from it (writes expert-labelled states, every
    /// episode kept, failed ones too; `--n` counts episodes).
    #[arg(long)]
    pub noise: Option<f64>,
    /// The expert's settle tolerance (px): a push starts once the pusher is this close to its pre-contact
    /// point and this slow (si-pusht's `ExpertConfig::settle_tolerance`; default 0.3).
    #[arg(long)]
    pub settle: Option<f64>,
    /// How many of its best pushes the expert draws from (`ExpertConfig::top_k`; default 3). With 1 it
    /// takes the best push every time: the demonstrations' plans become a function of the state.
    #[arg(long)]
    pub top_k: Option<usize>,
    /// Standard deviation (px) of the noise on the expert's travel waypoints (`ExpertConfig::travel_noise`;
    /// default 2).
    #[arg(long)]
    pub travel_noise: Option<f64>,
    /// Standard deviation (px) of the noise on the expert's push targets (`ExpertConfig::push_noise`;
    /// default 0.5).
    #[arg(long)]
    pub push_noise: Option<f64>,
    /// DART: actions per label (the policy's T_pred, or more).
    #[arg(long, default_value_t = 16)]
    pub horizon: usize,
}

/// Writes demonstrations: successful expert episodes from training seeds disjoint from the test seeds.
pub fn write(args: &DemosArgs) -> Result<()> {
    if let Some(noise) = args.noise {
        return write_dart(args, noise);
    }
    let bar = progress(args.n, "demos")?;
    let collection = Collection {
        episodes: args.n,
        first_seed: args.seed,
        max_attempts_per_demo: args.max_attempts_per_demo,
    };
    let (demos, attempts) = collect(&mut expert(args)?, collection, |p| {
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

/// A progress bar of `n` `unit`s.
fn progress(n: usize, unit: &str) -> Result<ProgressBar> {
    let bar = ProgressBar::new(n as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{bar:40}} {{pos}}/{{len}} {unit} {{msg}} [{{elapsed_precise}} < {{eta_precise}}]"
        ))
        .context("progress template")?,
    );
    Ok(bar)
}

/// The expert `--settle`, `--top-k`, `--travel-noise` and `--push-noise` ask for (checked by
/// `ExpertConfig::check`).
fn expert(args: &DemosArgs) -> Result<Expert> {
    let mut cfg = ExpertConfig::default();
    if let Some(s) = args.settle {
        cfg.settle_tolerance = s;
    }
    if let Some(k) = args.top_k {
        cfg.top_k = k;
    }
    if let Some(sd) = args.travel_noise {
        cfg.travel_noise = sd;
    }
    if let Some(sd) = args.push_noise {
        cfg.push_noise = sd;
    }
    Ok(Expert::new(cfg)?)
}

/// Writes DART's expert-labelled states ([`collect_dart`]).
fn write_dart(args: &DemosArgs, noise: f64) -> Result<()> {
    println!(
        "DART: {} expert episodes from training seed {} with N(0, {noise}^2) px noise on every executed target, \
         each state labelled with the expert's clean path of {} actions",
        args.n, args.seed, args.horizon
    );
    let bar = progress(args.n, "episodes")?;
    let mut successes = 0usize;
    let (labels, summary) = collect_dart(
        &expert(args)?,
        Dart {
            episodes: args.n,
            first_seed: args.seed,
            noise,
            horizon: args.horizon,
        },
        |states, success| {
            successes += usize::from(success);
            bar.inc(1);
            bar.set_message(format!("({states} states, {successes} successes)"));
        },
    )?;
    bar.finish();
    labels.write(&args.out)?;
    println!(
        "wrote {}: {} labelled states from {} episodes (the noisy expert succeeded in {:.1} %)",
        args.out.display(),
        labels.len(),
        summary.episodes,
        100.0 * summary.successes as f64 / summary.episodes.max(1) as f64
    );
    Ok(())
}
