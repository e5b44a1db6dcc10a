//! Figure 17 (docs/figures.md part F): the Schrödinger bridge between Gaussians, learned and exact
//! (docs/math.md §9). The learned route: the Brownian-bridge interpolant x_t = (1 − t) x0 + t x1 +
//! σ√(t(1 − t)) z with heads b and s, trained on the minibatch entropic-OT coupling (ε = 2σ²) and then
//! refined by iterative Markovian fitting, alternating as DSBM does (Shi et al. 2023): a forward round
//! simulates the forward SDE dX = (b + εs) dt + σ dW, ε = σ²/2, from fresh X0 ~ ρ0, a backward round the
//! time reversal dX = (b − εs) dt + σ dW̄ from fresh X1 ~ ρ1 back to t = 0, and each retrains, warm-started,
//! on the simulated pairs; the last round is a backward one, so the pairs the final model is fitted on have
//! the exact ρ1 (docs/math.md §9). Sampled by the forward SDE. Its (X0, X1) against the closed form of
//! si-analytic's `GaussianBridge`, on DSBM's benchmark N(−0.1, I) → N(0.1, I), σ = 1.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nalgebra::{dmatrix, dvector, DMatrix, DVector};
use plotters::prelude::*;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::GaussianBridge;
use si_core::ot::EntropicOt;
use si_core::{Batch, CouplingPairs, Gamma, Interpolant, PairSource, Points, Sampler};
use si_integrate::{integrate, EulerMaruyama, TimeGrid, Trajectory};
use si_nn::reflow::FixedPairs;
use si_nn::{Activation, FieldNet, Head, LearnedField, LrSchedule, ModelConfig, TensorBatch};
use si_nn::{TrainConfig, Trainer};
use si_report::{color, lines, plot_error, png, DrawError};

use crate::figures::{Entry, Sizes};

/// Sizes of the learned bridge.
#[derive(Clone, Debug)]
pub struct BridgeSizes {
    pub(crate) width: usize,
    pub(crate) depth: usize,
    pub(crate) steps: usize,
    pub(crate) rounds: usize,
    pub(crate) round_steps: usize,
    pub(crate) batch: usize,
    pub(crate) pool: usize,
    pub(crate) sde_steps: usize,
    pub(crate) eval: usize,
    pub(crate) dims: Vec<usize>,
    pub(crate) seeds: Vec<u64>,
    pub(crate) alternate: bool,
    pub(crate) backward_network: bool,
}

impl BridgeSizes {
    /// Quick: d = 5, one seed; full: d = 5, 20, 50 and three seeds.
    pub fn new(quick: bool) -> Self {
        if quick {
            Self {
                width: 64,
                depth: 2,
                steps: 600,
                rounds: 1,
                round_steps: 300,
                batch: 256,
                pool: 4000,
                sde_steps: 50,
                eval: 4000,
                dims: vec![5],
                seeds: vec![0],
                alternate: true,
                backward_network: false,
            }
        } else {
            Self {
                width: 256,
                depth: 3,
                steps: 1000,
                rounds: 3,
                round_steps: 1500,
                batch: 512,
                pool: 20_000,
                sde_steps: 100,
                eval: 20_000,
                dims: vec![5, 20, 50],
                seeds: vec![0, 1, 2],
                alternate: true,
                backward_network: false,
            }
        }
    }

    /// The same sizes for other dimensions of the benchmark.
    pub fn with_dims(mut self, dims: Vec<usize>) -> Self {
        self.dims = dims;
        self
    }

    /// The same sizes with `steps` Euler–Maruyama steps in every simulation (the rounds' pairs and the
    /// evaluation).
    pub fn with_sde_steps(mut self, steps: usize) -> Self {
        self.sde_steps = steps;
        self
    }

    /// The same sizes with `steps` training steps at the start (on minibatch entropic OT) and
    /// `round_steps` in every Markovian-fitting round.
    pub fn with_training_steps(mut self, steps: usize, round_steps: usize) -> Self {
        self.steps = steps;
        self.round_steps = round_steps;
        self
    }

    /// The same sizes over training seeds `seeds` (0, 1, 2 are the reported ones; choices are made on
    /// others).
    pub fn with_seeds(mut self, seeds: Vec<u64>) -> Self {
        self.seeds = seeds;
        self
    }

    /// DSBM's second network (Shi et al. 2023): the backward rounds sample with a backward model of its own,
    /// trained by bridge matching on the swapped pairs (first on the swapped entropic-OT coupling, then on
    /// each forward round's simulated pairs), instead of the forward model's time reversal b − εs.
    pub fn with_backward_network(mut self) -> Self {
        self.backward_network = true;
        self
    }

    /// Every Markovian-fitting round forward (from fresh X0 ~ ρ0), as before the rounds alternated; kept to
    /// reproduce that comparison (docs/results.md).
    pub fn forward_rounds_only(mut self) -> Self {
        self.alternate = false;
        self
    }

