//! The host evaluator on hand-written checkpoints (no libtorch): the configuration as written, outputs
//! computed by hand, and each way a file can be wrong as a typed error.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};
use si_core::{ConditionalField, Field, Points};
use si_model::format::{self, FORMAT, FORMAT_V1, METADATA_KEY};
use si_model::{Activation, Head, HostNet, ModelConfig, ModelError};

/// A one-hidden-layer model of d = 1, width 1, no time features: input (x, t).
fn tiny(activation: Activation) -> ModelConfig {
    ModelConfig {
        dim: 1,
        width: 1,
        depth: 1,
        activation,
        time_features: 0,
        time_segments: 0,
        context_dim: 0,
        heads: vec![Head::B],
        shared_trunk: true,
        unet: None,
    }
}

/// A checkpoint with `meta` as its metadata JSON and the named f32 tensors.
fn file(meta: &str, tensors: &[(&str, Vec<usize>, Vec<f32>)]) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let info = HashMap::from([(METADATA_KEY.to_string(), meta.to_string())]);
    safetensors::tensor::serialize(views, &Some(info)).unwrap()
}

fn meta(format: &str, model: &ModelConfig) -> String {
    format!(
        r#"{{"format":"{format}","model":{},"step":0}}"#,
        serde_json::to_string(model).unwrap()
    )
}

/// h = relu(x + 0·t), b = 2h + 1.
fn weights(prefix: &str) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    vec![
        (format::weight(prefix, 0), vec![1, 2], vec![1.0, 0.0]),
        (format::bias(prefix, 0), vec![1], vec![0.0]),
        (format::weight(prefix, 1), vec![1, 1], vec![2.0]),
        (format::bias(prefix, 1), vec![1], vec![1.0]),
    ]
}

fn refs(w: &[(String, Vec<usize>, Vec<f32>)]) -> Vec<(&str, Vec<usize>, Vec<f32>)> {
    w.iter()
        .map(|(n, s, v)| (n.as_str(), s.clone(), v.clone()))
        .collect()
}

#[test]
fn a_hand_written_model_gives_the_outputs_computed_by_hand() {
    let config = tiny(Activation::Relu);
    for tag in [FORMAT, FORMAT_V1] {
        let net = HostNet::from_bytes(&file(&meta(tag, &config), &refs(&weights(format::TRUNK))))
            .unwrap();
        assert_eq!(net.config(), &config);
        assert_eq!((net.dim(), net.context_dim()), (1, 0));
        let x = Points::from_row_major(3, 1, &[-1.0, 0.5, 2.0]).unwrap();
        let b = net.unconditional().unwrap().velocity(0.3, &x).unwrap();
        assert_eq!(b.as_slice(), &[1.0, 2.0, 5.0]);
        // no s head, no context: typed errors
        assert!(net.unconditional().unwrap().score(0.3, &x).is_err());
        assert!(net.given(&Points::zeros(1, 1)).is_err());
    }
}

#[test]
fn ema_weights_are_used_when_present() {
    let config = tiny(Activation::Tanh);
    let mut w = weights(format::TRUNK);
    // the EMA copy: b = 2 tanh(x) − 1 (output bias −1); the raw weights are kept too
    let mut ema: Vec<_> = weights(format::TRUNK)
        .into_iter()
        .map(|(n, s, v)| (format::ema(&n), s, v))
        .collect();
    ema[3].2 = vec![-1.0];
    w.extend(ema);
    let net = HostNet::from_bytes(&file(&meta(FORMAT, &config), &refs(&w))).unwrap();
    let x = Points::from_row_major(1, 1, &[0.5]).unwrap();
    let b = net.unconditional().unwrap().velocity(0.0, &x).unwrap();
    assert_eq!(b.as_slice(), &[f64::from(2.0 * 0.5f32.tanh() - 1.0)]);
}

