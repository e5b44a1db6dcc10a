//! Exact fields of the tube around a finite, weighted set of paths (docs/math.md §7).
//!
//! With paths ξ_k and weights w_k, the law of x_t = ξ(t) + σ_t z is the Gaussian mixture
//! ρ(t, x) = Σ_k w_k N(x; ξ_k(t), σ_t² I). With the posterior weights
//! π_k(t, x) = w_k N(x; ξ_k(t), σ_t² I) / ρ(t, x), every field is a posterior average of the per-path one:
//!
//! ```text
//! η(t, x) = E[z | x_t = x]           = Σ_k π_k (x − ξ_k(t)) / σ_t,
//! s(t, x) = ∇ log ρ(t, x)            = −η(t, x) / σ_t,
//! b(t, x) = E[ξ̇ + σ̇_t z | x_t = x]  = Σ_k π_k ξ̇_k(t) − k σ_t η(t, x).
//! ```
//!
//! [`TubeMixture`] is that field for one set of paths; [`DemoOracle`] is the conditioned family over
//! training windows: given an observation context c, window k gets the weight
//! w_k ∝ exp(−|c − c_k|²/(2h²)), which makes the fields those of the training law with the contexts
//! blurred by N(0, h² I) (the exact regression answer of that law, a kernel-smoothed lookup).

use nalgebra::DMatrix;
use si_core::{check_context, Batch, ConditionalField, CoreError, Field, Points};

use crate::encode::CONTEXT_DIM;
use crate::error::RobotError;
use crate::tube::{ActionPath, Tube};
use crate::windows::Window;

/// The exact fields of Σ_k w_k N(ξ_k(t), σ_t² I) (module documentation).
#[derive(Clone, Debug)]
pub struct TubeMixture {
    paths: Vec<ActionPath>,
    log_w: Vec<f64>,
    tube: Tube,
}

/// The posterior-averaged quantities at one point.
struct Posterior {
    /// Σ π_k ξ̇_k.
    xi_dot: [f64; 2],
    /// Σ π_k (x − ξ_k).
    offset: [f64; 2],
    /// log ρ.
    log_rho: f64,
}

impl TubeMixture {
    /// The mixture of `paths` with `weights` (non-negative, finite, not all zero; normalised here). The
    /// fields exist only for σ0 > 0.
    pub fn new(paths: Vec<ActionPath>, weights: &[f64], tube: Tube) -> Result<Self, RobotError> {
        if paths.is_empty() || paths.len() != weights.len() {
            return Err(RobotError::InvalidParameter {
                name: "weights",
                value: format!("{} weights for {} paths", weights.len(), paths.len()),
                reason: "one weight per path, at least one path",
            });
        }
        let total: f64 = weights.iter().sum();
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || total <= 0.0 {
            return Err(RobotError::InvalidParameter {
                name: "weights",
                value: format!("{weights:?}"),
                reason: "weights must be finite, >= 0 and not all 0",
            });
        }
        if tube.sigma0() <= 0.0 {
            return Err(RobotError::InvalidParameter {
                name: "sigma0",
                value: tube.sigma0().to_string(),
                reason: "the fields of a tube of width 0 do not exist (point masses)",
            });
        }
        Ok(Self {
            paths,
            log_w: weights.iter().map(|w| (w / total).ln()).collect(),
            tube,
        })
    }

    /// The tube.
    pub fn tube(&self) -> Tube {
        self.tube
    }

    /// The paths.
    pub fn paths(&self) -> &[ActionPath] {
        &self.paths
    }

    fn posterior(&self, t: f64, x: [f64; 2]) -> Posterior {
        let s2 = self.tube.sigma(t).powi(2);
        // log of (2π σ²)^{−d/2}, d = 2
        let log_norm = -(2.0 * std::f64::consts::PI * s2).ln();
        // log w_k − |x − ξ_k(t)|²/(2σ²), computed twice (max, then sums) rather than stored
        let logit = |p: &ActionPath, lw: f64| {
            let m = p.at(t);
            lw - ((x[0] - m[0]).powi(2) + (x[1] - m[1]).powi(2)) / (2.0 * s2)
        };
        let top = self
            .paths
            .iter()
            .zip(&self.log_w)
            .map(|(p, lw)| logit(p, *lw))
            .fold(f64::NEG_INFINITY, f64::max);
        let (mut z, mut xi_dot, mut offset) = (0.0, [0.0; 2], [0.0; 2]);
        for (p, lw) in self.paths.iter().zip(&self.log_w) {
            if lw.is_infinite() {
                continue; // weight 0
            }
            let pi = (logit(p, *lw) - top).exp();
            let (m, v) = (p.at(t), p.velocity(t));
            z += pi;
            for r in 0..2 {
                xi_dot[r] += pi * v[r];
                offset[r] += pi * (x[r] - m[r]);
            }
        }
        Posterior {
            xi_dot: xi_dot.map(|v| v / z),
            offset: offset.map(|v| v / z),
            log_rho: top + z.ln() + log_norm,
        }
    }

