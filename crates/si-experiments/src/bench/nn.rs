//! si-nn: training-step and SDE-sampling times of the reference setting (the checkerboard, b and s by
//! two 4×256 ReLU nets, 2000 rows per step), beside a plain PyTorch loop of the same work measured in the same
//! run, and the Python reference's figures, which are fixed (measured once, labelled with their machine,
//! and compared only on a CPU).

use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Interpolant, TargetSource, TimeRange};
use si_data::ArrayData;
use si_integrate::Scheme;
use si_nn::{
    DeviceData, Head, LearnedField, LrSchedule, ModelConfig, TensorBatch, TrainConfig, Trainer,
};
use tch::Device;

use crate::experiment::{
    checker_data, checkerboard, draw, inside_fraction, normal_points, ode_nll, source,
    target_points,
};

/// Fixed figures of the Python reference (interflow on PyTorch 2.11), measured once on a 2-core x86 CPU
/// with 2 threads, not in this run: a training step of its two 4×256 nets (b and s) at 2000 rows.
const REF_TRAIN_MS: f64 = 64.0;
/// Its SDE draw: 5000 samples, 100 stochastic Heun steps (4 net evaluations per step), ε = 0.5.
const REF_SDE_S: f64 = 5.4;
/// Its sample quality after 12,000 steps: SDE (stochastic Heun) and ODE (dopri5) inside fractions, NLL.
const REF_SDE_INSIDE: f64 = 0.986;
const REF_ODE_INSIDE: f64 = 0.934;
const REF_NLL: f64 = 3.63;
/// Where the fixed figures come from, printed beside them.
const REF_SOURCE: &str =
    "fixed figure, not this run: interflow reference, 2-core x86 CPU, 2 threads";

/// The official SCSI code's step on its 2-D defaults (batch 2000, MLP 3×256, EMA 0.995, 40 Euler transport
/// steps every step): 0.34–0.44 s on a 2-core x86 CPU; the middle of that range, fixed, not this run.
const SCSI_REF_MS: f64 = 390.0;
const SCSI_SOURCE: &str = "fixed figure, not this run: 340-440 ms on a 2-core x86 CPU";

/// ms per SCSI step (transport of the pool + one gradient step) on the toy, after `reps` steps.
fn scsi_step_ms(reps: usize) -> Result<f64> {
    use si_nn::scsi::{run, ScsiConfig};
    let law = crate::figures::scsi::toy()?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let y = law.sample(20_000, &mut rng);
    let mut m = ModelConfig::new(2);
    m.width = 256;
    m.depth = 3;
    m.heads = vec![Head::B];
    let mut t = TrainConfig::new(reps);
    t.batch = 2000;
    t.antithetic = false;
    t.ema_decay = Some(0.995);
    let mut tr = Trainer::new(m.check()?, t.check()?, Device::cuda_if_available())?;
    let cfg = ScsiConfig {
        transport_steps: 20,
        refresh_every: 1,
        pool: 2000,
        monitor_every: 0,
        monitor_points: 4,
        ..ScsiConfig::default()
    }
    .check()?;
    let f = si_core::AdditiveGaussian::new(2, 0.5)?;
    let t0 = Instant::now();
    run(&mut tr, &cfg, &y, &f, &mut rng, &mut [], false)?;
    Ok(t0.elapsed().as_secs_f64() * 1e3 / reps as f64)
}

fn trainer(shared: bool, steps: usize) -> Result<Trainer> {
    trainer_d(2, shared, steps)
}

fn trainer_d(d: usize, shared: bool, steps: usize) -> Result<Trainer> {
    let mut m = ModelConfig::new(d);
    m.heads = vec![Head::B, Head::S];
    m.shared_trunk = shared;
    let mut t = TrainConfig::new(steps);
    t.batch = 1000; // 1000 antithetic pairs = 2000 rows, the reference's batch
    t.schedule = LrSchedule::Step {
        every: 1500,
        gamma: 0.4,
    };
    Ok(Trainer::new(
        m.check()?,
        t.check()?,
        Device::cuda_if_available(),
    )?)
}

/// ms per training step on draws of `data` (after 5 warm-up steps).
fn step_ms_on(data: &dyn TargetSource<TensorBatch>, shared: bool, reps: usize) -> Result<f64> {
    let mut tr = trainer_d(data.dim(), shared, reps + 5)?;
    tr.run_until(data, 5, &mut [])?;
    let t0 = Instant::now();
    tr.run(data, &mut [])?;
    Ok(1e3 * t0.elapsed().as_secs_f64() / reps as f64)
}

/// The reference's training data: the checkerboard from N(0, I), one-sided linear, on the device.
fn checker_source(
    device: Device,
) -> Result<si_nn::Uploaded<si_core::InterpolantSource<impl si_core::PairSource>>> {
    source(
        Interpolant::one_sided_linear(),
        checker_data(),
        1e-4,
        device,
    )
}

