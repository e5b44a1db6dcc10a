//! Model hyper-parameters ([`ModelConfig`]) and their checked form ([`ModelParams`]).
//!
//! This one serde type is what si-nn writes into a checkpoint's metadata and what every reader (si-nn's
//! loader, [`HostNet`](crate::HostNet)) parses back, so a field added here is read the same on the host and
//! on the device: there is no second description of the model to keep in step.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::unet::UNetConfig;

/// The nonlinearity between layers.
///
/// Exhaustive on purpose: si-nn's forward and the host evaluator match on it, so a new activation does not
/// compile until both evaluate it (or the host reports it as unsupported).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// x·sigmoid(x).
    Silu,
    /// Gaussian error linear unit.
    Gelu,
    /// tanh.
    Tanh,
}

impl std::str::FromStr for Activation {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "relu" => Ok(Self::Relu),
            "silu" | "swish" => Ok(Self::Silu),
            "gelu" => Ok(Self::Gelu),
            "tanh" => Ok(Self::Tanh),
            _ => Err(ModelError::hyper(
                "activation",
                format!("unknown activation `{s}` (relu, silu, gelu, tanh)"),
            )),
        }
    }
}

/// Which field a head of the model estimates (arXiv 2303.08797, §2; docs/math.md §2).
///
/// Exhaustive on purpose, like [`Activation`]: the losses and both evaluators match on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Head {
    /// The velocity b.
    B,
    /// The score s.
    S,
    /// The denoiser η.
    Eta,
    /// v = E[∂tI | x_t].
    V,
}

impl Head {
    /// Short name (used in tensor names, see [`format::mlp_prefix`](crate::format::mlp_prefix), and CSV
    /// columns).
    pub fn name(self) -> &'static str {
        match self {
            Head::B => "b",
            Head::S => "s",
            Head::Eta => "eta",
            Head::V => "v",
        }
    }
}

impl std::str::FromStr for Head {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "b" => Ok(Self::B),
            "s" => Ok(Self::S),
            "eta" | "η" => Ok(Self::Eta),
            "v" => Ok(Self::V),
            _ => Err(ModelError::hyper(
                "heads",
                format!("unknown field `{s}` (b, s, eta, v)"),
            )),
        }
    }
}

/// Architecture of a field model: an MLP on (x, φ(t), c) with one output head of size d per field, or, with
/// [`unet`](ModelConfig::unet) set, a U-Net on x as a C × H × W image with (φ(t), c) as its embedding
/// ([`UNetConfig`]; `width`, `depth` then unused).
///
/// φ(t) = (t, sin(πkt), cos(πkt))_{k=1..K} is the time embedding (K = `time_features`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// Dimension d of the points.
    pub dim: usize,
    /// Hidden width.
    pub width: usize,
    /// Number of hidden layers.
    pub depth: usize,
    /// Nonlinearity.
    pub activation: Activation,
    /// Number K of Fourier frequencies of the time embedding (0: t alone).
    pub time_features: usize,
    /// T > 0 adds the phase frac(T t) to the time embedding: a feature that jumps at t = j/T, so that a
    /// field whose targets jump there (the velocity of a piecewise-linear path with T segments, as in a
    /// streaming policy's tube) can be fitted on each side of the jump; at t = j/T it is 0, the start of
    /// segment j. 0 (the default, and what checkpoints without the field mean): no phase.
    #[serde(default)]
    pub time_segments: usize,
    /// Size of the optional context vector c (0: unconditional).
    pub context_dim: usize,
    /// The fields the model estimates.
    pub heads: Vec<Head>,
    /// One trunk with all heads on its last layer (one forward for every field) instead of one net per head.
    pub shared_trunk: bool,
    /// A convolutional U-Net in place of the MLP, for points that are images (`None`, the default and what
    /// checkpoints without the field mean: the MLP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unet: Option<UNetConfig>,
}

