//! The likelihood parts on tensors: the score's divergence and ∇·(b + c s) of a learned field against
//! finite differences, the Batch reductions against the host's, Dormand–Prince and the SDE likelihood on a
//! tensor batch.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ErrorNorm, Field, Interpolant, Points};
use si_integrate::{
    integrate, ode_log_likelihood, sde_log_likelihood, AdaptiveConfig, Diffusion, Heun, TimeGrid,
};
use si_nn::{FieldNet, Head, LearnedField, ModelConfig, TensorBatch};
use tch::{Device, Kind, Tensor};

fn random_net(dim: usize) -> FieldNet {
    let mut m = ModelConfig::new(dim);
    m.width = 32;
    m.depth = 2;
    m.activation = si_nn::Activation::Tanh; // smooth: finite differences converge
    m.heads = vec![Head::B, Head::S];
    FieldNet::new(m.check().unwrap(), Device::Cpu, 5)
}

fn upload(p: &Points) -> TensorBatch {
    TensorBatch::upload(p, Kind::Float, Device::Cpu).unwrap()
}

/// Central differences (f32, h = 1e-2) of Σ_i ∂y_i/∂x_i for y = b + c s.
fn fd_divergence(f: &LearnedField, t: f64, x: &Tensor, c: f64, n: usize, d: usize) -> Vec<f64> {
    let h = 1e-2;
    let y = |x: Tensor| {
        let (b, s) = f.velocity_and_score(t, &TensorBatch(x)).unwrap();
        let mut y = b;
        y.axpy(c, &s).unwrap();
        y.to_points().unwrap()
    };
    let mut fd = vec![0.0; n];
    for i in 0..d {
        let mut e = vec![0.0f32; d];
        e[i] = h as f32;
        let e = Tensor::from_slice(&e).unsqueeze(0);
        let (p, m) = (y(x + &e), y(x - &e));
        for (k, v) in fd.iter_mut().enumerate() {
            *v += (p.point(k)[i] - m.point(k)[i]) / (2.0 * h);
        }
    }
    fd
}

#[test]
fn drift_divergence_and_score_divergence_match_finite_differences() {
    let d = 3;
    let net = random_net(d);
    let f = LearnedField::new(
        &net,
        Interpolant::linear(si_core::Gamma::brownian()).unwrap(),
    );
    let x = Points::standard_normal(32, d, &mut ChaCha8Rng::seed_from_u64(1));
    let xb = upload(&x);
    let t = 0.3;
    for c in [0.0, 0.7, 2.5] {
        let terms = f.drift_terms(t, &xb, c).unwrap();
        let got = TensorBatch::rows_to_vec(&terms.divergence).unwrap();
        let fd = fd_divergence(&f, t, &xb.0, c, 32, d);
        for (a, b) in got.iter().zip(&fd) {
            assert!(
                (a - b).abs() < 2e-3 * (1.0 + b.abs()),
                "c = {c}: {a} vs {b}"
            );
        }
        let (b, s) = f.velocity_and_score(t, &xb).unwrap();
        assert_eq!(terms.b.to_points().unwrap(), b.to_points().unwrap());
        assert_eq!(terms.s.to_points().unwrap(), s.to_points().unwrap());
    }
    // ∇·s alone: the divergence of (b + s) minus that of b
    let ds = TensorBatch::rows_to_vec(&f.score_divergence(t, &xb).unwrap()).unwrap();
    let with = fd_divergence(&f, t, &xb.0, 1.0, 32, d);
    let without = fd_divergence(&f, t, &xb.0, 0.0, 32, d);
    for ((a, w), o) in ds.iter().zip(&with).zip(&without) {
        assert!(
            (a - (w - o)).abs() < 4e-3 * (1.0 + a.abs()),
            "{a} vs {}",
            w - o
        );
    }
}