    /// Whether round `round` (1..=rounds) runs backward: alternating, the last round and every second one
    /// before it.
    fn backward_round(&self, round: usize) -> bool {
        self.alternate && (self.rounds - round).is_multiple_of(2)
    }

    fn settings(&self, seconds: f64, quick: bool) -> String {
        format!(
            "Brownian-bridge interpolant gamma = sigma sqrt(t(1-t)), heads b and s; {}x{} SiLU MLP, Adam 2e-3 cosine, \
             batch {}; {} steps on minibatch entropic OT (eps = 2 sigma^2, Sinkhorn per batch to 1e-4), then {} rounds of \
             iterative Markovian fitting ({}; {} steps each, warm-started, on {} pairs simulated by {} Euler-Maruyama steps \
             with eps = sigma^2/2); route (b): the PolySchedule family (3 coefficients per function) from the Brownian \
             bridge over the independent coupling, the same network and batch, {} descent-ascent steps (networks Adam \
             2e-3, schedule Adam 5e-3, both cosine to a tenth); {} evaluation pairs; seeds {:?}; {seconds:.0} s{}",
            self.depth,
            self.width,
            self.batch,
            self.steps,
            self.rounds,
            match (self.alternate, self.backward_network) {
                (true, true) => "alternating, the last backward, backward rounds by a second network on the swapped pairs",
                (true, false) => "alternating, the last backward",
                (false, _) => "every round forward",
            },
            self.round_steps,
            self.pool,
            self.sde_steps,
            self.steps + self.rounds * self.round_steps,
            self.eval,
            self.seeds,
            if quick { " (quick mode)" } else { "" }
        )
    }

    fn train_config(&self, steps: usize, seed: u64) -> Result<si_nn::TrainParams> {
        let mut t = TrainConfig::new(steps);
        t.batch = self.batch;
        t.lr = 2e-3;
        t.schedule = LrSchedule::Cosine { min_lr: 1e-4 };
        t.antithetic = true;
        t.seed = seed;
        Ok(t.check()?)
    }
}

/// The Brownian-bridge interpolant for reference noise σ: linear, γ = √(σ² t(1 − t)).
pub fn bridge_interpolant(sigma: f64) -> Result<Interpolant> {
    Ok(Interpolant::linear(Gamma::sqrt(sigma * sigma)?)?)
}

/// Samples of N(μ, Σ) (Cholesky of Σ).
#[derive(Clone)]
pub(crate) struct Gaussian {
    mu: DVector<f64>,
    l: DMatrix<f64>,
}

pub(crate) fn gaussian(mu: DVector<f64>, cov: &DMatrix<f64>) -> Result<Gaussian> {
    let l = cov
        .clone()
        .cholesky()
        .ok_or_else(|| anyhow::anyhow!("covariance not positive definite"))?
        .unpack();
    Ok(Gaussian { mu, l })
}

impl Sampler for Gaussian {
    fn dim(&self) -> usize {
        self.mu.len()
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Points> {
        let z = Points::standard_normal(n, self.mu.len(), rng);
        let mut m = &self.l * z.matrix();
        for mut c in m.column_iter_mut() {
            c += &self.mu;
        }
        Ok(Points::from_matrix_unchecked(m))
    }
}

/// (X0, X1) statistics against the bridge: |coordinate-averaged estimate − truth| of the mean of X1, the
/// variance of X1 and the cross-covariance Cov(X0, X1) (DSBM's three errors).
pub fn errors(bridge: &GaussianBridge, x0: &Points, x1: &Points) -> [f64; 3] {
    let (n, d) = (x0.len() as f64, x0.dim());
    let (m0, m1) = (x0.mean(), x1.mean());
    let (mut em, mut ev, mut ec) = (0.0, 0.0, 0.0);
    for k in 0..d {
        let (a, b) = (x0.matrix().row(k), x1.matrix().row(k));
        let var = b.iter().map(|v| (v - m1[k]).powi(2)).sum::<f64>() / (n - 1.0);
        let cov = a
            .iter()
            .zip(b.iter())
            .map(|(u, v)| (u - m0[k]) * (v - m1[k]))
            .sum::<f64>()
            / (n - 1.0);
        em += m1[k] - bridge.end().0[k];
        ev += var - bridge.end().1[(k, k)];
        ec += cov - bridge.cross_covariance()[(k, k)];
    }
    let d = d as f64;
    [(em / d).abs(), (ev / d).abs(), (ec / d).abs()]
}

/// Which way an SDE path of the bridge runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// From t = 0 to 1: dX = (b + ε s) dt + σ dW, X1 from X0.
    Forward,
    /// From t = 1 to 0, the time reversal: dX = (b − ε s) dt + σ dW̄, X0 from X1.
    Backward,
}

