//! `si-nn bench`: training-step and SDE-sampling times of the reference setting, beside a plain PyTorch loop
//! of the same model (run in the same process tree, on the same CPU) and the published times of the Python reference.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Interpolant, TargetSource, TimeRange};
use si_data::ArrayData;
use si_integrate::EulerMaruyama;
use si_nn::{
    DeviceData, Head, LearnedField, LrSchedule, ModelConfig, TensorBatch, TrainConfig, Trainer,
};
use tch::Device;

use crate::experiment::{
    checker_data, checkerboard, draw, inside_fraction, normal_points, ode_nll, source,
    target_points, Method,
};

/// The Python reference (interflow + PyTorch 2.11), measured on a 2-core x86 CPU with 2 threads.
const REF_TRAIN_MS: f64 = 64.0;
const REF_SDE_S: f64 = 5.4;
const REF_SDE_INSIDE: f64 = 0.986;
const REF_ODE_INSIDE: f64 = 0.934;
const REF_NLL: f64 = 3.63;

fn trainer(shared: bool, steps: usize) -> Result<Trainer> {
    let mut m = ModelConfig::new(2);
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
    let mut tr = trainer(shared, reps + 5)?;
    tr.run_until(data, 5, &mut [])?;
    let t0 = Instant::now();
    tr.run(data, &mut [])?;
    Ok(1e3 * t0.elapsed().as_secs_f64() / reps as f64)
}

fn step_ms(shared: bool, reps: usize) -> Result<f64> {
    let device = Device::cuda_if_available();
    let data = source(
        Interpolant::one_sided_linear(),
        checker_data(),
        1e-4,
        device,
    )?;
    step_ms_on(&data, shared, reps)
}

/// The same workload on a stored data set (20,000 checkerboard points): draws made on the host and
/// uploaded, against the data resident on the device with draws made there.
fn array_data_ms(reps: usize) -> Result<(f64, f64)> {
    let device = Device::cuda_if_available();
    let points = checkerboard(20_000, &mut ChaCha8Rng::seed_from_u64(3));
    let it = Interpolant::one_sided_linear();
    let host = source(it.clone(), ArrayData::new(points.clone())?, 1e-4, device)?;
    let resident = DeviceData::new(it, &points, None, TimeRange::new(1e-4)?, device)?;
    Ok((
        step_ms_on(&host, true, reps)?,
        step_ms_on(&resident, true, reps)?,
    ))
}

