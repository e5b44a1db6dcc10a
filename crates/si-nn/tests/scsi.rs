//! SCSI against exact answers in one Gaussian direction (docs/math.md §6): y ~ N(0, 1), F(x) = x + σz with
//! σ² = ½ (r = σ²/c = ½), whose only fixed point is N(0, ½). With α = 1 and the regression (re)solved between
//! refreshes of the transport, the variance after k refreshes is v_k = c(1 − r)/(1 − r^(k+1)):
//! 0.667, 0.571, 0.533, 0.516 for k = 1..4 (measured here: 0.642, 0.559, 0.539, 0.513; the first refresh
//! starts from a random network, so its regression is the least solved).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{AdditiveGaussian, Points};
use si_nn::scsi::{run, MonitorRow, ScsiConfig};
use si_nn::{Activation, Head, LrSchedule, ModelConfig, NnError, TrainConfig, Trainer};

fn trainer(steps: usize, batch: usize) -> Trainer {
    let mut m = ModelConfig::new(1);
    m.width = 64;
    m.depth = 2;
    m.activation = Activation::Silu;
    m.heads = vec![Head::B];
    let mut t = TrainConfig::new(steps);
    t.batch = batch;
    t.lr = 3e-3;
    t.schedule = LrSchedule::Constant;
    t.ema_decay = None;
    t.antithetic = false;
    t.seed = 3;
    Trainer::new(m.check().unwrap(), t.check().unwrap(), tch::Device::Cpu).unwrap()
}

fn variance(x: &Points) -> f64 {
    x.covariance()[(0, 0)]
}

#[test]
fn the_variance_contracts_per_refresh_as_the_exact_recursion_says() {
    let refresh = 400;
    let mut tr = trainer(4 * refresh, 2000);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let y = Points::standard_normal(60_000, 1, &mut rng);
    let cfg = ScsiConfig {
        keep: 1.0,
        transport_steps: 10,
        refresh_every: refresh,
        pool: 8000,
        monitor_every: refresh,
        monitor_points: 20_000,
        ..ScsiConfig::default()
    }
    .check()
    .unwrap();
    let f = AdditiveGaussian::new(1, 0.5f64.sqrt()).unwrap();
    let mut seen = Vec::new();
    let mut obs = |row: &MonitorRow, x: &Points| -> si_nn::Result<()> {
        // the held-out observations' own variance scales every v_k (they are the same points each time)
        seen.push((row.step, variance(x)));
        Ok(())
    };
    run(&mut tr, &cfg, &y, &f, &mut rng, &mut [&mut obs], false).unwrap();
    let r = 0.5f64;
    assert_eq!(seen.len(), 4);
    for (k, &(step, v)) in seen.iter().enumerate() {
        let k = k + 1;
        assert_eq!(step, k * refresh);
        let want = (1.0 - r) / (1.0 - r.powi(k as i32 + 1));
        // sampling: se of a variance from 10^4 points (half the monitor's) is v √(2/10^4) ≈ 0.008; the
        // network's fit adds a little
        assert!(
            (v - want).abs() < 0.035,
            "after refresh {k}: variance {v:.4}, exact recursion {want:.4} (all: {seen:?})"
        );
    }
    // and the recursion is visible: each refresh moved the variance toward ½
    assert!(seen[0].1 > seen[3].1 + 0.1, "{seen:?}");
}