/// The other end of the bridge's SDE paths started at `x` (ε = σ²/2; docs/math.md §9), by Euler–Maruyama
/// on a uniform grid of `steps`, for any field of the Brownian-bridge interpolant (learned or exact).
pub(crate) fn simulate_field<B: Batch, F: si_core::Field<B> + ?Sized>(
    field: &F,
    sigma: f64,
    x: B,
    direction: Direction,
    steps: usize,
    seed: u64,
    observers: &mut [&mut dyn si_integrate::Observer<B>],
) -> Result<B> {
    let em = EulerMaruyama::constant(sigma * sigma / 2.0)?;
    let grid = match direction {
        Direction::Forward => TimeGrid::uniform(0.0, 1.0, steps)?,
        Direction::Backward => TimeGrid::uniform(1.0, 0.0, steps)?,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok(integrate(&em, field, x, &grid, &mut rng, observers)?)
}

/// The other end of the learned SDE's paths started at `x` ([`simulate_field`] on the network's field).
/// The network must have heads b and s: they are read directly, and the Brownian-bridge interpolant the
/// field is wrapped in is then never used (route (b)'s networks, of another interpolant, rely on this).
pub(crate) fn simulate(
    net: &FieldNet,
    sigma: f64,
    x: &Points,
    direction: Direction,
    steps: usize,
    seed: u64,
    observers: &mut [&mut dyn si_integrate::Observer<TensorBatch>],
) -> Result<Points> {
    if net.head_index(Head::B).is_none() || net.head_index(Head::S).is_none() {
        anyhow::bail!("the bridge's SDE reads the heads b and s, and this network lacks one");
    }
    let field = LearnedField::new(net, bridge_interpolant(sigma)?);
    let x = TensorBatch::from_points(x, &(tch::Kind::Float, net.device()))?;
    let end = tch::no_grad(|| simulate_field(&field, sigma, x, direction, steps, seed, observers))?;
    Ok(end.to_points()?)
}

/// The learned bridge between the bridge's two Gaussians: the model after minibatch entropic OT and after
/// each Markovian-fitting round, with each stage's errors on fresh evaluation pairs.
pub struct Learned {
    /// (stage name, errors [mean, variance, cross-covariance]).
    pub stages: Vec<(String, [f64; 3])>,
    /// The final model.
    pub model: Trainer,
}

fn train<P: PairSource>(
    sizes: &BridgeSizes,
    sigma: f64,
    pairs: P,
    steps: usize,
    seed: u64,
    warm: Option<&FieldNet>,
) -> Result<Trainer> {
    let d = pairs.dim();
    let train = sizes.train_config(steps, seed)?;
    let mut t = match warm {
        Some(net) => Trainer::warm_start(net, train)?,
        None => {
            let mut m = ModelConfig::new(d);
            m.width = sizes.width;
            m.depth = sizes.depth;
            m.activation = Activation::Silu;
            m.heads = vec![Head::B, Head::S];
            Trainer::new(m.check()?, train, tch::Device::Cpu)?
        }
    };
    let source =
        crate::experiment::source(bridge_interpolant(sigma)?, pairs, 1e-3, tch::Device::Cpu)?;
    t.run(&source, &mut [])?;
    Ok(t)
}

/// The same bridge run from X1 to X0: N(μ1, Σ1) to N(μ0, Σ0) with the same σ (its coupling is the
/// transpose's: the Schrödinger bridge is its own time reversal).
pub fn reversed(bridge: &GaussianBridge) -> Result<GaussianBridge> {
    Ok(GaussianBridge::new(
        bridge.end().0.clone(),
        bridge.end().1.clone(),
        bridge.start().0.clone(),
        bridge.start().1.clone(),
        bridge.sigma(),
    )?)
}

/// Learns the bridge between the Gaussians of `bridge` (seed `seed`) and scores each stage.
///
/// With [`BridgeSizes::with_backward_network`] a second model B runs the bridge from X1 to X0: the Brownian
/// bridge's interpolant is symmetric under t ↦ 1 − t with x0 ↔ x1, so B is a forward model of the swapped
/// pairs, sampled by the same forward SDE. A backward round then samples X0 by B from fresh X1 ~ ρ1 and
/// retrains the forward model on (X0, X1); a forward round samples X1 by the forward model from fresh
/// X0 ~ ρ0 and retrains B on (X1, X0); a round that retrains B is scored by B's pairs against the reversed
/// bridge (X0's mean and variance, the cross-covariance).
pub fn learn(bridge: &GaussianBridge, sizes: &BridgeSizes, seed: u64) -> Result<Learned> {
    let sigma = bridge.sigma();
    let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1)?;
    let rho1 = gaussian(bridge.end().0.clone(), bridge.end().1)?;
    // each minibatch plan to a row-marginal error of 1e-4: the minibatch's own bias is far larger (docs/math.md §9)
    let coupling = EntropicOt::new(rho0.clone(), rho1.clone(), sigma, 1e-4, 5_000)?;
    let mut model = train(
        sizes,
        sigma,
        CouplingPairs(coupling),
        sizes.steps,
        seed,
        None,
    )?;
    let mut rng = ChaCha8Rng::seed_from_u64(1000 + seed);
    let eval0 = rho0.sample(sizes.eval, &mut rng)?;
    // a stage's score: the model's forward SDE from `start`, the pairs against `reference`'s coupling
    let score_from = |m: &Trainer, reference: &GaussianBridge, start: &Points, s: u64| {
        let end = simulate(
            m.sampling_net(),
            sigma,
            start,
            Direction::Forward,
            sizes.sde_steps,
            s,
            &mut [],
        )?;
        Ok::<_, anyhow::Error>(errors(reference, start, &end))
    };
    let score = |m: &Trainer, s: u64| score_from(m, bridge, &eval0, s);
    let mut stages = vec![("minibatch EOT".to_string(), score(&model, 2000 + seed)?)];
    let back_bridge = reversed(bridge)?;
    // its own generator: the rounds' draws from `rng` stay those of the one-network runs
    let eval1 = rho1.sample(sizes.eval, &mut ChaCha8Rng::seed_from_u64(1500 + seed))?;
    let score_back = |m: &Trainer, s: u64| score_from(m, &back_bridge, &eval1, s);
    // (with every round forward there is no backward round to run it)
    let mut back = if sizes.backward_network && sizes.alternate {
        let swapped = EntropicOt::new(rho1.clone(), rho0.clone(), sigma, 1e-4, 5_000)?;
        let b = train(
            sizes,
            sigma,
            CouplingPairs(swapped),
            sizes.steps,
            seed + 50,
            None,
        )?;
        stages.push((
            "minibatch EOT, backward network (X0 from X1)".to_string(),
            score_back(&b, 2500 + seed)?,
        ));
        Some(b)
    } else {
        None
    };
    for round in 1..=sizes.rounds {
        let backward = sizes.backward_round(round);
        if let Some(b) = back.as_mut() {
            let pairs_seed = 3000 + 10 * seed + round as u64;
            if backward {
                let x1 = rho1.sample(sizes.pool, &mut rng)?;
                let x0 = simulate(
                    b.sampling_net(),
                    sigma,
                    &x1,
                    Direction::Forward,
                    sizes.sde_steps,
                    pairs_seed,
                    &mut [],
                )?;
                model = train(
                    sizes,
                    sigma,
                    FixedPairs::new(x0, x1)?,
                    sizes.round_steps,
                    seed + 100 * round as u64,
                    Some(model.sampling_net()),
                )?;
                stages.push((
                    format!("IMF round {round} (backward network's pairs, forward model)"),
                    score(&model, 4000 + seed)?,
                ));
            } else {
                let x0 = rho0.sample(sizes.pool, &mut rng)?;
                let x1 = simulate(
                    model.sampling_net(),
                    sigma,
                    &x0,
                    Direction::Forward,
                    sizes.sde_steps,
                    pairs_seed,
                    &mut [],
                )?;
                *b = train(
                    sizes,
                    sigma,
                    FixedPairs::new(x1, x0)?,
                    sizes.round_steps,
                    seed + 100 * round as u64 + 50,
                    Some(b.sampling_net()),
                )?;
                stages.push((
                    format!(
                        "IMF round {round} (forward model's pairs, backward network: X0 from X1)"
                    ),
                    score_back(b, 4500 + seed)?,
                ));
            }
            continue;
        }
        let (direction, fresh) = if backward {
            (Direction::Backward, &rho1)
        } else {
            (Direction::Forward, &rho0)
        };
        let start = fresh.sample(sizes.pool, &mut rng)?;
        let end = simulate(
            model.sampling_net(),
            sigma,
            &start,
            direction,
            sizes.sde_steps,
            3000 + 10 * seed + round as u64,
            &mut [],
        )?;
        let (z0, z1) = if backward { (end, start) } else { (start, end) };
        let next = train(
            sizes,
            sigma,
            FixedPairs::new(z0, z1)?,
            sizes.round_steps,
            seed + 100 * round as u64,
            Some(model.sampling_net()),
        )?;
        model = next;
        let way = if backward { "backward" } else { "forward" };
        stages.push((
            format!("IMF round {round} ({way})"),
            score(&model, 4000 + seed)?,
        ));
    }
    Ok(Learned { stages, model })
}

