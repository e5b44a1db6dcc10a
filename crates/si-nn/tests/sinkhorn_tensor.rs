//! The tensor Sinkhorn against the host solver of si-core (an independent implementation of the same
//! fixed point), in float64 and float32, where a kernel-domain solver underflows, and its sampler against
//! the plan's conditional frequencies.

use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::ot::{sinkhorn_uniform as host_sinkhorn, squared_distances, SinkhornConfig};
use si_core::Points;
use si_nn::sinkhorn::sinkhorn_uniform;
use tch::{Device, Kind, Tensor};

fn batch(n: usize, m: usize, seed: u64, shift: f64) -> DMatrix<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Points::standard_normal(n, 2, &mut rng);
    let mut y = Points::standard_normal(m, 2, &mut rng);
    y.matrix_mut().iter_mut().for_each(|v| *v += 1.5);
    squared_distances(&x, &y).unwrap().add_scalar(shift)
}

fn tensor(c: &DMatrix<f64>, kind: Kind) -> Tensor {
    // row-major values for an n × m tensor
    let rows: Vec<f64> = c.transpose().as_slice().to_vec();
    Tensor::from_slice(&rows)
        .reshape([c.nrows() as i64, c.ncols() as i64])
        .to_kind(kind)
        .to_device(Device::Cpu)
}

#[test]
fn float64_matches_the_host_solver() {
    for (eps, n, m) in [(0.5, 16, 16), (0.2, 12, 20)] {
        let c = batch(n, m, 3, 0.0);
        let mut cfg = SinkhornConfig::new(eps);
        cfg.tol = 1e-12;
        let params = cfg.check().unwrap();
        let host = host_sinkhorn(&c, &params).unwrap();
        let dev = sinkhorn_uniform(&tensor(&c, Kind::Double), &params, 1).unwrap();
        assert!(
            host.converged() && dev.converged,
            "{} {}",
            host.row_error(),
            dev.row_error
        );
        let p = dev.log_plan.exp();
        let hp = host.plan();
        for i in 0..n {
            for j in 0..m {
                let d = p.double_value(&[i as i64, j as i64]);
                assert!(
                    (d - hp[(i, j)]).abs() < 1e-11,
                    "({i}, {j}): {d} against {}",
                    hp[(i, j)]
                );
            }
        }
        assert!(dev.col_error < 1e-10);
    }
}

#[test]
fn float32_meets_its_marginals_where_the_kernel_underflows() {
    // C ≈ 100 + |x − y|² at ε = 0.05: exp(−C/ε) is 0 in float32 (and float64), the log domain is not.
    let c = batch(64, 64, 5, 100.0);
    let t = tensor(&c, Kind::Float);
    let kernel_mass = (-(&t) / 0.05).exp().sum(Kind::Double).double_value(&[]);
    assert!(
        kernel_mass.abs() < 1e-300,
        "the kernel must underflow: {kernel_mass}"
    );
    let mut cfg = SinkhornConfig::new(0.05);
    cfg.tol = 1e-4;
    cfg.max_iter = 20_000;
    let plan = sinkhorn_uniform(&t, &cfg.check().unwrap(), 10).unwrap();
    assert!(plan.converged, "row error {}", plan.row_error);
    assert!(plan.row_error <= 1e-4 && plan.col_error <= 1e-4);
    assert_eq!(plan.log_plan.kind(), Kind::Float);
    // at ε = 0.5 float32 reaches about 1e-6
    let mut cfg = SinkhornConfig::new(0.5);
    cfg.tol = 5e-6;
    let plan = sinkhorn_uniform(
        &tensor(&batch(64, 64, 6, 0.0), Kind::Float),
        &cfg.check().unwrap(),
        5,
    )
    .unwrap();
    assert!(plan.converged, "row error {}", plan.row_error);
}

#[test]
fn conditional_draws_follow_the_plan() {
    // Three distinct rows, each repeated R times: repeating a row of a uniform marginal keeps every row's
    // conditional, and one call then draws R partners per distinct row.
    const R: usize = 2000;
    let small = batch(3, 4, 8, 0.0);
    let c = DMatrix::from_fn(3 * R, 4, |i, j| small[(i % 3, j)]);
    let mut cfg = SinkhornConfig::new(2.0);
    cfg.tol = 1e-10;
    let plan = sinkhorn_uniform(&tensor(&c, Kind::Double), &cfg.check().unwrap(), 1).unwrap();
    let cond = plan.log_plan.softmax(1, Kind::Double);
    let keys = 5;
    let mut counts = [[0usize; 4]; 3];
    for key in 0..keys {
        let j = Vec::<i64>::try_from(plan.sample_conditional(key)).unwrap();
        for (i, &col) in j.iter().enumerate() {
            counts[i % 3][col as usize] += 1;
        }
    }
    let k = (keys as usize * R) as f64;
    // 5 binomial standard errors per cell: false-alarm rate 5.7e-7 per cell.
    for (i, row) in counts.iter().enumerate() {
        for (j, &cnt) in row.iter().enumerate() {
            let p = cond.double_value(&[i as i64, j as i64]);
            let se = (p * (1.0 - p) / k).sqrt();
            let f = cnt as f64 / k;
            assert!(
                (f - p).abs() < 5.0 * se + 1e-12,
                "({i}, {j}): {f} against {p}"
            );
        }
    }
}

#[test]
fn bad_input_is_a_typed_error() {
    let params = SinkhornConfig::new(0.5).check().unwrap();
    assert!(sinkhorn_uniform(&Tensor::zeros([4], (Kind::Float, Device::Cpu)), &params, 1).is_err());
    assert!(sinkhorn_uniform(
        &Tensor::zeros([0, 3], (Kind::Float, Device::Cpu)),
        &params,
        1
    )
    .is_err());
    let mut c = Tensor::zeros([2, 2], (Kind::Double, Device::Cpu));
    let _ = c.get(0).get(1).fill_(f64::NAN);
    assert!(sinkhorn_uniform(&c, &params, 1).is_err());
    let ok = Tensor::zeros([2, 2], (Kind::Double, Device::Cpu));
    assert!(sinkhorn_uniform(&ok, &params, 0).is_err());
    let _ = &mut c;
}
