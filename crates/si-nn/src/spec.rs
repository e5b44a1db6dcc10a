//! [`InterpolantSpec`]: a serialisable name of a built-in interpolant, stored in checkpoints so that a
//! sampler can rebuild the interpolant the model was trained with.

use serde::{Deserialize, Serialize};
use si_core::{Gamma, Interpolant};

use crate::error::{NnError, Result};

/// A built-in γ(t).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GammaSpec {
    /// γ = 0.
    Zero,
    /// γ = √(a t(1−t)).
    Sqrt {
        /// The scale a.
        a: f64,
    },
    /// γ = t(1−t).
    Quadratic,
    /// γ = sin²(πt).
    SinSquared,
}

impl GammaSpec {
    fn build(self) -> Result<Gamma> {
        Ok(match self {
            GammaSpec::Zero => Gamma::Zero,
            GammaSpec::Sqrt { a } => Gamma::sqrt(a)?,
            GammaSpec::Quadratic => Gamma::Quadratic,
            GammaSpec::SinSquared => Gamma::SinSquared,
        })
    }
}

/// A built-in interpolant.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum InterpolantSpec {
    /// One-sided linear (flow matching from N(0, I)).
    OneSidedLinear,
    /// One-sided variance preserving.
    OneSidedVp,
    /// Linear two-sided with γ.
    Linear(GammaSpec),
    /// Trigonometric with γ.
    Trigonometric(GammaSpec),
    /// Encoder–decoder with γ = sin²(πt).
    EncoderDecoder,
    /// Mirror with γ.
    Mirror(GammaSpec),
}

impl InterpolantSpec {
    /// The interpolant.
    pub fn build(self) -> Result<Interpolant> {
        Ok(match self {
            InterpolantSpec::OneSidedLinear => Interpolant::one_sided_linear(),
            InterpolantSpec::OneSidedVp => Interpolant::one_sided_vp(),
            InterpolantSpec::Linear(g) => Interpolant::linear(g.build()?)?,
            InterpolantSpec::Trigonometric(g) => Interpolant::trigonometric(g.build()?)?,
            InterpolantSpec::EncoderDecoder => Interpolant::encoder_decoder(),
            InterpolantSpec::Mirror(g) => Interpolant::mirror(g.build()?)?,
        })
    }
}

impl std::str::FromStr for InterpolantSpec {
    type Err = NnError;
    /// `one-sided-linear`, `one-sided-vp`, `linear`, `linear-zero`, `trig`, `encoder-decoder`, `mirror`
    /// (two-sided ones use γ = √(t(1−t)) unless `-zero`).
    fn from_str(s: &str) -> Result<Self> {
        let bb = GammaSpec::Sqrt { a: 1.0 };
        Ok(match s {
            "one-sided-linear" => Self::OneSidedLinear,
            "one-sided-vp" => Self::OneSidedVp,
            "linear" => Self::Linear(bb),
            "linear-zero" => Self::Linear(GammaSpec::Zero),
            "trig" | "trigonometric" => Self::Trigonometric(bb),
            "encoder-decoder" => Self::EncoderDecoder,
            "mirror" => Self::Mirror(bb),
            _ => {
                return Err(NnError::hyper(
                    "interpolant",
                    format!("unknown interpolant `{s}` (one-sided-linear, one-sided-vp, linear, linear-zero, trig, encoder-decoder, mirror)"),
                ))
            }
        })
    }
}
