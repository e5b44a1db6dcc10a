//! Push-T: demonstrations, expert figures and the environment benchmark (si-pusht).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use si_pusht::demos::{collect, Collection};
use si_pusht::render::{episode_frames, episode_gif, strip_png};
use si_pusht::{evaluate, Expert, TEST_SEEDS};

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
    Ok(())
}

/// Push-T figures for `reproduce-figures`: a rendered expert rollout and the expert's protocol figures.
pub fn figures(out: &Path, quick: bool) -> Result<Vec<FigureEntry>> {
    let n_test = if quick {
        10
    } else {
        TEST_SEEDS.end - TEST_SEEDS.start
    };
    let mut expert = Expert::default();
    let t0 = Instant::now();
    let report = evaluate(&mut expert, TEST_SEEDS.start..TEST_SEEDS.start + n_test)?;
    let eval_s = t0.elapsed().as_secs_f64();
    let mean_steps =
        report.episodes.iter().map(|e| e.steps as f64).sum::<f64>() / report.episodes.len() as f64;
    let mut numbers = vec![
        (
            format!(
                "expert success rate, test seeds 100000..{}",
                TEST_SEEDS.start + n_test - 1
            ),
            format!("{:.1} %", 100.0 * report.success_rate),
        ),
        (
            "expert mean score (max reward per episode)".into(),
            format!("{:.4}", report.mean_score),
        ),
        (
            "mean steps to success or limit".into(),
            format!("{mean_steps:.1}"),
        ),
        (
            "mean time from observation to action".into(),
            format!("{:.2} ms", report.mean_latency.as_secs_f64() * 1e3),
        ),
    ];
    if !quick {
        let other = evaluate(&mut expert, 0..200)?;
        numbers.push((
            "expert success rate, seeds 0..199".into(),
            format!("{:.1} %", 100.0 * other.success_rate),
        ));
        numbers.push((
            "expert mean score, seeds 0..199".into(),
            format!("{:.4}", other.mean_score),
        ));
    }

    let ep = &report.episodes[0];
    let frames = episode_frames(&ep.observations, &ep.actions);
    let picks: Vec<_> = (0..8).map(|k| frames[k * (frames.len() - 1) / 7]).collect();
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let strip = "pusht_expert_rollout.png";
    strip_png(&picks, &out.join(strip), 4, 240)?;
    let finals: Vec<_> = report
        .episodes
        .iter()
        .take(8)
        .map(|e| (*e.observations.last().expect("reset observation"), None))
        .collect();
    let last_frames = "pusht_expert_final_frames.png";
    strip_png(&finals, &out.join(last_frames), 4, 160)?;
    let gif = "pusht_expert_rollout.gif";
    let every: Vec<_> = frames.iter().step_by(2).copied().collect();
    episode_gif(&every, &out.join(gif), 256, 100)?;
    Ok(vec![FigureEntry {
        number: 15,
        title: "Push-T: a rollout of the scripted expert".into(),
        files: vec![strip.into(), gif.into(), last_frames.into()],
        caption: format!(
            "Seed {} of the published protocol, {} steps: eight frames evenly spaced from reset to {} \
             (goal T green, block grey, pusher blue, its target a red cross), and the whole episode as a GIF \
             (every second step); below, the last frame of the first eight test episodes ({} of them successes). \
             The expert simulates candidate pushes at points of the T's outline and picks among the best few at \
             random, travels round the block, and commits to the push.",
            ep.seed,
            ep.steps,
            if ep.success {
                format!("success (coverage above 0.95; score {:.3})", ep.score)
            } else {
                format!("the step limit without success (score {:.3})", ep.score)
            },
            report.episodes.iter().take(8).filter(|e| e.success).count()
        ),
        settings: format!(
            "Push-T port of gym-pusht 0.1.8; expert with default settings; {} test seeds evaluated in {eval_s:.1} s",
            n_test
        ),
        numbers,
    }])
}

/// Push-T benchmark lines for `xtask bench`.
pub fn bench(quick: bool) -> Result<()> {
    const REF_STEPS_PER_S: f64 = 3_000.0;
    const REF_COVERAGE_US: f64 = 180.0;
    let (n_steps, n_cov) = if quick {
        (20_000, 200_000)
    } else {
        (200_000, 2_000_000)
    };
    let steps_per_s = si_pusht::throughput::env_steps_per_second(n_steps, 0)?;
    let cov_us = si_pusht::throughput::coverage_micros(n_cov, 0);
    println!(
        "push-t env steps/s (random targets within 60 px of the block, one thread): {steps_per_s:>10.0}   reference (gym-pusht 0.1.8): {REF_STEPS_PER_S:>6.0}   ratio {:>6.1}x",
        steps_per_s / REF_STEPS_PER_S
    );
    println!(
        "push-t coverage (overlapping poses near the goal), us/call:            {cov_us:>10.3}   reference (shapely):         {REF_COVERAGE_US:>6.0}   ratio {:>6.0}x",
        REF_COVERAGE_US / cov_us
    );
    Ok(())
}