#[test]
fn one_net_per_head_is_read_under_the_head_names() {
    let mut config = tiny(Activation::Silu);
    config.heads = vec![Head::Eta, Head::S];
    config.shared_trunk = false;
    let mut w = weights(format::mlp_prefix(Head::Eta));
    let mut s = weights(format::mlp_prefix(Head::S));
    s[3].2 = vec![-3.0]; // s = 2 silu(x) − 3
    w.extend(s);
    let net = HostNet::from_bytes(&file(&meta(FORMAT, &config), &refs(&w))).unwrap();
    let f = net.unconditional().unwrap();
    let x = Points::from_row_major(1, 1, &[1.0]).unwrap();
    let silu = 1.0f32 / (1.0 + (-1.0f32).exp());
    assert_eq!(
        f.denoiser(0.5, &x).unwrap().as_slice(),
        &[f64::from(2.0 * silu + 1.0)]
    );
    assert_eq!(
        f.score(0.5, &x).unwrap().as_slice(),
        &[f64::from(2.0 * silu - 3.0)]
    );
    assert!(f.velocity(0.5, &x).is_err());
}

#[test]
fn bad_files_are_typed_errors() {
    let w = weights(format::TRUNK);
    let ok = tiny(Activation::Relu);
    // an activation the host does not evaluate
    assert!(matches!(
        HostNet::from_bytes(&file(&meta(FORMAT, &tiny(Activation::Gelu)), &refs(&w))),
        Err(ModelError::UnsupportedActivation(Activation::Gelu))
    ));
    // a format this version does not read
    assert!(matches!(
        HostNet::from_bytes(&file(&meta("si-nn/3", &ok), &refs(&w))),
        Err(ModelError::Format { found }) if found == "si-nn/3"
    ));
    // a configuration out of range: the same check as si-nn's
    let mut wide = ok.clone();
    wide.heads = vec![Head::B, Head::B];
    assert!(matches!(
        HostNet::from_bytes(&file(&meta(FORMAT, &wide), &refs(&w))),
        Err(ModelError::InvalidHyperParameter { name: "heads", .. })
    ));
    // a tensor missing, or of the wrong shape
    assert!(matches!(
        HostNet::from_bytes(&file(&meta(FORMAT, &ok), &refs(&w[..3]))),
        Err(ModelError::BadCheckpoint(m)) if m.contains("trunk.l1.bias")
    ));
    let mut bent = w.clone();
    bent[2].1 = vec![1, 2];
    bent[2].2 = vec![2.0, 0.0];
    assert!(matches!(
        HostNet::from_bytes(&file(&meta(FORMAT, &ok), &refs(&bent))),
        Err(ModelError::BadCheckpoint(_))
    ));
    // no metadata, not a checkpoint, no file
    assert!(matches!(
        HostNet::from_bytes(b"not a checkpoint"),
        Err(ModelError::BadCheckpoint(_))
    ));
    assert!(matches!(
        HostNet::read(std::path::Path::new("/nonexistent/m.safetensors")),
        Err(ModelError::Io { .. })
    ));
}

#[test]
fn model_configs_are_checked() {
    let ok = tiny(Activation::Relu);
    assert!(ok.clone().check().is_ok());
    for (name, bad) in [
        (
            "dim",
            ModelConfig {
                dim: 0,
                ..ok.clone()
            },
        ),
        (
            "width",
            ModelConfig {
                width: 0,
                ..ok.clone()
            },
        ),
        (
            "depth",
            ModelConfig {
                depth: 65,
                ..ok.clone()
            },
        ),
        (
            "time_features",
            ModelConfig {
                time_features: 65,
                ..ok.clone()
            },
        ),
        (
            "time_segments",
            ModelConfig {
                time_segments: (1 << 16) + 1,
                ..ok.clone()
            },
        ),
        (
            "context_dim",
            ModelConfig {
                context_dim: (1 << 24) + 1,
                ..ok.clone()
            },
        ),
        (
            "heads",
            ModelConfig {
                heads: vec![],
                ..ok.clone()
            },
        ),
    ] {
        match bad.check() {
            Err(ModelError::InvalidHyperParameter { name: n, .. }) => assert_eq!(n, name),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert_eq!("Swish".parse::<Activation>().unwrap(), Activation::Silu);
    assert_eq!("η".parse::<Head>().unwrap(), Head::Eta);
    assert!(matches!(
        "w".parse::<Head>(),
        Err(ModelError::InvalidHyperParameter { name: "heads", .. })
    ));
}
