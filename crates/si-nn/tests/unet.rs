//! The U-Net field model: shapes at 8×8 and 28×28, the weight count known before building, equivariance to
//! the order of a batch, its conditioning inputs used, typed errors for sizes it cannot take, and the
//! checkpoint round trip (the host evaluator refuses it by type).

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Interpolant, Points, TimeRange};
use si_model::{HostNet, ModelError};
use si_nn::train::load_model;
use si_nn::{Context, DeviceData, FieldNet, Head, ModelConfig, Trainer};
use tch::{Device, Kind, Tensor};

fn tiny(c: usize, h: usize, w: usize) -> ModelConfig {
    let mut m = ModelConfig::image(c, h, w);
    let u = m.unet.as_mut().unwrap();
    u.base = 8;
    u.groups = 4;
    u.blocks = 1;
    m.heads = vec![Head::B, Head::Eta];
    m
}

/// Standard normal values of the given `[n, k]` shape from a seeded ChaCha8 (no process-wide generator).
fn randn(shape: &[i64], seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let p = Points::standard_normal(shape[0] as usize, shape[1] as usize, &mut rng);
    Tensor::from_slice(&p.to_row_major())
        .reshape(shape)
        .to_kind(Kind::Float)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

#[test]
fn outputs_have_one_image_per_head_at_8x8_and_28x28() {
    for (c, h, w, mults, shared) in [
        (1, 8, 8, vec![1, 2], true),
        (2, 8, 8, vec![1, 2, 2], false),
        (1, 28, 28, vec![1, 2, 2], true),
    ] {
        let mut m = tiny(c, h, w);
        m.unet.as_mut().unwrap().mults = mults;
        m.shared_trunk = shared;
        let d = (c * h * w) as i64;
        let net = FieldNet::new(m.check().unwrap(), Device::Cpu, 0);
        let x = randn(&[3, d], 1);
        for t in [
            net.time_tensor(0.3),
            Tensor::from_slice(&[0.1f32, 0.5, 0.9]).reshape([3, 1]),
        ] {
            let out = net.forward(&t, &x, None).unwrap();
            assert_eq!(out.len(), 2);
            for o in &out {
                assert_eq!(o.size(), vec![3, d]);
                assert!(o.isfinite().all().int64_value(&[]) == 1);
            }
        }
    }
}

#[test]
fn the_weight_count_is_known_before_the_model_is_built() {
    for (ctx, shared, attention, blocks, mults) in [
        (0, true, vec![1], 1, vec![1, 2]),
        (10, false, vec![0, 1], 2, vec![1, 2]),
        (3, true, vec![], 1, vec![2, 1, 2]),
    ] {
        let mut m = tiny(1, 8, 8);
        m.context_dim = ctx;
        m.shared_trunk = shared;
        m.heads = vec![Head::B, Head::S, Head::Eta];
        let u = m.unet.as_mut().unwrap();
        u.attention = attention;
        u.blocks = blocks;
        u.mults = mults;
        let p = m.check().unwrap();
        let built = FieldNet::new(p.clone(), Device::Cpu, 0).num_parameters();
        assert_eq!(p.num_weights(), Some(built as usize));
    }
}

#[test]
fn the_network_is_equivariant_to_the_order_of_the_batch() {
    let mut m = tiny(1, 8, 8);
    m.context_dim = 10;
    let net = FieldNet::new(m.check().unwrap(), Device::Cpu, 3);
    let n = 6;
    let x = randn(&[n, 64], 2);
    let t = Tensor::from_slice(&[0.05f32, 0.2, 0.4, 0.6, 0.8, 0.95]).reshape([n, 1]);
    let c = randn(&[n, 10], 3);
    let mask = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 1.0, 0.0, 1.0]).reshape([n, 1]);
    let perm = Tensor::from_slice(&[4i64, 0, 5, 2, 1, 3]);
    let out = net
        .forward(&t, &x, Some(&Context { c: &c, mask: &mask }))
        .unwrap();
    let ctx_p = (c.index_select(0, &perm), mask.index_select(0, &perm));
    let out_p = net
        .forward(
            &t.index_select(0, &perm),
            &x.index_select(0, &perm),
            Some(&Context {
                c: &ctx_p.0,
                mask: &ctx_p.1,
            }),
        )
        .unwrap();
    for (a, b) in out.iter().zip(&out_p) {
        assert!(max_abs_diff(&a.index_select(0, &perm), b) < 1e-5);
    }
    // each image alone gives its own output (GroupNorm acts on one image at a time)
    let one = net
        .forward(
            &t.narrow(0, 2, 1),
            &x.narrow(0, 2, 1),
            Some(&Context {
                c: &c.narrow(0, 2, 1),
                mask: &mask.narrow(0, 2, 1),
            }),
        )
        .unwrap();
    assert!(max_abs_diff(&one[0], &out[0].narrow(0, 2, 1)) < 1e-5);
}

