//! Throughput of the exact fields: b and s at random (t, x) (the `xtask bench` setting), one time for a
//! whole batch (the integrator setting), and the divergence.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Gamma, Interpolant, Points};

fn pair_1d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_1d().unwrap()
}

fn pair_2d() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::pair_2d().unwrap()
}

fn inputs(n: usize, d: usize) -> (Vec<f64>, Points) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let ts = (0..n).map(|_| rng.random_range(0.01..0.99)).collect();
    let xs: Vec<f64> = (0..n * d).map(|_| rng.random_range(-8.0..8.0)).collect();
    (ts, Points::from_row_major(n, d, &xs).unwrap())
}

fn bench(c: &mut Criterion) {
    let n = 10_000;
    let (a0, a1) = pair_1d();
    let (b0, b1) = pair_2d();
    let cases = [
        (
            "1d-trig",
            MixtureFields::new(
                a0.clone(),
                a1.clone(),
                Interpolant::trigonometric(Gamma::brownian()).unwrap(),
            )
            .unwrap(),
        ),
        (
            "1d-linear",
            MixtureFields::new(a0, a1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap(),
        ),
        (
            "2d-linear",
            MixtureFields::new(b0, b1, Interpolant::linear(Gamma::brownian()).unwrap()).unwrap(),
        ),
    ];
    let mut g = c.benchmark_group("exact_fields");
    g.throughput(Throughput::Elements(n as u64));
    for (name, f) in &cases {
        let (ts, x) = inputs(n, f.dim());
        g.bench_with_input(BenchmarkId::new("b+s per-point t", name), &(), |bch, _| {
            bch.iter(|| f.evaluate_per_point(&ts, &x, false).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("b+s shared t", name), &(), |bch, _| {
            bch.iter(|| f.evaluate(0.37, &x, false).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("b+s+div shared t", name), &(), |bch, _| {
            bch.iter(|| f.evaluate(0.37, &x, true).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