#[test]
fn tensor_reductions_equal_the_host_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let (e, y0, y1) = (
        Points::standard_normal(50, 4, &mut rng),
        Points::standard_normal(50, 4, &mut rng),
        Points::standard_normal(50, 4, &mut rng),
    );
    let dev = |p: &Points| TensorBatch::upload(p, Kind::Double, Device::Cpu).unwrap();
    for norm in [ErrorNorm::Rms, ErrorNorm::WorstPoint] {
        let host = Points::error_norm(&e, &y0, &y1, 1e-3, 1e-2, norm).unwrap();
        let tensor =
            TensorBatch::error_norm(&dev(&e), &dev(&y0), &dev(&y1), 1e-3, 1e-2, norm).unwrap();
        assert!(
            (host - tensor).abs() < 1e-12 * host,
            "{norm:?}: {host} vs {tensor}"
        );
    }
    let hd = Points::rows_dot(&y0, &y1).unwrap();
    let td =
        TensorBatch::rows_to_vec(&TensorBatch::rows_dot(&dev(&y0), &dev(&y1)).unwrap()).unwrap();
    for (a, b) in hd.iter().zip(&td) {
        assert!((a - b).abs() < 1e-12);
    }
    // per-point values: the host and the tensor norms of the same rows agree
    let (ha, hb) = (
        Points::rows_dot(&e, &y0).unwrap(),
        Points::rows_dot(&y1, &y1).unwrap(),
    );
    let ta = TensorBatch::rows_dot(&dev(&e), &dev(&y0)).unwrap();
    let tb = TensorBatch::rows_dot(&dev(&y1), &dev(&y1)).unwrap();
    for norm in [ErrorNorm::Rms, ErrorNorm::WorstPoint] {
        let h = Points::rows_error_norm(&ha, &hb, &hb, 1e-3, 1e-2, norm).unwrap();
        let t = TensorBatch::rows_error_norm(&ta, &tb, &tb, 1e-3, 1e-2, norm).unwrap();
        assert!((h - t).abs() < 1e-12 * h, "{norm:?}: {h} vs {t}");
    }
    let wrong = dev(&Points::zeros(3, 4));
    assert!(
        TensorBatch::error_norm(&dev(&e), &wrong, &dev(&y1), 1.0, 1.0, ErrorNorm::Rms).is_err()
    );
}

#[test]
fn dormand_prince_and_the_sde_likelihood_run_on_tensors() {
    let d = 2;
    let net = random_net(d);
    let f = LearnedField::new(
        &net,
        Interpolant::linear(si_core::Gamma::brownian()).unwrap(),
    );
    let x = Points::standard_normal(40, d, &mut ChaCha8Rng::seed_from_u64(3));
    let xb = upload(&x);
    let grid = TimeGrid::uniform(0.0, 1.0, 1).unwrap();
    let solver = AdaptiveConfig::tolerance(1e-5).check().unwrap();
    let (adaptive, stats) = solver.solve(&f, xb.clone(), &grid, &mut []).unwrap();
    let fine = integrate(
        &Heun,
        &f,
        xb.clone(),
        &TimeGrid::uniform(0.0, 1.0, 2000).unwrap(),
        &mut rand::rng(),
        &mut [],
    )
    .unwrap();
    let (a, b) = (adaptive.to_points().unwrap(), fine.to_points().unwrap());
    for (u, v) in a.as_slice().iter().zip(b.as_slice()) {
        // 20× the tolerance: the global error of a 1e-5 local tolerance, plus float32 round-off
        assert!((u - v).abs() < 2e-4, "{u} vs {v} ({stats:?})");
    }
    // with ε = 0 the SDE estimate is the ODE likelihood (Euler; Heun's at the same grid to O(h))
    let base = |p: &Points| {
        Ok(p.as_slice()
            .chunks(d)
            .map(|c| -0.5 * c.iter().map(|v| v * v).sum::<f64>())
            .collect())
    };
    let back = TimeGrid::uniform(1.0, 0.0, 400).unwrap();
    let ode = ode_log_likelihood(&f, &xb, &back, base).unwrap();
    let sde = sde_log_likelihood(
        &f,
        &xb,
        &back,
        &Diffusion::constant(0.0).unwrap(),
        1,
        &mut rand::rng(),
        base,
    )
    .unwrap();
    for (u, v) in ode.iter().zip(&sde.estimates[0]) {
        assert!((u - v).abs() < 2e-2, "{u} vs {v}");
    }
    let (dp, _) = solver.log_likelihood(&f, &xb, base).unwrap();
    for (u, v) in ode.iter().zip(&dp) {
        assert!((u - v).abs() < 1e-3, "Heun {u} vs Dormand-Prince {v}");
    }
    // ε > 0 runs, and its paths differ
    let sde = sde_log_likelihood(
        &f,
        &xb,
        &back,
        &Diffusion::constant(0.5).unwrap(),
        2,
        &mut ChaCha8Rng::seed_from_u64(4),
        base,
    )
    .unwrap();
    assert_ne!(sde.estimates[0], sde.estimates[1]);
    assert!(sde.mean().iter().all(|v| v.is_finite()));
}

