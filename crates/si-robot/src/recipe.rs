//! The recipe of a trained policy: its kind, the settings written beside its checkpoint (the sidecar),
//! loading it for evaluation on the host, and building the evaluated policy from checked settings.
//!
//! A checkpoint `CKPT` of a trained policy is an ordinary model checkpoint; the tube it was trained on and
//! its kind are written beside it, in `CKPT.policy.json` ([`meta_path`], [`PolicyMeta`]). [`TrainedPolicy`]
//! reads both (the model into the host evaluator: one small forward per action, no framework call) and
//! [`TrainedPolicy::policy`] builds the [`Policy`] that runs it: the streaming policy with the exponential
//! or Euler–Maruyama step ([`StepperChoice`]), or the chunked baseline.

use crate::choices::named_choices;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use si_core::{Interpolant, InterpolantSource, Points, TargetSource, TimeRange};
use si_integrate::Euler;
use si_model::{Activation, Head, HostNet, ModelConfig};
use si_pusht::Policy;

use crate::chunked::{ChunkPairs, ChunkedConfig, ChunkedPolicy};
use crate::encode::CONTEXT_DIM;
use crate::error::RobotError;
use crate::source::{LiveLinks, TubeSource};
use crate::step::{TubeEulerMaruyama, TubeExponential};
use crate::streaming::{ContextMode, Readout, StreamingConfig, StreamingPolicy};
use crate::tube::{Tube, TubeConfig};
use crate::tuning::Tuning;
use crate::windows::Window;

/// The policy family: what the model transports and how it is evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PolicyKind {
    /// One integration step per action, ODE (λ = 0 at evaluation unless asked otherwise).
    Streaming,
    /// One integration step per action, SDE (λ = 1 at evaluation unless asked otherwise).
    StreamingSde,
    /// Diffusion Policy's recipe: a whole chunk of T actions from noise with K Euler steps (one network pass
    /// each), execute the first n, re-plan.
    Chunked,
}

named_choices!(PolicyKind, "kind", "must be streaming, streaming-sde or chunked", {
    Streaming => "streaming",
    StreamingSde => "streaming-sde",
    Chunked => "chunked",
});

impl PolicyKind {
    /// The dimension of the model's state for a tube of `horizon` actions: 2 (one action) for the
    /// streaming kinds, 2T (a whole chunk) for the chunked one.
    pub fn state_dim(self, horizon: usize) -> usize {
        match self {
            Self::Chunked => 2 * horizon,
            Self::Streaming | Self::StreamingSde => 2,
        }
    }

    /// λ at evaluation when none is asked for: 1 for `streaming-sde`, 0 otherwise.
    pub fn default_lambda(self) -> f64 {
        match self {
            Self::StreamingSde => 1.0,
            Self::Streaming | Self::Chunked => 0.0,
        }
    }

    /// The tube to train this kind on: the streaming kinds regress η, which needs a tube of positive width
    /// (σ0 > 0); the chunked kind only uses the tube's horizon.
    pub fn training_tube(self, config: TubeConfig) -> Result<Tube, RobotError> {
        let tube = config.check()?;
        if tube.sigma0() <= 0.0 && self != Self::Chunked {
            return Err(RobotError::InvalidParameter {
                name: "sigma0",
                value: tube.sigma0().to_string(),
                reason: "must be > 0: the regression of eta needs a tube of positive width",
            });
        }
        Ok(tube)
    }
}

/// The streaming policy's model: b and η of the tube on one SiLU trunk, with 4 time frequencies, the
/// segment phase of a T-action horizon (T = `horizon`) and the observation context ([`CONTEXT_DIM`]).
pub fn tube_model(horizon: usize, width: usize, depth: usize) -> ModelConfig {
    let mut m = ModelConfig::new(2);
    m.width = width;
    m.depth = depth;
    m.activation = Activation::Silu;
    m.time_features = 4;
    m.time_segments = horizon;
    m.context_dim = CONTEXT_DIM;
    m.heads = vec![Head::B, Head::Eta];
    m.shared_trunk = true;
    m
}

impl PolicyKind {
    /// The model this kind trains for a tube of `horizon` actions: [`tube_model`] for the streaming kinds;
    /// for the chunked kind the same trunk on the whole chunk (dimension 2T), the velocity b alone and no
    /// segment phase (b of the one-sided linear interpolant from N(0, I) to the chunk).
    pub fn model(self, horizon: usize, width: usize, depth: usize) -> ModelConfig {
        let mut m = tube_model(horizon, width, depth);
        if self == Self::Chunked {
            m.dim = self.state_dim(horizon);
            m.heads = vec![Head::B];
            m.time_segments = 0;
        }
        m
    }

