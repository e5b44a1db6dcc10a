//! How well a trained streaming model reproduces its training windows open loop:
//! `cargo run --release -p si-robot --example stream_fit -- DEMOS.safetensors CKPT.safetensors [N]`.
//! For N windows, integrates the learned field with one exponential step per action from ξ(0) (the
//! measured pusher position) under the window's context, and prints the mean distance in pixels to the
//! demonstrated commanded targets after 1, 4, 8 and 16 actions (the tube's σ0 and k come from
//! CKPT.policy.json).

use rand::{Rng, SeedableRng};
use si_core::{ConditionalField, Points};
use si_integrate::{integrate, TimeGrid, Trajectory};
use si_model::HostNet;
use si_pusht::Demonstrations;
use si_robot::{windows, TubeConfig, TubeExponential, CONTEXT_DIM};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let demos = Demonstrations::read(std::path::Path::new(
        a.get(1).ok_or("usage: DEMOS CKPT [N]")?,
    ))?;
    let ckpt = std::path::PathBuf::from(a.get(2).ok_or("usage: DEMOS CKPT [N]")?);
    let n: usize = a.get(3).map_or(Ok(300), |s| s.parse())?;
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{}.policy.json", ckpt.display()))?)?;
    let f = |k: &str| meta[k].as_f64().ok_or(format!("{k} missing"));
    let tube = TubeConfig {
        sigma0: f("sigma0")?,
        k: f("k")?,
        horizon: f("horizon")? as usize,
    }
    .check()?;
    let net = HostNet::read(&ckpt)?;
    let w = windows(&demos, tube.horizon())?;
    let step = TubeExponential::new(tube, 0.0)?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let at = [1, 4, 8, 16];
    let mut err = [0.0; 4];
    for _ in 0..n {
        let win = &w[rng.random_range(0..w.len())];
        let field = net.given(&Points::from_row_major(1, CONTEXT_DIM, &win.context)?)?;
        let x0 = Points::from_row_major(1, 2, &win.path.knots()[0])?;
        let mut tr = Trajectory::every(1);
        integrate(
            &step,
            &field,
            x0,
            &TimeGrid::uniform(0.0, 1.0, tube.horizon())?,
            &mut rng,
            &mut [&mut tr],
        )?;
        for (e, &j) in err.iter_mut().zip(&at) {
            let (p, k) = (tr.states[j].as_slice(), win.path.knots()[j]);
            *e += 256.0 * ((p[0] - k[0]).powi(2) + (p[1] - k[1]).powi(2)).sqrt() / n as f64;
        }
    }
    println!("mean open-loop distance to the demonstrated targets after 1 / 4 / 8 / 16 actions: {:.1} / {:.1} / {:.1} / {:.1} px", err[0], err[1], err[2], err[3]);
    Ok(())
}
