//! The streaming policy: the flow's integration path is the robot's motion (docs/math.md §7).
//!
//! Every T_chunk actions the policy re-anchors: the state becomes the measured pusher position (plus
//! N(0, σ0² I) when `noisy_start`), flow time restarts at 0, and the context becomes the last two
//! observations, kept until the next re-anchor (training pairs a context with t measured from that
//! observation). A model trained with [`ContextMode::Live`] instead reads the last two observations at
//! every step while flow time still counts from the anchor (training pairs the context of the state
//! ⌊tT⌋ steps after the window's with the window's path at t: docs/math.md §7, "A live context"), and one
//! trained with [`ContextMode::LiveBlock`] the anchor's pusher with the latest block. Each call to [`Policy::act`] then takes exactly one integration step, from t = j/T to
//! (j + 1)/T, and returns the new state as the next commanded target: nothing is integrated ahead of what is
//! sent, and the first action costs one step (one or two field evaluations), not a whole denoising run.
//!
//! What is sent ([`Readout`], docs/math.md §7): the new state itself (the integration path is the motion), or
//! the step's conditional mean E[X_{t+h} | X_t], the step without its Gaussian increment. The flow goes on
//! from the state either way, so the two readouts integrate the same path with the same random numbers; for
//! the ODE they send the same actions.
//!
//! The state is kept in the box |u_i| ≤ [`STATE_BOUND`] (normalised units: one arena width around the arena):
//! a step that leaves it is projected back onto it. Inside the box the policy is unchanged; outside, a field
//! evaluated where it never saw data could otherwise send the pusher ever farther, the next anchor with it,
//! until the model's output overflows.

use crate::choices::named_choices;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use si_core::{Batch, ConditionalField, Points};

use si_pusht::{Action, Obs, Policy, PushTError};

use crate::encode::{context_point, decode_action, encode_action, mixed_context, CONTEXT_DIM};
use crate::error::RobotError;
use crate::step::TubeStep;
use crate::tube::Tube;

/// What the streaming policy sends after each step (module documentation).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// The integration state X_{t+h}: the flow's path is the robot's motion.
    #[default]
    State,
    /// The step's conditional mean E[X_{t+h} | X_t] ([`TubeStep::step_mean`]): the state before the SDE's
    /// increment is added; the same as `State` for the ODE.
    Mean,
}

named_choices!(Readout, "readout", "must be state or mean", {
    State => "state",
    Mean => "mean",
});

/// Which observations condition the field between re-anchors (module documentation). A property of the
/// trained model: the training source pairs contexts with flow times the same way
/// ([`crate::TubeSource::with_successors`]), and the sidecar keeps it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ContextMode {
    /// The anchor's last two observations, kept until the next re-anchor: open-loop within a chunk.
    #[default]
    Anchor,
    /// The last two observations at every step, flow time still counted from the anchor.
    Live,
    /// The anchor's pusher with the latest block at every step: feedback on the block without the
    /// policy's own motion in its input.
    #[serde(rename = "live-block")]
    LiveBlock,
}

named_choices!(ContextMode, "context", "must be anchor, live or live-block", {
    Anchor => "anchor",
    Live => "live",
    LiveBlock => "live-block",
});

/// Settings of the streaming policy before they are checked against the tube ([`StreamingConfig::check`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamingConfig {
    /// T_chunk: actions sent between re-anchors, 1 ≤ T_chunk ≤ T_pred.
    pub reanchor_every: usize,
    /// Start each anchor at the measured position plus N(0, σ0² I) (the law the flow was trained from)
    /// rather than exactly at it.
    pub noisy_start: bool,
    /// What is sent after each step.
    pub readout: Readout,
    /// Which observations condition the field between re-anchors.
    pub context: ContextMode,
}

impl Default for StreamingConfig {
    /// T_chunk = 8, exact start, the state sent, the anchor's context.
    fn default() -> Self {
        Self {
            reanchor_every: 8,
            noisy_start: false,
            readout: Readout::State,
            context: ContextMode::Anchor,
        }
    }
}

impl StreamingConfig {
    /// Checks the settings against `tube`: 1 ≤ T_chunk ≤ T_pred (the tube's horizon).
    pub fn check(self, tube: Tube) -> Result<StreamingParams, RobotError> {
        if !(1..=tube.horizon()).contains(&self.reanchor_every) {
            return Err(RobotError::InvalidParameter {
                name: "reanchor_every",
                value: self.reanchor_every.to_string(),
                reason: "re-anchor after 1 to T_pred actions",
            });
        }
        Ok(StreamingParams {
            tube,
            reanchor_every: self.reanchor_every,
            noisy_start: self.noisy_start,
            readout: self.readout,
            context: self.context,
        })
    }
}

/// Checked settings of the streaming policy ([`StreamingConfig::check`]): the tube and how it is followed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StreamingParams {
    tube: Tube,
    reanchor_every: usize,
    noisy_start: bool,
    readout: Readout,
    context: ContextMode,
}

impl StreamingParams {
    /// The tube whose time grid the policy steps on.
    pub fn tube(&self) -> Tube {
        self.tube
    }

    /// T_chunk: actions sent between re-anchors.
    pub fn reanchor_every(&self) -> usize {
        self.reanchor_every
    }