    /// The regression targets this kind trains on, drawn from `windows` (cut with `tube`'s horizon): b and
    /// η of the tube ([`TubeSource`]) for the streaming kinds; for the chunked kind b of the one-sided
    /// linear interpolant from N(0, I) to the whole chunk ([`ChunkPairs`]), t drawn from [10⁻³, 1 − 10⁻³].
    /// `live` (the windows' links along their episodes, [`LiveLinks`]) gives a streaming kind a live
    /// context ([`ContextMode::Live`], [`ContextMode::LiveBlock`]; [`TubeSource::with_successors`],
    /// [`TubeSource::with_live_block`]); the chunked kind has none (an error).
    pub fn training_source(
        self,
        windows: Vec<Window>,
        tube: Tube,
        live: Option<LiveLinks>,
    ) -> Result<Box<dyn TargetSource<Points>>, RobotError> {
        Ok(match self {
            Self::Chunked if live.is_some() => {
                return Err(RobotError::InvalidParameter {
                    name: "context",
                    value: "live".into(),
                    reason: "the chunked baseline plans whole chunks: only the streaming kinds read a live context",
                })
            }
            Self::Chunked => {
                let pairs = ChunkPairs::new(windows, tube.horizon())?;
                let it = Interpolant::one_sided_linear();
                Box::new(InterpolantSource::new(it, pairs, TimeRange::new(1e-3)?))
            }
            Self::Streaming | Self::StreamingSde => {
                let source = TubeSource::new(windows, tube)?;
                Box::new(match live {
                    Some(LiveLinks::Whole(next)) => source.with_successors(next)?,
                    Some(LiveLinks::Block(next, h)) => source.with_live_block(next, h)?,
                    None => source,
                })
            }
        })
    }
}

/// The integration step of the streaming policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepperChoice {
    /// The linear pull onto the path integrated exactly (needs b and η): [`TubeExponential`].
    Exponential,
    /// Euler–Maruyama (Euler on b alone for λ = 0): [`TubeEulerMaruyama`].
    Euler,
}

named_choices!(StepperChoice, "stepper", "must be exponential or euler", {
    Exponential => "exponential",
    Euler => "euler",
});

/// What is written beside a checkpoint of a trained policy ([`meta_path`]): its kind, its tube, the
/// demonstrations it was trained on and, once tuned, the λ chosen on the validation seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PolicyMeta {
    /// The policy family.
    pub kind: PolicyKind,
    /// σ0 of the tube.
    pub sigma0: f64,
    /// k of the tube (its rate).
    pub k: f64,
    /// T_pred of the tube.
    pub horizon: usize,
    /// The (first) training file, as given.
    pub demos: String,
    /// The further training files (expert-labelled states, more demonstrations), as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more_data: Vec<String>,
    /// The checkpoint whose weights the training started from, if not fresh ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<String>,
    /// Which observations condition the field between re-anchors, as trained (absent: the anchor's, as in
    /// every sidecar written before the live context existed).
    #[serde(default, skip_serializing_if = "is_anchor")]
    pub context: ContextMode,
    /// λ chosen by `si policy tune` on the validation seeds, the set and the sweep; absent until tuned (and
    /// in sidecars written before tuning existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<Tuning>,
    /// For an ensemble (`si policy ensemble`): its members' checkpoints, relative to this sidecar's folder
    /// unless absolute; the ensemble's fields are the means of theirs ([`si_core::Averaged`]) and it has no
    /// weights of its own. Empty for a trained checkpoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ensemble: Vec<String>,
}

fn is_anchor(c: &ContextMode) -> bool {
    *c == ContextMode::Anchor
}

/// The settings file beside the checkpoint `ckpt`: `CKPT.policy.json`.
pub fn meta_path(ckpt: &Path) -> PathBuf {
    let mut s = ckpt.as_os_str().to_owned();
    s.push(".policy.json");
    PathBuf::from(s)
}

impl PolicyMeta {
    /// The sidecar of a policy of `kind` trained on `tube` from the training files `data` (fresh weights).
    pub fn new(kind: PolicyKind, tube: Tube, data: &[PathBuf]) -> Self {
        let mut names = data.iter().map(|p| p.display().to_string());
        Self {
            kind,
            sigma0: tube.sigma0(),
            k: tube.k(),
            horizon: tube.horizon(),
            demos: names.next().unwrap_or_default(),
            more_data: names.collect(),
            warm_start: None,
            context: ContextMode::Anchor,
            tuning: None,
            ensemble: Vec::new(),
        }
    }

