//! Success rate and mean score of the scripted expert on the test seeds and on other seeds.
use si_pusht::{evaluate, Expert, TEST_SEEDS};
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(50);
    let other: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut expert = Expert::default();
    let t0 = std::time::Instant::now();
    let r = evaluate(&mut expert, TEST_SEEDS.start..TEST_SEEDS.start + n).expect("evaluation");
    println!(
        "test seeds ({n}): success {:.3}, mean score {:.4}, latency {:?}, {:?}",
        r.success_rate,
        r.mean_score,
        r.mean_latency,
        t0.elapsed()
    );
    for e in r.episodes.iter().filter(|e| !e.success) {
        println!("  failed seed {} score {:.3}", e.seed, e.score);
    }
    if other > 0 {
        let r = evaluate(&mut expert, 0..other).expect("evaluation");
        println!(
            "seeds 0..{other}: success {:.3}, mean score {:.4}",
            r.success_rate, r.mean_score
        );
        for e in r.episodes.iter().filter(|e| !e.success) {
            println!(
                "  failed seed {} score {:.4} steps {}",
                e.seed, e.score, e.steps
            );
        }
        let mean_steps =
            r.episodes.iter().map(|e| e.steps as f64).sum::<f64>() / r.episodes.len() as f64;
        println!("  mean steps {mean_steps:.1}");
    }
}
