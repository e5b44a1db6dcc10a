//! Names of the built-in interpolants and noise schedules: one grammar for command lines, logs and
//! configuration files ([`FromStr`] reads a name, [`Display`](fmt::Display) writes the canonical one).

use std::fmt;
use std::str::FromStr;

use crate::coefficients::Coefficients;
use crate::error::{CoreError, Result};
use crate::gamma::Gamma;
use crate::interpolant::{Interpolant, Sidedness};
use crate::presets::Preset;

/// The names of the built-in noise schedules γ(t), as [`Gamma`]'s [`FromStr`] reads them:
///
/// | name          | γ(t)        |
/// |---------------|-------------|
/// | `zero`        | 0           |
/// | `sqrt`        | √(t(1−t))   |
/// | `sqrt=A`      | √(A t(1−t)), A > 0 |
/// | `quadratic`   | t(1−t)      |
/// | `sin-squared` | sin²(πt)    |
pub const GAMMA_NAMES: &str = "zero, sqrt (a = 1), sqrt=A (a = A > 0), quadratic, sin-squared";

/// The grammar of interpolant names, as [`Interpolant`]'s [`FromStr`] reads them (for `--help` texts).
///
/// `<family>[:<gamma>]`, with `<gamma>` one of [`GAMMA_NAMES`] and `<family>` one of
///
/// | family                    | α(t), β(t)                          | default γ     |
/// |---------------------------|-------------------------------------|---------------|
/// | `linear`                  | 1 − t, t                            | `sqrt`        |
/// | `trigonometric` (`trig`)  | √(1−γ²) cos(πt/2), √(1−γ²) sin(πt/2) | `sqrt`       |
/// | `encoder-decoder`         | (cos²(πt), 0) for t < ½, (0, cos²(πt)) after | `sin-squared` |
/// | `mirror`                  | 0, 1                                | `sqrt`        |
/// | `one-sided-linear`        | 1 − t, t                            | none (γ ≡ 0)  |
/// | `one-sided-vp`            | cos(πt/2), sin(πt/2)                | none (γ ≡ 0)  |
/// | `one-sided-sqrt`          | √(1−t²), t                          | none (γ ≡ 0)  |
///
/// One-sided families take no `:<gamma>`. `linear-zero` is an alias of `linear:zero`.
///
/// The known generative models are presets (docs/math.md §8; [`PRESET_NAMES`]): `edm`, `ve`, `vp`, `fm`
/// (`flow-matching`) with optional `:<key>=<value>,...` parameters, and the aliases `rectified-flow`
/// (= `linear:zero`), `cosine` (= `one-sided-vp`) and `linear-vp` (= `one-sided-sqrt`). The combination
/// is validated as by [`Interpolant::new`] (e.g. `trig:sqrt=5` fails, since the trigonometric family
/// needs γ ≤ 1).
///
/// ```
/// use si_core::{Gamma, Interpolant};
/// let it: Interpolant = "trig:quadratic".parse().unwrap();
/// assert_eq!(it, Interpolant::trigonometric(Gamma::Quadratic).unwrap());
/// assert_eq!(it.to_string(), "trigonometric:quadratic");
/// assert_eq!("linear".parse::<Interpolant>().unwrap(), Interpolant::linear(Gamma::brownian()).unwrap());
/// assert!("linear:cubic".parse::<Interpolant>().is_err());
///
/// #[cfg(feature = "serde1")]
/// {
///     let json = serde_json::to_string(&it).unwrap();
///     assert_eq!(json, r#"{"sidedness":"TwoSided","coefficients":"Trigonometric","gamma":"Quadratic"}"#);
///     assert_eq!(serde_json::from_str::<Interpolant>(&json).unwrap(), it);
/// }
/// ```
pub const INTERPOLANT_NAMES: &str = "<family>[:<gamma>] with family one of linear, trigonometric (or trig), \
encoder-decoder, mirror, one-sided-linear, one-sided-vp, one-sided-sqrt, and gamma one of zero, sqrt (a = 1), \
sqrt=A (a = A > 0), quadratic, sin-squared; without a gamma, linear, trigonometric and mirror use sqrt and \
encoder-decoder uses sin-squared; one-sided families take no gamma; linear-zero = linear:zero; \
presets of the known models: edm[:sigma_min=S,sigma_max=S,rho=R], ve[:sigma_min=S,sigma_max=S], \
vp[:beta_min=B,beta_max=B], fm[:sigma_min=S], rectified-flow (= linear:zero), cosine (= one-sided-vp), \
linear-vp (= one-sided-sqrt)";

