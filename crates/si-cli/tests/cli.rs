//! The `train` and `sample` commands on .npy files, and their errors on bad files.

use std::process::Command;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use si_data::npy::{read_points, write_points, NpyDtype};

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-cli-test-")
        .tempdir()
        .unwrap()
}

#[test]
fn train_then_sample_writes_n_by_d_samples() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let data = dir.join("data.npy");
    let p = Points::standard_normal(300, 3, &mut ChaCha8Rng::seed_from_u64(1));
    write_points(&data, &p, NpyDtype::F64).unwrap();
    let ckpt = dir.join("m.safetensors");
    let bin = env!("CARGO_BIN_EXE_si");
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
    for (stepper, dtype) in [
        ("heun", "f32"),
        ("euler-maruyama", "f64"),
        ("noise-first", "f32"),
        ("euler-maruyama:eps=0.3,noise-first", "f32"),
        ("dormand-prince:rtol=1e-3,atol=1e-3", "f64"),
    ] {
        let out = dir.join(format!("s-{stepper}.npy"));
        let st = Command::new(bin)
            .args(["sample", "--checkpoint"])
            .arg(&ckpt)
            .args([
                "--n",
                "40",
                "--steps",
                "10",
                "--stepper",
                stepper,
                "--eps",
                "0.5",
                "--dtype",
                dtype,
                "--out",
            ])
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success());
        let s = read_points(&out).unwrap();
        assert_eq!((s.len(), s.dim()), (40, 3));
    }
    // Stochastic Heun's corrector evaluates the score at t = 1, where s = −η/α of this one-sided model with
    // an η head is singular: a clear error, not NaN samples.
    let out = Command::new(bin)
        .args(["sample", "--checkpoint"])
        .arg(&ckpt)
        .args(["--n", "4", "--stepper", "stochastic-heun", "--out"])
        .arg(dir.join("sh.npy"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("singular"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With an s head the score is finite at t = 1 and stochastic Heun samples.
    let ckpt_s = dir.join("ms.safetensors");
    let st = Command::new(bin)
        .args(["train", "--data"])
        .arg(&data)
        .arg("--checkpoint")
        .arg(&ckpt_s)
        .args([
            "--steps", "20", "--batch", "32", "--width", "16", "--depth", "1", "--heads", "b,s",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = dir.join("sh.npy");
    let st = Command::new(bin)
        .args(["sample", "--checkpoint"])
        .arg(&ckpt_s)
        .args([
            "--n",
            "40",
            "--steps",
            "10",
            "--stepper",
            "stochastic-heun",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(read_points(&out).unwrap().len(), 40);
    // A stepper's name is checked by the parser, not guessed from the sign of a number.
    let out = Command::new(bin)
        .args(["sample", "--checkpoint"])
        .arg(&ckpt)
        .args(["--n", "4", "--stepper", "milstein", "--out"])
        .arg(dir.join("x.npy"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("noise-first"));
}

#[test]
fn unknown_interpolant_names_list_the_grammar() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let data = dir.join("d.npy");
    write_points(&data, &Points::zeros(8, 2), NpyDtype::F32).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_si"))
        .args(["train", "--data"])
        .arg(&data)
        .arg("--checkpoint")
        .arg(dir.join("x.safetensors"))
        .args(["--steps", "2", "--quiet", "--interpolant", "linear:cubic"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cubic") && err.contains("sqrt"), "{err}");
}

#[test]
fn bad_data_files_give_clear_errors() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let bin = env!("CARGO_BIN_EXE_si");
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
}

#[test]
fn killed_process_resumes_to_the_same_weights() {
    // A real kill: the binary trains, checkpoints every 5 steps and aborts after step 13; resuming
    // finishes the run. Its weights must equal those of an uninterrupted run of the binary.
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let data = dir.join("data.npy");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let two_d = si_core::Points::standard_normal(250, 2, &mut rng);
    write_points(&data, &two_d, NpyDtype::F32).unwrap();
    let bin = env!("CARGO_BIN_EXE_si");
    let run = |ckpt: &std::path::Path, extra: &[&str]| {
        std::process::Command::new(bin)
            .args(["train", "--data"])
            .arg(&data)
            .arg("--checkpoint")
            .arg(ckpt)
            .args([
                "--steps",
                "30",
                "--batch",
                "64",
                "--width",
                "32",
                "--depth",
                "2",
                "--checkpoint-every",
                "5",
                "--seed",
                "5",
                "--quiet",
            ])
            .args(extra)
            .status()
            .unwrap()
    };
    let a = dir.join("a.safetensors");
    let b = dir.join("b.safetensors");
    assert!(run(&a, &[]).success());
    let killed = run(&b, &["--abort-after", "13"]);
    assert!(!killed.success(), "the run should have been killed");
    assert!(run(&b, &["--resume"]).success());
    let (wa, wb) = (
        si_nn::train::checkpoint::load(&a).unwrap(),
        si_nn::train::checkpoint::load(&b).unwrap(),
    );
    assert_eq!(wa.0.step, 30);
    assert_eq!(wb.0.step, 30);
    let mut keys: Vec<&String> = wa.1.keys().collect();
    keys.sort();
    for k in keys {
        let va = Vec::<f32>::try_from(wa.1[k].reshape([-1])).unwrap();
        let vb = Vec::<f32>::try_from(wb.1[k].reshape([-1])).unwrap();
        assert_eq!(va, vb, "tensor {k} differs after kill and resume");
    }
}

/// Runs `si` with `args` (paths and words alike) and returns what it printed and its status.
fn si<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_si"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn likelihood_scores_every_row_by_each_method() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let path = |name: &str| dir.join(name).display().to_string();
    let data = path("data.npy");
    let p = Points::standard_normal(200, 2, &mut ChaCha8Rng::seed_from_u64(2));
    write_points(data.as_ref(), &p, NpyDtype::F32).unwrap();
    // a small linear:sqrt=1 model with the given heads, trained on `data`
    let train = |ckpt: &str, heads: &str, size: [&str; 4]| {
        let [steps, batch, width, depth] = size;
        let o = si(&[
            "train",
            "--data",
            &data,
            "--checkpoint",
            ckpt,
            "--interpolant",
            "linear:sqrt=1",
            "--steps",
            steps,
            "--batch",
            batch,
            "--width",
            width,
            "--depth",
            depth,
            "--activation",
            "tanh",
            "--heads",
            heads,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let likelihood = |ckpt: &str, points: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "likelihood",
            "--checkpoint",
            ckpt,
            "--data",
            points,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        si(&args)
    };
    let ckpt = path("m.safetensors");
    train(&ckpt, "b,s", ["30", "64", "16", "2"]);
    let points = path("x.npy");
    write_points(
        points.as_ref(),
        &Points::standard_normal(7, 2, &mut ChaCha8Rng::seed_from_u64(3)),
        NpyDtype::F64,
    )
    .unwrap();
    let run = |method: &str, extra: &[&str]| {
        let out = path(&format!("ll-{method}.npy"));
        let mut args = vec![
            "--method", method, "--steps", "400", "--chunk", "3", "--quiet",
        ];
        args.extend_from_slice(extra);
        let o = likelihood(&ckpt, &points, &out, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        read_points(out.as_ref()).unwrap()
    };
    let ode = run("ode", &[]);
    assert_eq!((ode.len(), ode.dim()), (7, 1));
    // the same ODE likelihood, adaptively: agrees to the step error of Heun at 400 steps
    let adaptive = run("ode-adaptive", &["--tol", "1e-7"]);
    let worst = run(
        "ode-adaptive",
        &["--tol", "1e-7", "--error-norm", "worst-point"],
    );
    for ((a, b), c) in ode
        .as_slice()
        .iter()
        .zip(adaptive.as_slice())
        .zip(worst.as_slice())
    {
        assert!((a - b).abs() < 1e-3, "Heun {a} vs Dormand-Prince {b}");
        assert!(
            (a - c).abs() < 1e-3,
            "Heun {a} vs Dormand-Prince, worst point {c}"
        );
    }
    // Hutchinson with many probes: unbiased, close to exact in d = 2
    let hutch = run("hutchinson", &["--probes", "64"]);
    for (a, b) in ode.as_slice().iter().zip(hutch.as_slice()) {
        assert!((a - b).abs() < 0.1, "exact {a} vs Hutchinson {b}");
    }
    // SDE: mean and standard error per row
    let sde = run("sde", &["--eps", "0.3", "--paths", "8"]);
    assert_eq!((sde.len(), sde.dim()), (7, 2));
    for i in 0..7 {
        let (m, se) = (sde.point(i)[0], sde.point(i)[1]);
        assert!(m.is_finite() && se >= 0.0 && se.is_finite());
    }
    // wrong dimension and a bad setting: errors, not panics
    write_points(points.as_ref(), &Points::zeros(3, 5), NpyDtype::F64).unwrap();
    let bad = path("bad.npy");
    let o = likelihood(&ckpt, &points, &bad, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("dimension"));
    let o = likelihood(&ckpt, &data, &bad, &["--method", "sde", "--eps", "0"]);
    assert!(!o.status.success());
    // a model whose score is -eta/gamma cannot start the SDE at t = 1 (gamma(1) = 0): a clear error
    let ckpt_eta = path("eta.safetensors");
    train(&ckpt_eta, "b,eta", ["5", "16", "8", "1"]);
    let o = likelihood(&ckpt_eta, &data, &bad, &["--method", "sde"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("singular"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every preset trains, samples on the uniform and the Karras grid, and scores its data through the CLI;
/// the checkpoint keeps the preset's name; a Karras grid on a two-sided interpolant is a clear error.
#[test]
fn presets_train_sample_and_score() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let path = |name: &str| dir.join(name).display().to_string();
    let data = path("data.npy");
    let p = Points::standard_normal(200, 2, &mut ChaCha8Rng::seed_from_u64(4));
    write_points(data.as_ref(), &p, NpyDtype::F64).unwrap();
    for preset in [
        "edm:sigma_max=10",
        "ve:sigma_max=10",
        "vp",
        "fm:sigma_min=0.01",
        "cosine",
        "linear-vp",
    ] {
        let ckpt = path(&format!(
            "{}.safetensors",
            preset.replace([':', '=', ','], "_")
        ));
        let o = si(&[
            "train",
            "--data",
            &data,
            "--checkpoint",
            &ckpt,
            "--interpolant",
            preset,
            "--steps",
            "20",
            "--batch",
            "32",
            "--width",
            "16",
            "--depth",
            "1",
            "--heads",
            "b,eta",
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{preset}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let stored = String::from_utf8_lossy(&std::fs::read(&ckpt).unwrap()).into_owned();
        if !["cosine", "linear-vp"].contains(&preset) {
            assert!(
                stored.contains("Preset"),
                "{preset}: no preset in the checkpoint"
            );
        }
        for grid in ["uniform", "karras"] {
            let out = path("s.npy");
            let o = si(&[
                "sample",
                "--checkpoint",
                &ckpt,
                "--n",
                "30",
                "--steps",
                "8",
                "--grid",
                grid,
                "--out",
                &out,
            ]);
            assert!(
                o.status.success(),
                "{preset} {grid}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let s = read_points(out.as_ref()).unwrap();
            assert_eq!((s.len(), s.dim()), (30, 2));
            assert!(
                s.as_slice().iter().all(|v| v.is_finite()),
                "{preset} {grid}"
            );
        }
        let ll = path("ll.npy");
        let o = si(&[
            "likelihood",
            "--checkpoint",
            &ckpt,
            "--data",
            &data,
            "--out",
            &ll,
            "--method",
            "ode",
            "--steps",
            "20",
            "--quiet",
        ]);
        assert!(
            o.status.success(),
            "{preset}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let l = read_points(ll.as_ref()).unwrap();
        assert_eq!(l.len(), 200);
        assert!(l.as_slice().iter().all(|v| v.is_finite()), "{preset}");
    }
    let two = path("two.safetensors");
    let o = si(&[
        "train",
        "--data",
        &data,
        "--checkpoint",
        &two,
        "--interpolant",
        "linear",
        "--steps",
        "5",
        "--batch",
        "16",
        "--width",
        "8",
        "--depth",
        "1",
        "--quiet",
    ]);
    assert!(o.status.success());
    let o = si(&[
        "sample",
        "--checkpoint",
        &two,
        "--n",
        "4",
        "--grid",
        "karras",
        "--out",
        &path("k.npy"),
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("one-sided"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = si(&[
        "sample",
        "--checkpoint",
        &two,
        "--n",
        "4",
        "--grid",
        "cubic",
        "--out",
        &path("k.npy"),
    ]);
    assert!(!o.status.success());
}

/// `si` with `args`; (success, stderr).
fn run_si(args: &[&std::ffi::OsStr]) -> (bool, String) {
    let out = si(args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn images_train_a_unet_sample_as_images_and_score_only_images_of_their_shape() {
    use si_data::npy::{read_images, write_images, ImageShape};
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let shape = ImageShape {
        channels: 1,
        height: 4,
        width: 4,
    };
    let p = Points::standard_normal(64, 16, &mut ChaCha8Rng::seed_from_u64(2));
    let images = dir.join("images.npy");
    write_images(&images, &p, shape, NpyDtype::F32).unwrap();
    let ckpt = dir.join("unet.safetensors");
    let s = |v: &str| std::ffi::OsString::from(v);
    let train = |data: &std::path::Path, arch: &str| {
        run_si(&[
            &s("train"),
            &s("--data"),
            data.as_os_str(),
            &s("--checkpoint"),
            ckpt.as_os_str(),
            &s("--arch"),
            &s(arch),
            &s("--unet-base"),
            &s("8"),
            &s("--unet-groups"),
            &s("4"),
            &s("--unet-blocks"),
            &s("1"),
            &s("--heads"),
            &s("b,eta"),
            &s("--steps"),
            &s("3"),
            &s("--batch"),
            &s("8"),
            &s("--quiet"),
        ])
    };
    let (ok, err) = train(&images, "auto");
    assert!(ok, "{err}");
    let meta = si_nn::train::load_model(&ckpt, tch::Device::Cpu).unwrap().2;
    let unet = meta.model.unet.expect("images train a U-Net");
    assert_eq!((unet.channels, unet.height, unet.width), (1, 4, 4));
    // samples come back as (N, 1, 4, 4) images
    let out = dir.join("samples.npy");
    let (ok, err) = run_si(&[
        &s("sample"),
        &s("--checkpoint"),
        ckpt.as_os_str(),
        &s("--n"),
        &s("5"),
        &s("--steps"),
        &s("4"),
        &s("--out"),
        out.as_os_str(),
    ]);
    assert!(ok, "{err}");
    let (q, got) = read_images(&out).unwrap();
    assert_eq!((q.len(), got), (5, shape));
    // likelihoods of images of the model's shape; points or other images are refused, naming the shape
    let ll = dir.join("ll.npy");
    let likelihood = |data: &std::path::Path| {
        run_si(&[
            &s("likelihood"),
            &s("--checkpoint"),
            ckpt.as_os_str(),
            &s("--data"),
            data.as_os_str(),
            &s("--out"),
            ll.as_os_str(),
            &s("--steps"),
            &s("4"),
        ])
    };
    let (ok, err) = likelihood(&out);
    assert!(ok, "{err}");
    assert_eq!(read_points(&ll).unwrap().len(), 5);
    let flat = dir.join("flat.npy");
    write_points(&flat, &p, NpyDtype::F32).unwrap();
    let (ok, err) = likelihood(&flat);
    assert!(!ok && err.contains("(N, 1, 4, 4) or (N, 4, 4)"), "{err}");
    let other = dir.join("other.npy");
    let wide = ImageShape {
        channels: 1,
        height: 2,
        width: 8,
    };
    write_images(&other, &p, wide, NpyDtype::F32).unwrap();
    let (ok, err) = likelihood(&other);
    assert!(!ok && err.contains("images of 1x2x8"), "{err}");
    // a U-Net needs images
    let (ok, err) = train(&flat, "unet");
    assert!(!ok && err.contains("--arch unet needs images"), "{err}");
    // an image the U-Net cannot halve is refused before training
    let odd = dir.join("odd.npy");
    let p3 = Points::standard_normal(8, 9, &mut ChaCha8Rng::seed_from_u64(3));
    let three = ImageShape {
        channels: 1,
        height: 3,
        width: 3,
    };
    write_images(&odd, &p3, three, NpyDtype::F32).unwrap();
    let (ok, err) = train(&odd, "auto");
    assert!(!ok && err.contains("not divisible by 2"), "{err}");
    // flattened through an MLP when asked
    let (ok, err) = train(&images, "mlp");
    assert!(ok, "{err}");
    assert!(si_nn::train::load_model(&ckpt, tch::Device::Cpu)
        .unwrap()
        .2
        .model
        .unet
        .is_none());
}

/// `si train --validation` scores held-out points while training: a row per score at the steps asked and
/// at the end, written after each score, so that a killed run keeps its rows and `--resume` continues the
/// file; held-out points of another dimension, and a model without b, are refused before training.
#[test]
fn train_scores_held_out_points_while_training() {
    let tmp_dir = tmp();
    let dir = tmp_dir.path();
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut normal_file = |name: &str, n: usize, d: usize| {
        let path = dir.join(name);
        let p = Points::standard_normal(n, d, &mut rng);
        write_points(&path, &p, NpyDtype::F64).unwrap();
        path
    };
    let data = normal_file("data.npy", 300, 2);
    let held = normal_file("held.npy", 50, 2);
    let wrong = normal_file("wrong.npy", 5, 3);
    let ckpt = dir.join("m.safetensors");
    let bin = env!("CARGO_BIN_EXE_si");
    let train = |extra: &[&str], ckpt: &std::path::Path, held: &std::path::Path| {
        Command::new(bin)
            .args(["train", "--data"])
            .arg(&data)
            .arg("--checkpoint")
            .arg(ckpt)
            .arg("--validation")
            .arg(held)
            .args([
                "--steps",
                "25",
                "--validate-every",
                "10",
                "--checkpoint-every",
                "10",
                "--batch",
                "32",
                "--width",
                "16",
                "--depth",
                "1",
                "--quiet",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let steps = |ckpt: &std::path::Path| -> Vec<f64> {
        let csv = std::fs::read_to_string(ckpt.with_extension("validation.csv")).unwrap();
        csv.lines()
            .skip(1)
            .map(|l| {
                let r: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
                assert!(r[1].is_finite(), "{l}");
                r[0]
            })
            .collect()
    };
    // killed after step 15: the score at step 10 is on disk
    let out = train(&["--abort-after", "15"], &ckpt, &held);
    assert!(!out.status.success());
    assert_eq!(steps(&ckpt), vec![10.0]);
    // resumed from step 10: the file goes on
    let out = train(&["--resume"], &ckpt, &held);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("validation: mean -log-likelihood"), "{err}");
    assert_eq!(steps(&ckpt), vec![10.0, 20.0, 25.0]);
    // a fresh run starts a fresh file
    let fresh = dir.join("f.safetensors");
    assert!(train(&[], &fresh, &held).status.success());
    assert_eq!(steps(&fresh), vec![10.0, 20.0, 25.0]);
    // refused before training: points of another dimension, a model that gives no b
    let w = dir.join("w.safetensors");
    let out = train(&[], &w, &wrong);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong.npy"));
    let out = train(&["--heads", "s"], &w, &held);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs b"));
    assert!(!w.exists(), "nothing trained");

    // --keep-best: the kept checkpoint is the one that scored the lowest row of the CSV. Its score is
    // recomputed by `si likelihood` with the observer's estimator (Heun, 20 steps, one Hutchinson probe
    // from the training seed, chunks of 256), which must give that row's number.
    let kb = dir.join("kb.safetensors");
    let out = train(&["--keep-best", "--seed", "3", "--lr", "0.3"], &kb, &held);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(kb.with_extension("validation.csv")).unwrap();
    let best = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap())
        .fold(f64::INFINITY, f64::min);
    // at this learning rate the curve turns up at the end (2.957, 2.933, 2.963 here), so the kept
    // checkpoint is not the last one: a keeper that always wrote would fail below
    let last: f64 = csv
        .lines()
        .last()
        .unwrap()
        .split(',')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(last > best + 1e-3, "{csv}");
    let best_ckpt = kb.with_extension("best.safetensors");
    let ll = dir.join("ll.npy");
    let out = Command::new(bin)
        .args(["likelihood", "--checkpoint"])
        .arg(&best_ckpt)
        .arg("--data")
        .arg(&held)
        .arg("--out")
        .arg(&ll)
        .args([
            "--method",
            "hutchinson",
            "--steps",
            "20",
            "--probes",
            "1",
            "--seed",
            "3",
            "--chunk",
            "256",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ll = read_points(&ll).unwrap();
    let nll = -ll.matrix().row(0).iter().sum::<f64>() / ll.len() as f64;
    assert!(
        (nll - best).abs() < 1e-6 * (1.0 + best.abs()),
        "the kept checkpoint scores {nll}, the best row is {best}"
    );
    // it needs --validation
    let out = Command::new(bin)
        .args(["train", "--data"])
        .arg(&data)
        .arg("--checkpoint")
        .arg(dir.join("n.safetensors"))
        .args(["--keep-best", "--steps", "2"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--validation"));
    // resumed with --keep-best after a run that kept none: the earlier rows' best has no file, so the
    // best starts again and the kept file is the best of the rows scored from now on
    let rk = dir.join("rk.safetensors");
    let out = train(
        &["--abort-after", "15", "--seed", "3", "--lr", "0.3"],
        &rk,
        &held,
    );
    assert!(!out.status.success());
    let out = train(
        &["--resume", "--keep-best", "--seed", "3", "--lr", "0.3"],
        &rk,
        &held,
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("the best starts again"), "{err}");
    assert!(rk.with_extension("best.safetensors").exists());
}