fn step_ms(shared: bool, reps: usize) -> Result<f64> {
    step_ms_on(&checker_source(Device::cuda_if_available())?, shared, reps)
}

/// The same workload on a stored data set of 20,000 points in dimension `d` (the checkerboard, padded
/// with N(0, 1) coordinates beyond 2): draws made on the host and uploaded, against the data resident on
/// the device with draws made there.
fn array_data_ms(d: usize, reps: usize) -> Result<(f64, f64)> {
    let device = Device::cuda_if_available();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let board = checkerboard(20_000, &mut rng);
    let pad = si_core::Points::standard_normal(20_000, d, &mut rng);
    let (board, pad) = (board.as_slice(), pad.as_slice());
    let rows: Vec<f64> = (0..20_000 * d)
        .map(|j| {
            let (i, k) = (j / d, j % d);
            if k < 2 {
                board[2 * i + k]
            } else {
                pad[j]
            }
        })
        .collect();
    let points = si_core::Points::from_row_major(20_000, d, &rows)?;
    let it = Interpolant::one_sided_linear();
    let host = source(it.clone(), ArrayData::new(points.clone())?, 1e-4, device)?;
    let resident = DeviceData::new(it, &points, None, TimeRange::new(1e-4)?, device)?;
    Ok((
        step_ms_on(&host, true, reps)?,
        step_ms_on(&resident, true, reps)?,
    ))
}