/// The errors of the exact bridge's own field (si-analytic's closed-form b and s) sampled as the learned
/// one is, by the forward SDE with `sizes.sde_steps` Euler–Maruyama steps from `sizes.eval` fresh X0 ~ ρ0
/// (its own draws, not the learned model's evaluation points): what the sampler alone costs, beside the
/// floor of exact pairs.
pub fn sampler_floor(bridge: &GaussianBridge, sizes: &BridgeSizes, seed: u64) -> Result<[f64; 3]> {
    let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1)?;
    let x0 = rho0.sample(sizes.eval, &mut ChaCha8Rng::seed_from_u64(6000 + seed))?;
    let x1 = simulate_field(
        bridge,
        bridge.sigma(),
        x0.clone(),
        Direction::Forward,
        sizes.sde_steps,
        7000 + seed,
        &mut [],
    )?;
    Ok(errors(bridge, &x0, &x1))
}

/// One row of the benchmark: dimension, stage, and mean ± standard error over seeds of the three errors.
pub struct BenchRow {
    /// Dimension.
    pub d: usize,
    /// Stage ("minibatch EOT", "IMF round k (…)", "exact field, N Euler–Maruyama steps" for the sampler's
    /// floor, or "exact samples" for the Monte Carlo floor).
    pub stage: String,
    /// (mean, standard error) of the mean, variance and cross-covariance errors.
    pub errors: [(f64, f64); 3],
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let se = if v.len() > 1 {
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
    } else {
        f64::NAN
    };
    (m, se)
}