    /// The sidecar of an ensemble of the trained checkpoints `members` (at least two, all of one kind and
    /// tube, read from their sidecars), to be written at `out`: its members' paths relative to `out`'s folder
    /// when they lie under it, and no tuning (tune the ensemble itself). Members that differ are
    /// [`RobotError::InvalidParameter`].
    pub fn ensemble_of(members: &[PathBuf], out: &Path) -> Result<Self, RobotError> {
        if members.len() < 2 {
            return Err(RobotError::InvalidParameter {
                name: "members",
                value: members.len().to_string(),
                reason: "an ensemble needs at least two trained checkpoints",
            });
        }
        let metas = members
            .iter()
            .map(|m| Self::read(m))
            .collect::<Result<Vec<_>, _>>()?;
        let first = &metas[0];
        for (m, meta) in members.iter().zip(&metas) {
            let same = meta.kind == first.kind
                && meta.sigma0.to_bits() == first.sigma0.to_bits()
                && meta.k.to_bits() == first.k.to_bits()
                && meta.horizon == first.horizon
                && meta.context == first.context;
            if !same || !meta.ensemble.is_empty() {
                return Err(RobotError::InvalidParameter {
                    name: "members",
                    value: m.display().to_string(),
                    reason: "every member must be a trained checkpoint of the same kind and tube, read with the same context",
                });
            }
        }
        let base = out.parent().unwrap_or(Path::new(""));
        let ensemble = members
            .iter()
            .map(|m| m.strip_prefix(base).unwrap_or(m).display().to_string())
            .collect();
        Ok(Self {
            tuning: None,
            warm_start: None,
            ensemble,
            ..first.clone()
        })
    }

    /// The member checkpoints of an ensemble's sidecar at `ckpt`, resolved against its folder.
    pub fn members(&self, ckpt: &Path) -> Vec<PathBuf> {
        let base = ckpt.parent().unwrap_or(Path::new(""));
        self.ensemble
            .iter()
            .map(|m| {
                let p = Path::new(m);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base.join(p)
                }
            })
            .collect()
    }

    /// Writes the sidecar beside `ckpt` (atomically: a reader sees the old file or the whole new one).
    pub fn write(&self, ckpt: &Path) -> Result<(), RobotError> {
        let path = meta_path(ckpt);
        let text = serde_json::to_string_pretty(self).map_err(|e| RobotError::Sidecar {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        si_data::write_atomic(&path, text.as_bytes())?;
        Ok(())
    }

    /// Reads the sidecar beside `ckpt`.
    pub fn read(ckpt: &Path) -> Result<Self, RobotError> {
        let path = meta_path(ckpt);
        let bytes = std::fs::read(&path).map_err(|source| RobotError::Io {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| RobotError::Sidecar {
            path,
            reason: e.to_string(),
        })
    }

    /// The tube, checked.
    pub fn tube(&self) -> Result<Tube, RobotError> {
        TubeConfig {
            sigma0: self.sigma0,
            k: self.k,
            horizon: self.horizon,
        }
        .check()
    }
}

/// A trained policy read for evaluation: the host model (or an ensemble's members), the tube it was trained
/// on and its kind.
#[derive(Debug)]
pub struct TrainedPolicy {
    /// The model, on the host; an ensemble's members, whose fields the policy averages.
    pub nets: Vec<HostNet>,
    /// The tube it was trained on.
    pub tube: Tube,
    /// Its kind.
    pub kind: PolicyKind,
    /// λ chosen on the validation seeds ([`PolicyMeta::tuning`]), if it was tuned.
    pub tuning: Option<Tuning>,
    /// Which observations condition the field between re-anchors, as trained ([`PolicyMeta::context`]).
    pub context: ContextMode,
}

/// How to evaluate a trained policy ([`TrainedPolicy::policy`]); checked when the policy is built.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PolicySettings {
    /// λ ≥ 0 of the streaming policy's SDE (0: the ODE); `None` for the λ tuned on the validation seeds
    /// ([`TrainedPolicy::tuning`]), or the kind's default ([`PolicyKind::default_lambda`]) if untuned.
    pub lambda: Option<f64>,
    /// What the streaming policy sends; `None` for the readout tuned with λ ([`Tuning::readout`]), or
    /// `streaming.readout` if untuned.
    pub readout: Option<Readout>,
    /// The streaming policy's integration step.
    pub stepper: StepperChoice,
    /// T_chunk and the start of each anchor (streaming kinds).
    pub streaming: StreamingConfig,
    /// Chunked kind: actions executed before re-planning.
    pub execute: usize,
    /// Chunked kind: K, the Euler steps (network passes) from noise to a chunk.
    pub euler_steps: usize,
}

impl Default for PolicySettings {
    /// The kind's λ, the exponential step, T_chunk = 8 from the exact position; chunked: execute 8, K = 10.
    fn default() -> Self {
        Self {
            lambda: None,
            readout: None,
            stepper: StepperChoice::Exponential,
            streaming: StreamingConfig::default(),
            execute: 8,
            euler_steps: 10,
        }
    }
}

/// A policy built for evaluation and a label that says what it is.
pub struct LabelledPolicy<'a> {
    /// The policy.
    pub policy: Box<dyn Policy + 'a>,
    /// What it is (kind, step, λ, T_chunk or K), for reports.
    pub label: String,
}