pub fn run(quick: bool, torch: Option<&super::PythonAnchor>) -> Result<()> {
    let reps = if quick { 15 } else { 60 };
    let device = Device::cuda_if_available();
    let on_cpu = device == Device::Cpu;
    println!(
        "si-nn bench (libtorch threads: {}, device: {device:?})",
        tch::get_num_threads(),
    );
    let separate = step_ms(false, reps)?;
    let shared = step_ms(true, reps)?;
    let torch = match torch {
        Some(anchor) => {
            let out = anchor
                .command()
                .arg(super::script("torch_loop.py"))
                .arg(reps.to_string())
                .output()
                .with_context(|| format!("running {}", anchor.python.display()))?;
            if out.status.success() {
                let v: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii())?;
                Some((
                    v["train_ms"].as_f64().unwrap_or(f64::NAN),
                    v["sde_s"].as_f64().unwrap_or(f64::NAN),
                    v["compiled_ms"].as_f64(),
                    v["device"].as_str().unwrap_or("?").to_string(),
                ))
            } else {
                eprintln!(
                    "PyTorch loop failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                None
            }
        }
        None => None,
    };
    println!("training step, b and s, 2000 rows (1000 antithetic pairs), 4x256 ReLU:");
    println!("  si-nn, two separate nets (this run)                    {separate:8.1} ms");
    match &torch {
        Some((t, _, compiled, dev)) => {
            println!(
                "  plain PyTorch loop, the same two nets (this run, {dev}) {t:8.1} ms   (si-nn takes {:.2}x of its time)",
                separate / t
            );
            match compiled {
                Some(c) => println!(
                    "  the same step under torch.compile (this run, {dev})   {c:8.1} ms   (si-nn takes {:.2}x of its time)",
                    separate / c
                ),
                None => println!("  torch.compile: not available in this run"),
            }
        }
        None => println!("  plain PyTorch loop: not run (no torch Python given)"),
    }
    if on_cpu {
        println!(
            "  interflow reference, two nets ({REF_SOURCE})  {REF_TRAIN_MS:5.1} ms   (si-nn two nets: {:.2}x of it)",
            separate / REF_TRAIN_MS
        );
    } else {
        println!("  interflow reference: its figure is from a CPU, no ratio printed on {device:?}");
    }
    println!(
        "  model choice, not framework speed: one shared trunk with 2d outputs (this run) {shared:6.1} ms; its quality is below"
    );
    println!("training step on a stored data set (20,000 points, 4x256 shared trunk, 2000 rows, this run):");
    for d in [2, 400] {
        let (host_ms, resident_ms) = array_data_ms(d, if d > 2 { reps.min(15) } else { reps })?;
        println!("  d = {d:<3}: draws made on the host and uploaded          {host_ms:8.1} ms");
        println!(
            "  d = {d:<3}: data resident on the device, draws there    {resident_ms:8.1} ms   ({:.2}x of the uploaded path)",
            resident_ms / host_ms
        );
    }
    // SDE sampling with the two nets: 5000 samples, eps = 0.5, no_grad, state on the device.
    let tr = trainer(false, 1)?;
    let field = LearnedField::new(tr.net(), Interpolant::one_sided_linear());
    let base = normal_points(5000, 2, 1);
    let _ = draw(
        &field,
        &normal_points(500, 2, 2),
        5,
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: false,
        },
        0,
    )?;
    let best = |method: Scheme, steps: usize| -> Result<f64> {
        let mut t = f64::INFINITY;
        for k in 0..if quick { 1 } else { 3 } {
            t = t.min(draw(&field, &base, steps, method, k)?.1);
        }
        Ok(t)
    };
    let em100 = best(
        Scheme::EulerMaruyama {
            eps: 0.5,
            noise_first: false,
        },
        100,
    )?;
    let sh100 = best(Scheme::StochasticHeun { eps: 0.5 }, 100)?;
    println!("SDE draw, 5000 samples, eps 0.5, two nets, no_grad, state on the device (this run):");
    println!("  si-nn Euler-Maruyama, 100 steps (2 net passes/step)    {em100:8.2} s");
    match &torch {
        Some((_, s, _, _)) => println!(
            "  plain PyTorch loop, the same Euler-Maruyama (this run) {s:8.2} s   (si-nn takes {:.2}x of its time)",
            em100 / s
        ),
        None => println!("  plain PyTorch loop: not run"),
    }
    println!("  si-nn stochastic Heun, 100 steps (4 net passes/step)   {sh100:8.2} s");
    if on_cpu {
        println!(
            "  interflow reference, stochastic Heun 100 steps ({REF_SOURCE}) {REF_SDE_S:4.1} s   (si-nn: {:.2}x of it)",
            sh100 / REF_SDE_S
        );
    }
    let reps = if quick { 5 } else { 30 };
    let scsi_ms = scsi_step_ms(reps)?;
    println!("SCSI step on the variance-reduction toy (batch 2000, 3x256 MLP, transport refreshed every step with 40 net passes):");
    println!("  si-nn, 20 Heun steps (this run)                        {scsi_ms:8.1} ms");
    println!(
        "  official SCSI code, 40 Euler steps ({SCSI_SOURCE})  {:8.1} ms   (si-nn: {:.2}x of it)",
        SCSI_REF_MS,
        scsi_ms / SCSI_REF_MS
    );
    // Quality at the reference's 12,000 steps (fewer with --quick): both model choices, and the SDE
    // samplers side by side at equal numbers of field evaluations (200 b-and-s evaluations per sample).
    if std::env::var_os("SI_NN_BENCH_NO_QUALITY").is_some() {
        return Ok(());
    }
    let steps = if quick { 600 } else { 12_000 };
    println!(
        "quality after {steps} training steps{} (held-out checkerboard; inside fraction 1 is perfect):",
        if quick {
            " [--quick: not comparable with the reference]"
        } else {
            ""
        }
    );
    println!(
        "  {:<28} {:>9} {:>10} {:>10} {:>10} {:>9} {:>8}",
        "model", "train s", "EM 200", "EM-nf 200", "SHeun 100", "ODE Heun", "ODE NLL"
    );
    for shared_trunk in [false, true] {
        let mut tr = trainer(shared_trunk, steps)?;
        let t0 = Instant::now();
        let data = checker_source(device)?;
        let mut progress = si_nn::Progress::new();
        if quick {
            tr.run(&data, &mut [])?;
        } else {
            tr.run(&data, &mut [&mut progress])?;
        }
        let train_s = t0.elapsed().as_secs_f64();
        let field = LearnedField::new(tr.net(), Interpolant::one_sided_linear());
        let inside = |m: Scheme, n: usize, seed: u64| -> Result<f64> {
            Ok(inside_fraction(&draw(&field, &base, n, m, seed)?.0))
        };
        let em = inside(
            Scheme::EulerMaruyama {
                eps: 0.5,
                noise_first: false,
            },
            200,
            7,
        )?;
        let nf = inside(
            Scheme::EulerMaruyama {
                eps: 0.5,
                noise_first: true,
            },
            200,
            7,
        )?;
        let sh = inside(Scheme::StochasticHeun { eps: 0.5 }, 100, 7)?;
        let ode = inside(Scheme::Heun, 200, 8)?;
        let nll = ode_nll(
            &field,
            &target_points(if quick { 500 } else { 5000 }, 99),
            if quick { 20 } else { 100 },
        )?;
        println!(
            "  {:<28} {train_s:9.0} {em:10.3} {nf:10.3} {sh:10.3} {ode:9.3} {nll:8.3}",
            if shared_trunk {
                "si-nn shared trunk"
            } else {
                "si-nn two nets"
            }
        );
    }
    println!(
        "  {:<28} {:>9} {:>10} {:>10} {REF_SDE_INSIDE:10.3} {REF_ODE_INSIDE:9.3} {REF_NLL:8.3}   ({REF_SOURCE}; ODE by dopri5)",
        "interflow reference, two nets", "-", "-", "-"
    );
    println!("  (best possible ODE NLL: log 32 = 3.466; EM = Euler-Maruyama, nf = noise first, 2 net passes per EM step, 4 per Heun step)");
    Ok(())
}