/// One row per stage: mean ± standard error over seeds of each of the three errors.
pub(crate) fn summarise(d: usize, per_stage: Vec<(String, Vec<[f64; 3]>)>) -> Vec<BenchRow> {
    per_stage
        .into_iter()
        .map(|(stage, es)| {
            let col = |j: usize| mean_se(&es.iter().map(|e| e[j]).collect::<Vec<_>>());
            BenchRow {
                d,
                stage,
                errors: [col(0), col(1), col(2)],
            }
        })
        .collect()
}

/// DSBM's Gaussian benchmark: N(−0.1, I) → N(0.1, I), σ = 1, in every dimension of `sizes`, over its seeds;
/// with the floor of the same estimator on exact bridge samples.
pub fn benchmark(sizes: &BridgeSizes) -> Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for &d in &sizes.dims {
        let bridge = GaussianBridge::isotropic(d, -0.1, 1.0, 0.1, 1.0, 1.0)?;
        let mut per_stage: Vec<(String, Vec<[f64; 3]>)> = Vec::new();
        let (mut floor, mut sampler) = (Vec::new(), Vec::new());
        for &seed in &sizes.seeds {
            let learned = learn(&bridge, sizes, seed)?;
            for (k, (name, e)) in learned.stages.into_iter().enumerate() {
                if per_stage.len() <= k {
                    per_stage.push((name, Vec::new()));
                }
                per_stage[k].1.push(e);
            }
            let (x0, x1) =
                bridge.sample_pairs(sizes.eval, &mut ChaCha8Rng::seed_from_u64(5000 + seed))?;
            floor.push(errors(&bridge, &x0, &x1));
            sampler.push(sampler_floor(&bridge, sizes, seed)?);
            tracing::info!(d, seed, "bridge learned");
        }
        per_stage.push((
            format!(
                "exact field, {} Euler–Maruyama steps (the sampler's floor)",
                sizes.sde_steps
            ),
            sampler,
        ));
        per_stage.push(("exact samples (floor)".into(), floor));
        rows.extend(summarise(d, per_stage));
    }
    Ok(rows)
}

/// Matrix errors for a non-diagonal bridge: ‖μ̂1 − μ1‖/√d, ‖Σ̂1 − Σ1‖_F/‖Σ1‖_F and ‖Ĉ − C‖_F/‖C‖_F with Ĉ
/// the empirical Cov(X0, X1).
pub fn matrix_errors(bridge: &GaussianBridge, x0: &Points, x1: &Points) -> [f64; 3] {
    let n = x0.len() as f64;
    let d = x0.dim();
    let (m0, m1) = (x0.mean(), x1.mean());
    let c0 = DMatrix::from_fn(d, x0.len(), |r, i| x0.matrix()[(r, i)] - m0[r]);
    let c1 = DMatrix::from_fn(d, x1.len(), |r, i| x1.matrix()[(r, i)] - m1[r]);
    let s1 = &c1 * c1.transpose() / (n - 1.0);
    let c = &c0 * c1.transpose() / (n - 1.0);
    [
        (&m1 - bridge.end().0).norm() / (d as f64).sqrt(),
        (s1 - bridge.end().1).norm() / bridge.end().1.norm(),
        (c - bridge.cross_covariance()).norm() / bridge.cross_covariance().norm(),
    ]
}

