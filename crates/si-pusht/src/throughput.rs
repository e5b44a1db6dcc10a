//! Throughput measurements (one thread, no rendering) used by the benchmark command.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::coverage::coverage;
use crate::env::{PushT, MAX_STEPS};
use crate::error::PushTError;
use crate::geometry::{Pose, V2};

/// Environment steps per second with random targets within ±60 px of the block (resetting every 300 steps).
pub fn env_steps_per_second(n_steps: usize, seed: u64) -> Result<f64, PushTError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let offsets: Vec<[f64; 2]> = (0..n_steps)
        .map(|_| [rng.random_range(-60.0..60.0), rng.random_range(-60.0..60.0)])
        .collect();
    let mut env = PushT::new();
    let mut obs = env.reset(seed);
    let start = Instant::now();
    for (k, d) in offsets.iter().enumerate() {
        if env.steps() >= MAX_STEPS {
            obs = env.reset(seed.wrapping_add(k as u64));
        }
        obs = env.step([obs[2] + d[0], obs[3] + d[1]])?.obs;
    }
    Ok(n_steps as f64 / start.elapsed().as_secs_f64().max(1e-12))
}

/// Mean time of one coverage call (µs) over poses within ±40 px of the goal at random angles.
pub fn coverage_micros(n_calls: usize, seed: u64) -> f64 {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let poses: Vec<Pose> = (0..1024)
        .map(|_| Pose {
            position: V2::new(
                256.0 + rng.random_range(-40.0..40.0),
                256.0 + rng.random_range(-40.0..40.0),
            ),
            angle: rng.random_range(0.0..std::f64::consts::TAU),
        })
        .collect();
    let start = Instant::now();
    let mut acc = 0.0;
    for k in 0..n_calls {
        acc += coverage(std::hint::black_box(&poses[k % poses.len()]));
    }
    std::hint::black_box(acc);
    start.elapsed().as_secs_f64() * 1e6 / n_calls.max(1) as f64
}
