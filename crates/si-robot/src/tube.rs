//! The tube around a demonstrated action path (docs/math.md §7): x_t = ξ(t) + σ_t z with
//! σ_t = σ0 e^{−kt}, and the piecewise-linear path ξ itself.

use crate::error::RobotError;

/// The tube's settings before they are checked (see [`TubeConfig::check`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TubeConfig {
    /// σ0 ≥ 0: the tube's width at t = 0, in normalised action units ([`crate::encode_action`]).
    pub sigma0: f64,
    /// k ≥ 0: the rate at which the tube narrows (σ_t = σ0 e^{−kt}); also the pull −k (x − ξ) of the
    /// conditional velocity back onto the path.
    pub k: f64,
    /// T_pred ≥ 1: the number of actions the flow time t ∈ [0, 1] spans (one action per 1/T_pred).
    pub horizon: usize,
}

impl Default for TubeConfig {
    /// σ0 = 0.1 (25.6 px; chosen for the Push-T policy on validation seeds among 0.01 … 0.2, docs/results.md),
    /// k = 2, T_pred = 16.
    fn default() -> Self {
        Self {
            sigma0: 0.1,
            k: 2.0,
            horizon: 16,
        }
    }
}

/// Checked tube settings: σ0 and k finite and ≥ 0, 1 ≤ T_pred ≤ 1024.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tube {
    sigma0: f64,
    k: f64,
    horizon: usize,
}

impl TubeConfig {
    /// Validates the settings once.
    pub fn check(self) -> Result<Tube, RobotError> {
        let bad = |name, value: String, reason| {
            Err(RobotError::InvalidParameter {
                name,
                value,
                reason,
            })
        };
        if !(self.sigma0.is_finite() && self.sigma0 >= 0.0) {
            return bad("sigma0", self.sigma0.to_string(), "must be finite and >= 0");
        }
        if !(self.k.is_finite() && self.k >= 0.0) {
            return bad("k", self.k.to_string(), "must be finite and >= 0");
        }
        if !(1..=1024).contains(&self.horizon) {
            return bad("horizon", self.horizon.to_string(), "must be in 1..=1024");
        }
        Ok(Tube {
            sigma0: self.sigma0,
            k: self.k,
            horizon: self.horizon,
        })
    }
}

impl Tube {
    /// σ0.
    pub fn sigma0(&self) -> f64 {
        self.sigma0
    }
    /// k.
    pub fn k(&self) -> f64 {
        self.k
    }
    /// T_pred.
    pub fn horizon(&self) -> usize {
        self.horizon
    }
    /// The flow-time step of one action, 1/T_pred.
    pub fn dt(&self) -> f64 {
        1.0 / self.horizon as f64
    }
    /// σ_t = σ0 e^{−kt}.
    pub fn sigma(&self, t: f64) -> f64 {
        self.sigma0 * (-self.k * t).exp()
    }
    /// σ̇_t = −k σ_t.
    pub fn dsigma(&self, t: f64) -> f64 {
        -self.k * self.sigma(t)
    }
}

/// A piecewise-linear action path ξ: [0, 1] → R² through knots ξ(j/T) for j = 0..=T.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionPath {
    knots: Vec<[f64; 2]>,
}

impl ActionPath {
    /// The path through `knots` (at least two, all finite), equally spaced in t ∈ [0, 1].
    pub fn new(knots: Vec<[f64; 2]>) -> Result<Self, RobotError> {
        if knots.len() < 2 {
            return Err(RobotError::InvalidParameter {
                name: "knots",
                value: knots.len().to_string(),
                reason: "a path needs at least two knots",
            });
        }
        if knots.iter().flatten().any(|v| !v.is_finite()) {
            return Err(RobotError::Demonstrations(
                "a path knot is not finite".into(),
            ));
        }
        Ok(Self { knots })
    }

    /// The knots.
    pub fn knots(&self) -> &[[f64; 2]] {
        &self.knots
    }

    /// The number of segments T.
    pub fn segments(&self) -> usize {
        self.knots.len() - 1
    }

    /// The segment holding t (t clamped into [0, 1]; a knot belongs to the segment that starts there,
    /// t = 1 to the last) and the position u ∈ [0, 1] within it.
    fn segment(&self, t: f64) -> (usize, f64) {
        let n = self.segments();
        let s = t.clamp(0.0, 1.0) * n as f64;
        let j = (s.floor() as usize).min(n - 1);
        (j, s - j as f64)
    }

    /// ξ(t).
    pub fn at(&self, t: f64) -> [f64; 2] {
        let (j, u) = self.segment(t);
        let (a, b) = (self.knots[j], self.knots[j + 1]);
        [a[0] + u * (b[0] - a[0]), a[1] + u * (b[1] - a[1])]
    }

    /// ξ̇(t): T times the segment's displacement (right derivative at a knot, left at t = 1).
    pub fn velocity(&self, t: f64) -> [f64; 2] {
        let (j, _) = self.segment(t);
        let n = self.segments() as f64;
        let (a, b) = (self.knots[j], self.knots[j + 1]);
        [n * (b[0] - a[0]), n * (b[1] - a[1])]
    }
}