/// The presets and their parameters (defaults in brackets), as [`Interpolant`]'s [`FromStr`] reads them:
///
/// | name | model | parameters |
/// |---|---|---|
/// | `edm` | Karras et al. 2022 | `sigma_min` (0.002), `sigma_max` (80), `rho` (7) |
/// | `ve` | Song et al. 2021, VE SDE | `sigma_min` (0.01), `sigma_max` (50) |
/// | `vp` | Song et al. 2021, VP SDE | `beta_min` (0.1), `beta_max` (20) |
/// | `fm`, `flow-matching` | Lipman et al. 2023, OT path | `sigma_min` (0) |
/// | `rectified-flow` | Liu et al. 2022 | alias of `linear:zero` |
/// | `cosine` | flow_matching's CosineScheduler | alias of `one-sided-vp` |
/// | `linear-vp` | flow_matching's LinearVPScheduler | alias of `one-sided-sqrt` |
///
/// ```
/// use si_core::{Interpolant, Preset};
/// let vp: Interpolant = "vp:beta_max=10".parse().unwrap();
/// assert_eq!(vp, Interpolant::preset(Preset::vp(0.1, 10.0).unwrap()).unwrap());
/// assert_eq!(vp.to_string(), "vp:beta_max=10");
/// assert_eq!("edm".parse::<Interpolant>().unwrap().to_string(), "edm");
/// assert!("edm:sigma_max=80,sigma_max=90".parse::<Interpolant>().is_err());
/// assert!("ve:rho=7".parse::<Interpolant>().is_err());
/// ```
pub const PRESET_NAMES: &str = "edm[:sigma_min=S,sigma_max=S,rho=R] (defaults 0.002, 80, 7), ve[:sigma_min=S,sigma_max=S] (0.01, 50), vp[:beta_min=B,beta_max=B] (0.1, 20), fm or flow-matching[:sigma_min=S] (0), rectified-flow (= linear:zero), cosine (= one-sided-vp), linear-vp (= one-sided-sqrt)";

/// Parses a preset `<name>[:<key>=<value>,...]`; `None` when `name` is not a preset's.
fn parse_preset(s: &str) -> Option<Result<Preset>> {
    let (name, params) = match s.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (s, None),
    };
    let defaults = match name {
        "edm" => Preset::EDM,
        "ve" => Preset::VE,
        "vp" => Preset::VP,
        "fm" | "flow-matching" => Preset::FM,
        _ => return None,
    };
    let (_, default_params) = preset_params(&defaults);
    let keys: Vec<&str> = default_params.iter().map(|p| p.0).collect();
    let mut values: Vec<f64> = default_params.iter().map(|p| p.1).collect();
    let mut seen = vec![false; keys.len()];
    let bad = || CoreError::UnknownName {
        what: "preset parameters",
        got: s.to_owned(),
        expected: PRESET_NAMES,
    };
    for kv in params.into_iter().flat_map(|p| p.split(',')) {
        let Some((k, v)) = kv.split_once('=') else {
            return Some(Err(bad()));
        };
        let Some(i) = keys.iter().position(|key| *key == k) else {
            return Some(Err(bad()));
        };
        let Ok(v) = v.parse::<f64>() else {
            return Some(Err(bad()));
        };
        if std::mem::replace(&mut seen[i], true) {
            return Some(Err(bad()));
        }
        values[i] = v;
    }
    Some(
        match defaults {
            Preset::Edm { .. } => Preset::edm(values[0], values[1], values[2]),
            Preset::Ve { .. } => Preset::ve(values[0], values[1]),
            Preset::Vp { .. } => Preset::vp(values[0], values[1]),
            Preset::FlowMatching { .. } => Preset::flow_matching(values[0]),
        }
        .map_err(|e| match e {
            CoreError::InvalidParameter { .. } => e,
            _ => bad(),
        }),
    )
}