    /// Applies `f(posterior, σ_t)` at every point of `x`.
    fn map(
        &self,
        t: f64,
        x: &Points,
        f: impl Fn(&Posterior, f64) -> [f64; 2],
    ) -> Result<Points, CoreError> {
        check_input(t, x)?;
        let sigma = self.tube.sigma(t);
        let xm = x.matrix();
        let mut out = DMatrix::zeros(2, x.len());
        for i in 0..x.len() {
            let p = self.posterior(t, [xm[(0, i)], xm[(1, i)]]);
            let v = f(&p, sigma);
            out[(0, i)] = v[0];
            out[(1, i)] = v[1];
        }
        Points::from_matrix(out).map_err(|_| CoreError::NonFinite {
            what: "the tube mixture's field (non-finite points?)",
        })
    }

    /// log ρ(t, x) at every point; points of another dimension than 2 are a
    /// [`CoreError::ShapeMismatch`].
    pub fn log_density(&self, t: f64, x: &Points) -> Result<Vec<f64>, CoreError> {
        check_input(t, x)?;
        Ok((0..x.len())
            .map(|i| {
                self.posterior(t, [x.matrix()[(0, i)], x.matrix()[(1, i)]])
                    .log_rho
            })
            .collect())
    }
}

/// The time and points a tube mixture's field is evaluated at: `t` a valid time, points of dimension 2.
fn check_input(t: f64, x: &Points) -> Result<(), CoreError> {
    si_core::check_time(t)?;
    if x.dim() != 2 {
        return Err(CoreError::ShapeMismatch {
            expected: "points of dimension 2".into(),
            got: format!("dimension {}", x.dim()),
        });
    }
    Ok(())
}

impl Field<Points> for TubeMixture {
    fn dim(&self) -> usize {
        2
    }
    /// b = Σ π_k ξ̇_k − k σ_t η = Σ π_k [ξ̇_k − k (x − ξ_k)].
    fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        let k = self.tube.k();
        self.map(t, x, |p, _| {
            [p.xi_dot[0] - k * p.offset[0], p.xi_dot[1] - k * p.offset[1]]
        })
    }
    /// s = −Σ π_k (x − ξ_k)/σ_t².
    fn score(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.map(t, x, |p, s| p.offset.map(|o| -o / (s * s)))
    }
    /// η = Σ π_k (x − ξ_k)/σ_t.
    fn denoiser(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.map(t, x, |p, s| p.offset.map(|o| o / s))
    }
}

/// The conditioned family over training windows with a context kernel of bandwidth h (module
/// documentation). Supports a shared context only.
#[derive(Clone, Debug)]
pub struct DemoOracle {
    windows: Vec<Window>,
    tube: Tube,
    bandwidth: f64,
}

impl DemoOracle {
    /// The oracle over `windows` (at least one) with context bandwidth `bandwidth` > 0.
    pub fn new(windows: Vec<Window>, tube: Tube, bandwidth: f64) -> Result<Self, RobotError> {
        if windows.is_empty() {
            return Err(RobotError::Demonstrations("no windows".into()));
        }
        if !(bandwidth.is_finite() && bandwidth > 0.0) {
            return Err(RobotError::InvalidParameter {
                name: "bandwidth",
                value: bandwidth.to_string(),
                reason: "must be finite and > 0",
            });
        }
        Ok(Self {
            windows,
            tube,
            bandwidth,
        })
    }
}

impl ConditionalField<Points> for DemoOracle {
    type Given<'a> = TubeMixture;
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    /// The mixture over the windows whose log-weight −|c − c_k|²/(2h²) is within 40 of the largest
    /// (the rest weigh less than e⁻⁴⁰ ≈ 4e-18 each relative to it).
    fn given(&self, context: &Points) -> Result<TubeMixture, CoreError> {
        check_context(context, CONTEXT_DIM)?.require_shared()?;
        let c = context.point(0);
        if c.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                what: "the context",
            });
        }
        let h2 = self.bandwidth * self.bandwidth;
        let logits: Vec<f64> = self
            .windows
            .iter()
            .map(|w| {
                let d2: f64 = w
                    .context
                    .iter()
                    .zip(c.iter())
                    .map(|(a, b)| (a - b).powi(2))
                    .sum();
                -d2 / (2.0 * h2)
            })
            .collect();
        let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (paths, weights): (Vec<_>, Vec<_>) = self
            .windows
            .iter()
            .zip(&logits)
            .filter(|(_, l)| **l >= top - 40.0)
            .map(|(w, l)| (w.path.clone(), (l - top).exp()))
            .unzip();
        TubeMixture::new(paths, &weights, self.tube).map_err(|e| CoreError::Backend(e.to_string()))
    }
}
