//! The learned field on tensors: Batch operations, derived heads, divergences, hyper-parameter checks.

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Field, Interpolant, Points};
use si_model::ModelError;
use si_nn::{
    Divergence, FieldNet, Head, LearnedField, ModelConfig, NnError, TensorBatch, TrainConfig,
};
use tch::{Device, Kind};

#[test]
fn tensor_batch_implements_batch() {
    let p = Points::from_row_major(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let mut a = TensorBatch::upload(&p, Kind::Float, Device::Cpu).unwrap();
    let b = a.clone();
    a.axpy(2.0, &b).unwrap();
    assert_eq!(
        a.to_points().unwrap().to_row_major(),
        vec![3.0, 6.0, 9.0, 12.0, 15.0, 18.0]
    );
    assert_eq!(
        b.to_points().unwrap().to_row_major(),
        p.to_row_major(),
        "clone must be deep"
    );
    let wrong = TensorBatch::upload(&Points::zeros(3, 3), Kind::Float, Device::Cpu).unwrap();
    assert!(a.axpy(1.0, &wrong).is_err());
    // Seeded on-device noise: same rng, same noise; the noise has unit variance.
    let big = TensorBatch::upload(&Points::zeros(20_000, 2), Kind::Float, Device::Cpu).unwrap();
    let (mut x, mut y) = (big.clone(), big.clone());
    x.add_noise(1.0, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
    y.add_noise(1.0, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
    let (xv, yv) = (
        x.to_points().unwrap().to_row_major(),
        y.to_points().unwrap().to_row_major(),
    );
    assert_eq!(xv, yv);
    let var = xv.iter().map(|v| v * v).sum::<f64>() / xv.len() as f64;
    assert!((var - 1.0).abs() < 0.03, "noise variance {var}");
    let mut r = big.rows_zeros();
    let one = si_nn::TensorRows(tch::Tensor::ones([20_000], (Kind::Float, Device::Cpu)));
    TensorBatch::rows_axpy(&mut r, 0.5, &one).unwrap();
    assert!(TensorBatch::rows_to_vec(&r)
        .unwrap()
        .iter()
        .all(|v| (v - 0.5).abs() < 1e-12));
}

fn random_net(dim: usize, heads: Vec<Head>) -> FieldNet {
    let mut m = ModelConfig::new(dim);
    m.width = 32;
    m.depth = 2;
    m.activation = si_nn::Activation::Tanh; // smooth: finite differences converge
    m.heads = heads;
    FieldNet::new(m.check().unwrap(), Device::Cpu, 3)
}

#[test]
fn exact_divergence_matches_finite_differences_and_hutchinson_is_unbiased() {
    let d = 3;
    let net = random_net(d, vec![Head::B]);
    let it = Interpolant::one_sided_linear();
    let x = Points::standard_normal(64, d, &mut ChaCha8Rng::seed_from_u64(2));
    let t = 0.4;
    let exact = LearnedField::new(&net, it.clone());
    let xb = TensorBatch::upload(&x, Kind::Double, Device::Cpu)
        .unwrap()
        .0
        .to_kind(Kind::Float);
    let div = TensorBatch::rows_to_vec(
        &exact
            .divergence(t, &TensorBatch(xb.shallow_clone()))
            .unwrap(),
    )
    .unwrap();
    // Central differences in f32 with h = 1e-2.
    let h = 1e-2;
    let mut fd = vec![0.0; 64];
    for i in 0..d {
        let mut e = vec![0.0f32; d];
        e[i] = h as f32;
        let e = tch::Tensor::from_slice(&e).unsqueeze(0);
        let bp = exact
            .velocity(t, &TensorBatch(&xb + &e))
            .unwrap()
            .to_points()
            .unwrap();
        let bm = exact
            .velocity(t, &TensorBatch(&xb - &e))
            .unwrap()
            .to_points()
            .unwrap();
        for (k, f) in fd.iter_mut().enumerate() {
            *f += (bp.point(k)[i] - bm.point(k)[i]) / (2.0 * h);
        }
    }
    for (a, b) in div.iter().zip(&fd) {
        assert!(
            (a - b).abs() < 2e-3 * (1.0 + b.abs()),
            "exact {a} vs finite differences {b}"
        );
    }
    let hutch = LearnedField::new(&net, it).with_divergence(Divergence::Hutchinson {
        probes: 4000,
        seed: 1,
    });
    let est = TensorBatch::rows_to_vec(
        &hutch
            .divergence(t, &TensorBatch(xb.shallow_clone()))
            .unwrap(),
    )
    .unwrap();
    let err = est
        .iter()
        .zip(&div)
        .map(|(a, b)| (a - b).abs())
        .sum::<f64>()
        / 64.0;
    let scale = div.iter().map(|v| v.abs()).sum::<f64>() / 64.0;
    assert!(
        err < 0.1 * scale.max(0.1),
        "Hutchinson mean error {err} (scale {scale})"
    );
}

#[test]
fn missing_heads_are_derived() {
    let net = random_net(2, vec![Head::B, Head::Eta]);
    let it = Interpolant::one_sided_linear();
    let f = LearnedField::new(&net, it.clone());
    let x = TensorBatch::upload(
        &Points::standard_normal(5, 2, &mut ChaCha8Rng::seed_from_u64(0)),
        Kind::Float,
        Device::Cpu,
    )
    .unwrap();
    let t = 0.3;
    let eta = f.denoiser(t, &x).unwrap().to_points().unwrap();
    let s = f.score(t, &x).unwrap().to_points().unwrap();
    let alpha = it.schedule(t).unwrap().alpha;
    for (a, b) in s.as_slice().iter().zip(eta.as_slice()) {
        assert!(
            (a + b / alpha).abs() < 1e-5 * (1.0 + a.abs()),
            "s = -eta/alpha violated: {a} vs {b}"
        );
    }
    let only_b = random_net(2, vec![Head::B]);
    assert!(LearnedField::new(&only_b, it).score(t, &x).is_err());
    assert!(
        f.velocity(1.5, &x).is_err(),
        "t outside [0, 1] must be rejected"
    );
}

#[test]
fn hyper_parameters_are_validated() {
    let mut m = ModelConfig::new(2);
    m.heads = vec![Head::B, Head::B];
    assert!(matches!(
        m.check(),
        Err(ModelError::InvalidHyperParameter { name: "heads", .. })
    ));
    let mut m = ModelConfig::new(2);
    m.width = 0;
    assert!(m.check().is_err());
    let mut t = TrainConfig::new(10);
    t.lr = f64::NAN;
    assert!(matches!(
        t.check(),
        Err(NnError::InvalidHyperParameter { name: "lr", .. })
    ));
    let mut t = TrainConfig::new(10);
    t.t_min = 0.0;
    assert!(
        t.check().is_err(),
        "t_min = 0 would put 1/alpha = inf into the score loss"
    );
    let t = TrainConfig::new(3000).check().unwrap();
    assert!((t.lr_at(1499) - 2e-3).abs() < 1e-15 && (t.lr_at(1500) - 8e-4).abs() < 1e-15);
    let mut c = small_train(100);
    c.schedule = si_nn::LrSchedule::Cosine { min_lr: 0.0 };
    let c = c.check().unwrap();
    assert!(c.lr_at(50) < c.lr_at(0) && c.lr_at(99) < 1e-5);
    assert!(
        "gelu".parse::<si_nn::Activation>().is_ok() && "foo".parse::<si_nn::Activation>().is_err()
    );
    assert!("eta".parse::<Head>().is_ok());
    let _ = gaussian_data();
}

#[test]
fn losses_are_finite_at_the_ends_of_time() {
    // Times at t_min and 1 - t_min with every interpolant: the antithetic losses stay finite.
    use si_core::{InterpolantSource, TargetSource, TimeRange};
    use si_nn::loss::{BatchSpec, LossBatch};
    use si_nn::Uploaded;
    for spec in [
        "one-sided-linear",
        "linear",
        "trig",
        "encoder-decoder",
        "mirror",
    ] {
        let it: Interpolant = spec.parse().unwrap();
        for t_min in [1e-6, 0.4999] {
            let source = Uploaded::new(
                InterpolantSource::new(it.clone(), gaussian_data(), TimeRange::new(t_min).unwrap()),
                Device::Cpu,
            );
            let bs = BatchSpec {
                antithetic: true,
                context_dropout: 0.0,
            };
            let draw = source.draw(64, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
            let b = LossBatch::new(&draw, &bs, 0).unwrap();
            let net = random_net(1, vec![Head::B, Head::S, Head::Eta, Head::V]);
            let outs = net.forward(&b.t, &b.xt, None).unwrap();
            for (h, o) in [Head::B, Head::S, Head::Eta, Head::V].iter().zip(&outs) {
                let l = b.loss(*h, o).double_value(&[]);
                assert!(l.is_finite(), "{spec:?} head {h:?} t_min {t_min}: loss {l}");
            }
        }
    }
}

#[test]
fn noise_first_euler_maruyama_transports_the_exact_gaussian_field() {
    // Exact fields of N(0, 1) -> N(2, 0.25) (one-sided linear) on host points: the noise-first SDE
    // sampler must reproduce the target's mean and variance.
    use si_analytic::MixtureFields;
    use si_integrate::EulerMaruyama;
    let (rho0, rho1) = gaussian_pair();
    let exact = MixtureFields::new(rho0, rho1, Interpolant::one_sided_linear()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let x0 = Points::standard_normal(20_000, 1, &mut rng);
    let grid = si_integrate::TimeGrid::uniform(0.0, 0.999, 400).unwrap();
    let stepper = EulerMaruyama::constant(1.0).unwrap().noise_first();
    let x1 = si_integrate::integrate(&stepper, &exact, x0, &grid, &mut rng, &mut []).unwrap();
    let v = x1.to_row_major();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
    assert!((mean - 2.0).abs() < 0.03, "mean {mean}");
    assert!((var - 0.25).abs() < 0.03, "variance {var}");
    assert!(EulerMaruyama::constant(-1.0).is_err());
}

#[test]
fn initial_weights_are_seeded_per_model_and_follow_pytorch_bounds() {
    let weights = |seed: u64| {
        let mut m = ModelConfig::new(3);
        m.width = 256;
        m.depth = 2;
        FieldNet::new(m.check().unwrap(), Device::Cpu, seed).named_parameters()
    };
    let flat = |w: &[(String, tch::Tensor)]| -> Vec<f32> {
        w.iter()
            .flat_map(|(_, t)| Vec::<f32>::try_from(t.detach().reshape([-1])).unwrap())
            .collect()
    };
    let (a, b, c) = (weights(2), weights(3), weights(2));
    assert_eq!(flat(&a), flat(&c), "the same seed gives the same weights");
    assert_ne!(flat(&a), flat(&b), "seeds 2 and 3 give different weights");
    // nn.Linear's default: U(−1/√fan_in, 1/√fan_in) for weights and biases. The 256 × 256 hidden weight
    // (65,536 values): all inside the bound, variance within 5 standard errors of bound²/3 (the variance of
    // a uniform law's sample variance is (4/45) bound⁴ / n).
    let (name, w) = a.iter().find(|(n, _)| n == "trunk.l1.weight").unwrap();
    let v: Vec<f64> = Vec::<f32>::try_from(w.detach().reshape([-1]))
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let bound = 1.0 / 256f64.sqrt();
    assert!(
        v.iter().all(|x| x.abs() <= bound),
        "{name} outside its bound"
    );
    let n = v.len() as f64;
    let var = v.iter().map(|x| x * x).sum::<f64>() / n;
    let se = (4.0 / 45.0 * bound.powi(4) / n).sqrt();
    assert!(
        (var - bound * bound / 3.0).abs() < 5.0 * se,
        "variance {var}"
    );
    let bias = a.iter().find(|(n, _)| n == "trunk.l1.bias").unwrap();
    let bv = Vec::<f32>::try_from(bias.1.detach()).unwrap();
    assert!(bv.iter().all(|x| f64::from(x.abs()) <= bound) && bv.iter().any(|x| *x != 0.0));
}
