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
