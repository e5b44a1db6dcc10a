//! The tube as a regression source: demonstrations → draws of (t, x_t, targets, context) that any trainer
//! taking a [`TargetSource`] fits (docs/math.md §7).

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngCore};
use si_core::{CoreError, Draw, Points, TargetSource};

use crate::encode::CONTEXT_DIM;
use crate::error::RobotError;
use crate::tube::Tube;
use crate::windows::Window;

/// Draws of the tube x_t = ξ(t) + σ_t z around windows chosen uniformly: t ~ U[0, 1], z ~ N(0, I₂),
/// m = ξ(t), ṁ = ξ̇(t), σ = σ_t, σ̇ = −k σ_t, context = the window's observations. The regression
/// targets are then b ← ξ̇(t) − k σ_t z = ξ̇(t) − k (x_t − ξ(t)) and η ← z (so s = −η/σ_t).
#[derive(Clone, Debug)]
pub struct TubeSource {
    windows: Vec<Window>,
    tube: Tube,
}

impl TubeSource {
    /// The source over `windows` (at least one, each with the tube's horizon).
    pub fn new(windows: Vec<Window>, tube: Tube) -> Result<Self, RobotError> {
        if windows.is_empty() {
            return Err(RobotError::Demonstrations("no windows to draw from".into()));
        }
        if let Some(w) = windows.iter().find(|w| w.path.segments() != tube.horizon()) {
            return Err(RobotError::Demonstrations(format!(
                "a window has {} segments; the tube's horizon is {}",
                w.path.segments(),
                tube.horizon()
            )));
        }
        Ok(Self { windows, tube })
    }

    /// The windows.
    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// The tube.
    pub fn tube(&self) -> Tube {
        self.tube
    }
}

impl TargetSource<Points> for TubeSource {
    fn dim(&self) -> usize {
        2
    }
    fn context_dim(&self) -> usize {
        CONTEXT_DIM
    }
    fn draw(&self, n: usize, rng: &mut dyn RngCore) -> Result<Draw<Points>, CoreError> {
        let mut m = DMatrix::zeros(2, n);
        let mut dm = DMatrix::zeros(2, n);
        let mut ctx = DMatrix::zeros(CONTEXT_DIM, n);
        let mut t = DVector::zeros(n);
        for i in 0..n {
            let w = &self.windows[rng.random_range(0..self.windows.len())];
            let ti: f64 = rng.random();
            t[i] = ti;
            let (p, v) = (w.path.at(ti), w.path.velocity(ti));
            m.set_column(i, &nalgebra::Vector2::from(p));
            dm.set_column(i, &nalgebra::Vector2::from(v));
            ctx.set_column(i, &DVector::from_column_slice(&w.context));
        }
        let zeta = Points::standard_normal(n, 2, rng);
        Ok(Draw {
            sigma: t.map(|ti| self.tube.sigma(ti)),
            dsigma: t.map(|ti| self.tube.dsigma(ti)),
            t,
            m: Points::from_matrix_unchecked(m),
            dm: Points::from_matrix_unchecked(dm),
            zeta,
            context: Some(Points::from_matrix_unchecked(ctx)),
            v_is_b: false,
        })
    }
}
