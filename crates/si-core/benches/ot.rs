//! Exact minibatch OT: N(0, I) to an 8-Gaussian ring in 2-D, the warm-started solver against the Hungarian
//! method from zero duals, and log-domain Sinkhorn. `cargo xtask bench` prints the ratios against POT.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::ot::{
    assignment, assignment_cold, sinkhorn_uniform, squared_distances, SinkhornConfig,
};
use si_core::{Ring, Sampler, StandardNormal};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("assignment");
    g.sample_size(10);
    for n in [64, 256, 1024, 4096] {
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let x0 = StandardNormal { dim: 2 }.sample(n, &mut rng).unwrap();
        let x1 = Ring::new(8, 5.0, 0.1f64.sqrt())
            .unwrap()
            .sample(n, &mut rng)
            .unwrap();
        let cost = squared_distances(&x0, &x1).unwrap();
        g.bench_with_input(BenchmarkId::new("auction+hungarian", n), &cost, |b, c| {
            b.iter(|| assignment(c).unwrap())
        });
        if n <= 256 {
            let params = SinkhornConfig::new(0.5).check().unwrap();
            g.bench_with_input(
                BenchmarkId::new("sinkhorn eps 0.5 tol 1e-9", n),
                &cost,
                |b, c| b.iter(|| sinkhorn_uniform(c, &params).unwrap()),
            );
        }
        if n <= 1024 {
            g.bench_with_input(BenchmarkId::new("hungarian", n), &cost, |b, c| {
                b.iter(|| assignment_cold(c).unwrap())
            });
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
