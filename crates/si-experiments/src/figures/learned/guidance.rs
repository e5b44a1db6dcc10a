//! The conditioning panel of figure 9: a class-conditional model of a 2-D Gaussian mixture sampled with
//! classifier-free guidance weights 0, 1 and 3.

use std::path::Path;

use anyhow::Result;
use nalgebra::{DMatrix, DVector};
use plotters::style::RGBColor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianMixture;
use si_core::{Batch, ConditionalField, Interpolant, Points};
use si_data::ArrayData;
use si_integrate::Heun;
use si_nn::sampling::{sample, standard_normal};
use si_nn::{
    ConditionalNet, Head, LrSchedule, ModelConfig, Progress, TensorBatch, TrainConfig,
    TrainObserver, Trainer,
};
use tch::{Device, Kind};

use crate::experiment::{coordinate_pairs, source};
use crate::figures::{three_decimals, Sizes};
use si_report::{color, png, scatter};

const MEANS: [[f64; 2]; 4] = [[2.0, 2.0], [-2.0, 2.0], [-2.0, -2.0], [2.0, -2.0]];

fn nearest(x: &[f64]) -> usize {
    (0..4)
        .min_by(|&a, &b| {
            let d = |k: usize| (x[0] - MEANS[k][0]).powi(2) + (x[1] - MEANS[k][1]).powi(2);
            d(a).total_cmp(&d(b))
        })
        .unwrap_or(0)
}

/// Trains the conditional model and draws the panel; returns the file and its numbers.
pub fn panel(out: &Path, sizes: &Sizes) -> Result<(String, Vec<(String, String)>)> {
    let mix = GaussianMixture::new(
        vec![0.25; 4],
        MEANS.iter().map(|m| DVector::from_row_slice(m)).collect(),
        (0..4).map(|_| DMatrix::identity(2, 2) * 0.5).collect(),
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (x, labels) = mix.sample_labelled(20_000, &mut rng);
    let data = ArrayData::new(x)?.with_labels(labels, 4)?;
    let mut m = ModelConfig::new(2);
    m.width = if sizes.quick { 64 } else { 128 };
    m.depth = 3;
    m.heads = vec![Head::B];
    m.context_dim = 4;
    let steps = if sizes.quick { 400 } else { 2000 };
    let mut t = TrainConfig::new(steps);
    t.batch = 256;
    t.schedule = LrSchedule::Cosine { min_lr: 1e-4 };
    t.context_dropout = 0.2;
    let device = Device::cuda_if_available();
    let t = t.check()?;
    let data = source(Interpolant::one_sided_linear(), data, t.t_min, device)?;
    let mut tr = Trainer::new(m.check()?, t, device)?;
    let mut progress = Progress::new();
    let mut observers: Vec<&mut dyn TrainObserver> = Vec::new();
    if !sizes.quick {
        observers.push(&mut progress);
    }
    tr.run(&data, &mut observers)?;
    let class0 = Points::from_row_major(1, 4, &[1.0, 0.0, 0.0, 0.0])?;
    let class0 = TensorBatch::upload(&class0, Kind::Float, device)?;
    let n = if sizes.quick { 800 } else { 2000 };
    let mut panels: Vec<(f64, Points)> = Vec::new();
    let mut numbers = vec![("conditional model training steps".into(), steps.to_string())];
    for w in [0.0, 1.0, 3.0] {
        // The conditional model through the generic interface: the field given class 0, guided by w.
        let model =
            ConditionalNet::new(tr.net(), Interpolant::one_sided_linear())?.with_guidance(w);
        let field = model.given(&class0)?;
        let x0 = standard_normal(n, 2, tr.net().device(), &mut rng)?;
        let x1 = sample(&field, &Heun, x0, 100, &mut rng)?.to_points()?;
        let frac = (0..x1.len())
            .filter(|&i| nearest(x1.point(i).as_slice()) == 0)
            .count() as f64
            / n as f64;
        numbers.push((
            format!("guidance w = {w}: samples in the asked component (class 0, upper right)"),
            three_decimals(frac),
        ));
        panels.push((w, x1));
    }
    let file = png(out, "fig9_guidance.png", (1350, 450), |root| {
        let p = root.split_evenly((1, 3));
        for (k, (w, x)) in panels.iter().enumerate() {
            let cols: Vec<RGBColor> = (0..x.len())
                .map(|i| color(nearest(x.point(i).as_slice())))
                .collect();
            scatter(
                &p[k],
                &format!("class 0 asked, guidance w = {w}"),
                &coordinate_pairs(x),
                5.0,
                Some(&cols),
            )?;
        }
        Ok(())
    })?;
    Ok((file, numbers))
}
