//! The chunked baseline, "DP horizons, MLP flow-matching sampler": Diffusion Policy's horizons (a chunk of
//! T = 16 actions, execute n = 8, re-plan) with a stochastic interpolant from Gaussian noise to the whole
//! chunk (a point in R^{2T}) integrated with K steps — on the same MLP as the streaming policy, not Diffusion
//! Policy's network (its 1-D temporal U-Net with FiLM conditioning).
//! Built from the same windows (observation context, the next T commanded targets) and the same encoder as
//! the streaming policy, so the two differ only in what the flow transports.

use nalgebra::DMatrix;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{ConditionalField, CoreError, PairSource, Pairs, Points};
use si_integrate::{integrate, Stepper, TimeGrid};

use si_pusht::{Action, Obs, Policy, PushTError};

use crate::encode::{context_point, decode_action, CONTEXT_DIM};
use crate::error::RobotError;
use crate::windows::Window;

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

/// Settings of the chunked policy before they are checked ([`ChunkedConfig::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedConfig {
    /// T: actions per chunk.
    pub horizon: usize,
    /// Actions executed before re-planning (1 ≤ n ≤ T).
    pub execute: usize,
    /// K: integration steps (network passes) from noise to a chunk, 1 ≤ K ≤ 100000.
    pub integration_steps: usize,
}

impl Default for ChunkedConfig {
    /// Diffusion Policy's: T = 16, execute 8, K = 10.
    fn default() -> Self {
        Self {
            horizon: 16,
            execute: 8,
            integration_steps: 10,
        }
    }
}

impl ChunkedConfig {
    /// Checks the settings: 1 ≤ n ≤ T and 1 ≤ K ≤ 100000 (T ≥ 1 follows).
    pub fn check(self) -> Result<ChunkedParams, RobotError> {
        let bad = |name, value: usize, reason| RobotError::InvalidParameter {
            name,
            value: value.to_string(),
            reason,
        };
        if !(1..=self.horizon).contains(&self.execute) {
            return Err(bad("execute", self.execute, "must be in 1..=T"));
        }
        if self.integration_steps == 0 || self.integration_steps > 100_000 {
            return Err(bad(
                "integration_steps",
                self.integration_steps,
                "must be in 1..=100000",
            ));
        }
        Ok(ChunkedParams {
            horizon: self.horizon,
            execute: self.execute,
            integration_steps: self.integration_steps,
        })
    }
}

/// Checked settings of the chunked policy ([`ChunkedConfig::check`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedParams {
    horizon: usize,
    execute: usize,
    integration_steps: usize,
}

impl ChunkedParams {
    /// T: actions per chunk.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Actions executed before re-planning.
    pub fn execute(&self) -> usize {
        self.execute
    }

    /// K: integration steps from noise to a chunk.
    pub fn integration_steps(&self) -> usize {
        self.integration_steps
    }
}

/// A [`Policy`] that samples a whole chunk from noise with K steps of `stepper` and returns its first n
/// actions (generic over the conditioned field of the 2T-dimensional chunk).
#[derive(Debug)]
pub struct ChunkedPolicy<F, S> {
    field: F,
    stepper: S,
    params: ChunkedParams,
    grid: TimeGrid,
    rng: ChaCha8Rng,
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> ChunkedPolicy<F, S> {
    /// The policy; the field must have dimension 2T and the observation context.
    pub fn new(field: F, stepper: S, params: ChunkedParams) -> Result<Self, RobotError> {
        if field.dim() != 2 * params.horizon || field.context_dim() != CONTEXT_DIM {
            return Err(RobotError::InvalidParameter {
                name: "field",
                value: format!(
                    "dimension {}, context {} (wanted {}, {CONTEXT_DIM})",
                    field.dim(),
                    field.context_dim(),
                    2 * params.horizon
                ),
                reason: "a chunk field has dimension 2 T and the observation context (CONTEXT_DIM)",
            });
        }
        Ok(Self {
            field,
            stepper,
            params,
            grid: TimeGrid::uniform(0.0, 1.0, params.integration_steps)?,
            rng: ChaCha8Rng::seed_from_u64(0),
        })
    }
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> Policy for ChunkedPolicy<F, S> {
    fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
    }

    /// Samples a chunk from N(0, I) with K steps and returns its first `execute` actions.
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        self.plan_chunk(history).map_err(PushTError::from)
    }
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> ChunkedPolicy<F, S> {
    fn plan_chunk(&mut self, history: &[Obs]) -> Result<Vec<Action>, RobotError> {
        let field = self.field.given(&context_point(history)?)?;
        let x0 = Points::standard_normal(1, 2 * self.params.horizon, &mut self.rng);
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
        Ok((0..self.params.execute)
            .map(|j| decode_action([u[2 * j], u[2 * j + 1]]))
            .collect())
    }
}
