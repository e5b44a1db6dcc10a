//! `Serialize`/`Deserialize` for [`Interpolant`], [`Gamma`] and [`Coefficients`] (feature `serde1`;
//! [`Sidedness`] derives them), through private mirror types of the built-in variants.
//!
//! Shapes are serde's default externally tagged ones:
//! `{"sidedness":"TwoSided","coefficients":"Linear","gamma":{"Sqrt":{"a":1.0}}}`. User-defined
//! variants have no representation: serialising them is an error. Deserialisation validates (a > 0,
//! then [`Interpolant::new`]).
//!
//! `a` is written as the shortest decimal that reads back to it; serde_json reads it back bit for bit
//! only with its `float_roundtrip` feature (without it, up to one ulp off).

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::coefficients::Coefficients;
use crate::gamma::Gamma;
use crate::interpolant::{Interpolant, Sidedness};
use crate::presets::Preset;

#[derive(Serialize, Deserialize)]
#[serde(rename = "Gamma")]
enum GammaRepr {
    Zero,
    Sqrt { a: f64 },
    Quadratic,
    SinSquared,
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "Preset", deny_unknown_fields)]
enum PresetRepr {
    Edm {
        sigma_min: f64,
        sigma_max: f64,
        rho: f64,
    },
    Ve {
        sigma_min: f64,
        sigma_max: f64,
    },
    Vp {
        beta_min: f64,
        beta_max: f64,
    },
    FlowMatching {
        sigma_min: f64,
    },
}

impl From<Preset> for PresetRepr {
    fn from(p: Preset) -> Self {
        match p {
            Preset::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => PresetRepr::Edm {
                sigma_min,
                sigma_max,
                rho,
            },
            Preset::Ve {
                sigma_min,
                sigma_max,
            } => PresetRepr::Ve {
                sigma_min,
                sigma_max,
            },
            Preset::Vp { beta_min, beta_max } => PresetRepr::Vp { beta_min, beta_max },
            Preset::FlowMatching { sigma_min } => PresetRepr::FlowMatching { sigma_min },
        }
    }
}

impl PresetRepr {
    /// The preset, checked as by its constructor.
    fn build(self) -> crate::error::Result<Preset> {
        match self {
            PresetRepr::Edm {
                sigma_min,
                sigma_max,
                rho,
            } => Preset::edm(sigma_min, sigma_max, rho),
            PresetRepr::Ve {
                sigma_min,
                sigma_max,
            } => Preset::ve(sigma_min, sigma_max),
            PresetRepr::Vp { beta_min, beta_max } => Preset::vp(beta_min, beta_max),
            PresetRepr::FlowMatching { sigma_min } => Preset::flow_matching(sigma_min),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename = "Coefficients")]
enum CoefficientsRepr {
    Linear,
    Trigonometric,
    EncoderDecoder,
    VariancePreserving,
    SqrtOneMinusTSquared,
    Mirror,
    Preset(PresetRepr),
}

#[derive(Serialize)]
#[serde(rename = "Interpolant")]
struct InterpolantRef<'a> {
    sidedness: Sidedness,
    coefficients: &'a Coefficients,
    gamma: &'a Gamma,
}

#[derive(Deserialize)]
#[serde(rename = "Interpolant", deny_unknown_fields)]
struct InterpolantRepr {
    sidedness: Sidedness,
    coefficients: Coefficients,
    gamma: Gamma,
}

impl Serialize for Gamma {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            Gamma::Zero => GammaRepr::Zero,
            Gamma::Sqrt { a } => GammaRepr::Sqrt { a },
            Gamma::Quadratic => GammaRepr::Quadratic,
            Gamma::SinSquared => GammaRepr::SinSquared,
            Gamma::Custom(_) => {
                return Err(S::Error::custom(format!(
                    "the user-defined schedule `{}` (Gamma::Custom) cannot be serialised; only built-in schedules can",
                    self.name()
                )))
            }
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Gamma {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match GammaRepr::deserialize(deserializer)? {
            GammaRepr::Zero => Gamma::Zero,
            GammaRepr::Sqrt { a } => Gamma::sqrt(a).map_err(D::Error::custom)?,
            GammaRepr::Quadratic => Gamma::Quadratic,
            GammaRepr::SinSquared => Gamma::SinSquared,
        })
    }
}

impl Serialize for Coefficients {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Coefficients::Linear => CoefficientsRepr::Linear,
            Coefficients::Trigonometric => CoefficientsRepr::Trigonometric,
            Coefficients::EncoderDecoder => CoefficientsRepr::EncoderDecoder,
            Coefficients::VariancePreserving => CoefficientsRepr::VariancePreserving,
            Coefficients::SqrtOneMinusTSquared => CoefficientsRepr::SqrtOneMinusTSquared,
            Coefficients::Mirror => CoefficientsRepr::Mirror,
            Coefficients::Preset(p) => CoefficientsRepr::Preset((*p).into()),
            Coefficients::Custom(_) => {
                return Err(S::Error::custom(format!(
                    "the user-defined coefficients `{}` (Coefficients::Custom) cannot be serialised; only built-in coefficients can",
                    self.name()
                )))
            }
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Coefficients {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match CoefficientsRepr::deserialize(deserializer)? {
            CoefficientsRepr::Linear => Coefficients::Linear,
            CoefficientsRepr::Trigonometric => Coefficients::Trigonometric,
            CoefficientsRepr::EncoderDecoder => Coefficients::EncoderDecoder,
            CoefficientsRepr::VariancePreserving => Coefficients::VariancePreserving,
            CoefficientsRepr::SqrtOneMinusTSquared => Coefficients::SqrtOneMinusTSquared,
            CoefficientsRepr::Mirror => Coefficients::Mirror,
            CoefficientsRepr::Preset(p) => {
                Coefficients::Preset(p.build().map_err(D::Error::custom)?)
            }
        })
    }
}

impl Serialize for Interpolant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        InterpolantRef {
            sidedness: self.sidedness(),
            coefficients: self.coefficients(),
            gamma: self.gamma_schedule(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Interpolant {
    /// Reads the three parts and builds the interpolant with [`Interpolant::new`], whose validation
    /// errors become deserialisation errors.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = InterpolantRepr::deserialize(deserializer)?;
        Interpolant::new(r.sidedness, r.coefficients, r.gamma).map_err(D::Error::custom)
    }
}
