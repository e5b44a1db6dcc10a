//! Training learns the exact fields, and a killed run resumes to the same weights bit for bit.

mod common;

use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::{Batch, Field, Interpolant};
use si_nn::{Head, InterpolantSpec, LearnedField, RunOptions, TensorBatch, Trainer};
use tch::{Device, Kind};

fn weights(t: &Trainer) -> Vec<(String, Vec<f32>)> {
    t.net()
        .named_parameters()
        .into_iter()
        .map(|(n, p)| (n, Vec::<f32>::try_from(p.detach().reshape([-1])).unwrap()))
        .collect()
}

#[test]
fn learned_b_and_s_match_the_exact_fields() {
    let data = gaussian_data();
    let train = small_train(600).check().unwrap();
    let mut tr = Trainer::new(
        small_model(1, vec![Head::B, Head::S]),
        InterpolantSpec::OneSidedLinear,
        train,
        Device::Cpu,
    )
    .unwrap();
    tr.run(&data, &RunOptions::default()).unwrap();
    let (rho0, rho1) = gaussian_pair();
    let exact = MixtureFields::new(rho0, rho1, Interpolant::one_sided_linear()).unwrap();
    let learned = LearnedField::new(tr.net(), Interpolant::one_sided_linear());
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for t in [0.1, 0.5, 0.8] {
        let x = exact.sample(t, 2000, &mut rng).unwrap();
        let xb = TensorBatch::from_points(&x, Kind::Float, Device::Cpu);
        let (b, s) = learned.velocity_and_score(t, &xb).unwrap();
        let (be, se) = exact.velocity_and_score(t, &x).unwrap();
        let rel = |a: &TensorBatch, e: &si_core::Points| {
            let a = a.to_points().unwrap();
            let num: f64 = a
                .as_slice()
                .iter()
                .zip(e.as_slice())
                .map(|(u, v)| (u - v).powi(2))
                .sum();
            let den: f64 = e.as_slice().iter().map(|v| v * v).sum();
            (num / den).sqrt()
        };
        let (eb, es) = (rel(&b, &be), rel(&s, &se));
        assert!(eb < 0.1, "relative L2 error of b at t = {t}: {eb}");
        assert!(es < 0.15, "relative L2 error of s at t = {t}: {es}");
    }
    // The loss log is written and decreasing on average.
    let log = tr.log();
    assert_eq!(log.last().unwrap().step, 600);
    assert!(log.last().unwrap().losses[0] < log[0].losses[0]);
}

#[test]
fn resumed_run_is_bit_identical_to_an_uninterrupted_one() {
    let dir = std::env::temp_dir().join(format!("si-nn-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = gaussian_data();
    let mut cfg = small_train(40);
    cfg.ema_decay = Some(0.9);
    cfg.clip_grad_norm = Some(1.0);
    cfg.log_every = 3;
    let model = small_model(1, vec![Head::B, Head::Eta]);
    let spec = InterpolantSpec::Linear(si_nn::GammaSpec::Sqrt { a: 1.0 });

    let mut full = Trainer::new(
        model.clone(),
        spec,
        cfg.clone().check().unwrap(),
        Device::Cpu,
    )
    .unwrap();
    full.run(&data, &RunOptions::default()).unwrap();

    let ckpt = dir.join("run.safetensors");
    let csv = dir.join("loss.csv");
    let opts = RunOptions {
        checkpoint: Some(ckpt.clone()),
        checkpoint_every: 8,
        csv: Some(csv.clone()),
        stop_at: Some(17), // stopped after 17 steps (not a multiple of log_every: a partial loss window)
        ..Default::default()
    };
    let mut first = Trainer::new(model, spec, cfg.check().unwrap(), Device::Cpu).unwrap();
    first.run(&data, &opts).unwrap();
    drop(first);
    let mut partial = Trainer::resume(&ckpt, Device::Cpu).unwrap();
    assert_eq!(partial.steps_done(), 17);
    partial
        .run(
            &data,
            &RunOptions {
                checkpoint: Some(ckpt.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(partial.steps_done(), 40);
    assert_eq!(
        weights(&partial),
        weights(&full),
        "resumed weights differ from the uninterrupted run"
    );
    // Loss values are reductions whose last bit may depend on memory alignment; steps and rates are exact.
    assert_eq!(partial.log().len(), full.log().len());
    for (a, b) in partial.log().iter().zip(full.log()) {
        assert_eq!((a.step, a.lr.to_bits()), (b.step, b.lr.to_bits()));
        for (u, v) in a.losses.iter().zip(&b.losses) {
            assert!(
                (u - v).abs() <= 1e-5 * (1.0 + v.abs()),
                "loss {u} vs {v} at step {}",
                a.step
            );
        }
    }
    // The checkpoint on disk holds the final state too.
    let reloaded = Trainer::resume(&ckpt, Device::Cpu).unwrap();
    assert_eq!(weights(&reloaded), weights(&full));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("step,lr,loss_b,loss_eta\n"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn killed_process_resumes_to_the_same_weights() {
    // A real kill: the binary trains, checkpoints every 5 steps and aborts after step 13; resuming
    // finishes the run. Its weights must equal those of an uninterrupted run of the binary.
    let dir = std::env::temp_dir().join(format!("si-nn-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data.npy");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let two_d = si_core::Points::standard_normal(250, 2, &mut rng);
    si_nn::npy::write_points(&data, &two_d, si_nn::npy::NpyDtype::F32).unwrap();
    let bin = env!("CARGO_BIN_EXE_si-nn");
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
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn checkpoints_load_in_pytorch() {
    // xtask sets SI_NN_TORCH_PYTHON to the Python of the torch environment it installed.
    let Ok(python) = std::env::var("SI_NN_TORCH_PYTHON") else {
        eprintln!(
            "SI_NN_TORCH_PYTHON not set: run through `cargo xtask test` to check PyTorch loading"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("si-nn-pt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("m.safetensors");
    let tr = Trainer::new(
        small_model(2, vec![Head::B, Head::S]),
        InterpolantSpec::OneSidedLinear,
        small_train(3).check().unwrap(),
        Device::Cpu,
    )
    .unwrap();
    tr.save(&ckpt).unwrap();
    let w = tr.net().named_parameters();
    let (name, p) = &w[0];
    let sum: f64 = p.detach().sum(Kind::Double).double_value(&[]);
    let script = format!(
        "from safetensors.torch import load_file\nimport torch\nd = load_file(r'{}')\nprint(float(d['{}'].double().sum()))",
        ckpt.display(),
        name
    );
    let out = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let py: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!((py - sum).abs() < 1e-9 * (1.0 + sum.abs()), "{py} vs {sum}");
    std::fs::remove_dir_all(&dir).ok();
}
