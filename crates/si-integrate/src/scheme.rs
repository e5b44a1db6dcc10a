//! Integration schemes by name: the one place a name (on a command line, in a log, in a configuration)
//! becomes an integrator. [`FromStr`] reads the grammar of [`SCHEME_NAMES`], [`Display`](fmt::Display)
//! writes the canonical name, and a [`Scheme`] is itself a [`Stepper`].

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use si_core::{Batch, ErrorNorm, Field};

use crate::adaptive::{self, AdaptiveConfig};
use crate::driver::Observer;
use crate::error::{IntegrateError, Result};
use crate::grid::TimeGrid;
use crate::stepper::{self, Euler, EulerMaruyama, Heun, Stepper, StochasticHeun};

/// The grammar of scheme names, as [`Scheme`]'s [`FromStr`] reads them (for `--help` texts).
///
/// `<scheme>[:<setting>,<setting>...]`:
///
/// | name                                | scheme                                                    |
/// |-------------------------------------|-----------------------------------------------------------|
/// | `euler`                             | [`Euler`] on the probability-flow ODE                     |
/// | `heun`                              | [`Heun`] on the ODE                                       |
/// | `euler-maruyama[:eps=E][,noise-first]` | [`EulerMaruyama`] on the SDE with constant ε = E       |
/// | `noise-first[:eps=E]`               | `euler-maruyama:eps=E,noise-first`                        |
/// | `stochastic-heun[:eps=E]`           | [`StochasticHeun`] with constant ε = E                    |
/// | `dormand-prince[:<settings>]`       | adaptive [`crate::DormandPrince`]                         |
///
/// ε defaults to [`Scheme::DEFAULT_EPS`] and must be finite and ≥ 0. The settings of `dormand-prince` are
/// those of [`AdaptiveConfig`]: `rtol=R`, `atol=A`, `tol=T` (both), `first-step=H`, `fac-max=F`,
/// `fac-min=F`, `max-steps=N`, `norm=worst-point|rms`; omitted ones take [`AdaptiveConfig::default`], and
/// the whole is checked as by [`AdaptiveConfig::check`].
///
/// ```
/// use si_integrate::{AdaptiveConfig, Scheme};
/// let s: Scheme = "euler-maruyama:eps=0.25,noise-first".parse().unwrap();
/// assert_eq!(s, Scheme::EulerMaruyama { eps: 0.25, noise_first: true });
/// assert_eq!("noise-first:eps=0.25".parse::<Scheme>().unwrap(), s);
/// assert_eq!(s.to_string(), "euler-maruyama:eps=0.25,noise-first");
/// let dp: Scheme = "dormand-prince:tol=1e-6".parse().unwrap();
/// assert_eq!(dp, Scheme::DormandPrince(AdaptiveConfig::tolerance(1e-6)));
/// assert_eq!(dp.to_string(), "dormand-prince:rtol=1e-6,atol=1e-6");
/// assert!("milstein".parse::<Scheme>().is_err());
/// assert!("stochastic-heun:eps=-1".parse::<Scheme>().is_err());
/// ```
pub const SCHEME_NAMES: &str = "euler, heun (the ODE); euler-maruyama[:eps=E][,noise-first], \
noise-first[:eps=E] (= euler-maruyama:eps=E,noise-first), stochastic-heun[:eps=E] (the SDE with constant \
eps = E >= 0, default 0.5); dormand-prince[:rtol=R,atol=A,tol=T,first-step=H,fac-max=F,fac-min=F,\
max-steps=N,norm=worst-point|rms] (the adaptive ODE solver)";