    /// Whether each anchor starts at the measured position plus N(0, σ0² I).
    pub fn noisy_start(&self) -> bool {
        self.noisy_start
    }

    /// What is sent after each step.
    pub fn readout(&self) -> Readout {
        self.readout
    }

    /// Which observations condition the field between re-anchors.
    pub fn context(&self) -> ContextMode {
        self.context
    }
}

/// The integration state between calls.
#[derive(Clone, Debug)]
struct Anchor {
    /// The state (normalised action units, one point).
    x: Points,
    /// Steps taken since the anchor.
    j: usize,
    /// The anchor's context (what conditions every step of the chunk under [`ContextMode::Anchor`]).
    context: Points,
    /// The anchor's last two observations (whose pusher [`ContextMode::LiveBlock`] keeps).
    history: Vec<Obs>,
}

/// A [`Policy`] that streams one integration step per action (module documentation), generic over a
/// conditioned field (exact oracle or learned model) and a stepper.
#[derive(Debug)]
pub struct StreamingPolicy<F, S> {
    field: F,
    stepper: S,
    params: StreamingParams,
    rng: ChaCha8Rng,
    anchor: Option<Anchor>,
    sent: Vec<[f64; 2]>,
    anchors: Vec<usize>,
}

/// The bound of the streaming state in normalised units: |u_i| ≤ 2 is the arena (|u_i| ≤ 1) and one arena
/// width around it ([−256, 768] px).
pub const STATE_BOUND: f64 = 2.0;

impl<F: ConditionalField<Points>, S: TubeStep> StreamingPolicy<F, S> {
    /// The policy of `field` (2-D actions, [`CONTEXT_DIM`] context) stepped by `stepper` on the time grid of
    /// the tube of `params`.
    pub fn new(field: F, stepper: S, params: StreamingParams) -> Result<Self, RobotError> {
        if field.dim() != 2 || field.context_dim() != CONTEXT_DIM {
            return Err(RobotError::InvalidParameter {
                name: "field",
                value: format!(
                    "dimension {}, context {} (wanted 2, {CONTEXT_DIM})",
                    field.dim(),
                    field.context_dim()
                ),
                reason: "a Push-T streaming field has dimension 2 and the observation context (CONTEXT_DIM)",
            });
        }
        Ok(Self {
            field,
            stepper,
            params,
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
        if self.params.noisy_start {
            x.add_noise(self.params.tube.sigma0(), &mut self.rng)?;
        }
        self.anchors.push(self.sent.len());
        Ok(Anchor {
            x,
            j: 0,
            context,
            history: history[history.len().saturating_sub(2)..].to_vec(),
        })
    }
}

impl<F: ConditionalField<Points>, S: TubeStep> Policy for StreamingPolicy<F, S> {
    /// Forgets the integration state and the record of sent actions; seeds the SDE's noise (and the noisy
    /// start) with `seed`.
    fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed);
        self.anchor = None;
        self.sent.clear();
        self.anchors.clear();
    }

    /// One integration step; its result is the action.
    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        self.step_once(history).map_err(PushTError::from)
    }
}

impl<F: ConditionalField<Points>, S: TubeStep> StreamingPolicy<F, S> {
    fn step_once(&mut self, history: &[Obs]) -> Result<Vec<Action>, RobotError> {
        let mut a = match self.anchor.take() {
            Some(a) if a.j < self.params.reanchor_every => a,
            _ => self.reanchor(history)?,
        };
        let dt = self.params.tube.dt();
        let live;
        let context = match self.params.context {
            ContextMode::Anchor => &a.context,
            ContextMode::Live => {
                live = context_point(history)?;
                &live
            }
            ContextMode::LiveBlock => {
                live =
                    Points::from_row_major(1, CONTEXT_DIM, &mixed_context(&a.history, history)?)?;
                &live
            }
        };
        let given = self.field.given(context)?;
        let t = a.j as f64 * dt;
        self.stepper.step_mean(&given, t, dt, &mut a.x)?;
        let mut mean = match self.params.readout {
            Readout::Mean => Some(a.x.clone()),
            Readout::State => None,
        };
        if let Some(sd) = self.stepper.noise_sd(t, dt) {
            a.x.add_noise(sd, &mut self.rng)?;
        }
        a.j += 1;
        // the state (and the mean, when sent) projected onto the box; NaN stays NaN (clamp keeps it) and is
        // refused below
        for p in std::iter::once(&mut a.x).chain(mean.as_mut()) {
            for v in p.as_mut_slice() {
                *v = v.clamp(-STATE_BOUND, STATE_BOUND);
            }
        }
        let sent = mean.as_ref().unwrap_or(&a.x).as_slice();
        let u = [sent[0], sent[1]];
        // a non-finite state is refused even when the mean is sent (the next step would carry it)
        if u.iter().chain(a.x.as_slice()).any(|v| !v.is_finite()) {
            return Err(RobotError::Policy(format!(
                "the flow produced a non-finite action {u:?} (state {:?})",
                a.x.as_slice()
            )));
        }
        self.sent.push(u);
        self.anchor = Some(a);
        Ok(vec![decode_action(u)])
    }
}