/// A non-diagonal bridge in d = 10: random SPD Σ0, Σ1 (A Aᵀ/d + 0.5 I) and means, σ = 1, from `seed`.
pub fn random_bridge(d: usize, seed: u64) -> Result<GaussianBridge> {
    use rand::Rng;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let spd = |rng: &mut ChaCha8Rng| {
        let a = DMatrix::from_fn(d, d, |_, _| rng.random_range(-1.0..1.0));
        &a * a.transpose() / d as f64 + DMatrix::identity(d, d) * 0.5
    };
    let (s0, s1) = (spd(&mut rng), spd(&mut rng));
    let mu0 = DVector::from_fn(d, |_, _| rng.random_range(-0.5..0.5));
    let mu1 = DVector::from_fn(d, |_, _| rng.random_range(-0.5..0.5));
    Ok(GaussianBridge::new(mu0, s0, mu1, s1, 1.0)?)
}

/// The learned bridge between random non-diagonal Gaussians in d = 10 (one bridge, the seeds of `sizes`):
/// each stage's relative matrix errors ([`matrix_errors`]), mean ± standard error over seeds, with the floor.
pub fn nondiagonal(sizes: &BridgeSizes) -> Result<Vec<BenchRow>> {
    let d = 10;
    let bridge = random_bridge(d, 10)?;
    let mut per_stage: Vec<(String, Vec<[f64; 3]>)> = Vec::new();
    let mut floor = Vec::new();
    for &seed in &sizes.seeds {
        let learned = learn(&bridge, sizes, seed)?;
        // re-score the final model with the matrix errors on fresh pairs
        let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1)?;
        let eval0 = rho0.sample(sizes.eval, &mut ChaCha8Rng::seed_from_u64(6000 + seed))?;
        let x1 = simulate(
            learned.model.sampling_net(),
            1.0,
            &eval0,
            Direction::Forward,
            sizes.sde_steps,
            7000 + seed,
            &mut [],
        )?;
        let e = matrix_errors(&bridge, &eval0, &x1);
        let name = format!(
            "{} (final)",
            learned.stages.last().map_or("", |s| s.0.as_str())
        );
        if per_stage.is_empty() {
            per_stage.push((name, Vec::new()));
        }
        per_stage[0].1.push(e);
        let (x0, x1) =
            bridge.sample_pairs(sizes.eval, &mut ChaCha8Rng::seed_from_u64(8000 + seed))?;
        floor.push(matrix_errors(&bridge, &x0, &x1));
        tracing::info!(d, seed, "non-diagonal bridge learned");
    }
    per_stage.push(("exact samples (floor)".into(), floor));
    Ok(summarise(d, per_stage))
}

/// The benchmark as a text table (mean ± standard error over seeds).
pub fn table(rows: &[BenchRow]) -> String {
    let mut s = String::from("| d | stage | mean error | variance error | cross-covariance error |\n|---|---|---|---|---|\n");
    for r in rows {
        let f = |(m, se): (f64, f64)| {
            if m.is_nan() {
                "—".to_string()
            } else if se.is_nan() {
                format!("{m:.4}")
            } else {
                format!("{m:.4} ± {se:.4}")
            }
        };
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.d,
            r.stage,
            f(r.errors[0]),
            f(r.errors[1]),
            f(r.errors[2])
        ));
    }
    s
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn plane<'a, 'b>(area: &'a si_report::Area<'b>, title: &str) -> Result<Chart<'a, 'b>, DrawError> {
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(24)
        .y_label_area_size(32)
        .build_cartesian_2d(-4.5..4.5, -3.5..4.0)
        .map_err(plot_error)?;
    c.configure_mesh()
        .disable_mesh()
        .draw()
        .map_err(plot_error)?;
    Ok(c)
}

fn draw_paths(c: &mut Chart<'_, '_>, states: &[Points], count: usize) -> Result<(), DrawError> {
    for i in 0..count {
        let p: Vec<(f64, f64)> = states
            .iter()
            .map(|s| (s.matrix()[(0, i)], s.matrix()[(1, i)]))
            .collect();
        let k = usize::from(p.first().is_some_and(|q| q.1 < 0.0));
        c.draw_series(LineSeries::new(p, color(k).mix(0.5).stroke_width(1)))
            .map_err(plot_error)?;
    }
    Ok(())
}

/// The 2-D bridge of the figure: N((−2, 0), diag(0.3, 1)) → N((2, 1), [[1, 0.5], [0.5, 0.8]]), σ = 1.
pub fn bridge_2d() -> Result<GaussianBridge> {
    Ok(GaussianBridge::new(
        dvector![-2.0, 0.0],
        dmatrix![0.3, 0.0; 0.0, 1.0],
        dvector![2.0, 1.0],
        dmatrix![1.0, 0.5; 0.5, 0.8],
        1.0,
    )?)
}

