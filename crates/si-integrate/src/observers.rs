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
