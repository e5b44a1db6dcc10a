//! Figures 11 and 12 (docs/figures.md part C): couplings and rectification. Figure 11 draws the straight
//! training segments of independent pairs between two two-mode laws, the learned flow's paths and the paths
//! after one reflow; figure 12 compares independent, minibatch-OT, 1- and 2-reflow models on the 8-Gaussian
//! ring by straightness and by sample quality against the number of Euler steps.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nalgebra::{dmatrix, dvector};
use plotters::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianMixture;
use si_core::metrics::energy_distance_unbiased;
use si_core::ot::MinibatchOt;
use si_core::{
    Batch, Coupling, CouplingPairs, Gamma, Independent, Interpolant, Points, Ring, Sampler,
    StandardNormal,
};
use si_integrate::{Straightness, TimeGrid, Trajectory};
use si_nn::reflow::{flow, reflow_round};
use si_nn::{Activation, Head, LrSchedule, ModelConfig, TrainConfig, Trainer, Uploaded};
use si_report::{color, lines, plot_error, png, DrawError};

use crate::figures::{three_decimals, Entry, Sizes};

/// Model and training sizes of both figures.
struct ReflowSizes {
    width: usize,
    steps: usize,
    reflow_steps: usize,
    batch: usize,
    pool: usize,
    ode_steps: usize,
    eval: usize,
}

impl ReflowSizes {
    fn new(sizes: &Sizes) -> Self {
        if sizes.quick {
            Self {
                width: 64,
                steps: 600,
                reflow_steps: 300,
                batch: 256,
                pool: 2000,
                ode_steps: 20,
                eval: 500,
            }
        } else {
            Self {
                width: 128,
                steps: 6000,
                reflow_steps: 3000,
                batch: 512,
                pool: 10_000,
                ode_steps: 50,
                eval: 2000,
            }
        }
    }

    /// The settings line of a figure: `what` names the trainings.
    fn settings(&self, what: &str, seconds: f64, quick: bool) -> String {
        format!(
            "linear interpolant, gamma = 0; 3x{} SiLU MLP, Adam 2e-3 cosine, batch {}; {what} {} steps; each reflow {} \
             steps warm-started, on {} pairs from {} Heun steps; {} evaluation paths; {seconds:.0} s{}",
            self.width,
            self.batch,
            self.steps,
            self.reflow_steps,
            self.pool,
            self.ode_steps,
            self.eval,
            if quick { " (quick mode)" } else { "" }
        )
    }

    fn train_config(&self, steps: usize, seed: u64) -> Result<si_nn::TrainParams> {
        let mut t = TrainConfig::new(steps);
        t.batch = self.batch;
        t.lr = 2e-3;
        t.schedule = LrSchedule::Cosine { min_lr: 1e-4 };
        t.antithetic = false;
        t.seed = seed;
        Ok(t.check()?)
    }

    /// A fresh 3-layer MLP b(t, x) trained on `coupling` with the linear interpolant γ = 0.
    fn train<C: Coupling>(&self, coupling: C, seed: u64) -> Result<Trainer> {
        let mut m = ModelConfig::new(2);
        m.width = self.width;
        m.depth = 3;
        m.activation = Activation::Silu;
        m.heads = vec![Head::B];
        let mut t = Trainer::new(
            m.check()?,
            self.train_config(self.steps, seed)?,
            tch::Device::Cpu,
        )?;
        t.run(&source(CouplingPairs(coupling))?, &mut [])?;
        Ok(t)
    }

    /// One reflow round from `previous` (pairs (Z0, Φ(Z0)) by `ode_steps` Heun steps, Z0 ~ `base`).
    fn reflow(&self, previous: &Trainer, base: &dyn Sampler, seed: u64) -> Result<Trainer> {
        Ok(reflow_round(
            previous,
            &interpolant()?,
            base,
            self.train_config(self.reflow_steps, seed)?,
            self.pool,
            self.ode_steps,
            &mut ChaCha8Rng::seed_from_u64(seed),
        )?)
    }
}

fn interpolant() -> Result<Interpolant> {
    Ok(Interpolant::linear(Gamma::Zero)?)
}

fn source<P: si_core::PairSource>(pairs: P) -> Result<Uploaded<si_core::InterpolantSource<P>>> {
    crate::experiment::source(interpolant()?, pairs, 1e-3, tch::Device::Cpu)
}

/// Straightness (100 Heun steps) and the recorded paths of `model` from `z0`.
fn paths(model: &Trainer, z0: &Points, steps: usize) -> Result<(f64, Trajectory, Points)> {
    let (mut s, mut traj) = (Straightness::new(), Trajectory::every(1));
    let z1 = flow(
        model.sampling_net(),
        &interpolant()?,
        z0,
        &TimeGrid::uniform(0.0, 1.0, steps)?,
        &mut [&mut s, &mut traj],
    )?;
    Ok((s.value(), traj, z1))
}

