//! SCSI on the variance-reduction toy of docs/math.md §6, against the exact fixed point:
//! `cargo run --release -p si-nn --example scsi_toy -- STEPS BATCH REFRESH TRANSPORT_STEPS WIDTH LR/1e-4
//! EMA/1e-4 MIN_LR_FRACTION/1e-3 POOL/BATCH`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::VarianceReduction;
use si_core::metrics::energy_distance;
use si_core::{AdditiveGaussian, Batch, Points};
use si_nn::scsi::{run, scsi_interpolant, transport, ScsiConfig};
use si_nn::{Activation, Head, LrSchedule, ModelConfig, TrainConfig, Trainer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<usize> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("numbers"))
        .collect();
    let get = |i: usize, d: usize| a.get(i).copied().unwrap_or(d);
    // LR in units of 1e-4, EMA decay in units of 1e-4 (0: none), final LR fraction in units of 1e-3
    let (lr, ema, min_frac) = (
        get(5, 10) as f64 * 1e-4,
        get(6, 0) as f64 * 1e-4,
        get(7, 10) as f64 * 1e-3,
    );
    let (steps, batch, refresh, tsteps, width) = (
        get(0, 2000),
        get(1, 1000),
        get(2, 1),
        get(3, 10),
        get(4, 128),
    );
    let y_law = si_analytic::reference::scsi_toy()?;
    let exact = VarianceReduction::new(&y_law, 0.5)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let y = y_law.sample(20_000, &mut rng);
    let mut m = ModelConfig::new(2);
    m.width = width;
    m.depth = 3;
    m.activation = Activation::Silu;
    m.heads = vec![Head::B];
    let mut t = TrainConfig::new(steps);
    t.batch = batch;
    t.lr = lr;
    t.schedule = LrSchedule::Cosine {
        min_lr: lr * min_frac,
    };
    t.ema_decay = (ema > 0.0).then_some(ema);
    t.antithetic = false;
    let mut trainer = Trainer::new(m.check()?, t.check()?, tch::Device::cuda_if_available())?;
    let cfg = ScsiConfig {
        transport_steps: tsteps,
        refresh_every: refresh,
        pool: batch * get(8, 1),
        monitor_every: steps / 8,
        ..ScsiConfig::default()
    }
    .check()?;
    let f = AdditiveGaussian::new(2, 0.5)?;
    let t0 = std::time::Instant::now();
    let fixed = exact.fixed_point().clone();
    let mut truth_rng = ChaCha8Rng::seed_from_u64(99);
    let truth = fixed.sample(2000, &mut truth_rng);
    let mut obs = |row: &si_nn::scsi::MonitorRow, x: &Points| -> si_nn::Result<()> {
        let n = x.len().min(2000);
        let xs = Points::from_row_major(n, 2, &x.as_slice()[..2 * n])?;
        println!(
            "step {:5} {:6.1} s  monitor {:.2e}  energy distance to the exact answer {:.2e}",
            row.step,
            row.seconds,
            row.energy,
            energy_distance(&xs, &truth)?
        );
        Ok(())
    };
    run(&mut trainer, &cfg, &y, &f, &mut rng, &mut [&mut obs], false)?;
    let train_s = t0.elapsed().as_secs_f64();
    // final: transport 20000 fresh observations with 40 Heun steps; per-class covariances (class = nearest
    // mean, x < 0 or not) against those of 200000 exact fixed-point samples split by the same rule (a transport
    // need not map components onto components, so classes, not the labels of y, are compared)
    let y2 = y_law.sample(20_000, &mut rng);
    let x = transport(
        trainer.sampling_net(),
        &scsi_interpolant(&cfg.gamma)?,
        &y2,
        40,
    )?;
    let exact_x = fixed.sample(200_000, &mut truth_rng);
    let class_cov =
        |p: &Points, j: usize| -> Result<nalgebra::DMatrix<f64>, Box<dyn std::error::Error>> {
            let v: Vec<f64> = (0..p.len())
                .filter(|&i| (p.point(i)[0] >= 0.0) == (j == 1))
                .flat_map(|i| p.point(i).iter().copied().collect::<Vec<_>>())
                .collect();
            Ok(Points::from_row_major(v.len() / 2, 2, &v)?.covariance())
        };
    for j in 0..2 {
        let c = class_cov(&x, j)?;
        let e = class_cov(&exact_x, j)?;
        let err = (&c - &e).abs().max();
        println!(
            "class {j}: covariance [{:.4} {:.4}; {:.4}] exact [{:.4} {:.4}; {:.4}]  worst error {err:.4}",
            c[(0, 0)],
            c[(0, 1)],
            c[(1, 1)],
            e[(0, 0)],
            e[(0, 1)],
            e[(1, 1)]
        );
    }
    let n = 20_000;
    let xs = Points::from_row_major(n, 2, &x.as_slice()[..2 * n])?;
    let truth = fixed.sample(n, &mut truth_rng);
    let floor = fixed.sample(n, &mut truth_rng);
    println!(
        "energy distance to the exact answer ({n} points each) {:.2e}; two exact samples: {:.2e}",
        energy_distance(&xs, &truth)?,
        energy_distance(&floor, &truth)?
    );
    println!("trained in {train_s:.1} s");
    Ok(())
}
