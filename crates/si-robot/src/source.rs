//! The tube as a regression source: demonstrations → draws of (t, x_t, targets, context) that any trainer
//! taking a [`TargetSource`] fits (docs/math.md §7).

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngCore};
use si_core::{CoreError, Draw, Points, TargetSource};

use si_pusht::Obs;

use crate::encode::{mixed_context, CONTEXT_DIM};
use crate::error::RobotError;
use crate::tube::Tube;
use crate::windows::Window;

/// The episode structure a live context follows ([`crate::PolicyKind::training_source`]).
#[derive(Clone, Debug, PartialEq)]
pub enum LiveLinks {
    /// [`crate::ContextMode::Live`]: each window's successor in its episode ([`crate::windows::successors`]).
    Whole(Vec<Option<usize>>),
    /// [`crate::ContextMode::LiveBlock`]: the successor links and each window's two observations
    /// ([`crate::windows::histories`]).
    Block(Vec<Option<usize>>, Vec<[Obs; 2]>),
}

/// Draws of the tube x_t = ξ(t) + σ_t z around windows chosen uniformly: t ~ U[0, 1], z ~ N(0, I₂),
/// m = ξ(t), ṁ = ξ̇(t), σ = σ_t, σ̇ = −k σ_t, context = the window's observations. The regression
/// targets are then b ← ξ̇(t) − k σ_t z = ξ̇(t) − k (x_t − ξ(t)) and η ← z (so s = −η/σ_t).
///
/// With successor links ([`TubeSource::with_successors`], for [`crate::ContextMode::Live`]) the context is
/// instead that of the state j = ⌊tT⌋ steps after the window's along its episode (the last one the
/// links reach when they end sooner): the observations a policy stepping at flow time t has seen since
/// its anchor. With the windows' raw observations too ([`TubeSource::with_live_block`], for
/// [`crate::ContextMode::LiveBlock`]) it is the context of the window's own pusher with that later state's
/// block ([`mixed_context`]). The path, t and the noise are drawn as before, with the same random numbers.
#[derive(Clone, Debug)]
pub struct TubeSource {
    windows: Vec<Window>,
    tube: Tube,
    live: Option<LiveLinks>,
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
        Ok(Self {
            windows,
            tube,
            live: None,
        })
    }

    /// The same source with a live context: `next[i]` is the window of the state after window i's in its
    /// episode ([`crate::windows::successors`]). A list of another length than the windows', or a link out
    /// of range, is [`RobotError::Demonstrations`].
    pub fn with_successors(self, next: Vec<Option<usize>>) -> Result<Self, RobotError> {
        self.check_links(&next)?;
        Ok(Self {
            live: Some(LiveLinks::Whole(next)),
            ..self
        })
    }

    /// Successor links fit the windows: one per window, each pointing at one of them.
    fn check_links(&self, next: &[Option<usize>]) -> Result<(), RobotError> {
        if next.len() != self.windows.len() {
            return Err(RobotError::Demonstrations(format!(
                "{} successor links for {} windows",
                next.len(),
                self.windows.len()
            )));
        }
        if let Some(j) = next.iter().flatten().find(|&&j| j >= self.windows.len()) {
            return Err(RobotError::Demonstrations(format!(
                "a successor link points at window {j} of {}",
                self.windows.len()
            )));
        }
        Ok(())
    }

    /// The same source with the block-only live context: successor links as [`with_successors`](Self::with_successors)
    /// takes them, and each window's last two observations (`histories[i]`, those its context encodes).
    /// Lists of another length than the windows' are [`RobotError::Demonstrations`].
    pub fn with_live_block(
        self,
        next: Vec<Option<usize>>,
        histories: Vec<[Obs; 2]>,
    ) -> Result<Self, RobotError> {
        if histories.len() != self.windows.len() {
            return Err(RobotError::Demonstrations(format!(
                "{} observation pairs for {} windows",
                histories.len(),
                self.windows.len()
            )));
        }
        self.check_links(&next)?;
        Ok(Self {
            live: Some(LiveLinks::Block(next, histories)),
            ..self
        })
    }

    /// The window whose context conditions the draw of window `i` at flow time `t`: `i` itself without
    /// successor links, else the one ⌊tT⌋ links on (fewer where the links end).
    pub fn context_window(&self, i: usize, t: f64) -> usize {
        let next = match &self.live {
            None => return i,
            Some(LiveLinks::Whole(next) | LiveLinks::Block(next, _)) => next,
        };
        let h = self.tube.horizon();
        let steps = ((t * h as f64).floor().max(0.0) as usize).min(h - 1);
        let mut k = i;
        for _ in 0..steps {
            match next[k] {
                Some(j) => k = j,
                None => break,
            }
        }
        k
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
            let wi = rng.random_range(0..self.windows.len());
            let w = &self.windows[wi];
            let ti: f64 = rng.random();
            t[i] = ti;
            let (p, v) = (w.path.at(ti), w.path.velocity(ti));
            m.set_column(i, &nalgebra::Vector2::from(p));
            dm.set_column(i, &nalgebra::Vector2::from(v));
            let k = self.context_window(wi, ti);
            match &self.live {
                None | Some(LiveLinks::Whole(_)) => {
                    ctx.set_column(i, &DVector::from_column_slice(&self.windows[k].context))
                }
                Some(LiveLinks::Block(_, h)) => {
                    let c = mixed_context(&h[wi], &h[k])
                        .map_err(|e| CoreError::Backend(e.to_string()))?;
                    ctx.set_column(i, &DVector::from_column_slice(&c));
                }
            }
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