/// An integrator chosen by name (grammar in [`SCHEME_NAMES`]).
///
/// As a [`Stepper`], each variant steps exactly as the stepper it names ([`Euler`], [`Heun`],
/// [`EulerMaruyama::constant`] (with [`EulerMaruyama::noise_first`]), [`StochasticHeun::constant`], and
/// [`crate::DormandPrince`]'s fixed fifth-order step). Driven over a grid ([`crate::integrate`],
/// [`Stepper::drive`]), [`Scheme::DormandPrince`] is the adaptive solve of
/// [`crate::DormandPrince::solve`]: the grid's times are where it lands and reports, its own steps lie
/// between them. Settings written into the variants directly are checked where the scheme is used
/// (a typed error, as from [`FromStr`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scheme {
    /// Explicit Euler on the probability-flow ODE.
    Euler,
    /// Heun's method on the ODE.
    Heun,
    /// Euler–Maruyama on the SDE with constant diffusion ε (docs/math.md §3).
    EulerMaruyama {
        /// ε ≥ 0 (ε = 0 is Euler on the ODE).
        eps: f64,
        /// Each step's noise before its drift.
        noise_first: bool,
    },
    /// Stochastic Heun on the SDE with constant diffusion ε.
    StochasticHeun {
        /// ε ≥ 0 (ε = 0 is Heun on the ODE).
        eps: f64,
    },
    /// Adaptive Dormand–Prince 5(4) on the ODE (docs/math.md §3.2).
    DormandPrince(AdaptiveConfig),
}

impl Scheme {
    /// The ε of an SDE scheme named without one (the ε of the SDE samplers in docs/figures.md).
    pub const DEFAULT_EPS: f64 = 0.5;

    /// ε of an SDE scheme; `None` for the ODE schemes.
    pub fn eps(&self) -> Option<f64> {
        match *self {
            Scheme::EulerMaruyama { eps, .. } | Scheme::StochasticHeun { eps } => Some(eps),
            _ => None,
        }
    }

    /// The same scheme with ε = `eps` if it is an SDE scheme; ODE schemes are returned unchanged.
    pub fn with_eps(self, eps: f64) -> Self {
        match self {
            Scheme::EulerMaruyama { noise_first, .. } => Scheme::EulerMaruyama { eps, noise_first },
            Scheme::StochasticHeun { .. } => Scheme::StochasticHeun { eps },
            s => s,
        }
    }

    /// Checks the settings: ε finite and ≥ 0, the adaptive settings as by [`AdaptiveConfig::check`].
    pub fn check(self) -> Result<Self> {
        if let Some(eps) = self.eps() {
            checked_eps(eps)?;
        }
        if let Scheme::DormandPrince(cfg) = self {
            cfg.check()?;
        }
        Ok(self)
    }
}

/// ε, checked finite and ≥ 0 (the error of [`crate::Diffusion::constant`]).
fn checked_eps(eps: f64) -> Result<f64> {
    if eps.is_finite() && eps >= 0.0 {
        Ok(eps)
    } else {
        Err(IntegrateError::InvalidDiffusion { t: 0.0, value: eps })
    }
}

