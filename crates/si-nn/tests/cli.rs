//! The `train` and `sample` commands on .npy files, and their errors on bad files.

use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_nn::npy::{read_points, write_points, NpyDtype};

#[test]
fn train_then_sample_writes_n_by_d_samples() {
    let dir = std::env::temp_dir().join(format!("si-nn-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.npy");
    let p = Points::standard_normal(300, 3, &mut ChaCha8Rng::seed_from_u64(1));
    write_points(&data, &p, NpyDtype::F64).unwrap();
    let ckpt = dir.join("m.safetensors");
    let bin = env!("CARGO_BIN_EXE_si-nn");
    let st = Command::new(bin)
        .args(["train", "--data"])
        .arg(&data)
        .arg("--checkpoint")
        .arg(&ckpt)
        .args([
            "--steps", "20", "--batch", "32", "--width", "16", "--depth", "1", "--heads", "b,eta",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        ckpt.with_extension("csv").is_file(),
        "loss CSV next to the checkpoint"
    );
    for (eps, dtype) in [("0", "f32"), ("0.5", "f64")] {
        let out = dir.join(format!("s{eps}.npy"));
        let st = Command::new(bin)
            .args(["sample", "--checkpoint"])
            .arg(&ckpt)
            .args([
                "--n", "40", "--steps", "10", "--eps", eps, "--dtype", dtype, "--out",
            ])
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        let s = read_points(&out).unwrap();
        assert_eq!((s.len(), s.dim()), (40, 3));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_data_files_give_clear_errors() {
    let dir = std::env::temp_dir().join(format!("si-nn-clibad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = env!("CARGO_BIN_EXE_si-nn");
    let nan = dir.join("nan.npy");
    write_points(
        &nan,
        &Points::from_matrix_unchecked(nalgebra::DMatrix::from_element(2, 4, f64::NAN)),
        NpyDtype::F32,
    )
    .unwrap();
    let missing = dir.join("missing.npy");
    for (file, expect) in [(&nan, "non-finite"), (&missing, "No such file")] {
        let out = Command::new(bin)
            .args(["train", "--data"])
            .arg(file)
            .arg("--checkpoint")
            .arg(dir.join("x.safetensors"))
            .args(["--steps", "2", "--quiet"])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "expected `{expect}` in: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
