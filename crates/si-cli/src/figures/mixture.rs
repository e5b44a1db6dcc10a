//! Figure 9: Gaussian mixtures in d = 4 against the exact fields of si-analytic.

use std::path::Path;

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::metrics::{knn_kl, relative_l2};
use si_core::{
    Batch, CouplingPairs, Field, Gamma, Independent, Interpolant, Points, StandardNormal,
};
use si_nn::{
    Head, LearnedField, LrSchedule, ModelConfig, Progress, TensorBatch, TrainConfig, TrainObserver,
    Trainer,
};
use tch::{Device, Kind};

use super::{f3, Entry, Sizes};
use crate::experiment::{draw, source, Method};
use si_report::{lines, png};

const D: usize = 4;

fn target() -> Result<GaussianMixture> {
    let means = [
        [3.0, 0.0, 0.0, 1.0],
        [-3.0, 1.0, 0.0, 0.0],
        [0.0, -2.0, 2.5, 0.0],
    ]
    .iter()
    .map(|m| DVector::from_row_slice(m))
    .collect();
    let covs = (0..3)
        .map(|k| DMatrix::identity(D, D) * (0.25 + 0.1 * k as f64))
        .collect();
    Ok(GaussianMixture::new(vec![0.5, 0.3, 0.2], means, covs)?)
}

pub fn figure9(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let rho1 = target()?;
    let interpolant = Interpolant::linear(Gamma::brownian())?;
    let exact = MixtureFields::new(
        GaussianMixture::standard_normal(D)?,
        rho1.clone(),
        interpolant.clone(),
    )?;
    let data = CouplingPairs(Independent::new(StandardNormal { dim: D }, rho1.clone())?);
    let steps = sizes.steps(3_000);
    let mut m = ModelConfig::new(D);
    m.width = if sizes.quick { 64 } else { 128 };
    m.depth = 3;
    m.heads = vec![Head::B, Head::S];
    let mut t = TrainConfig::new(steps);
    t.batch = if sizes.quick { 256 } else { 500 };
    t.schedule = LrSchedule::Cosine { min_lr: 2e-5 };
    t.log_every = (steps / 100).max(1);
    let device = Device::cuda_if_available();
    let t = t.check()?;
    let data = source(interpolant.clone(), data, t.t_min, device)?;
    let mut tr = Trainer::new(m.check()?, t, device)?;
    let evals = if sizes.quick { 2 } else { 6 };
    let n = if sizes.quick { 300 } else { 1000 };
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let held = rho1.sample(n, &mut rng);
    let log_p = rho1.log_density(&held)?;
    let base = Points::standard_normal(n, D, &mut rng);
    let (mut kl_exact, mut kl_ode, mut kl_sde, mut err_b, mut err_s) =
        (vec![], vec![], vec![], vec![], vec![]);
    for k in 1..=evals {
        let stop = steps * k / evals;
        let mut progress = Progress::new();
        let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
        if !sizes.quick {
            observers.push(&mut progress);
        }
        tr.run_until(&data, stop, &mut observers)?;
        let field = LearnedField::new(tr.sampling_net(), interpolant.clone());
        let ll = si_nn::sampling::ode_log_likelihood_of(
            &field,
            &held,
            if sizes.quick { 20 } else { 50 },
            2500,
            &|p: &Points| StandardNormal { dim: D }.log_density(p),
        )?;
        let kl = log_p.iter().zip(&ll).map(|(a, b)| a - b).sum::<f64>() / n as f64;
        let (ode, _) = draw(&field, &base, 100, Method::Heun, 31)?;
        let (sde, _) = draw(&field, &base, 100, Method::EulerMaruyama(1.0), 32)?;
        let (mut eb, mut es) = (0.0, 0.0);
        let ts = [0.1, 0.3, 0.5, 0.7, 0.9];
        for &tt in &ts {
            let x = exact.sample(tt, n, &mut rng)?;
            let (be, se) = exact.velocity_and_score(tt, &x)?;
            let (bl, sl) = field.velocity_and_score(
                tt,
                &TensorBatch::upload(&x, Kind::Float, field.net().device())?,
            )?;
            eb += relative_l2(&bl.to_points()?, &be)? / ts.len() as f64;
            es += relative_l2(&sl.to_points()?, &se)? / ts.len() as f64;
        }
        let s = stop as f64;
        kl_exact.push((s, kl));
        kl_ode.push((s, knn_kl(&held, &ode)?));
        kl_sde.push((s, knn_kl(&held, &sde)?));
        err_b.push((s, eb));
        err_s.push((s, es));
        tracing::info!(step = stop, kl, eb, es, "figure 9");
    }
    let file = png(out, "fig9_mixture_d4.png", (1400, 500), |root| {
        let p = root.split_evenly((1, 2));
        lines(
            &p[0],
            "KL(rho1 || model) through training",
            ("step", "nats"),
            &[
                ("ODE, exact likelihood".into(), kl_exact.clone()),
                ("ODE samples, 1-NN estimate".into(), kl_ode.clone()),
                ("SDE samples (eps 1), 1-NN estimate".into(), kl_sde.clone()),
            ],
            Some((0.0, "0")),
        )?;
        lines(
            &p[1],
            "relative L2 error against the exact fields",
            ("step", "relative L2 error"),
            &[("b".into(), err_b.clone()), ("s".into(), err_s.clone())],
            None,
        )?;
        Ok(())
    })?;
    let last = |v: &Vec<(f64, f64)>| f3(v.last().map(|p| p.1).unwrap_or(f64::NAN));
    Ok(Entry {
        number: 9,
        title: "Gaussian mixtures in d = 4: KL of ODE and SDE models and L2 errors of b and s".into(),
        files: vec![file],
        caption: "N(0, I) to a three-component Gaussian mixture in d = 4, linear interpolant with gamma = sqrt(t(1-t)). \
                  Left: KL(rho1 || model) from the exact ODE likelihood (exact log rho1 minus the model's, exact divergence) \
                  and 1-nearest-neighbour estimates from ODE and SDE samples (the estimator has its own bias of a few \
                  hundredths of a nat at this sample size). Right: relative L2 errors of the learned b and s against the \
                  exact fields of si-analytic on samples of rho(t), averaged over t = 0.1, 0.3, 0.5, 0.7, 0.9. The d = 400 \
                  case needs a GPU and is not run here."
            .into(),
        settings: format!(
            "d = 4; heads b, s, {}x{} ReLU trunk; {} antithetic pairs/step; cosine schedule from 2e-3; {steps} steps; {n} held-out points{}",
            3,
            if sizes.quick { 64 } else { 128 },
            if sizes.quick { 256 } else { 500 },
            if sizes.quick { " (quick mode)" } else { "" }
        ),
        numbers: vec![
            ("KL ODE (exact likelihood), final".into(), last(&kl_exact)),
            ("KL ODE (1-NN), final".into(), last(&kl_ode)),
            ("KL SDE (1-NN), final".into(), last(&kl_sde)),
            ("relative L2 error of b, final".into(), last(&err_b)),
            ("relative L2 error of s, final".into(), last(&err_s)),
        ],
    })
}
