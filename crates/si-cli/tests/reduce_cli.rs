//! `si reduce-variance` end to end on a small Gaussian sample, and every bad input as a clear error.

use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_data::npy::{read_points, to_bytes, write_points, NpyDtype};

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-reduce-cli-")
        .tempdir()
        .unwrap()
}

fn si(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_si"))
        .arg("reduce-variance")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn reduce_variance_writes_one_clean_row_per_observation() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    let y = Points::standard_normal(1500, 2, &mut ChaCha8Rng::seed_from_u64(1));
    let data = d.join("y.npy");
    write_points(&data, &y, NpyDtype::F32).unwrap();
    let out = d.join("x.npy");
    let small = [
        "--steps",
        "60",
        "--batch",
        "200",
        "--width",
        "16",
        "--depth",
        "1",
        "--transport-steps",
        "4",
        "--monitor-every",
        "30",
        "--monitor-points",
        "500",
        "--quiet",
    ];
    for forward in ["gaussian", "uniform", "mask=1,0", "blur=0.5,0.5"] {
        let mut args = vec![
            "--data",
            data.to_str().unwrap(),
            "--sigma",
            "0.5",
            "--out",
            out.to_str().unwrap(),
            "--forward",
            forward,
        ];
        args.extend_from_slice(&small);
        let o = si(&args);
        assert!(
            o.status.success(),
            "{forward}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let x = read_points(&out).unwrap();
        assert_eq!((x.len(), x.dim()), (1500, 2), "{forward}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("Cov(x)"), "{text}");
        let log = String::from_utf8_lossy(&o.stderr);
        assert!(log.contains("monitor: unbiased energy distance"), "{log}");
    }
}

#[test]
fn bad_inputs_are_clear_errors() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    // enough rows for the defaults: 1000 held out for the monitor and a training batch of 1000
    let y = Points::standard_normal(2000, 2, &mut ChaCha8Rng::seed_from_u64(2));
    let good = d.join("good.npy");
    write_points(&good, &y, NpyDtype::F64).unwrap();
    let fail = |args: &[&str], want: &str| {
        let o = si(&[&["--out", d.join("o.npy").to_str().unwrap()], args].concat());
        assert!(!o.status.success(), "{args:?} succeeded");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(e.contains(want), "{args:?}: {e}");
    };
    let g = good.to_str().unwrap();
    fail(
        &["--data", g, "--sigma", "0"],
        "--sigma must be finite and > 0",
    );
    fail(
        &["--data", g, "--sigma=-1"],
        "--sigma must be finite and > 0",
    );
    fail(
        &["--data", g, "--sigma", "NaN"],
        "--sigma must be finite and > 0",
    );
    // Cov(y) ≈ I: σ = 1.2 leaves no law x
    fail(&["--data", g, "--sigma", "1.2"], "smallest eigenvalue");
    fail(
        &["--data", g, "--sigma", "0.5", "--forward", "wiggle"],
        "unknown forward model",
    );
    fail(
        &["--data", g, "--sigma", "0.5", "--forward", "mask=1,0,1"],
        "mask has 3 entries",
    );
    fail(
        &["--data", g, "--sigma", "0.5", "--forward", "blur=a"],
        "not a number",
    );
    // a NaN observation
    let mut bytes = to_bytes(&y, NpyDtype::F64);
    let at = bytes.len() - 8;
    bytes[at..].copy_from_slice(&f64::NAN.to_le_bytes());
    let nan = d.join("nan.npy");
    std::fs::write(&nan, &bytes).unwrap();
    fail(
        &["--data", nan.to_str().unwrap(), "--sigma", "0.5"],
        "non-finite",
    );
    // an empty file, a missing one, and too few rows
    let empty = d.join("empty.npy");
    std::fs::write(&empty, b"").unwrap();
    fail(
        &["--data", empty.to_str().unwrap(), "--sigma", "0.5"],
        "reading",
    );
    fail(
        &[
            "--data",
            d.join("none.npy").to_str().unwrap(),
            "--sigma",
            "0.5",
        ],
        "reading",
    );
    let few = d.join("few.npy");
    write_points(
        &few,
        &Points::standard_normal(20, 2, &mut ChaCha8Rng::seed_from_u64(3)),
        NpyDtype::F64,
    )
    .unwrap();
    fail(
        &["--data", few.to_str().unwrap(), "--sigma", "0.5"],
        "rows; at least",
    );
    // one row short of the monitor's 10 and a training batch of 8
    let short = d.join("short.npy");
    write_points(
        &short,
        &Points::standard_normal(17, 2, &mut ChaCha8Rng::seed_from_u64(4)),
        NpyDtype::F64,
    )
    .unwrap();
    let (path, batch, monitor) = (short.to_str().unwrap(), "8", "10");
    let args = ["--data", path, "--sigma", "0.5", "--batch", batch];
    fail(
        &[&args[..], &["--monitor-points", monitor]].concat(),
        "at least 18 are needed (10 held out for the monitor, a batch of 8 for training)",
    );
}