#[test]
fn online_scsi_reaches_the_reduced_variance() {
    // α = 0.9, refresh every step (the published scheme): N(0, 1) with σ² = 0.36 → N(0, 0.64)
    let mut tr = trainer(800, 500);
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let y = Points::standard_normal(20_000, 1, &mut rng);
    let cfg = ScsiConfig {
        transport_steps: 8,
        refresh_every: 1,
        monitor_every: 400,
        monitor_points: 10_000,
        pool: 500,
        ..ScsiConfig::default()
    }
    .check()
    .unwrap();
    let f = AdditiveGaussian::new(1, 0.6).unwrap();
    let mut last = 0.0;
    let mut obs = |_: &MonitorRow, x: &Points| -> si_nn::Result<()> {
        last = variance(x);
        Ok(())
    };
    let log = run(&mut tr, &cfg, &y, &f, &mut rng, &mut [&mut obs], false).unwrap();
    assert!((last - 0.64).abs() < 0.04, "variance {last}, want 0.64");
    // the monitor compares F(x̂) with held-out y: small at the end (the data against N(0, 1.36): ≈ 0.01)
    let end = log.last().unwrap();
    assert_eq!(end.step, 800);
    assert!(end.energy < 3e-3, "{log:?}");
}

#[test]
fn bad_settings_and_inputs_are_typed_errors() {
    for cfg in [
        ScsiConfig {
            keep: 0.0,
            ..ScsiConfig::default()
        },
        ScsiConfig {
            keep: f64::NAN,
            ..ScsiConfig::default()
        },
        ScsiConfig {
            transport_steps: 0,
            ..ScsiConfig::default()
        },
        ScsiConfig {
            refresh_every: 0,
            ..ScsiConfig::default()
        },
        ScsiConfig {
            monitor_points: 1,
            ..ScsiConfig::default()
        },
    ] {
        assert!(matches!(
            cfg.check(),
            Err(NnError::InvalidHyperParameter { .. })
        ));
    }
    let cfg = ScsiConfig {
        monitor_points: 100,
        ..ScsiConfig::default()
    }
    .check()
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut tr = trainer(10, 50);
    // wrong dimension, and too few observations for the held-out set
    let f2 = AdditiveGaussian::new(2, 0.5).unwrap();
    let y1 = Points::standard_normal(500, 1, &mut rng);
    assert!(matches!(
        run(&mut tr, &cfg, &y1, &f2, &mut rng, &mut [], false),
        Err(NnError::Shape { .. })
    ));
    let f1 = AdditiveGaussian::new(1, 0.5).unwrap();
    let few = Points::standard_normal(50, 1, &mut rng);
    assert!(matches!(
        run(&mut tr, &cfg, &few, &f1, &mut rng, &mut [], false),
        Err(NnError::Shape { .. })
    ));
}