/// A preset's name and its parameters in the grammar's order.
fn preset_params(p: &Preset) -> (&'static str, Vec<(&'static str, f64)>) {
    match *p {
        Preset::Edm {
            sigma_min,
            sigma_max,
            rho,
        } => (
            "edm",
            vec![
                ("sigma_min", sigma_min),
                ("sigma_max", sigma_max),
                ("rho", rho),
            ],
        ),
        Preset::Ve {
            sigma_min,
            sigma_max,
        } => (
            "ve",
            vec![("sigma_min", sigma_min), ("sigma_max", sigma_max)],
        ),
        Preset::Vp { beta_min, beta_max } => {
            ("vp", vec![("beta_min", beta_min), ("beta_max", beta_max)])
        }
        Preset::FlowMatching { sigma_min } => ("fm", vec![("sigma_min", sigma_min)]),
    }
}

impl fmt::Display for Preset {
    /// The canonical name of [`PRESET_NAMES`]: the short name, then the parameters that differ from the
    /// defaults (shortest decimals that read back bit for bit), e.g. `edm`, `vp:beta_max=10`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, params) = preset_params(self);
        let (_, default_params) = preset_params(&self.defaults());
        f.write_str(name)?;
        let mut sep = ':';
        for ((k, v), (_, d)) in params.iter().zip(&default_params) {
            if v.to_bits() != d.to_bits() {
                write!(f, "{sep}{k}={v}")?;
                sep = ',';
            }
        }
        Ok(())
    }
}

/// The `expected` of the error for a one-sided family given a γ.
const ONE_SIDED_NO_GAMMA: &str =
    "no `:<gamma>` after a one-sided family (one-sided-linear, one-sided-vp, \
one-sided-sqrt carry their noise in alpha(t) x0; gamma = 0)";

impl FromStr for Gamma {
    type Err = CoreError;

    /// Parses one of [`GAMMA_NAMES`]; `sqrt=A` is checked as by [`Gamma::sqrt`].
    fn from_str(s: &str) -> Result<Self> {
        let unknown = || CoreError::UnknownName {
            what: "gamma",
            got: s.to_owned(),
            expected: GAMMA_NAMES,
        };
        match s {
            "zero" => Ok(Gamma::Zero),
            "sqrt" => Ok(Gamma::brownian()),
            "quadratic" => Ok(Gamma::Quadratic),
            "sin-squared" => Ok(Gamma::SinSquared),
            _ => {
                let a = s.strip_prefix("sqrt=").ok_or_else(unknown)?;
                Gamma::sqrt(a.parse::<f64>().map_err(|_| unknown())?)
            }
        }
    }
}

impl fmt::Display for Gamma {
    /// The canonical name of [`GAMMA_NAMES`] (`sqrt` for a = 1, `sqrt=A` with the shortest decimal that
    /// reads back to the same `a` otherwise); a custom schedule writes `custom(<name>)`, which does not
    /// parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gamma::Zero => f.write_str("zero"),
            Gamma::Sqrt { a } if is_one(*a) => f.write_str("sqrt"),
            Gamma::Sqrt { a } => write!(f, "sqrt={a}"),
            Gamma::Quadratic => f.write_str("quadratic"),
            Gamma::SinSquared => f.write_str("sin-squared"),
            Gamma::Custom(_) => write!(f, "custom({})", self.name()),
        }
    }
}

/// Exactly 1 (so that `sqrt` and `sqrt=A` read back to the same `a`).
fn is_one(a: f64) -> bool {
    a.to_bits() == 1.0f64.to_bits()
}

/// The families of the grammar.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Family {
    Linear,
    Trigonometric,
    EncoderDecoder,
    Mirror,
    OneSidedLinear,
    OneSidedVp,
    OneSidedSqrt,
}

impl Family {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "linear" => Family::Linear,
            "trigonometric" | "trig" => Family::Trigonometric,
            "encoder-decoder" => Family::EncoderDecoder,
            "mirror" => Family::Mirror,
            "one-sided-linear" => Family::OneSidedLinear,
            "one-sided-vp" => Family::OneSidedVp,
            "one-sided-sqrt" => Family::OneSidedSqrt,
            _ => return None,
        })
    }

    fn of(it: &Interpolant) -> Option<Self> {
        Some(match (it.sidedness(), it.coefficients()) {
            (Sidedness::TwoSided, Coefficients::Linear) => Family::Linear,
            (Sidedness::TwoSided, Coefficients::Trigonometric) => Family::Trigonometric,
            (Sidedness::TwoSided, Coefficients::EncoderDecoder) => Family::EncoderDecoder,
            (Sidedness::Mirror, Coefficients::Mirror) => Family::Mirror,
            (Sidedness::OneSided, Coefficients::Linear) => Family::OneSidedLinear,
            (Sidedness::OneSided, Coefficients::VariancePreserving) => Family::OneSidedVp,
            (Sidedness::OneSided, Coefficients::SqrtOneMinusTSquared) => Family::OneSidedSqrt,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Family::Linear => "linear",
            Family::Trigonometric => "trigonometric",
            Family::EncoderDecoder => "encoder-decoder",
            Family::Mirror => "mirror",
            Family::OneSidedLinear => "one-sided-linear",
            Family::OneSidedVp => "one-sided-vp",
            Family::OneSidedSqrt => "one-sided-sqrt",
        }
    }

    /// The γ used when the name has none; `None` for one-sided families, which take no γ.
    fn default_gamma(self) -> Option<Gamma> {
        match self {
            Family::Linear | Family::Trigonometric | Family::Mirror => Some(Gamma::brownian()),
            Family::EncoderDecoder => Some(Gamma::SinSquared),
            Family::OneSidedLinear | Family::OneSidedVp | Family::OneSidedSqrt => None,
        }
    }
}

