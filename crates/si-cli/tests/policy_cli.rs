//! `si policy train`, `si policy tune` and `si policy eval` end to end on a few demonstrations, and their
//! errors.

use std::process::Command;

use si_pusht::expert::training_seeds;
use si_pusht::{run_episode, Demonstrations, Expert};

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-policy-cli-")
        .tempdir()
        .unwrap()
}

#[test]
fn train_then_eval_prints_score_success_and_latency() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    let demos = d.join("demos.safetensors");
    let mut set = Demonstrations::default();
    let mut expert = Expert::default();
    for s in training_seeds(0).take(2) {
        set.push_episode(&run_episode(&mut expert, s, 40).unwrap())
            .unwrap();
    }
    set.write(&demos).unwrap();
    let ckpt = d.join("p.safetensors");
    let bin = env!("CARGO_BIN_EXE_si");
    let st = Command::new(bin)
        .args(["policy", "train", "--demos"])
        .arg(&demos)
        .arg("--out")
        .arg(&ckpt)
        .args([
            "--steps", "30", "--batch", "64", "--width", "16", "--depth", "1", "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p.safetensors.policy.json")).unwrap())
            .unwrap();
    assert_eq!(meta["horizon"], 16);
    for (stepper, lambda) in [("exponential", "0"), ("euler", "1.5")] {
        let csv = d.join(format!("eval-{stepper}.csv"));
        let out = Command::new(bin)
            .args(["policy", "eval", "--checkpoint"])
            .arg(&ckpt)
            .args(["--seeds", "100000,100001", "--max-steps", "20", "--quiet"])
            .args(["--stepper", stepper, "--lambda", lambda, "--csv"])
            .arg(&csv)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("mean score") && text.contains("latency to the first action"),
            "{text}"
        );
        // the seeds' set and a Wilson interval for the success rate
        assert!(text.contains("2 seeds (test seeds)"), "{text}");
        assert!(text.contains("95 % Wilson ["), "{text}");
        let rows = std::fs::read_to_string(&csv).unwrap();
        assert_eq!(rows.lines().count(), 3, "{rows}");
    }
    // the chunked baseline: a model of the whole 16-action chunk, K Euler steps, 8 actions executed
    let chunked = d.join("c.safetensors");
    let st = Command::new(bin)
        .args(["policy", "train", "--kind", "chunked", "--demos"])
        .arg(&demos)
        .arg("--out")
        .arg(&chunked)
        .args([
            "--steps", "30", "--batch", "64", "--width", "16", "--depth", "1", "--quiet",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = Command::new(bin)
        .args(["policy", "eval", "--checkpoint"])
        .arg(&chunked)
        .args([
            "--seeds",
            "100000",
            "--max-steps",
            "20",
            "--quiet",
            "--k",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("chunked, K = 3"));
    // the robustness protocol: the block displaced after step 5, said in the summary and the CSV
    let csv = d.join("displaced.csv");
    let out = Command::new(bin)
        .args(["policy", "eval", "--checkpoint"])
        .arg(&ckpt)
        .args(["--seeds", "100000,100001", "--max-steps", "12", "--quiet"])
        .args(["--displace-at", "5", "--csv"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("block displaced 60 px after step 5"),
        "{text}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(rows.starts_with("seed,score,success,steps,latency_us,displaced_at\n"));
    let displaced = rows.lines().skip(1).filter(|l| l.ends_with(",5")).count();
    assert!(
        text.contains(&format!("({displaced} episodes displaced)")),
        "{text}"
    );
    assert!(displaced >= 1, "{rows}");
    // score and success over the displaced episodes only, with their count and a Wilson interval
    let line = text
        .lines()
        .find(|l| l.starts_with("displaced episodes only:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.starts_with(&format!(
            "displaced episodes only: {displaced} of 2, mean score"
        )),
        "{line}"
    );
    assert!(line.contains("95 % Wilson ["), "{line}");
    // tuning: λ chosen on validation seeds, kept in the sidecar, used by eval when no λ is given
    let out = Command::new(bin)
        .args(["policy", "tune", "--checkpoint"])
        .arg(&ckpt)
        .args(["--lambdas", "0,2", "--seeds", "200000,200001"])
        .args(["--max-steps", "10", "--quiet"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("chosen lambda = "), "{text}");
    assert_eq!(text.matches("95 % Wilson [").count(), 2, "{text}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p.safetensors.policy.json")).unwrap())
            .unwrap();
    let tuning = &meta["tuning"];
    assert_eq!(tuning["chosen_on"], "validation", "{meta}");
    assert_eq!(tuning["seeds"], "200000,200001", "{meta}");
    assert_eq!(tuning["sweep"].as_array().unwrap().len(), 2, "{meta}");
    assert_eq!(tuning["sweep"][0]["episodes"], 2, "{meta}");
    let lambda = tuning["lambda"].as_f64().unwrap();
    let eval_on = |seeds: &str| {
        let out = Command::new(bin)
            .args(["policy", "eval", "--checkpoint"])
            .arg(&ckpt)
            .args(["--seeds", seeds, "--max-steps", "5", "--quiet"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (text, err) = eval_on("200002");
    assert!(text.contains(&format!("lambda = {lambda},")), "{text}");
    assert!(text.contains("1 seeds (validation seeds)"), "{text}");
    assert!(err.contains("as chosen on validation seeds"), "{err}");
    assert!(
        err.contains("warning: evaluating on validation seeds"),
        "{err}"
    );
    let (text, err) = eval_on("400000");
    assert!(text.contains("1 seeds (final seeds)"), "{text}");
    assert!(!err.contains("warning"), "{err}");
    // λ was chosen with the exponential step and T_chunk 8: other settings are warned about
    let out = Command::new(bin)
        .args(["policy", "eval", "--checkpoint"])
        .arg(&ckpt)
        .args(["--seeds", "final", "--max-steps", "1", "--quiet"])
        .args(["--stepper", "euler", "--reanchor-every", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chosen with the exponential step and T_chunk = 8, not with these settings"),
        "{err}"
    );
    // errors: a missing demonstrations file, a checkpoint without its settings, bad seeds, σ0 = 0, no seeds,
    // tuning on test or final seeds
    let fail = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let missing = d.join("none.safetensors");
    let e = fail(&[
        "policy",
        "train",
        "--demos",
        missing.to_str().unwrap(),
        "--out",
        "x.safetensors",
    ]);
    assert!(e.contains("reading"), "{e}");
    std::fs::copy(&ckpt, d.join("bare.safetensors")).unwrap();
    let e = fail(&[
        "policy",
        "eval",
        "--checkpoint",
        d.join("bare.safetensors").to_str().unwrap(),
        "--seeds",
        "test",
    ]);
    assert!(e.contains("policy train"), "{e}");
    let e = fail(&[
        "policy",
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--seeds",
        "5..5",
    ]);
    assert!(e.contains("empty seed range"), "{e}");
    let e = fail(&[
        "policy",
        "eval",
        "--checkpoint",
        ckpt.to_str().unwrap(),
        "--seeds",
        "test",
        "--displace-at",
        "0",
    ]);
    assert!(e.contains("at_step"), "{e}");
    let e = fail(&["policy", "eval", "--checkpoint", ckpt.to_str().unwrap()]);
    assert!(e.contains("--seeds"), "{e}");
    for seeds in ["test", "final", "199999..200002"] {
        let e = fail(&[
            "policy",
            "tune",
            "--checkpoint",
            ckpt.to_str().unwrap(),
            "--seeds",
            seeds,
        ]);
        assert!(e.contains("validation seeds only"), "{e}");
    }
    let e = fail(&[
        "policy",
        "train",
        "--demos",
        demos.to_str().unwrap(),
        "--out",
        "y.safetensors",
        "--sigma0",
        "0",
    ]);
    assert!(e.contains("sigma0"), "{e}");
}

#[test]
fn eval_names_its_settings_and_keeps_the_old_flags() {
    let bin = env!("CARGO_BIN_EXE_si");
    let out = Command::new(bin)
        .args(["policy", "eval", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("--euler-steps"), "{help}");
    assert!(help.contains("--reanchor-every"), "{help}");
    // the old names are aliases: a missing checkpoint is the error, not an unknown flag
    let out = Command::new(bin)
        .args(["policy", "eval", "--checkpoint", "none.safetensors"])
        .args(["--seeds", "test", "--k", "4", "--chunk", "4"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(e.contains("policy train"), "{e}");
    let out = Command::new(bin)
        .args(["policy", "train", "--kind", "diffusion"])
        .args(["--demos", "d.safetensors", "--out", "o.safetensors"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(e.contains("streaming, streaming-sde or chunked"), "{e}");
}