impl<B: Batch> Stepper<B> for Scheme {
    fn step<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        t: f64,
        dt: f64,
        x: &mut B,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        match *self {
            Scheme::Euler => Euler.step(field, t, dt, x, rng),
            Scheme::Heun => Heun.step(field, t, dt, x, rng),
            Scheme::EulerMaruyama { eps, noise_first } => {
                stepper::euler_maruyama_step(field, t, dt, checked_eps(eps)?, noise_first, x, rng)
            }
            Scheme::StochasticHeun { eps } => {
                let eps = checked_eps(eps)?;
                stepper::stochastic_heun_step(field, t, dt, (eps, eps), x, rng)
            }
            Scheme::DormandPrince(cfg) => {
                cfg.check()?;
                adaptive::fixed_step(field, t, dt, x)
            }
        }
    }

    /// The caption of the stepper the scheme names.
    fn name(&self) -> String {
        let named = match *self {
            Scheme::Euler => return <Euler as Stepper<B>>::name(&Euler),
            Scheme::Heun => return <Heun as Stepper<B>>::name(&Heun),
            Scheme::EulerMaruyama { eps, noise_first } => EulerMaruyama::constant(eps).map(|s| {
                let s = if noise_first { s.noise_first() } else { s };
                <EulerMaruyama as Stepper<B>>::name(&s)
            }),
            Scheme::StochasticHeun { eps } => {
                StochasticHeun::constant(eps).map(|s| <StochasticHeun as Stepper<B>>::name(&s))
            }
            Scheme::DormandPrince(cfg) => cfg
                .check()
                .map(|s| <crate::DormandPrince as Stepper<B>>::name(&s)),
        };
        named.unwrap_or_else(|_| self.to_string())
    }

    /// One step per grid interval, except [`Scheme::DormandPrince`]: the adaptive solve over the grid's
    /// times ([`crate::DormandPrince::solve`]).
    fn drive<F: Field<B> + ?Sized>(
        &self,
        field: &F,
        x: B,
        grid: &TimeGrid,
        rng: &mut dyn RngCore,
        observers: &mut [&mut dyn Observer<B>],
    ) -> Result<B> {
        if let Scheme::DormandPrince(cfg) = *self {
            return Ok(cfg.check()?.solve(field, x, grid, observers)?.0);
        }
        stepper::step_over_grid(&self.check()?, field, x, grid, rng, observers)
    }
}

/// A number in a name: plain decimals for moderate magnitudes, the exponent form (`1e-6`) otherwise;
/// either reads back to the same `f64`.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.0.abs();
        if a == 0.0 || (1e-3..1e6).contains(&a) || !a.is_finite() {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{:e}", self.0)
        }
    }
}

impl fmt::Display for Scheme {
    /// The canonical name of [`SCHEME_NAMES`]: ε always written, the adaptive settings only where they
    /// differ from [`AdaptiveConfig::default`] (in the order rtol, atol, first-step, fac-max, fac-min,
    /// max-steps, norm). It parses back to an equal scheme.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::Euler => f.write_str("euler"),
            Scheme::Heun => f.write_str("heun"),
            Scheme::EulerMaruyama { eps, noise_first } => {
                write!(f, "euler-maruyama:eps={}", Num(*eps))?;
                if *noise_first {
                    f.write_str(",noise-first")?;
                }
                Ok(())
            }
            Scheme::StochasticHeun { eps } => write!(f, "stochastic-heun:eps={}", Num(*eps)),
            Scheme::DormandPrince(cfg) => {
                let d = AdaptiveConfig::default();
                let mut parts = Vec::new();
                let same = |a: f64, b: f64| a.to_bits() == b.to_bits();
                if !same(cfg.rtol, d.rtol) {
                    parts.push(format!("rtol={}", Num(cfg.rtol)));
                }
                if !same(cfg.atol, d.atol) {
                    parts.push(format!("atol={}", Num(cfg.atol)));
                }
                if let Some(h) = cfg.first_step {
                    parts.push(format!("first-step={}", Num(h)));
                }
                if !same(cfg.fac_max, d.fac_max) {
                    parts.push(format!("fac-max={}", Num(cfg.fac_max)));
                }
                if !same(cfg.fac_min, d.fac_min) {
                    parts.push(format!("fac-min={}", Num(cfg.fac_min)));
                }
                if cfg.max_steps != d.max_steps {
                    parts.push(format!("max-steps={}", cfg.max_steps));
                }
                if cfg.norm != d.norm {
                    parts.push(format!("norm={}", norm_name(cfg.norm)));
                }
                f.write_str("dormand-prince")?;
                if !parts.is_empty() {
                    write!(f, ":{}", parts.join(","))?;
                }
                Ok(())
            }
        }
    }
}

fn norm_name(n: ErrorNorm) -> &'static str {
    match n {
        ErrorNorm::WorstPoint => "worst-point",
        ErrorNorm::Rms => "rms",
    }
}

impl FromStr for Scheme {
    type Err = IntegrateError;

