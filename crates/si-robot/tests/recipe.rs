//! The recipe: kind names, the sidecar beside a checkpoint, and its typed errors.

use si_robot::recipe::meta_path;
use si_robot::{
    PolicyKind, PolicyMeta, Readout, RobotError, StepperChoice, TrainedPolicy, TubeConfig,
};

#[test]
fn kinds_and_steppers_read_back_their_names() {
    for kind in PolicyKind::ALL {
        assert_eq!(kind.to_string().parse::<PolicyKind>().unwrap(), kind);
    }
    assert_eq!(
        "streaming-sde".parse::<PolicyKind>().unwrap(),
        PolicyKind::StreamingSde
    );
    for s in [StepperChoice::Exponential, StepperChoice::Euler] {
        assert_eq!(s.to_string().parse::<StepperChoice>().unwrap(), s);
    }
    assert!(matches!(
        "diffusion".parse::<PolicyKind>(),
        Err(RobotError::InvalidParameter { name: "kind", .. })
    ));
    // the readouts by the names the command line and the sidecar use
    for (r, name) in [(Readout::State, "state"), (Readout::Mean, "mean")] {
        assert_eq!((r.name(), r.to_string()), (name, name.to_string()));
        assert_eq!(name.parse::<Readout>().unwrap(), r);
    }
    assert!(matches!(
        "noise".parse::<Readout>(),
        Err(RobotError::InvalidParameter {
            name: "readout",
            ..
        })
    ));
    // the checked streaming settings keep the readout asked for
    for r in Readout::ALL {
        let c = si_robot::StreamingConfig {
            readout: r,
            ..Default::default()
        };
        let tube = TubeConfig::default().check().unwrap();
        assert_eq!(c.check(tube).unwrap().readout(), r);
    }
    assert!(matches!(
        "rk4".parse::<StepperChoice>(),
        Err(RobotError::InvalidParameter {
            name: "stepper",
            ..
        })
    ));
    assert_eq!(PolicyKind::Chunked.state_dim(16), 32);
    assert_eq!(PolicyKind::Streaming.state_dim(16), 2);
    assert_eq!(PolicyKind::StreamingSde.default_lambda(), 1.0);
    assert_eq!(PolicyKind::Streaming.default_lambda(), 0.0);
}

#[test]
fn only_the_chunked_kind_trains_on_a_tube_of_zero_width() {
    let zero = TubeConfig {
        sigma0: 0.0,
        ..TubeConfig::default()
    };
    assert!(PolicyKind::Chunked.training_tube(zero).is_ok());
    for kind in [PolicyKind::Streaming, PolicyKind::StreamingSde] {
        assert!(matches!(
            kind.training_tube(zero),
            Err(RobotError::InvalidParameter { name: "sigma0", .. })
        ));
        assert!(kind.training_tube(TubeConfig::default()).is_ok());
    }
}

#[test]
fn the_sidecar_round_trips_beside_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("policy.safetensors");
    assert_eq!(
        meta_path(&ckpt),
        dir.path().join("policy.safetensors.policy.json")
    );
    let tube = TubeConfig {
        sigma0: 0.05,
        k: 2.0,
        horizon: 16,
    }
    .check()
    .unwrap();
    let meta = PolicyMeta::new(
        PolicyKind::StreamingSde,
        tube,
        &["demos.safetensors".into(), "dart.safetensors".into()],
    );
    meta.write(&ckpt).unwrap();
    let back = PolicyMeta::read(&ckpt).unwrap();
    assert_eq!(back, meta);
    assert_eq!(back.tube().unwrap(), tube);
    // the file format: the field names and the kind's variant name
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta_path(&ckpt)).unwrap()).unwrap();
    assert_eq!(json["kind"], "StreamingSde");
    assert_eq!(json["sigma0"], 0.05);
    assert_eq!(json["k"], 2.0);
    assert_eq!(json["horizon"], 16);
    assert_eq!(json["demos"], "demos.safetensors");
    assert_eq!(json["more_data"][0], "dart.safetensors");
    // a sidecar written before more_data and warm_start existed still reads
    std::fs::write(
        meta_path(&ckpt),
        br#"{"kind": "Streaming", "sigma0": 0.05, "k": 2.0, "horizon": 16, "demos": "d.safetensors"}"#,
    )
    .unwrap();
    let old = PolicyMeta::read(&ckpt).unwrap();
    assert!(old.more_data.is_empty() && old.warm_start.is_none());
}

#[test]
fn a_missing_or_bad_sidecar_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("none.safetensors");
    assert!(matches!(
        TrainedPolicy::load(&ckpt),
        Err(RobotError::Io { .. })
    ));
    std::fs::write(meta_path(&ckpt), b"{\"kind\": \"Streaming\"}").unwrap();
    assert!(matches!(
        PolicyMeta::read(&ckpt),
        Err(RobotError::Sidecar { .. })
    ));
    std::fs::write(
        meta_path(&ckpt),
        b"{\"kind\": \"Streaming\", \"sigma0\": -1.0, \"k\": 2.0, \"horizon\": 16, \"demos\": \"d\"}",
    )
    .unwrap();
    assert!(matches!(
        PolicyMeta::read(&ckpt).unwrap().tube(),
        Err(RobotError::InvalidParameter { .. })
    ));
    // a sidecar but no checkpoint: the model reader's error
    assert!(matches!(
        TrainedPolicy::load(&ckpt),
        Err(RobotError::Model(_))
    ));
}

