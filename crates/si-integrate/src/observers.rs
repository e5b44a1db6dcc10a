//! Ready-made observers: a progress bar and trajectory capture.

use indicatif::{ProgressBar, ProgressStyle};
use si_core::{Batch, Points};

use crate::driver::Observer;
use crate::error::Result;
use crate::grid::TimeGrid;

/// An indicatif progress bar over the steps.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar labelled `message` (hidden when stderr is not a terminal).
    pub fn new(message: impl Into<String>) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} steps ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(message.into());
        Self { bar }
    }
}

impl<B: Batch> Observer<B> for Progress {
    fn start(&mut self, grid: &TimeGrid, _x: &B) -> Result<()> {
        self.bar.set_length(grid.steps() as u64);
        Ok(())
    }
    fn step(&mut self, _k: usize, _t: f64, _x: &B) -> Result<()> {
        self.bar.inc(1);
        Ok(())
    }
    fn finish(&mut self, _x: &B) -> Result<()> {
        self.bar.finish_and_clear();
        Ok(())
    }
}

/// Records the state (copied to host memory) every `every` steps, with the initial state.
#[derive(Clone, Debug)]
pub struct Trajectory {
    every: usize,
    /// Recorded times.
    pub times: Vec<f64>,
    /// Recorded states.
    pub states: Vec<Points>,
}

impl Trajectory {
    /// Records every `every` steps (at least 1), plus the first and last state.
    pub fn every(every: usize) -> Self {
        Self {
            every: every.max(1),
            times: Vec::new(),
            states: Vec::new(),
        }
    }
}

impl<B: Batch> Observer<B> for Trajectory {
    fn start(&mut self, grid: &TimeGrid, x: &B) -> Result<()> {
        self.times.push(grid.start());
        self.states.push(x.to_points()?);
        Ok(())
    }
    fn step(&mut self, k: usize, t: f64, x: &B) -> Result<()> {
        if k.is_multiple_of(self.every) {
            self.times.push(t);
            self.states.push(x.to_points()?);
        }
        Ok(())
    }
    fn finish(&mut self, _x: &B) -> Result<()> {
        Ok(())
    }
}

/// The straightness of the simulated paths (Liu et al. 2022, arXiv 2209.03003, Definition 3.5),
///
/// ```text
/// S(Z) = ∫ E|(Z1 − Z0)/T − Ż_t|² dt = ∫ E|Ż_t|² dt − E|Z1 − Z0|²/T      (T: the length of the time span),
/// ```
///
/// zero exactly when every path is a straight line run at constant speed. Ż_t on each step is the step's
/// chord velocity (Z_{t+h} − Z_t)/h, so the observer keeps one running sum per path and no trajectory; on a
/// grid of steps h the value is the straightness of the piecewise-linear path (it converges to S(Z) as h → 0
/// for the integrator's own paths). The second form follows from Σ h v_k = Z1 − Z0. The state is copied to
/// host memory every step. Several integrations (e.g. chunks of one batch) append their paths.
#[derive(Clone, Debug, Default)]
pub struct Straightness {
    start: Option<Points>,
    prev: Option<Points>,
    t_prev: f64,
    span: f64,
    speed2: Vec<f64>,
    per_path: Vec<f64>,
    displacement2: Vec<f64>,
}

impl Straightness {
    /// An observer with no paths yet.
    pub fn new() -> Self {
        Self::default()
    }
    /// S of every path observed so far (its mean is S(Z)).
    pub fn per_path(&self) -> &[f64] {
        &self.per_path
    }
    /// |Z1 − Z0|² of every path observed so far.
    pub fn displacements(&self) -> &[f64] {
        &self.displacement2
    }
    /// S(Z): the mean of [`per_path`](Self::per_path) (NaN before any path).
    pub fn value(&self) -> f64 {
        self.per_path.iter().sum::<f64>() / self.per_path.len() as f64
    }
    /// E|Z1 − Z0|² (NaN before any path).
    pub fn mean_displacement(&self) -> f64 {
        self.displacement2.iter().sum::<f64>() / self.displacement2.len() as f64
    }
}

impl<B: Batch> Observer<B> for Straightness {
    fn start(&mut self, grid: &TimeGrid, x: &B) -> Result<()> {
        let p = x.to_points()?;
        self.speed2 = vec![0.0; p.len()];
        self.t_prev = grid.start();
        self.span = (grid.end() - grid.start()).abs();
        self.start = Some(p.clone());
        self.prev = Some(p);
        Ok(())
    }
    fn step(&mut self, _k: usize, t: f64, x: &B) -> Result<()> {
        let p = x.to_points()?;
        let h = (t - self.t_prev).abs();
        if let Some(prev) = &self.prev {
            for (i, s) in self.speed2.iter_mut().enumerate() {
                *s += (p.point(i) - prev.point(i)).norm_squared() / h;
            }
        }
        self.t_prev = t;
        self.prev = Some(p);
        Ok(())
    }
    fn finish(&mut self, _x: &B) -> Result<()> {
        // the last step already copied the final state to the host
        if let (Some(start), Some(end)) = (self.start.take(), self.prev.take()) {
            for (i, s) in self.speed2.iter().enumerate() {
                let d2 = (end.point(i) - start.point(i)).norm_squared();
                self.per_path.push(s - d2 / self.span);
                self.displacement2.push(d2);
            }
        }
        Ok(())
    }
}