    /// Parses a name of [`SCHEME_NAMES`]; an unknown scheme is [`IntegrateError::UnknownScheme`], an
    /// unknown, repeated or unreadable setting [`IntegrateError::SchemeSetting`], and settings out of
    /// range the errors of [`Scheme::check`].
    fn from_str(s: &str) -> Result<Self> {
        let (name, settings) = match s.split_once(':') {
            Some((name, rest)) => (name, Some(rest)),
            None => (s, None),
        };
        let bad = |setting: &str, reason: &'static str| IntegrateError::SchemeSetting {
            scheme: s.to_owned(),
            setting: setting.to_owned(),
            reason,
        };
        // (key, value) pairs; a flag has no value
        let mut pairs: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(rest) = settings {
            for item in rest.split(',') {
                let (k, v) = match item.split_once('=') {
                    Some((k, v)) => (k, Some(v)),
                    None => (item, None),
                };
                if pairs.iter().any(|(seen, _)| *seen == k) {
                    return Err(bad(item, "given twice"));
                }
                pairs.push((k, v));
            }
        }
        let num = |item: (&str, Option<&str>)| -> Result<f64> {
            let v = item.1.ok_or_else(|| bad(item.0, "needs a value"))?;
            v.parse::<f64>()
                .map_err(|_| bad(&format!("{}={v}", item.0), "not a number"))
        };
        let scheme = match name {
            "euler" | "heun" => {
                if let Some(&(k, _)) = pairs.first() {
                    return Err(bad(k, "the ODE schemes take no settings"));
                }
                if name == "euler" {
                    Scheme::Euler
                } else {
                    Scheme::Heun
                }
            }
            "euler-maruyama" | "noise-first" | "stochastic-heun" => {
                let mut eps = Scheme::DEFAULT_EPS;
                let mut noise_first = name == "noise-first";
                for &(k, v) in &pairs {
                    match (k, v) {
                        ("eps", _) => eps = num((k, v))?,
                        ("noise-first", None) if name == "euler-maruyama" => noise_first = true,
                        _ => return Err(bad(k, "unknown setting")),
                    }
                }
                if name == "stochastic-heun" {
                    Scheme::StochasticHeun { eps }
                } else {
                    Scheme::EulerMaruyama { eps, noise_first }
                }
            }
            "dormand-prince" => {
                let mut cfg = AdaptiveConfig::default();
                for &(k, v) in &pairs {
                    match k {
                        "rtol" => cfg.rtol = num((k, v))?,
                        "atol" => cfg.atol = num((k, v))?,
                        "tol" => {
                            let t = num((k, v))?;
                            cfg.rtol = t;
                            cfg.atol = t;
                        }
                        "first-step" => cfg.first_step = Some(num((k, v))?),
                        "fac-max" => cfg.fac_max = num((k, v))?,
                        "fac-min" => cfg.fac_min = num((k, v))?,
                        "max-steps" => {
                            let n = v.ok_or_else(|| bad(k, "needs a value"))?;
                            cfg.max_steps = n
                                .parse()
                                .map_err(|_| bad(&format!("{k}={n}"), "not a whole number"))?;
                        }
                        "norm" => {
                            cfg.norm = match v {
                                Some("worst-point") => ErrorNorm::WorstPoint,
                                Some("rms") => ErrorNorm::Rms,
                                _ => return Err(bad(k, "norm is worst-point or rms")),
                            }
                        }
                        _ => return Err(bad(k, "unknown setting")),
                    }
                }
                if pairs.iter().any(|(k, _)| *k == "tol")
                    && pairs.iter().any(|(k, _)| *k == "rtol" || *k == "atol")
                {
                    return Err(bad("tol", "sets rtol and atol both; give tol or rtol/atol"));
                }
                Scheme::DormandPrince(cfg)
            }
            _ => {
                return Err(IntegrateError::UnknownScheme {
                    got: s.to_owned(),
                    expected: SCHEME_NAMES,
                })
            }
        };
        scheme.check()
    }
}