#[test]
fn the_path_batched_sde_likelihood_folds_back_to_one_value_per_point() {
    use si_nn::sampling::{log_likelihood_of, LikelihoodMethod};
    let d = 2;
    let net = random_net(d);
    let f = LearnedField::new(
        &net,
        Interpolant::linear(si_core::Gamma::brownian()).unwrap(),
    );
    let x = Points::standard_normal(7, d, &mut ChaCha8Rng::seed_from_u64(6));
    let base = |p: &Points| -> si_core::Result<Vec<f64>> {
        Ok(p.as_slice()
            .chunks(d)
            .map(|c| -0.5 * c.iter().map(|v| v * v).sum::<f64>())
            .collect())
    };
    let back = TimeGrid::uniform(1.0, 0.0, 40).unwrap();
    let run = |eps: f64, paths: usize, chunk: usize, seed: u64| {
        log_likelihood_of(
            &f,
            &x,
            &LikelihoodMethod::Sde {
                steps: 40,
                eps,
                paths,
            },
            chunk,
            &base,
            &mut ChaCha8Rng::seed_from_u64(seed),
            &mut |_| {},
        )
        .unwrap()
    };
    // ε = 0: every path is the same Euler integration of the ODE likelihood
    let direct = sde_log_likelihood(
        &f,
        &upload(&x),
        &back,
        &Diffusion::constant(0.0).unwrap(),
        1,
        &mut rand::rng(),
        base,
    )
    .unwrap();
    let folded = run(0.0, 3, 4, 1);
    assert_eq!(folded.values.len(), 7);
    for (i, (a, b)) in folded.values.iter().zip(&direct.estimates[0]).enumerate() {
        assert!((a - b).abs() < 1e-4, "point {i}: {a} vs {b}");
        assert!(folded.std_error.as_ref().unwrap()[i] < 1e-4);
    }
    // ε > 0: the batched paths (chunks of 3 points) and sequential paths estimate the same value
    let batched = run(0.5, 16, 3, 2);
    let sequential = sde_log_likelihood(
        &f,
        &upload(&x),
        &back,
        &Diffusion::constant(0.5).unwrap(),
        16,
        &mut ChaCha8Rng::seed_from_u64(3),
        base,
    )
    .unwrap();
    let (sm, sse) = (sequential.mean(), sequential.std_error());
    let bse = batched.std_error.unwrap();
    for i in 0..7 {
        let se = (sse[i].powi(2) + bse[i].powi(2)).sqrt();
        assert!(bse[i] > 0.0);
        // 5 standard errors of the difference: a false alarm rate below 1e-6 per point
        assert!(
            (batched.values[i] - sm[i]).abs() < 5.0 * se + 1e-6,
            "point {i}: {} vs {} (se {se})",
            batched.values[i],
            sm[i]
        );
    }
}
