//! What a training run reports to and what it calls: [`TrainObserver`]s, called by `Trainer::run` after
//! every step, like si-integrate's observers are called by its driver, and [`TrainHook`]s, called before
//! every step (to refresh what the next step draws from, as SCSI's transported pool). Built in: a progress
//! bar ([`Progress`]), the loss log as CSV ([`CsvLog`]) and checkpoints ([`Checkpoints`]); a user's
//! observer can stop nothing but can read the run's [`TrainState`] (its step, its loss log, its model) at
//! every step.

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::Result;
use crate::train::checkpoint;
use crate::train::state::TrainState;

/// One moment of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrainEvent {
    /// The run starts at `start` steps done and will stop at `end`.
    Started {
        /// Steps done before the run.
        start: usize,
        /// Steps done when it stops.
        end: usize,
    },
    /// A step finished; `step` steps are done.
    Step {
        /// Steps done.
        step: usize,
    },
    /// The run finished with `step` steps done.
    Finished {
        /// Steps done.
        step: usize,
    },
}

/// Something a training run reports to.
pub trait TrainObserver {
    /// Called at the start, after every step and at the end, with the run's state at that moment.
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()>;
}

impl<F: FnMut(&TrainState, TrainEvent) -> Result<()>> TrainObserver for F {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        self(state, event)
    }
}

/// Something a training run calls before every step, with the state before that step: it may change what
/// the step's source draws (the source sees the change through its own shared state), never the model.
pub trait TrainHook {
    /// Called before each step; `state.step()` steps are done.
    fn before_step(&mut self, state: &TrainState) -> Result<()>;
}

/// An indicatif progress bar with the latest logged losses.
#[derive(Debug, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
    prefix: Option<String>,
}

impl Progress {
    /// A progress bar (drawn on standard error).
    pub fn new() -> Self {
        Self::default()
    }
    /// The bar's label (default `training`).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
}

impl TrainObserver for Progress {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        match event {
            TrainEvent::Started { start, end } => {
                let pb = ProgressBar::new(end.saturating_sub(start) as u64);
                pb.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} steps ({eta}) {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                pb.set_prefix(self.prefix.clone().unwrap_or_else(|| "training".into()));
                self.bar = Some(pb);
            }
            TrainEvent::Step { step } => {
                if let Some(pb) = &self.bar {
                    pb.inc(1);
                    if let Some(row) = state.log().last().filter(|r| r.step == step) {
                        let rounded: Vec<f64> =
                            row.losses.iter().map(|v| (v * 1e3).round() / 1e3).collect();
                        pb.set_message(format!("loss {rounded:?}"));
                    }
                }
            }
            TrainEvent::Finished { .. } => {
                if let Some(pb) = self.bar.take() {
                    pb.finish_and_clear();
                }
            }
        }
        Ok(())
    }
}

/// Writes a checkpoint every `every` steps (0: only at the end) and at the end of the run.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    /// The file (overwritten atomically each time).
    pub path: PathBuf,
    /// Steps between checkpoints (0: only at the end).
    pub every: usize,
}

/// Writes the loss log as CSV every `every` steps (0: only at the end) and at the end of the run.
#[derive(Clone, Debug)]
pub struct CsvLog {
    /// The file (overwritten atomically each time).
    pub path: PathBuf,
    /// Steps between writes (0: only at the end).
    pub every: usize,
}

fn due(event: TrainEvent, every: usize) -> bool {
    match event {
        TrainEvent::Step { step } => every > 0 && step.is_multiple_of(every),
        TrainEvent::Finished { .. } => true,
        TrainEvent::Started { .. } => false,
    }
}

impl TrainObserver for Checkpoints {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        if due(event, self.every) {
            checkpoint::write_state(&self.path, state)?;
            tracing::debug!(step = state.step(), path = %self.path.display(), "checkpoint");
        }
        Ok(())
    }
}

impl TrainObserver for CsvLog {
    fn observe(&mut self, state: &TrainState, event: TrainEvent) -> Result<()> {
        if due(event, self.every) {
            checkpoint::write_loss_csv(&self.path, state)?;
        }
        Ok(())
    }
}