#[test]
fn each_kind_trains_its_model() {
    use si_model::{Activation, Head};
    let s = PolicyKind::StreamingSde.model(16, 64, 3);
    assert_eq!((s.dim, s.width, s.depth), (2, 64, 3));
    assert_eq!(s.activation, Activation::Silu);
    assert_eq!(
        (s.time_features, s.time_segments, s.context_dim),
        (4, 16, 22)
    );
    assert_eq!(s.heads, vec![Head::B, Head::Eta]);
    assert!(s.shared_trunk);
    assert_eq!(PolicyKind::Streaming.model(16, 64, 3), s);
    assert_eq!(si_robot::recipe::tube_model(16, 64, 3), s);
    let c = PolicyKind::Chunked.model(16, 64, 3);
    assert_eq!((c.dim, c.time_segments, c.context_dim), (32, 0, 22));
    assert_eq!(c.heads, vec![Head::B]);
    assert_eq!((c.width, c.depth, c.time_features), (64, 3, 4));
}

#[test]
fn each_kind_trains_on_its_targets() {
    use si_robot::{ActionPath, Window, CONTEXT_DIM};
    let path =
        |h: usize| ActionPath::new((0..=h).map(|j| [j as f64 / 16.0, 0.0]).collect()).unwrap();
    let windows = |h: usize| {
        vec![Window {
            context: [0.0; CONTEXT_DIM],
            path: path(h),
        }]
    };
    let tube = TubeConfig::default().check().unwrap();
    let s = PolicyKind::Streaming
        .training_source(windows(16), tube, None)
        .unwrap();
    assert_eq!((s.dim(), s.context_dim()), (2, CONTEXT_DIM));
    let c = PolicyKind::Chunked
        .training_source(windows(16), tube, None)
        .unwrap();
    assert_eq!((c.dim(), c.context_dim()), (32, CONTEXT_DIM));
    // windows of another horizon than the tube's
    assert!(matches!(
        PolicyKind::Chunked.training_source(windows(8), tube, None),
        Err(RobotError::Demonstrations(_))
    ));
    // a live context is the streaming kinds' alone
    assert!(PolicyKind::StreamingSde
        .training_source(
            windows(16),
            tube,
            Some(si_robot::LiveLinks::Whole(vec![None]))
        )
        .is_ok());
    assert!(matches!(
        PolicyKind::Chunked.training_source(
            windows(16),
            tube,
            Some(si_robot::LiveLinks::Whole(vec![None]))
        ),
        Err(RobotError::InvalidParameter {
            name: "context",
            ..
        })
    ));
}

#[test]
fn a_tuned_sidecar_round_trips_and_an_old_one_still_reads() {
    use si_robot::{SweepRow, Tuning};
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("policy.safetensors");
    // a sidecar written before tuning existed: no `tuning` field
    std::fs::write(
        meta_path(&ckpt),
        r#"{"kind": "Streaming", "sigma0": 0.05, "k": 2.0, "horizon": 16, "demos": "d.safetensors"}"#,
    )
    .unwrap();
    let mut meta = PolicyMeta::read(&ckpt).unwrap();
    assert_eq!(meta.tuning, None);
    assert_eq!(meta.kind, PolicyKind::Streaming);
    let tuning = Tuning {
        lambda: 2.0,
        readout: Readout::Mean,
        chosen_on: "validation".into(),
        seeds: "validation".into(),
        stepper: "exponential".into(),
        reanchor_every: 8,
        criterion: si_robot::Criterion::Success,
        sweep: vec![
            SweepRow {
                lambda: 0.0,
                readout: Readout::State,
                mean_score: 0.5,
                successes: 3,
                episodes: 10,
            },
            SweepRow {
                lambda: 2.0,
                readout: Readout::Mean,
                mean_score: 0.75,
                successes: 6,
                episodes: 10,
            },
        ],
    };
    meta.tuning = Some(tuning.clone());
    meta.write(&ckpt).unwrap();
    let back = PolicyMeta::read(&ckpt).unwrap();
    assert_eq!(back, meta);
    assert_eq!(
        back.tuning.unwrap().chosen_on_set(),
        Some(si_pusht::SeedSet::Validation)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta_path(&ckpt)).unwrap()).unwrap();
    assert_eq!(json["tuning"]["lambda"], 2.0);
    assert_eq!(json["tuning"]["chosen_on"], "validation");
    assert_eq!(json["tuning"]["stepper"], "exponential");
    assert_eq!(json["tuning"]["reanchor_every"], 8);
    assert_eq!(json["tuning"]["sweep"][1]["mean_score"], 0.75);
    assert_eq!(json["tuning"]["readout"], "mean");
    assert_eq!(json["tuning"]["sweep"][1]["readout"], "mean");
    assert_eq!(json["tuning"]["criterion"], "success");
    // a tuning written before readouts existed (no `readout` fields) reads as the state
    let old = r#"{"kind": "StreamingSde", "sigma0": 0.05, "k": 2.0, "horizon": 16, "demos": "d.safetensors",
        "tuning": {"lambda": 8.0, "chosen_on": "validation", "seeds": "300000..300200", "stepper": "exponential",
        "reanchor_every": 8, "sweep": [{"lambda": 8.0, "mean_score": 0.9, "successes": 1, "episodes": 2}]}}"#;
    std::fs::write(meta_path(&ckpt), old).unwrap();
    let t = PolicyMeta::read(&ckpt).unwrap().tuning.unwrap();
    assert_eq!(
        (t.lambda, t.readout, t.sweep[0].readout),
        (8.0, Readout::State, Readout::State)
    );
    // ... and was chosen by the score
    assert_eq!(t.criterion, si_robot::Criterion::Score);
    meta.write(&ckpt).unwrap();
    // an untuned sidecar is written without the field
    meta.tuning = None;
    meta.write(&ckpt).unwrap();
    let text = std::fs::read_to_string(meta_path(&ckpt)).unwrap();
    assert!(!text.contains("tuning"), "{text}");
}
