//! Training a policy's model (feature `nn`, libtorch through si-nn): the recipe's model and targets
//! ([`PolicyKind::model`], [`PolicyKind::training_source`]) fitted by si-nn's trainer, the checkpoint and the
//! sidecar written beside it. The one training path of the `si policy train` command and figure 15.

use std::path::Path;

use si_nn::{
    CsvLog, LrSchedule, TrainConfig, TrainEvent, TrainObserver, TrainState, Trainer, Uploaded,
};
use si_pusht::Demonstrations;

use crate::error::RobotError;
use crate::recipe::{PolicyKind, PolicyMeta};
use crate::tube::Tube;
use crate::windows::windows;

/// What a policy is trained on and with.
#[derive(Clone, Copy, Debug)]
pub struct PolicyTraining<'a> {
    /// The demonstrations file.
    pub demos: &'a Path,
    /// The policy family.
    pub kind: PolicyKind,
    /// The checkpoint to write; the sidecar goes beside it, the loss log (CSV, every 500 steps) too.
    pub out: &'a Path,
    /// The tube (for the chunked kind only its horizon matters).
    pub tube: Tube,
    /// Width of the MLP.
    pub width: usize,
    /// Hidden layers of the MLP.
    pub depth: usize,
    /// Optimiser steps.
    pub steps: usize,
    /// Batch size.
    pub batch: usize,
    /// Peak learning rate (a cosine schedule down to 1 % of it).
    pub lr: f64,
    /// EMA decay of the weights.
    pub ema: f64,
    /// Training seed.
    pub seed: u64,
}

/// What a finished training reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingSummary {
    /// Demonstrated episodes read.
    pub episodes: usize,
    /// Training windows cut from them.
    pub windows: usize,
    /// Optimiser steps done.
    pub steps: usize,
}

/// Trains the policy `a` describes on `device`, reporting to `observers` besides the loss log, and writes its
/// checkpoint and sidecar.
pub fn train_policy(
    a: &PolicyTraining<'_>,
    device: tch::Device,
    observers: &mut [&mut dyn TrainObserver],
) -> Result<TrainingSummary, RobotError> {
    let tube = a.tube;
    let demos = Demonstrations::read(a.demos)?;
    let w = windows(&demos, tube.horizon())?;
    let (episodes, n_windows) = (demos.episodes(), w.len());
    let m = a.kind.model(tube.horizon(), a.width, a.depth);
    let targets = a.kind.training_source(w, tube)?;
    let source = Uploaded::new(targets.as_ref(), device);
    let mut t = TrainConfig::new(a.steps);
    t.batch = a.batch;
    t.lr = a.lr;
    t.schedule = LrSchedule::Cosine {
        min_lr: a.lr * 0.01,
    };
    t.ema_decay = Some(a.ema);
    t.antithetic = false;
    t.seed = a.seed;
    let mut trainer = Trainer::new(m.check()?, t.check()?, device)?;
    let mut log = CsvLog {
        path: a.out.with_extension("csv"),
        every: 500,
    };
    // the loss log first, then the caller's observers, in their order
    let mut callers = |state: &TrainState, event: TrainEvent| -> si_nn::Result<()> {
        observers
            .iter_mut()
            .try_for_each(|o| o.observe(state, event))
    };
    trainer.run(&source, &mut [&mut log, &mut callers])?;
    trainer.save(a.out)?;
    PolicyMeta::new(a.kind, tube, a.demos).write(a.out)?;
    Ok(TrainingSummary {
        episodes,
        windows: n_windows,
        steps: trainer.steps_done(),
    })
}
