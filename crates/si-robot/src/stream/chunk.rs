//! The chunked baseline, Diffusion Policy's recipe with a stochastic interpolant: from Gaussian noise to a
//! whole chunk of T actions (a point in R^{2T}) with K integration steps, execute the first n, re-plan.
//! Built from the same windows (observation context, the next T commanded targets) and the same encoder as
//! the streaming policy, so the two differ only in what the flow transports.

use nalgebra::DMatrix;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{ConditionalField, CoreError, PairSource, Pairs, Points};
use si_integrate::{integrate, Stepper, TimeGrid};

use crate::env::{Action, Obs};
use crate::error::RobotError;
use crate::policy::Policy;
use crate::stream::windows::{context_point, decode_action, Window, CONTEXT_DIM};

/// Pairs (x0 ~ N(0, I_{2T}), x1 = the window's T commanded targets, normalised) with the window's context:
/// the training data of the chunked baseline, for any interpolant.
#[derive(Clone, Debug)]
pub struct ChunkPairs {
    windows: Vec<Window>,
    horizon: usize,
}

impl ChunkPairs {
    /// Over `windows` (at least one, all with `horizon` segments).
    pub fn new(windows: Vec<Window>, horizon: usize) -> Result<Self, RobotError> {
        if windows.is_empty() || windows.iter().any(|w| w.path.segments() != horizon) {
            return Err(RobotError::Demonstrations(format!(
                "chunk pairs need at least one window, each with {horizon} actions"
            )));
        }
        Ok(Self { windows, horizon })
    }
}

impl PairSource for ChunkPairs {
    fn dim(&self) -> usize {
        2 * self.horizon
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn draw_pairs(&self, n: usize, rng: &mut dyn RngCore) -> Result<Pairs, CoreError> {
        let d = 2 * self.horizon;
        let mut x1 = DMatrix::zeros(d, n);
        let mut c = DMatrix::zeros(CONTEXT_DIM, n);
        for i in 0..n {
            let w = &self.windows[rng.random_range(0..self.windows.len())];
            for (j, k) in w.path.knots()[1..].iter().enumerate() {
                x1[(2 * j, i)] = k[0];
                x1[(2 * j + 1, i)] = k[1];
            }
            for (r, v) in w.context.iter().enumerate() {
                c[(r, i)] = *v;
            }
        }
        Ok(Pairs {
            x0: Points::standard_normal(n, d, rng),
            x1: Points::from_matrix_unchecked(x1),
            context: Some(Points::from_matrix_unchecked(c)),
        })
    }
}

/// Settings of the chunked policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedConfig {
    /// T: actions per chunk.
    pub horizon: usize,
    /// Actions executed before re-planning (1 ≤ n ≤ T).
    pub execute: usize,
    /// K: integration steps from noise to a chunk.
    pub steps: usize,
}

impl Default for ChunkedConfig {
    /// Diffusion Policy's: T = 16, execute 8, K = 10.
    fn default() -> Self {
        Self {
            horizon: 16,
            execute: 8,
            steps: 10,
        }
    }
}

/// A [`Policy`] that samples a whole chunk from noise with K steps of `stepper` and returns its first n
/// actions (generic over the conditioned field of the 2T-dimensional chunk).
#[derive(Debug)]
pub struct ChunkedPolicy<F, S> {
    field: F,
    stepper: S,
    config: ChunkedConfig,
    grid: TimeGrid,
    rng: ChaCha8Rng,
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> ChunkedPolicy<F, S> {
    /// The policy; the field must have dimension 2T and the observation context.
    pub fn new(field: F, stepper: S, config: ChunkedConfig) -> Result<Self, RobotError> {
        let bad = |name, value: String, reason| RobotError::InvalidParameter {
            name,
            value,
            reason,
        };
        if field.dim() != 2 * config.horizon || field.context_dim() != CONTEXT_DIM {
            return Err(bad(
                "field",
                format!("dimension {}, context {}", field.dim(), field.context_dim()),
                "a chunk field has dimension 2 T and a context of 12",
            ));
        }
        if !(1..=config.horizon).contains(&config.execute) {
            return Err(bad(
                "execute",
                config.execute.to_string(),
                "must be in 1..=T",
            ));
        }
        if config.steps == 0 || config.steps > 100_000 {
            return Err(bad(
                "steps",
                config.steps.to_string(),
                "must be in 1..=100000",
            ));
        }
        Ok(Self {
            field,
            stepper,
            config,
            grid: TimeGrid::uniform(0.0, 1.0, config.steps)?,
            rng: ChaCha8Rng::seed_from_u64(0),
        })
    }
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> Policy for ChunkedPolicy<F, S> {
    fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Samples a chunk from N(0, I) with K steps and returns its first `execute` actions.
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, RobotError> {
        let field = self.field.given(&context_point(history)?)?;
        let x0 = Points::standard_normal(1, 2 * self.config.horizon, &mut self.rng);
        let x1 = integrate(
            &self.stepper,
            &field,
            x0,
            &self.grid,
            &mut self.rng,
            &mut [],
        )?;
        let u = x1.as_slice();
        if u.iter().any(|v| !v.is_finite()) {
            return Err(RobotError::Policy(
                "the flow produced a non-finite chunk".into(),
            ));
        }
        Ok((0..self.config.execute)
            .map(|j| decode_action([u[2 * j], u[2 * j + 1]]))
            .collect())
    }
}
