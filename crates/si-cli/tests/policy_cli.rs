//! `si policy train`, `si policy tune` and `si policy eval` end to end on a few demonstrations, and their
//! errors.

use std::process::Command;

use si_pusht::expert::training_seeds;
use si_pusht::{collect_dart, run_episode, Dart, Demonstrations, Expert};

/// A fresh temporary folder, removed when dropped.
fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("si-policy-cli-")
        .tempdir()
        .unwrap()
}

/// Two 40-step demonstrations of the expert, written into `d`.
fn two_demonstrations(d: &std::path::Path) -> std::path::PathBuf {
    let demos = d.join("demos.safetensors");
    let mut set = Demonstrations::default();
    let mut expert = Expert::default();
    for s in training_seeds(0).take(2) {
        set.push_episode(&run_episode(&mut expert, s, 40).unwrap())
            .unwrap();
    }
    set.write(&demos).unwrap();
    demos
}

#[test]
fn train_then_eval_prints_score_success_and_latency() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    let demos = two_demonstrations(d);
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
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("chunked (DP horizons, MLP flow-matching sampler), K = 3"));
    // the chunked kind has no λ to tune: refused, and a streaming checkpoint is tuned (below)
    let out = Command::new(bin)
        .args(["policy", "tune", "--checkpoint"])
        .arg(&chunked)
        .args([
            "--lambdas",
            "0,2",
            "--seeds",
            "200000",
            "--max-steps",
            "3",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no lambda to tune"), "{err}");
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
    assert!(rows.starts_with("checkpoint,seed,score,success,steps,latency_us,displaced_at\n"));
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
    // λ = 0 once (both readouts send the same there), λ = 2 with the state and with the mean
    assert_eq!(text.matches("95 % Wilson [").count(), 3, "{text}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("p.safetensors.policy.json")).unwrap())
            .unwrap();
    let tuning = &meta["tuning"];
    assert_eq!(tuning["chosen_on"], "validation", "{meta}");
    // the success rate is the default criterion, and it is written down
    assert_eq!(tuning["criterion"], "success", "{meta}");
    assert!(text.contains("the best success rate"), "{text}");
    assert_eq!(tuning["seeds"], "200000,200001", "{meta}");
    assert_eq!(tuning["sweep"].as_array().unwrap().len(), 3, "{meta}");
    assert_eq!(tuning["sweep"][0]["episodes"], 2, "{meta}");
    assert_eq!(tuning["sweep"][2]["readout"], "mean", "{meta}");
    let lambda = tuning["lambda"].as_f64().unwrap();
    let readout = tuning["readout"].as_str().unwrap().to_string();
    assert!(["state", "mean"].contains(&readout.as_str()), "{meta}");
    let eval_on = |seeds: &str, more: &[&str]| {
        let out = Command::new(bin)
            .args(["policy", "eval", "--checkpoint"])
            .arg(&ckpt)
            .args(["--seeds", seeds, "--max-steps", "5", "--quiet"])
            .args(more)
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
    let (text, err) = eval_on("200002", &[]);
    assert!(text.contains(&format!("lambda = {lambda},")), "{text}");
    assert!(text.contains(&format!("sends the {readout}")), "{text}");
    assert!(text.contains("1 seeds (validation seeds)"), "{text}");
    assert!(err.contains("as chosen on validation seeds"), "{err}");
    assert!(
        err.contains("warning: evaluating on validation seeds"),
        "{err}"
    );
    let (text, err) = eval_on("400000", &[]);
    assert!(text.contains("1 seeds (final seeds)"), "{text}");
    assert!(!err.contains("warning"), "{err}");
    // an asked readout overrides the tuned one
    for asked in ["state", "mean"] {
        let (text, _) = eval_on("400000", &["--readout", asked]);
        assert!(text.contains(&format!("sends the {asked}")), "{text}");
    }
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

/// Runs `si` with `args`; panics with its stderr when it fails; returns its stdout.
fn si(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_si"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn labelled_states_train_warm_started_dagger_runs_and_eval_summarises_seeds() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    let demos = d.join("demos.safetensors");
    let mut set = Demonstrations::default();
    let mut expert = Expert::default();
    set.push_episode(&run_episode(&mut expert, 0, 30).unwrap())
        .unwrap();
    set.write(&demos).unwrap();
    let (dart, _) = collect_dart(
        &Expert::default(),
        Dart {
            episodes: 1,
            first_seed: 3,
            noise: 2.0,
            horizon: 16,
        },
        |_, _| {},
    )
    .unwrap();
    let dart_file = d.join("dart.safetensors");
    dart.write(&dart_file).unwrap();
    let small = [
        "--steps", "20", "--batch", "32", "--width", "16", "--depth", "1", "--quiet",
    ];
    let os = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
    let run =
        |args: Vec<std::ffi::OsString>| si(&args.iter().map(|a| a.as_os_str()).collect::<Vec<_>>());
    // two checkpoints on demonstrations and labelled states pooled, the second warm-started
    let (a, b) = (d.join("a.safetensors"), d.join("b.safetensors"));
    let mut args = os(&["policy", "train", "--kind", "streaming-sde", "--demos"]);
    args.push(format!("{},{}", demos.display(), dart_file.display()).into());
    args.extend(os(&["--out"]));
    args.push(a.clone().into());
    args.extend(os(&small));
    run(args);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("a.safetensors.policy.json")).unwrap())
            .unwrap();
    assert_eq!(meta["more_data"][0], dart_file.display().to_string());
    let mut args = os(&["policy", "train", "--kind", "streaming-sde", "--demos"]);
    args.push(demos.clone().into());
    args.extend(os(&["--warm-start"]));
    args.push(a.clone().into());
    args.extend(os(&["--out"]));
    args.push(b.clone().into());
    args.extend(os(&small));
    run(args);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("b.safetensors.policy.json")).unwrap())
            .unwrap();
    assert_eq!(meta["warm_start"], a.display().to_string());
    // a warm start from another network is refused
    let mut args = os(&["policy", "train", "--demos"]);
    args.push(demos.clone().into());
    args.extend(os(&["--warm-start"]));
    args.push(a.clone().into());
    args.extend(os(&["--out"]));
    args.push(d.join("c.safetensors").into());
    args.extend(os(&[
        "--steps", "5", "--width", "8", "--depth", "1", "--quiet",
    ]));
    let st = Command::new(env!("CARGO_BIN_EXE_si"))
        .args(&args)
        .output()
        .unwrap();
    assert!(!st.status.success());
    // both evaluated, then the mean ± standard error over them and the pooled interval
    let mut args = os(&["policy", "eval", "--checkpoint"]);
    args.push(format!("{},{}", a.display(), b.display()).into());
    args.extend(os(&[
        "--seeds",
        "100000,100001",
        "--max-steps",
        "10",
        "--quiet",
        "--lambda",
        "1",
    ]));
    let text = run(args);
    assert_eq!(text.matches("2 seeds (test seeds)").count(), 2, "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("over 2 checkpoints (all episodes): mean score"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("standard error over checkpoints") && line.contains("/4 = "),
        "{line}"
    );
    // one DAgger round: rollouts on training seeds, labels, a warm-started retraining, a validation score
    let out = d.join("dagger");
    let mut args = os(&["policy", "dagger", "--checkpoint"]);
    args.push(a.clone().into());
    args.extend(os(&["--out"]));
    args.push(out.clone().into());
    args.extend(os(&[
        "--rounds",
        "1",
        "--episodes",
        "1",
        "--steps",
        "10",
        "--batch",
        "32",
        "--validation",
        "200000..200002",
        "--settle",
        "2",
        "--labeller",
        "tracking",
        "--quiet",
    ]));
    let text = run(args);
    assert!(text.contains("round 1: rolled out"), "{text}");
    assert!(text.contains("validation 2 seeds mean score"), "{text}");
    let labels = si_pusht::LabelledStates::from_bytes(
        &std::fs::read(out.join("dagger_1.safetensors")).unwrap(),
    )
    .unwrap();
    assert!(!labels.is_empty() && labels.seeds.iter().all(|&s| s == 150_000));
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("round_1.safetensors.policy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        meta["more_data"][1],
        out.join("dagger_1.safetensors").display().to_string()
    );
    // DAgger refuses to score its rounds on seeds other than validation seeds
    let mut args = os(&["policy", "dagger", "--checkpoint"]);
    args.push(a.clone().into());
    args.extend(os(&["--out"]));
    args.push(out.clone().into());
    args.extend(os(&["--validation", "100000..100002", "--quiet"]));
    let st = Command::new(env!("CARGO_BIN_EXE_si"))
        .args(&args)
        .output()
        .unwrap();
    assert!(!st.status.success());
    // and a labelling expert that can never settle
    let mut args = os(&["policy", "dagger", "--checkpoint"]);
    args.push(a.into());
    args.extend(os(&["--out"]));
    args.push(out.into());
    args.extend(os(&["--settle", "0", "--quiet"]));
    let st = Command::new(env!("CARGO_BIN_EXE_si"))
        .args(&args)
        .output()
        .unwrap();
    assert!(!st.status.success());
    assert!(
        String::from_utf8_lossy(&st.stderr).contains("--settle 0"),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn an_ensemble_of_checkpoints_is_tuned_and_evaluated_as_one_policy() {
    let tmp_dir = tmp();
    let d = tmp_dir.path();
    let demos = two_demonstrations(d);
    let bin = env!("CARGO_BIN_EXE_si");
    let train = |name: &str, kind: &str, seed: &str| {
        let ckpt = d.join(name);
        let st = Command::new(bin)
            .args(["policy", "train", "--kind", kind, "--demos"])
            .arg(&demos)
            .arg("--out")
            .arg(&ckpt)
            .args([
                "--steps", "30", "--batch", "64", "--width", "16", "--depth", "1", "--seed", seed,
                "--quiet",
            ])
            .status()
            .unwrap();
        assert!(st.success());
        ckpt
    };
    let (p0, p1) = (
        train("p0.safetensors", "streaming-sde", "0"),
        train("p1.safetensors", "streaming-sde", "1"),
    );
    let chunked = train("c.safetensors", "chunked", "0");
    let ensemble = |members: &[&std::path::Path], out: &str| {
        let list: Vec<String> = members.iter().map(|m| m.display().to_string()).collect();
        Command::new(bin)
            .args(["policy", "ensemble", "--members", &list.join(",")])
            .arg("--out")
            .arg(d.join(out))
            .output()
            .unwrap()
    };
    let eval_csv = |ckpt: &std::path::Path, csv: &str| {
        let out = Command::new(bin)
            .args(["policy", "eval", "--checkpoint"])
            .arg(ckpt)
            .args(["--seeds", "200000,200001", "--max-steps", "15", "--quiet"])
            .args(["--lambda", "2", "--csv"])
            .arg(d.join(csv))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<String> = std::fs::read_to_string(d.join(csv))
            .unwrap()
            .lines()
            .skip(1)
            // seed, score, success, steps (not the checkpoint's name or the latency)
            .map(|l| l.split(',').skip(1).take(4).collect::<Vec<_>>().join(","))
            .collect();
        (String::from_utf8_lossy(&out.stdout).into_owned(), rows)
    };
    // an ensemble of one model twice is that model, episode for episode
    let out = ensemble(&[&p0, &p0], "twice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, single) = eval_csv(&p0, "single.csv");
    let (text, doubled) = eval_csv(&d.join("twice"), "twice.csv");
    assert_eq!(single, doubled);
    assert!(text.contains("ensemble of 2"), "{text}");
    // two models: tuned as one policy, its choice kept in the ensemble's sidecar, members named relatively
    let out = ensemble(&[&p0, &p1], "pair");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(bin)
        .args(["policy", "tune", "--checkpoint"])
        .arg(d.join("pair"))
        .args([
            "--lambdas",
            "0,2",
            "--seeds",
            "200000",
            "--max-steps",
            "5",
            "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("pair.policy.json")).unwrap()).unwrap();
    assert_eq!(meta["ensemble"][1], "p1.safetensors", "{meta}");
    assert_eq!(meta["tuning"]["chosen_on"], "validation", "{meta}");
    // refused: one member, members of different kinds
    let out = ensemble(&[&p0], "one");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least two"));
    let out = ensemble(&[&p0, &chunked], "mixed");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("same kind and tube"));
}
