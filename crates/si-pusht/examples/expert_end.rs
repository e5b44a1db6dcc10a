//! Where the scripted expert's episodes end: its score line and end-state summary (coverage, distance and
//! angle to the goal, idle fraction of the last 50 steps) on the seeds `first..first + n` (default: the first
//! 100 validation seeds, 200000..200099).
//!
//! `cargo run --release -p si-pusht --example expert_end [-- n first [settle]]` (`-- 50 100000`: the test
//! seeds; `-- 500 400000`: the final seeds; `settle`: the expert's settle tolerance in px, default 0.3).
use si_pusht::{run_seeds, summarise, EndSummary, Expert, ExpertConfig, MAX_STEPS};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let first: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let mut cfg = ExpertConfig::default();
    if let Some(s) = args.next().and_then(|s| s.parse().ok()) {
        cfg.settle_tolerance = s;
    }
    let mut expert = Expert::new(cfg).expect("the expert's settings");
    let seeds: Vec<u64> = (first..first + n).collect();
    let episodes = run_seeds(&mut expert, &seeds, MAX_STEPS, None, |_| {}).expect("evaluation");
    let ends = EndSummary::of(&episodes);
    let r = summarise(episodes);
    let successes = r.episodes.iter().filter(|e| e.success).count();
    println!(
        "expert: seeds {first}..{}, mean score {:.3}, {successes} of {n} succeeded, latency to the first action {:.0} us (this machine, one thread)",
        first + n,
        r.mean_score,
        r.mean_latency.as_secs_f64() * 1e6
    );
    println!("{ends}");
}