/// The SCSI run is an ordinary trainer run: the CSV log and checkpoints work beside the monitor, and a run
/// resumed from a checkpoint written at a multiple of `refresh_every`, with the SCSI generator put back where
/// it was, makes the same floats as the uninterrupted run.
#[test]
fn csv_log_checkpoints_and_resume_work_on_an_scsi_run() {
    use si_nn::scsi::Scsi;
    use si_nn::{Checkpoints, CsvLog, TrainEvent, TrainObserver, TrainState};

    let dir = tempfile::tempdir().unwrap();
    let (ckpt, csv, at_8) = (
        dir.path().join("scsi.safetensors"),
        dir.path().join("scsi.csv"),
        dir.path().join("scsi_8.safetensors"),
    );
    let small = || {
        let mut m = ModelConfig::new(2);
        m.width = 16;
        m.depth = 2;
        m.heads = vec![Head::B];
        let mut t = TrainConfig::new(16);
        t.batch = 40;
        t.lr = 3e-3;
        t.schedule = LrSchedule::Constant;
        t.antithetic = false;
        t.ema_decay = Some(0.9);
        t.seed = 5;
        t.log_every = 4;
        (m.check().unwrap(), t.check().unwrap())
    };
    let (m, t) = small();
    let cfg = ScsiConfig {
        keep: 0.8,
        transport_steps: 4,
        refresh_every: 4,
        pool: 120,
        monitor_every: 6,
        monitor_points: 100,
        ..ScsiConfig::default()
    }
    .check()
    .unwrap();
    let y = Points::standard_normal(600, 2, &mut ChaCha8Rng::seed_from_u64(1));
    let f = AdditiveGaussian::new(2, 0.5).unwrap();
    let weights = |t: &Trainer| -> Vec<Vec<f32>> {
        t.sampling_net()
            .named_parameters()
            .into_iter()
            .map(|(_, p)| Vec::<f32>::try_from(p.reshape([-1])).unwrap())
            .collect()
    };

    // uninterrupted, with the monitor, a checkpoint every 8 steps and the CSV log
    let mut whole = Trainer::new(m.clone(), t.clone(), tch::Device::Cpu).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let (rows, position) = {
        let scsi = Scsi::new(&whole, &cfg, &y, &f, &mut rng).unwrap();
        let mut monitor =
            scsi.monitor(|_: &MonitorRow, _: &Points| -> si_nn::Result<()> { Ok(()) });
        let mut checkpoints = Checkpoints {
            path: ckpt.clone(),
            every: 8,
        };
        let mut log = CsvLog {
            path: csv.clone(),
            every: 0,
        };
        let mut position = None;
        let mut keep_step_8 = |s: &TrainState, e: TrainEvent| -> si_nn::Result<()> {
            if e == (TrainEvent::Step { step: 8 }) {
                assert_eq!(s.step(), 8);
                std::fs::copy(&ckpt, &at_8).unwrap();
                position = Some(scsi.generator_position());
            }
            Ok(())
        };
        let mut observers: Vec<&mut dyn TrainObserver> =
            vec![&mut monitor, &mut checkpoints, &mut log, &mut keep_step_8];
        scsi.train(&mut whole, &mut observers).unwrap();
        drop(observers);
        (monitor.into_rows(), position.unwrap())
    };
    assert_eq!(
        rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        vec![6, 12, 16]
    );
    // the CSV log: a header and one row per log row (steps 4, 8, 12, 16)
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "step,lr,loss_b");
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[4].starts_with("16,"), "{text}");
    // the last checkpoint is the end of the run
    let end = Trainer::resume(&ckpt, tch::Device::Cpu).unwrap();
    assert_eq!(end.steps_done(), 16);
    assert_eq!(weights(&end), weights(&whole));

    // resumed at step 8 (a multiple of refresh_every) with the generator where it was
    let mut resumed = Trainer::resume(&at_8, tch::Device::Cpu).unwrap();
    assert_eq!(resumed.steps_done(), 8);
    let mut rng2 = ChaCha8Rng::seed_from_u64(9);
    let scsi = Scsi::new(&resumed, &cfg, &y, &f, &mut rng2).unwrap();
    scsi.set_generator_position(position);
    let mut monitor = scsi.monitor(|_: &MonitorRow, _: &Points| -> si_nn::Result<()> { Ok(()) });
    scsi.train(&mut resumed, &mut [&mut monitor]).unwrap();
    let again = monitor.into_rows();
    assert_eq!(weights(&resumed), weights(&whole));
    assert_eq!(resumed.log(), whole.log());
    assert_eq!(
        again
            .iter()
            .map(|r| (r.step, r.energy.to_bits()))
            .collect::<Vec<_>>(),
        rows[1..]
            .iter()
            .map(|r| (r.step, r.energy.to_bits()))
            .collect::<Vec<_>>()
    );
    // and the generator ends where the uninterrupted run left it
    assert_eq!(scsi.generator_position(), rng.get_word_pos());
}

#[test]
fn a_pool_smaller_than_the_batch_is_a_typed_error() {
    let cfg = ScsiConfig {
        pool: 49,
        monitor_points: 100,
        ..ScsiConfig::default()
    }
    .check()
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut tr = trainer(10, 50);
    let y = Points::standard_normal(500, 1, &mut rng);
    let f = AdditiveGaussian::new(1, 0.5).unwrap();
    assert!(matches!(
        run(&mut tr, &cfg, &y, &f, &mut rng, &mut [], false),
        Err(NnError::InvalidHyperParameter { name: "pool", .. })
    ));
    assert_eq!(tr.steps_done(), 0);
}
