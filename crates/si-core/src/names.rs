//! Names of the built-in interpolants and noise schedules: one grammar for command lines, logs and
//! configuration files ([`FromStr`] reads a name, [`Display`](fmt::Display) writes the canonical one).

use std::fmt;
use std::str::FromStr;

use crate::coefficients::Coefficients;
use crate::error::{CoreError, Result};
use crate::gamma::Gamma;
use crate::interpolant::{Interpolant, Sidedness};

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
/// One-sided families take no `:<gamma>`. `linear-zero` is an alias of `linear:zero`. The combination
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
encoder-decoder uses sin-squared; one-sided families take no gamma; linear-zero = linear:zero";

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
        if s == "linear-zero" {
            return Interpolant::linear(Gamma::Zero);
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