#[test]
fn time_and_context_change_the_output_and_a_dropped_context_is_ignored() {
    let mut m = tiny(1, 8, 8);
    m.context_dim = 4;
    let net = FieldNet::new(m.check().unwrap(), Device::Cpu, 5);
    let x = randn(&[2, 64], 4);
    let (c1, c2) = (randn(&[2, 4], 5), randn(&[2, 4], 6));
    let on = Tensor::ones([2, 1], (Kind::Float, Device::Cpu));
    let off = Tensor::zeros([2, 1], (Kind::Float, Device::Cpu));
    let f = |t: f64, c: &Tensor, mask: &Tensor| {
        net.forward(&net.time_tensor(t), &x, Some(&Context { c, mask }))
            .unwrap()
            .remove(0)
    };
    assert!(max_abs_diff(&f(0.2, &c1, &on), &f(0.7, &c1, &on)) > 1e-4);
    assert!(max_abs_diff(&f(0.2, &c1, &on), &f(0.2, &c2, &on)) > 1e-4);
    assert!(max_abs_diff(&f(0.2, &c1, &off), &f(0.2, &c2, &off)) == 0.0);
    let none = net
        .forward(&net.time_tensor(0.2), &x, None)
        .unwrap()
        .remove(0);
    assert!(max_abs_diff(&f(0.2, &c1, &off), &none) == 0.0);
}

#[test]
fn sizes_the_network_cannot_take_are_typed_errors() {
    let hyper = |m: ModelConfig| {
        matches!(
            m.check(),
            Err(ModelError::InvalidHyperParameter { name: "unet", .. })
        )
    };
    // three levels halve twice: 6 is not divisible by 4
    let mut m = tiny(1, 6, 6);
    m.unet.as_mut().unwrap().mults = vec![1, 2, 2];
    assert!(hyper(m));
    // the image is not the model's dimension
    let mut m = tiny(1, 8, 8);
    m.dim = 63;
    assert!(hyper(m));
    // a level's width not divisible by the groups
    let mut m = tiny(1, 8, 8);
    m.unet.as_mut().unwrap().groups = 3;
    assert!(hyper(m));
    // attention at a level that does not exist
    let mut m = tiny(1, 8, 8);
    m.unet.as_mut().unwrap().attention = vec![2];
    assert!(hyper(m));
    let mut m = tiny(1, 8, 8);
    m.unet.as_mut().unwrap().mults = vec![];
    assert!(hyper(m));
    let mut m = tiny(0, 8, 8);
    m.dim = 1;
    assert!(hyper(m));
    // 28 × 28 takes two halvings (28 → 14 → 7), not three
    let mut m = tiny(1, 28, 28);
    m.unet.as_mut().unwrap().mults = vec![1, 2, 2];
    assert!(m.clone().check().is_ok());
    m.unet.as_mut().unwrap().mults = vec![1, 1, 2, 2];
    assert!(hyper(m));
    // and a wrongly shaped batch at run time
    let net = FieldNet::new(tiny(1, 8, 8).check().unwrap(), Device::Cpu, 0);
    assert!(net
        .forward(&net.time_tensor(0.5), &randn(&[2, 60], 1), None)
        .is_err());
}

#[test]
fn an_image_model_round_trips_through_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unet.safetensors");
    let mut m = tiny(1, 8, 8);
    m.context_dim = 3;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Points::standard_normal(64, 64, &mut rng);
    let labels: Vec<usize> = (0..64).map(|i| i % 3).collect();
    let data = DeviceData::new(
        Interpolant::one_sided_linear(),
        &x,
        Some((&labels, 3)),
        TimeRange::new(1e-4).unwrap(),
        Device::Cpu,
    )
    .unwrap();
    let mut t = small_train(3);
    t.batch = 16;
    t.ema_decay = Some(0.9);
    let mut tr = Trainer::new(m.clone().check().unwrap(), t.check().unwrap(), Device::Cpu).unwrap();
    tr.run(&data, &mut []).unwrap();
    tr.save(&path).unwrap();
    let (net, _, meta) = load_model(&path, Device::Cpu).unwrap();
    assert_eq!(meta.model, m);
    assert_eq!(meta.model.unet, Some(m.unet.clone().unwrap()));
    let xt = randn(&[4, 64], 8);
    let a = net.forward(&net.time_tensor(0.4), &xt, None).unwrap();
    let b = tr
        .sampling_net()
        .forward(&net.time_tensor(0.4), &xt, None)
        .unwrap();
    for (u, v) in a.iter().zip(&b) {
        assert!(max_abs_diff(u, v) < 1e-6);
    }
    // resuming reads the same state
    assert!(Trainer::resume(&path, Device::Cpu).is_ok());
    assert!(matches!(
        HostNet::read(&path),
        Err(ModelError::UnsupportedArchitecture)
    ));
    // a checkpoint of an MLP has no `unet` field in its metadata (old readers see what they saw)
    let json = serde_json::to_string(&ModelConfig::new(2)).unwrap();
    assert!(!json.contains("unet"));
    let back: ModelConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.unet, None);
}
