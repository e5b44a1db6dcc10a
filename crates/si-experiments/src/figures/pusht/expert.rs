//! Figure 15, part (a): the scripted expert on the published test seeds (no libtorch).

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use si_pusht::render::{episode_frames, episode_gif, strip_png};
use si_pusht::{evaluate, Expert, TEST_SEEDS};
use si_report::FigureEntry;

/// A rendered expert rollout and the expert's numbers on the published protocol.
pub fn figure(out: &Path, quick: bool) -> Result<FigureEntry> {
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
    Ok(FigureEntry {
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
    })
}