pub fn run(quick: bool, python: Option<PathBuf>, script: Option<PathBuf>) -> Result<()> {
    let reps = if quick { 15 } else { 60 };
    println!(
        "si-nn bench (libtorch threads: {}, device: {:?})",
        tch::get_num_threads(),
        Device::cuda_if_available()
    );
    let shared = step_ms(true, reps)?;
    let separate = step_ms(false, reps)?;
    // SDE sampling: 5000 samples, 100 Euler-Maruyama steps, eps = 0.5, no_grad, state on the device.
    let tr = trainer(true, 1)?;
    let field = LearnedField::new(tr.net(), Interpolant::one_sided_linear());
    let base = normal_points(5000, 2, 1);
    let _ = draw(
        &field,
        &normal_points(500, 2, 2),
        5,
        Method::EulerMaruyama(0.5),
        0,
    )?;
    let mut sde = f64::INFINITY;
    for k in 0..if quick { 1 } else { 3 } {
        sde = sde.min(draw(&field, &base, 100, Method::EulerMaruyama(0.5), k)?.1);
    }
    let _ = EulerMaruyama::constant(0.5)?;
    let torch = match (python, script) {
        (Some(p), Some(s)) => {
            let out = std::process::Command::new(&p)
                .arg(&s)
                .arg(reps.to_string())
                .output()
                .with_context(|| format!("running {}", p.display()))?;
            if out.status.success() {
                let v: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii())?;
                Some((
                    v["train_ms"].as_f64().unwrap_or(f64::NAN),
                    v["sde_s"].as_f64().unwrap_or(f64::NAN),
                ))
            } else {
                eprintln!(
                    "PyTorch loop failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                None
            }
        }
        _ => None,
    };
    println!("training step, b and s, batch 2000 rows, 4x256 ReLU:");
    println!("  si-nn shared trunk (b, s heads, one forward) {shared:7.1} ms   ({:.2}x the reference's {REF_TRAIN_MS} ms)", shared / REF_TRAIN_MS);
    println!(
        "  si-nn two separate nets                      {separate:7.1} ms   ({:.2}x the reference)",
        separate / REF_TRAIN_MS
    );
    if let Some((t, _)) = torch {
        println!("  plain PyTorch loop, two nets (this run)      {t:7.1} ms   (si-nn shared trunk: {:.2}x of it)", shared / t);
    }
    let (host_ms, resident_ms) = array_data_ms(reps)?;
    println!("training step on a stored data set (20,000 points, shared trunk, same run):");
    println!("  draws made on the host and uploaded          {host_ms:7.1} ms");
    println!(
        "  data resident on the device, draws there     {resident_ms:7.1} ms   ({:.2}x of the uploaded path)",
        resident_ms / host_ms
    );
    println!("SDE draw, 5000 samples, 100 Euler-Maruyama steps, eps 0.5:");
    println!("  si-nn (shared trunk, no_grad, on device)     {sde:7.2} s    ({:.1}x faster than the reference's {REF_SDE_S} s)", REF_SDE_S / sde);
    if let Some((_, s)) = torch {
        println!(
            "  plain PyTorch loop, two nets (this run)      {s:7.2} s    (si-nn {:.1}x faster)",
            s / sde
        );
    }
    // Quality at the reference's 12,000 steps (fewer with --quick).
    if std::env::var_os("SI_NN_BENCH_NO_QUALITY").is_some() {
        return Ok(());
    }
    let steps = if quick { 600 } else { 12_000 };
    let mut tr = trainer(true, steps)?;
    let t0 = Instant::now();
    let data = source(
        Interpolant::one_sided_linear(),
        checker_data(),
        1e-4,
        Device::cuda_if_available(),
    )?;
    let mut progress = si_nn::Progress::new();
    if quick {
        tr.run(&data, &mut [])?;
    } else {
        tr.run(&data, &mut [&mut progress])?;
    }
    let train_s = t0.elapsed().as_secs_f64();
    let field = LearnedField::new(tr.net(), Interpolant::one_sided_linear());
    let (sde_x, _) = draw(&field, &base, 100, Method::EulerMaruyama(0.5), 7)?;
    let (sde_nf, sde_nf_s) = draw(&field, &base, 100, Method::NoiseFirst(0.5), 7)?;
    let (ode_x, _) = draw(&field, &base, 200, Method::Heun, 8)?;
    let nll = ode_nll(
        &field,
        &target_points(if quick { 500 } else { 5000 }, 99),
        if quick { 20 } else { 100 },
    )?;
    println!(
        "quality after {steps} steps ({train_s:.0} s of training){}:",
        if quick {
            " [--quick: not comparable]"
        } else {
            ""
        }
    );
    println!(
        "  SDE inside fraction   {:.3}   (reference {REF_SDE_INSIDE}; Euler-Maruyama, drift then noise)",
        inside_fraction(&sde_x)
    );
    println!(
        "  SDE inside fraction   {:.3}   (Euler-Maruyama with the noise first, eps 0.5, 100 steps, {sde_nf_s:.2} s)",
        inside_fraction(&sde_nf)
    );
    println!(
        "  ODE inside fraction   {:.3}   (reference {REF_ODE_INSIDE}, dopri5)",
        inside_fraction(&ode_x)
    );
    println!("  ODE NLL held-out      {nll:.3}   (reference {REF_NLL} on its own samples; best log 32 = 3.466)");
    Ok(())
}
