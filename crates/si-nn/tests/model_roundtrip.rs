//! The model configuration is one serde type (`si_model::ModelConfig`) read by si-nn and by the host
//! evaluator alike: a configuration with every field away from its default survives si-nn's checkpoint into
//! `HostNet` unchanged, and the host's outputs equal si-nn's forward on it.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ConditionalField, Field, Interpolant, Points, TimeRange};
use si_model::{HostNet, ModelError};
use si_nn::train::load_model;
use si_nn::{
    Activation, Context, DeviceData, FieldNet, Head, ModelConfig, NnError, TrainConfig, Trainer,
};
use tch::{Device, Kind, Tensor};

/// A configuration whose every field differs from `ModelConfig::new(3)` (checked field by field below, by
/// an exhaustive destructuring: a field added to `ModelConfig` does not compile here until it is set).
fn every_field_set() -> ModelConfig {
    ModelConfig {
        dim: 3,
        width: 24,
        depth: 3,
        activation: Activation::Tanh,
        time_features: 2,
        time_segments: 5,
        context_dim: 4,
        heads: vec![Head::V, Head::Eta, Head::S],
        shared_trunk: false,
        unet: None,
    }
}

#[test]
fn the_test_config_sets_every_field() {
    let d = ModelConfig::new(3);
    let ModelConfig {
        dim,
        width,
        depth,
        activation,
        time_features,
        time_segments,
        context_dim,
        heads,
        shared_trunk,
        unet,
    } = every_field_set();
    // dim is the argument of `new`; the others must all differ from its defaults
    assert_eq!(dim, d.dim);
    assert_ne!(width, d.width);
    assert_ne!(depth, d.depth);
    assert_ne!(activation, d.activation);
    assert_ne!(time_features, d.time_features);
    assert_ne!(time_segments, d.time_segments);
    assert_ne!(context_dim, d.context_dim);
    assert_ne!(heads, d.heads);
    assert_ne!(shared_trunk, d.shared_trunk);
    // the host evaluator runs MLPs only; the U-Net's round trip is `an_image_model_round_trips_through_its_checkpoint`
    assert!(unet.is_none());
}

/// A few training steps of `model` on 3-D points with four one-hot classes, saved to `path` (with EMA
/// weights and Adam moments, as a real checkpoint has them).
fn train(path: &Path, model: ModelConfig, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let x = Points::standard_normal(400, 3, &mut rng);
    let labels: Vec<usize> = (0..400).map(|i| i % 4).collect();
    let data = DeviceData::new(
        Interpolant::one_sided_linear(),
        &x,
        Some((&labels, 4)),
        TimeRange::new(1e-4).unwrap(),
        Device::Cpu,
    )
    .unwrap();
    let mut t = TrainConfig::new(steps);
    t.batch = 64;
    t.lr = 3e-3;
    t.ema_decay = Some(0.9);
    t.context_dropout = 0.2;
    let mut tr = Trainer::new(model.check().unwrap(), t.check().unwrap(), Device::Cpu).unwrap();
    tr.run(&data, &mut []).unwrap();
    tr.save(path).unwrap();
}

fn tensor(p: &Points) -> Tensor {
    Tensor::from_slice(&p.to_row_major())
        .reshape([p.len() as i64, p.dim() as i64])
        .to_kind(Kind::Float)
}

/// Every head of `net` (libtorch) against the host at (t, x | c), `c` = None for the context dropped.
fn assert_same(net: &FieldNet, host: &HostNet, t: f64, x: &Points, c: Option<&Points>) {
    let n = x.len() as i64;
    let (ct, mask) = match c {
        Some(c) => (tensor(c), Tensor::ones([n, 1], (Kind::Float, Device::Cpu))),
        None => (
            Tensor::zeros([n, 4], (Kind::Float, Device::Cpu)),
            Tensor::zeros([n, 1], (Kind::Float, Device::Cpu)),
        ),
    };
    let ctx = Context {
        c: &ct,
        mask: &mask,
    };
    let outs = net
        .forward(&net.time_tensor(t), &tensor(x), Some(&ctx))
        .unwrap();
    let field = match c {
        Some(c) => host.given(c).unwrap(),
        None => host.unconditional().unwrap(),
    };
    for (k, head) in net.params().heads.iter().enumerate() {
        let got = match head {
            Head::B => field.velocity(t, x),
            Head::S => field.score(t, x),
            Head::Eta => field.denoiser(t, x),
            Head::V => field.v(t, x),
        }
        .unwrap()
        .to_row_major();
        let want: Vec<f32> = Vec::try_from(outs[k].reshape([-1])).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (&w, g)) in want.iter().zip(&got).enumerate() {
            let w = f64::from(w);
            assert!(
                (g - w).abs() < 1e-5 * (1.0 + w.abs()),
                "{head:?} at t = {t}, entry {i}: host {g}, libtorch {w}"
            );
        }
    }
}

#[test]
fn every_model_config_field_round_trips_into_the_host_evaluator() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let config = every_field_set();
    train(&path, config.clone(), 20);
    let host = HostNet::read(&path).unwrap();
    assert_eq!(host.config(), &config);
    assert_eq!(host.params(), &config.clone().check().unwrap());
    let (net, _, meta) = load_model(&path, Device::Cpu).unwrap();
    assert_eq!(meta.model, config);
    assert_eq!(net.params().config(), host.config());
    // random points and per-point contexts; times on the phase's knots j/5 and between them
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for t in [0.0, 0.2, 0.33, 0.6, 0.91, 1.0] {
        let x = Points::standard_normal(32, 3, &mut rng);
        let c = Points::standard_normal(32, 4, &mut rng);
        assert_same(&net, &host, t, &x, Some(&c));
        assert_same(&net, &host, t, &x, None);
    }
    // the model has no b head: a typed error on the host
    let c = Points::standard_normal(1, 4, &mut rng);
    let x = Points::standard_normal(2, 3, &mut rng);
    assert!(host.given(&c).unwrap().velocity(0.5, &x).is_err());
}

#[test]
fn an_activation_the_host_cannot_evaluate_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gelu.safetensors");
    let mut m = ModelConfig::new(2);
    m.width = 8;
    m.depth = 1;
    m.activation = Activation::Gelu;
    let tr = Trainer::new(
        m.check().unwrap(),
        TrainConfig::new(1).check().unwrap(),
        Device::Cpu,
    )
    .unwrap();
    tr.save(&path).unwrap();
    assert!(load_model(&path, Device::Cpu).is_ok());
    assert!(matches!(
        HostNet::read(&path),
        Err(ModelError::UnsupportedActivation(Activation::Gelu))
    ));
}

#[test]
fn model_config_errors_keep_their_message_through_nn_error() {
    let mut m = ModelConfig::new(2);
    m.heads = vec![Head::B, Head::B];
    let e = m.check().unwrap_err();
    assert!(matches!(
        e,
        ModelError::InvalidHyperParameter { name: "heads", .. }
    ));
    let e = NnError::from(e);
    assert_eq!(
        e.to_string(),
        "invalid hyper-parameter `heads`: field b listed twice"
    );
    assert!(matches!(
        e,
        NnError::Model(ModelError::InvalidHyperParameter { name: "heads", .. })
    ));
    assert!(matches!(
        "gelu2".parse::<Activation>(),
        Err(ModelError::InvalidHyperParameter {
            name: "activation",
            ..
        })
    ));
}