impl ModelConfig {
    /// A d-dimensional model with the reference's sizes (4 hidden layers of 256, ReLU), heads b and s on a
    /// shared trunk, 4 time frequencies, no context.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            width: 256,
            depth: 4,
            activation: Activation::Relu,
            time_features: 4,
            time_segments: 0,
            context_dim: 0,
            heads: vec![Head::B, Head::S],
            shared_trunk: true,
            unet: None,
        }
    }

    /// A model of C × H × W images: [`ModelConfig::new`] with the U-Net of [`UNetConfig::new`] and SiLU.
    pub fn image(channels: usize, height: usize, width: usize) -> Self {
        let mut m = Self::new(channels * height * width);
        m.activation = Activation::Silu;
        m.unet = Some(UNetConfig::new(channels, height, width));
        m
    }

    /// Validates once; the checked value is what models are built from.
    pub fn check(self) -> Result<ModelParams> {
        if self.dim == 0 || self.dim > 1 << 24 {
            return Err(ModelError::hyper(
                "dim",
                format!("{} is not in 1..=16777216", self.dim),
            ));
        }
        if self.context_dim > 1 << 24 {
            return Err(ModelError::hyper(
                "context_dim",
                format!("{} > 16777216", self.context_dim),
            ));
        }
        if self.width == 0 || self.width > 1 << 16 {
            return Err(ModelError::hyper(
                "width",
                format!("{} is not in 1..=65536", self.width),
            ));
        }
        if self.depth == 0 || self.depth > 64 {
            return Err(ModelError::hyper(
                "depth",
                format!("{} is not in 1..=64", self.depth),
            ));
        }
        if self.time_features > 64 {
            return Err(ModelError::hyper(
                "time_features",
                format!("{} > 64", self.time_features),
            ));
        }
        if self.time_segments > 1 << 16 {
            return Err(ModelError::hyper(
                "time_segments",
                format!("{} > 65536", self.time_segments),
            ));
        }
        if self.heads.is_empty() {
            return Err(ModelError::hyper("heads", "at least one field is needed"));
        }
        for (i, h) in self.heads.iter().enumerate() {
            if self.heads[..i].contains(h) {
                return Err(ModelError::hyper(
                    "heads",
                    format!("field {} listed twice", h.name()),
                ));
            }
        }
        if let Some(u) = &self.unet {
            u.check(self.dim)?;
        }
        Ok(ModelParams(self))
    }
}

/// A checked [`ModelConfig`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelParams(ModelConfig);

impl ModelParams {
    /// The configuration.
    pub fn config(&self) -> &ModelConfig {
        &self.0
    }
    /// Input size of the first layer: x, φ(t) (with the phase when `time_segments` > 0), and (c, mask)
    /// when conditional.
    pub fn input_dim(&self) -> usize {
        let c = &self.0;
        c.dim
            + 1
            + 2 * c.time_features
            + usize::from(c.time_segments > 0)
            + if c.context_dim > 0 {
                c.context_dim + 1
            } else {
                0
            }
    }
}

impl ModelParams {
    /// The number of weights (and biases) the model has, computed without building it; `None` if it does
    /// not fit in a `usize`.
    pub fn num_weights(&self) -> Option<usize> {
        let c = &self.0;
        let layer = |i: usize, o: usize| i.checked_mul(o)?.checked_add(o);
        let mlp = |out: usize| -> Option<usize> {
            let mut n = layer(self.input_dim(), c.width)?;
            for _ in 1..c.depth {
                n = n.checked_add(layer(c.width, c.width)?)?;
            }
            n.checked_add(layer(c.width, out)?)
        };
        let h = c.heads.len();
        if let Some(u) = &c.unet {
            let embed_in = self.input_dim() - c.dim;
            return if c.shared_trunk {
                u.num_weights(embed_in, u.channels.checked_mul(h)?)
            } else {
                u.num_weights(embed_in, u.channels)?.checked_mul(h)
            };
        }
        if c.shared_trunk {
            mlp(c.dim.checked_mul(h)?)
        } else {
            mlp(c.dim)?.checked_mul(h)
        }
    }
}

impl std::ops::Deref for ModelParams {
    type Target = ModelConfig;
    fn deref(&self) -> &ModelConfig {
        &self.0
    }
}
