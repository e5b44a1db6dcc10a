//! Shared helpers of the si-nn tests.
#![allow(dead_code)]

use si_analytic::GaussianMixture;
use si_core::{
    CouplingPairs, Independent, Interpolant, InterpolantSource, PairSource, StandardNormal,
    TimeRange,
};
use si_nn::{Head, ModelConfig, ModelParams, TrainConfig, Uploaded};

/// N(0, 1) → N(2, 0.25) in d = 1 (exact fields from si-analytic).
pub fn gaussian_pair() -> (GaussianMixture, GaussianMixture) {
    si_analytic::reference::gaussian_pair_1d().unwrap()
}

pub fn gaussian_data() -> CouplingPairs<Independent<StandardNormal, GaussianMixture>> {
    CouplingPairs(Independent::new(StandardNormal { dim: 1 }, gaussian_pair().1).unwrap())
}

/// Regression draws of `interpolant` over `pairs` (t ~ U[1e-4, 1 − 1e-4]) on the CPU.
pub fn source<P: PairSource>(interpolant: Interpolant, pairs: P) -> Uploaded<InterpolantSource<P>> {
    Uploaded::new(
        InterpolantSource::new(interpolant, pairs, TimeRange::new(1e-4).unwrap()),
        tch::Device::Cpu,
    )
}

pub fn small_model(dim: usize, heads: Vec<Head>) -> ModelParams {
    let mut m = ModelConfig::new(dim);
    m.width = 64;
    m.depth = 2;
    m.heads = heads;
    m.check().unwrap()
}

pub fn small_train(steps: usize) -> TrainConfig {
    let mut t = TrainConfig::new(steps);
    t.batch = 256;
    t.lr = 3e-3;
    t.schedule = si_nn::LrSchedule::Cosine { min_lr: 1e-4 };
    t.seed = 7;
    t
}