impl FromStr for Interpolant {
    type Err = CoreError;

    /// Parses `<family>[:<gamma>]` as described in [`INTERPOLANT_NAMES`] and builds the interpolant with
    /// the matching constructor ([`Interpolant::linear`], [`Interpolant::trigonometric`],
    /// [`Interpolant::encoder_decoder`] / [`Interpolant::encoder_decoder_with`], [`Interpolant::mirror`],
    /// [`Interpolant::one_sided_linear`], [`Interpolant::one_sided_vp`], [`Interpolant::one_sided_sqrt`]),
    /// whose validation errors are passed on.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "linear-zero" | "rectified-flow" => return Interpolant::linear(Gamma::Zero),
            "cosine" => return Ok(Interpolant::one_sided_vp()),
            "linear-vp" => return Ok(Interpolant::one_sided_sqrt()),
            _ => {}
        }
        if let Some(p) = parse_preset(s) {
            return Interpolant::preset(p?);
        }
        let (name, gamma) = match s.split_once(':') {
            Some((name, g)) => (name, Some(g)),
            None => (s, None),
        };
        let fam = Family::parse(name).ok_or_else(|| CoreError::UnknownName {
            what: "interpolant",
            got: s.to_owned(),
            expected: INTERPOLANT_NAMES,
        })?;
        let gamma = match (fam.default_gamma(), gamma) {
            (None, None) => Gamma::Zero,
            (None, Some(_)) => {
                return Err(CoreError::UnknownName {
                    what: "interpolant",
                    got: s.to_owned(),
                    expected: ONE_SIDED_NO_GAMMA,
                })
            }
            (Some(_), Some(g)) => g.parse::<Gamma>()?,
            (Some(d), None) => d,
        };
        match fam {
            Family::Linear => Interpolant::linear(gamma),
            Family::Trigonometric => Interpolant::trigonometric(gamma),
            Family::EncoderDecoder if gamma == Gamma::SinSquared => {
                Ok(Interpolant::encoder_decoder())
            }
            Family::EncoderDecoder => Interpolant::encoder_decoder_with(gamma),
            Family::Mirror => Interpolant::mirror(gamma),
            Family::OneSidedLinear => Ok(Interpolant::one_sided_linear()),
            Family::OneSidedVp => Ok(Interpolant::one_sided_vp()),
            Family::OneSidedSqrt => Ok(Interpolant::one_sided_sqrt()),
        }
    }
}

impl fmt::Display for Interpolant {
    /// The canonical name of [`INTERPOLANT_NAMES`]: the family, then `:<gamma>` unless γ is the family's
    /// default (e.g. `linear`, `linear:zero`, `trigonometric:sqrt=2`, `encoder-decoder`, `one-sided-vp`).
    /// It parses back to an equal interpolant. Combinations outside the grammar (built with
    /// [`Interpolant::new`] or with custom parts) write `unnamed(<caption>)` or `<family>:custom(<name>)`,
    /// which do not parse.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.as_preset() {
            return write!(f, "{p}");
        }
        let Some(fam) = Family::of(self) else {
            return write!(f, "unnamed({})", self.name());
        };
        f.write_str(fam.name())?;
        match fam.default_gamma() {
            // one-sided: γ ≡ 0 is checked by the constructor
            None => Ok(()),
            Some(d) if d == *self.gamma_schedule() => Ok(()),
            Some(_) => write!(f, ":{}", self.gamma_schedule()),
        }
    }
}