impl TrainedPolicy {
    /// Reads the checkpoint `ckpt` and its sidecar ([`meta_path`]); a model whose dimension or context does
    /// not fit the sidecar's kind is [`RobotError::NotAPolicy`].
    /// An ensemble's sidecar (`PolicyMeta::ensemble`) loads its members instead, each checked the same way.
    pub fn load(ckpt: &Path) -> Result<Self, RobotError> {
        let meta = PolicyMeta::read(ckpt)?;
        let files = if meta.ensemble.is_empty() {
            vec![ckpt.to_path_buf()]
        } else {
            let members = meta.members(ckpt);
            // the members' own sidecars must still describe the ensemble's kind and tube
            PolicyMeta::ensemble_of(&members, ckpt)?;
            members
        };
        let mut nets = Vec::with_capacity(files.len());
        for f in &files {
            let net = HostNet::read(f)?;
            if net.dim() != meta.kind.state_dim(meta.horizon) || net.context_dim() != CONTEXT_DIM {
                return Err(RobotError::NotAPolicy {
                    path: f.clone(),
                    kind: meta.kind.to_string(),
                    dim: net.dim(),
                    context_dim: net.context_dim(),
                });
            }
            nets.push(net);
        }
        let tube = meta.tube()?;
        Ok(Self {
            nets,
            tube,
            kind: meta.kind,
            tuning: meta.tuning,
            context: meta.context,
        })
    }

    /// The λ `settings` give, else the one tuned on the validation seeds, else the kind's default.
    pub fn lambda(&self, settings: &PolicySettings) -> f64 {
        settings
            .lambda
            .or(self.tuning.as_ref().map(|t| t.lambda))
            .unwrap_or_else(|| self.kind.default_lambda())
    }

    /// The readout `settings` give, else the one tuned with λ, else `settings.streaming.readout`.
    pub fn readout(&self, settings: &PolicySettings) -> Readout {
        settings
            .readout
            .or(self.tuning.as_ref().map(|t| t.readout))
            .unwrap_or(settings.streaming.readout)
    }

    /// The policy `settings` describe on this model, and its label. Bad settings (λ, T_chunk, execute, K)
    /// are [`RobotError::InvalidParameter`].
    pub fn policy(&self, settings: &PolicySettings) -> Result<LabelledPolicy<'_>, RobotError> {
        let lambda = self.lambda(settings);
        let s = StreamingConfig {
            readout: self.readout(settings),
            context: self.context,
            ..settings.streaming
        };
        let label = match self.kind {
            PolicyKind::Chunked => format!(
                "chunked (DP horizons, MLP flow-matching sampler), K = {} Euler steps, execute {}",
                settings.euler_steps, settings.execute
            ),
            _ => format!(
                "streaming, {:?} step, lambda = {lambda}, T_chunk = {}, {} start, sends the {}{}",
                settings.stepper,
                s.reanchor_every,
                if s.noisy_start { "noisy" } else { "exact" },
                s.readout,
                match s.context {
                    ContextMode::Anchor => "",
                    ContextMode::Live => ", live context",
                    ContextMode::LiveBlock => ", live block",
                }
            ),
        };
        let label = if self.nets.len() > 1 {
            format!("{label}, ensemble of {}", self.nets.len())
        } else {
            label
        };
        let policy = if let [net] = &self.nets[..] {
            self.build(net, lambda, s, settings)?
        } else {
            let avg = si_core::Averaged::new(self.nets.iter().collect::<Vec<&HostNet>>())?;
            self.build(avg, lambda, s, settings)?
        };
        Ok(LabelledPolicy { policy, label })
    }

    /// The policy of `settings` on the conditional field `field` (one model, or an ensemble's average).
    fn build<'a, F: si_core::ConditionalField<si_core::Points> + 'a>(
        &self,
        field: F,
        lambda: f64,
        s: StreamingConfig,
        settings: &PolicySettings,
    ) -> Result<Box<dyn Policy + 'a>, RobotError> {
        Ok(match (self.kind, settings.stepper) {
            (PolicyKind::Chunked, _) => {
                let params = ChunkedConfig {
                    horizon: self.tube.horizon(),
                    execute: settings.execute,
                    integration_steps: settings.euler_steps,
                }
                .check()?;
                Box::new(ChunkedPolicy::new(field, Euler, params)?)
            }
            (_, StepperChoice::Exponential) => Box::new(StreamingPolicy::new(
                field,
                TubeExponential::new(self.tube, lambda)?,
                s.check(self.tube)?,
            )?),
            (_, StepperChoice::Euler) => Box::new(StreamingPolicy::new(
                field,
                TubeEulerMaruyama::new(self.tube, lambda)?,
                s.check(self.tube)?,
            )?),
        })
    }
}
