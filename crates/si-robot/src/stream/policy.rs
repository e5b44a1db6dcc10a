//! The streaming policy: the flow's integration path is the robot's motion (docs/math.md §7).
//!
//! Every T_chunk actions the policy re-anchors: the state becomes the measured pusher position (plus
//! N(0, σ0² I) when `noisy_start`), flow time restarts at 0, and the context becomes the last two
//! observations, kept until the next re-anchor (training pairs a context with t measured from that
//! observation). Each call to [`Policy::act`] then takes exactly one integration step, from t = j/T to
//! (j + 1)/T, and returns the new state as the next commanded target: nothing is integrated ahead of what is
//! sent, and the first action costs one step (one or two field evaluations), not a whole denoising run.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, ConditionalField, Points};
use si_integrate::Stepper;

use crate::env::{Action, Obs};
use crate::error::RobotError;
use crate::policy::Policy;
use crate::stream::tube::Tube;
use crate::stream::windows::{context_point, decode_action, encode_action, CONTEXT_DIM};

/// Settings of the streaming policy before they are checked against the tube.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamingConfig {
    /// T_chunk: actions sent between re-anchors, 1 ≤ T_chunk ≤ T_pred.
    pub chunk: usize,
    /// Start each anchor at the measured position plus N(0, σ0² I) (the law the flow was trained from)
    /// rather than exactly at it.
    pub noisy_start: bool,
}

impl Default for StreamingConfig {
    /// T_chunk = 8, exact start.
    fn default() -> Self {
        Self {
            chunk: 8,
            noisy_start: false,
        }
    }
}

/// The integration state between calls.
#[derive(Clone, Debug)]
struct Anchor {
    /// The state (normalised action units, one point).
    x: Points,
    /// Steps taken since the anchor.
    j: usize,
    /// The anchor's context.
    context: Points,
}

/// A [`Policy`] that streams one integration step per action (module documentation), generic over a
/// conditioned field (exact oracle or learned model) and a stepper.
#[derive(Debug)]
pub struct StreamingPolicy<F, S> {
    field: F,
    stepper: S,
    tube: Tube,
    config: StreamingConfig,
    rng: ChaCha8Rng,
    anchor: Option<Anchor>,
    sent: Vec<[f64; 2]>,
    anchors: Vec<usize>,
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> StreamingPolicy<F, S> {
    /// The policy of `field` (2-D actions, [`CONTEXT_DIM`] context) stepped by `stepper` on `tube`'s time
    /// grid.
    pub fn new(
        field: F,
        stepper: S,
        tube: Tube,
        config: StreamingConfig,
    ) -> Result<Self, RobotError> {
        if field.dim() != 2 || field.context_dim() != CONTEXT_DIM {
            return Err(RobotError::InvalidParameter {
                name: "field",
                value: format!("dimension {}, context {}", field.dim(), field.context_dim()),
                reason: "a Push-T streaming field has dimension 2 and a context of 12",
            });
        }
        if !(1..=tube.horizon()).contains(&config.chunk) {
            return Err(RobotError::InvalidParameter {
                name: "chunk",
                value: config.chunk.to_string(),
                reason: "re-anchor after 1 to T_pred actions",
            });
        }
        Ok(Self {
            field,
            stepper,
            tube,
            config,
            rng: ChaCha8Rng::seed_from_u64(0),
            anchor: None,
            sent: Vec::new(),
            anchors: Vec::new(),
        })
    }

    /// The integrator states sent since the last reset, in normalised units, in order.
    pub fn sent(&self) -> &[[f64; 2]] {
        &self.sent
    }

    /// The indices into [`sent`](Self::sent) at which the policy re-anchored.
    pub fn anchors(&self) -> &[usize] {
        &self.anchors
    }

    /// The field.
    pub fn field(&self) -> &F {
        &self.field
    }

    fn reanchor(&mut self, history: &[Obs]) -> Result<Anchor, RobotError> {
        let context = context_point(history)?;
        let cur = history[history.len() - 1];
        let mut x = Points::from_row_major(1, 2, &encode_action([cur[0], cur[1]]))?;
        if self.config.noisy_start {
            x.add_noise(self.tube.sigma0(), &mut self.rng)?;
        }
        self.anchors.push(self.sent.len());
        Ok(Anchor { x, j: 0, context })
    }
}

impl<F: ConditionalField<Points>, S: Stepper<Points>> Policy for StreamingPolicy<F, S> {
    /// Forgets the integration state and the record of sent actions; seeds the SDE's noise (and the noisy
    /// start) with `seed`.
    fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.anchor = None;
        self.sent.clear();
        self.anchors.clear();
    }

    /// One integration step; its result is the action.
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, RobotError> {
        let mut a = match self.anchor.take() {
            Some(a) if a.j < self.config.chunk => a,
            _ => self.reanchor(history)?,
        };
        let dt = self.tube.dt();
        let given = self.field.given(&a.context)?;
        self.stepper
            .step(&given, a.j as f64 * dt, dt, &mut a.x, &mut self.rng)?;
        a.j += 1;
        let u = [a.x.as_slice()[0], a.x.as_slice()[1]];
        if u.iter().any(|v| !v.is_finite()) {
            return Err(RobotError::Policy(format!(
                "the flow produced a non-finite action {u:?}"
            )));
        }
        self.sent.push(u);
        self.anchor = Some(a);
        Ok(vec![decode_action(u)])
    }
}