/// Samples of `model` by `k` Euler steps from `z0`.
fn euler(model: &Trainer, z0: &Points, k: usize) -> Result<Points> {
    use si_nn::{LearnedField, TensorBatch};
    let field = LearnedField::new(model.sampling_net(), interpolant()?);
    let x = TensorBatch::from_points(z0, &(tch::Kind::Float, tch::Device::Cpu))?;
    let x = si_nn::sampling::sample(
        &field,
        &si_integrate::Euler,
        x,
        k,
        &mut ChaCha8Rng::seed_from_u64(0),
    )?;
    Ok(x.to_points()?)
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn plane<'a, 'b>(
    area: &'a si_report::Area<'b>,
    title: &str,
    r: f64,
) -> Result<Chart<'a, 'b>, DrawError> {
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(32)
        .build_cartesian_2d(-r..r, -r..r)
        .map_err(plot_error)?;
    c.configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(plot_error)?;
    Ok(c)
}

/// Polylines (one per path) coloured by the mode their start belongs to (upper or lower half-plane).
fn draw_paths(c: &mut Chart<'_, '_>, paths: &[Vec<(f64, f64)>]) -> Result<(), DrawError> {
    for p in paths {
        let k = usize::from(p.first().is_some_and(|q| q.1 < 0.0));
        c.draw_series(LineSeries::new(
            p.iter().copied(),
            color(k).mix(0.6).stroke_width(1),
        ))
        .map_err(plot_error)?;
    }
    Ok(())
}

fn polylines(traj: &Trajectory, count: usize) -> Vec<Vec<(f64, f64)>> {
    (0..count)
        .map(|i| {
            traj.states
                .iter()
                .map(|s| (s.matrix()[(0, i)], s.matrix()[(1, i)]))
                .collect()
        })
        .collect()
}

/// Two modes of weight ½ at (x, ±3), covariance 0.3 I.
fn two_modes(x: f64) -> Result<GaussianMixture> {
    let c = dmatrix![0.3, 0.0; 0.0, 0.3];
    Ok(GaussianMixture::new(
        vec![0.5, 0.5],
        vec![dvector![x, 3.0], dvector![x, -3.0]],
        vec![c.clone(), c],
    )?)
}

pub fn figure11(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let plan = ReflowSizes::new(sizes);
    let t0 = Instant::now();
    let (rho0, rho1) = (two_modes(-4.0)?, two_modes(4.0)?);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let independent = Independent::new(rho0.clone(), rho1.clone())?;
    let (a0, a1) = independent.sample_pairs(60, &mut rng)?;
    let segments: Vec<Vec<(f64, f64)>> = (0..60)
        .map(|i| {
            vec![
                (a0.matrix()[(0, i)], a0.matrix()[(1, i)]),
                (a1.matrix()[(0, i)], a1.matrix()[(1, i)]),
            ]
        })
        .collect();
    let first = plan.train(Independent::new(rho0.clone(), rho1.clone())?, 11)?;
    // Reflow from this base: pairs (Z0, Φ(Z0)) with Z0 ~ ρ0.
    let second = plan.reflow(&first, &rho0, 12)?;
    let z0 = rho0.sample(plan.eval, &mut rng);
    let (s1, traj1, z1a) = paths(&first, &z0, 100)?;
    let (s2, traj2, z1b) = paths(&second, &z0, 100)?;
    // The fraction of paths that keep their side (upper base mode to upper target mode).
    let keep = |z1: &Points| {
        (0..z0.len())
            .filter(|&i| (z0.matrix()[(1, i)] > 0.0) == (z1.matrix()[(1, i)] > 0.0))
            .count() as f64
            / z0.len() as f64
    };
    let (k1, k2) = (keep(&z1a), keep(&z1b));
    let crossing = (0..60)
        .filter(|&i| (a0.matrix()[(1, i)] > 0.0) != (a1.matrix()[(1, i)] > 0.0))
        .count();
    let (p1, p2) = (polylines(&traj1, 60), polylines(&traj2, 60));
    let file = png(out, "fig11_paths.png", (1500, 520), |root| {
        let p = root.split_evenly((1, 3));
        let mut c = plane(&p[0], "(a) training segments, independent pairs", 7.0)?;
        draw_paths(&mut c, &segments)?;
        let mut c = plane(&p[1], &format!("(b) learned flow, S = {s1:.3}"), 7.0)?;
        draw_paths(&mut c, &p1)?;
        let mut c = plane(&p[2], &format!("(c) after one reflow, S = {s2:.4}"), 7.0)?;
        draw_paths(&mut c, &p2)?;
        Ok(())
    })?;
    Ok(Entry {
        number: 11,
        title: "Interpolant paths: independent training segments, the learned flow, and after reflow".into(),
        files: vec![file],
        caption: format!(
            "Base ½N((-4, 3), 0.3 I) + ½N((-4, -3), 0.3 I), target the same at x = +4; colour: the start's mode. \
             (a) 60 independent training pairs: {crossing} of the 60 segments go from one half-plane to the other, \
             and segments cross. (b) The learned ODE's paths (100 Heun steps) cannot cross at equal times; \
             {:.0}% of them keep their half-plane and the straightness is S = {s1:.3}. (c) After one reflow on \
             (Z0, Φ(Z0)) the paths are nearly straight: S = {s2:.4} ({:.0}% keep their half-plane).",
            100.0 * k1,
            100.0 * k2
        ),
        settings: plan.settings("the learned flow", t0.elapsed().as_secs_f64(), sizes.quick),
        numbers: vec![
            ("straightness, learned flow".into(), three_decimals(s1)),
            ("straightness, after one reflow".into(), format!("{s2:.4}")),
            ("paths keeping their half-plane, learned flow".into(), three_decimals(k1)),
            ("paths keeping their half-plane, after reflow".into(), three_decimals(k2)),
        ],
    })
}

/// Energy distances below this are drawn at it (the U-statistic can be negative).
const FLOOR: f64 = 1e-3;

pub fn figure12(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let plan = ReflowSizes::new(sizes);
    let t0 = Instant::now();
    let ring = Ring::new(8, 5.0, 0.1f64.sqrt())?;
    let base = StandardNormal { dim: 2 };
    let independent = plan.train(Independent::new(base, ring)?, 21)?;
    let ot = plan.train(MinibatchOt::new(base, ring)?, 22)?;
    let reflow1 = plan.reflow(&independent, &base, 23)?;
    let reflow2 = plan.reflow(&reflow1, &base, 24)?;
    let models = [
        ("independent", &independent),
        ("minibatch OT", &ot),
        ("1 reflow", &reflow1),
        ("2 reflows", &reflow2),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(25);
    let z0 = base.sample(plan.eval, &mut rng)?;
    let target = ring.sample(plan.eval, &mut rng)?;
    let ks = [1usize, 2, 4, 8, 16, 32, 100];
    let mut numbers = Vec::new();
    let mut quality = Vec::new();
    let mut straight = Vec::new();
    for (k, (name, m)) in models.iter().enumerate() {
        let (s, _, _) = paths(m, &z0, 100)?;
        straight.push((k as f64, s));
        numbers.push((format!("straightness, {name}"), format!("{s:.4}")));
        let mut curve = Vec::new();
        for &steps in &ks {
            let e = energy_distance_unbiased(&euler(m, &z0, steps)?, &target)?;
            curve.push(((steps as f64).log10(), e.max(FLOOR).log10()));
            if steps == 1 || steps == 100 {
                numbers.push((
                    format!("energy distance, {name}, {steps} Euler step(s)"),
                    format!("{e:.4}"),
                ));
            }
        }
        quality.push((name.to_string(), curve));
    }
    let file = png(out, "fig12_straightness.png", (1400, 520), |root| {
        let p = root.split_evenly((1, 2));
        lines(
            &p[0],
            "straightness S (100 Heun steps): independent, OT, 1 reflow, 2 reflows",
            (
                "model (0: independent, 1: minibatch OT, 2: 1 reflow, 3: 2 reflows)",
                "S",
            ),
            &[("straightness".into(), straight.clone())],
            None,
        )?;
        lines(
            &p[1],
            "sample quality against Euler steps",
            ("log10 Euler steps", "log10 energy distance to the ring"),
            &quality,
            None,
        )?;
        Ok(())
    })?;
    let get = |k: usize| straight[k].1;
    Ok(Entry {
        number: 12,
        title: "Straightness and sample quality against Euler steps: independent, minibatch OT, 1 and 2 reflows".into(),
        files: vec![file],
        caption: format!(
            "N(0, I) to eight Gaussians on a circle of radius 5 (mode variance 0.1). Left: the straightness of each \
             model's ODE paths, {:.3} (independent), {:.4} (minibatch OT, exact assignment per batch), {:.4} (1 reflow \
             of the independent model), {:.4} (2 reflows). Right: energy distance of Euler samples to exact ring \
             samples (unbiased U-statistic, zero in expectation for exact samples; values below {FLOOR} drawn at {FLOOR}) \
             against the number of steps.",
            get(0),
            get(1),
            get(2),
            get(3)
        ),
        settings: plan.settings("independent and OT", t0.elapsed().as_secs_f64(), sizes.quick),
        numbers,
    })
}
