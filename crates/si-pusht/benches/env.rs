//! Speed of the environment: steps with random actions near the block, and coverage calls.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_pusht::{coverage, Pose, PushT, V2};

fn env_step(c: &mut Criterion) {
    let mut env = PushT::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut obs = env.reset(0);
    c.bench_function("pusht_step", |b| {
        b.iter(|| {
            if env.steps() >= si_pusht::MAX_STEPS {
                obs = env.reset(rng.random());
            }
            let a = [
                obs[2] + rng.random_range(-60.0..60.0),
                obs[3] + rng.random_range(-60.0..60.0),
            ];
            obs = env.step(a).expect("finite action").obs;
        })
    });
}

fn coverage_call(c: &mut Criterion) {
    let pose = Pose {
        position: V2::new(250.0, 262.0),
        angle: 0.9,
    };
    c.bench_function("pusht_coverage", |b| {
        b.iter(|| coverage(std::hint::black_box(&pose)))
    });
}

criterion_group!(benches, env_step, coverage_call);
criterion_main!(benches);