pub fn figure17(out: &Path, sizes: &Sizes) -> Result<Entry> {
    let plan = BridgeSizes::new(sizes.quick);
    let t0 = Instant::now();
    let b2 = bridge_2d()?;
    let learned = learn(&b2, &plan, 7)?;
    let count = 50;
    let x0 = gaussian(b2.start().0.clone(), b2.start().1)?
        .sample(count, &mut ChaCha8Rng::seed_from_u64(17))?;
    // exact bridge paths: Euler–Maruyama on the closed-form b and s (b + (σ²/2) s is the bridge drift)
    let mut exact_traj = Trajectory::every(1);
    let grid = TimeGrid::uniform(0.0, 1.0, plan.sde_steps)?;
    let em = EulerMaruyama::constant(0.5)?;
    integrate(
        &em,
        &b2,
        x0.clone(),
        &grid,
        &mut ChaCha8Rng::seed_from_u64(18),
        &mut [&mut exact_traj],
    )?;
    let mut learned_traj = Trajectory::every(1);
    simulate(
        learned.model.sampling_net(),
        1.0,
        &x0,
        Direction::Forward,
        plan.sde_steps,
        18,
        &mut [&mut learned_traj],
    )?;
    let learned_states: Vec<Points> = learned_traj
        .states
        .iter()
        .map(|s| s.to_points())
        .collect::<si_core::Result<_>>()?;
    let mut rows = benchmark(&plan)?;
    rows.extend(super::bridge_opt::benchmark_route_b(&plan)?);
    let text = table(&rows);
    tracing::info!("Schrodinger bridge benchmark (figure 17):\n{text}");
    let stage_names: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for r in &rows {
            if !v.contains(&r.stage) {
                v.push(r.stage.clone());
            }
        }
        v
    };
    let series: Vec<(String, Vec<(f64, f64)>)> = stage_names
        .iter()
        .map(|name| {
            (
                name.clone(),
                rows.iter()
                    .filter(|r| &r.stage == name)
                    .map(|r| (r.d as f64, r.errors[2].0))
                    .collect(),
            )
        })
        .collect();
    let (e2d_first, e2d_last) = (
        learned.stages[0].1,
        learned.stages[learned.stages.len() - 1].1,
    );
    let file = png(out, "fig17_bridge.png", (1600, 520), |root| {
        let p = root.split_evenly((1, 3));
        let mut c = plane(&p[0], "(a) exact bridge (closed form), 50 paths")?;
        draw_paths(&mut c, &exact_traj.states, count)?;
        let mut c = plane(
            &p[1],
            &format!(
                "(b) learned bridge ({}), same starts",
                learned.stages.last().map_or("", |s| s.0.as_str())
            ),
        )?;
        draw_paths(&mut c, &learned_states, count)?;
        lines(
            &p[2],
            "(c) |Cov(X0, X1) error| against d (N(-0.1, I) -> N(0.1, I))",
            ("dimension d", "cross-covariance error"),
            &series,
            Some((0.01, "goal 0.01")),
        )?;
        Ok(())
    })?;
    let mut numbers = vec![
        (
            "2-D bridge, errors after minibatch EOT (mean, variance, cross-cov)".to_string(),
            format!(
                "{:.3}, {:.3}, {:.3}",
                e2d_first[0], e2d_first[1], e2d_first[2]
            ),
        ),
        (
            "2-D bridge, errors after the last IMF round".to_string(),
            format!("{:.3}, {:.3}, {:.3}", e2d_last[0], e2d_last[1], e2d_last[2]),
        ),
    ];
    for r in &rows {
        numbers.push((
            format!(
                "d = {}, {}: mean / variance / cross-cov error",
                r.d, r.stage
            ),
            r.errors
                .iter()
                .map(|e| {
                    if e.0.is_nan() {
                        "-".to_string()
                    } else {
                        format!("{:.4}", e.0)
                    }
                })
                .collect::<Vec<_>>()
                .join(" / "),
        ));
    }
    Ok(Entry {
        number: 17,
        title: "The Schrodinger bridge between Gaussians: learned against the closed form".into(),
        files: vec![file],
        caption: "(a) Paths of the exact bridge from N((-2, 0), diag(0.3, 1)) to N((2, 1), [[1, 0.5], [0.5, 0.8]]) with \
                  sigma = 1 (Euler-Maruyama on the closed-form drift); (b) the learned bridge's paths from the same \
                  starts; (c) DSBM's benchmark N(-0.1, I) -> N(0.1, I), sigma = 1: the error of the coordinate-averaged \
                  cross-covariance Cov(X0, X1) against the closed form (sqrt 5 - 1)/2, mean over seeds, for the \
                  minibatch entropic-OT coupling, each round of iterative Markovian fitting (route (a)), route (b) (the \
                  optimisation over the interpolant from the independent coupling: its learned networks, its learned \
                  schedule's exact fields, the coupling that schedule implies in closed form), and exact bridge samples \
                  (the Monte Carlo floor of the estimator). The numbers list all three errors."
            .into(),
        settings: plan.settings(t0.elapsed().as_secs_f64(), sizes.quick),
        numbers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rounds' two directions against the closed form: the exact bridge's field (si-analytic), run
    /// forward from exact X0 ~ ρ0 and backward (the time reversal, drift b − εs) from exact X1 ~ ρ1, gives
    /// pairs with the bridge's mean, variance and cross-covariance. n = 20,000 pairs in d = 4: each
    /// coordinate-averaged estimate has a standard error of at most 0.006 (the cross-covariance's
    /// √((v0 v1 + c²)/(n d)) ≈ 0.004, the variances' v √(2/(n d)): 0.0025 for X0, 0.0075 for X1, the mean's
    /// √(v/(n d)) ≤ 0.005), Euler–Maruyama's bias at 100 steps is of order 1/100 of the moments; 0.02 is over
    /// 2.6 standard errors for X1's variance and over three for the others, plus that bias. The wrong sign of the score
    /// term in the reversal moves the variance of X0 by far more (it is the forward SDE run backward).
    #[test]
    fn forward_and_backward_paths_of_the_exact_bridge_have_its_coupling() {
        let bridge = GaussianBridge::isotropic(4, -0.3, 0.5, 0.4, 1.5, 1.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let rho0 = gaussian(bridge.start().0.clone(), bridge.start().1).unwrap();
        let rho1 = gaussian(bridge.end().0.clone(), bridge.end().1).unwrap();
        let n = 20_000;

        let x0 = rho0.sample(n, &mut rng).unwrap();
        let x1 = simulate_field(
            &bridge,
            1.0,
            x0.clone(),
            Direction::Forward,
            100,
            1,
            &mut [],
        )
        .unwrap();
        let e = errors(&bridge, &x0, &x1);
        assert!(e.iter().all(|v| *v < 0.02), "forward errors {e:?}");

        let y1 = rho1.sample(n, &mut rng).unwrap();
        let y0 = simulate_field(
            &bridge,
            1.0,
            y1.clone(),
            Direction::Backward,
            100,
            2,
            &mut [],
        )
        .unwrap();
        // the start's mean and variance, and the cross-covariance, of the backward pairs
        let (m0, v0) = bridge.start();
        let mean0 = y0.mean().iter().sum::<f64>() / 4.0;
        let d = 4.0;
        let var0 = (0..4)
            .map(|k| {
                let row = y0.matrix().row(k);
                row.iter().map(|v| (v - y0.mean()[k]).powi(2)).sum::<f64>() / (n as f64 - 1.0)
            })
            .sum::<f64>()
            / d;
        assert!((mean0 - m0[0]).abs() < 0.02, "backward mean of X0 {mean0}");
        assert!(
            (var0 - v0[(0, 0)]).abs() < 0.02,
            "backward variance of X0 {var0}"
        );
        let e = errors(&bridge, &y0, &y1);
        assert!(e[2] < 0.02, "backward cross-covariance error {}", e[2]);
    }

    /// DSBM's second network runs the bridge backward: at quick sizes, on a bridge whose ends are 2 apart
    /// per coordinate (N(−1, I) → N(1, I), d = 3), the backward network's X0 from fresh X1 has ρ0's mean
    /// within 0.15 (a network of the unswapped pairs would miss it by 2), and so does the forward model's
    /// X1 after the backward round it was retrained on; the stages say which network they score.
    #[test]
    fn the_backward_network_runs_the_bridge_from_x1_to_x0() {
        let bridge = GaussianBridge::isotropic(3, -1.0, 1.0, 1.0, 1.0, 1.0).unwrap();
        let sizes = BridgeSizes::new(true)
            .with_dims(vec![3])
            .with_backward_network();
        let l = learn(&bridge, &sizes, 0).unwrap();
        let names: Vec<&str> = l.stages.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "minibatch EOT",
                "minibatch EOT, backward network (X0 from X1)",
                "IMF round 1 (backward network's pairs, forward model)"
            ]
        );
        for (name, e) in &l.stages {
            assert!(e[0] < 0.15, "{name}: mean error {}", e[0]);
        }
        // the one-network runs are unchanged by the option's existence: no backward stage
        let one = learn(&bridge, &BridgeSizes::new(true).with_dims(vec![3]), 0).unwrap();
        assert_eq!(one.stages.len(), 2);
        assert_eq!(
            one.stages[0].1, l.stages[0].1,
            "the first stage draws the same"
        );
    }

    #[test]
    fn alternating_rounds_end_backward() {
        let s = BridgeSizes::new(false);
        let ways: Vec<bool> = (1..=s.rounds).map(|r| s.backward_round(r)).collect();
        assert_eq!(ways, vec![true, false, true]);
        let f = BridgeSizes::new(false).forward_rounds_only();
        assert!((1..=f.rounds).all(|r| !f.backward_round(r)));
        let q = BridgeSizes::new(true);
        assert!(q.backward_round(1));
    }
}
