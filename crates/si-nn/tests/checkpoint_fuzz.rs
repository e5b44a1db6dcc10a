//! Checkpoint files from arbitrary or corrupted bytes give typed errors, never a panic or an unbounded
//! allocation. The default run tries 256 inputs per property; `PROPTEST_CASES=100000 cargo xtask test`
//! (or `cargo test -p si-nn --test checkpoint_fuzz` with LIBTORCH set) runs 10⁵.

mod common;

use common::*;
use proptest::prelude::*;
use si_core::Interpolant;
use si_nn::{FieldNet, Head, ModelConfig, Trainer};
use tch::Device;

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-nn-fuzz-")
        .tempdir()
        .unwrap()
}

fn valid_checkpoint() -> Vec<u8> {
    let dir = tmp();
    let path = dir.path().join("valid.safetensors");
    let mut tr = Trainer::new(
        small_model(2, vec![Head::B, Head::S]),
        small_train(2).check().unwrap(),
        Device::Cpu,
    )
    .unwrap();
    let data = source(
        Interpolant::one_sided_linear(),
        si_core::CouplingPairs(
            si_core::Independent::new(
                si_core::StandardNormal { dim: 2 },
                si_core::StandardNormal { dim: 2 },
            )
            .unwrap(),
        ),
    );
    tr.run(&data, &mut []).unwrap();
    tr.save(&path).unwrap();
    std::fs::read(&path).unwrap()
}

/// Writes `bytes` to a fresh file and loads it both ways; the result may be Ok or Err, never a panic.
fn load_both(bytes: &[u8]) -> (bool, bool) {
    let dir = tmp();
    let path = dir.path().join("c.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let a = Trainer::resume(&path, Device::Cpu).is_ok();
    let b = si_nn::train::load_model(&path, Device::Cpu).is_ok();
    (a, b)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[test]
fn the_model_size_is_known_before_the_model_is_built() {
    for (dim, width, depth, ctx, shared) in [
        (1, 8, 1, 0, true),
        (3, 32, 3, 4, false),
        (2, 64, 2, 0, false),
    ] {
        let mut m = ModelConfig::new(dim);
        m.width = width;
        m.depth = depth;
        m.context_dim = ctx;
        m.shared_trunk = shared;
        m.heads = vec![Head::B, Head::Eta, Head::V];
        let p = m.check().unwrap();
        let built = FieldNet::new(p.clone(), Device::Cpu, 0).num_parameters();
        assert_eq!(p.num_weights(), Some(built as usize));
    }
}

#[test]
fn a_header_describing_a_huge_model_is_an_error_not_an_allocation() {
    let bytes = valid_checkpoint();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta: serde_json::Value =
        serde_json::from_str(&header.metadata().as_ref().unwrap()["si_nn"]).unwrap();
    meta["model"]["width"] = 65536.into();
    meta["model"]["depth"] = 64.into();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut info = std::collections::HashMap::new();
    info.insert("si_nn".to_string(), meta.to_string());
    let out = safetensors::tensor::serialize(st.tensors(), &Some(info)).unwrap();
    assert_eq!(load_both(&out), (false, false));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert_eq!(load_both(&bytes), (false, false));
    }

    #[test]
    fn corrupted_checkpoints_never_panic(flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
        let mut bytes = VALID.with(|v| v.clone());
        for (i, b) in flips {
            let k = i.index(bytes.len());
            bytes[k] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let _ = load_both(&bytes);
    }
}

thread_local! {
    static VALID: Vec<u8> = valid_checkpoint();
}
