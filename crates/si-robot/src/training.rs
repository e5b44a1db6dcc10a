//! Training a policy's model (feature `nn`, libtorch through si-nn): the recipe's model and targets
//! ([`PolicyKind::model`], [`PolicyKind::training_source`]) fitted by si-nn's trainer, the checkpoint and the
//! sidecar written beside it. The one training path of the `si policy train` command and figure 15.

use std::path::{Path, PathBuf};

use si_nn::train::load_model;
use si_nn::{
    CsvLog, LrSchedule, TrainConfig, TrainEvent, TrainObserver, TrainState, Trainer, Uploaded,
};
use si_pusht::TrainingData;

use crate::error::RobotError;
use crate::recipe::{PolicyKind, PolicyMeta};
use crate::source::LiveLinks;
use crate::streaming::ContextMode;
use crate::tube::Tube;
use crate::windows::{data_windows, histories, successors, Window};

/// What a policy is trained on and with.
#[derive(Clone, Copy, Debug)]
pub struct PolicyTraining<'a> {
    /// The training files: demonstrations or expert-labelled states (si-pusht's `TrainingData`), their
    /// windows pooled.
    pub data: &'a [PathBuf],
    /// Start from this policy checkpoint's (EMA) weights instead of fresh ones (DAgger's rounds); its
    /// model must be the one this training builds.
    pub warm_start: Option<&'a Path>,
    /// The policy family.
    pub kind: PolicyKind,
    /// Which observations condition the field between re-anchors (streaming kinds; kept in the sidecar).
    pub context: ContextMode,
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
    /// Files read.
    pub files: usize,
    /// Training windows cut from them.
    pub windows: usize,
    /// Windows whose state has a successor in its episode (the links a live context follows).
    pub linked: usize,
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
    let (w, next, hist) = pooled_windows(a.data, tube.horizon())?;
    let n_windows = w.len();
    let linked = next.iter().flatten().count();
    let m = a.kind.model(tube.horizon(), a.width, a.depth);
    let live = match a.context {
        ContextMode::Anchor => None,
        ContextMode::Live => Some(LiveLinks::Whole(next)),
        ContextMode::LiveBlock => Some(LiveLinks::Block(next, hist)),
    };
    let targets = a.kind.training_source(w, tube, live)?;
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
    let mut trainer = match a.warm_start {
        None => Trainer::new(m.check()?, t.check()?, device)?,
        Some(init) => {
            let (net, _, _) = load_model(init, device)?;
            if *net.params() != m.clone().check()? {
                return Err(RobotError::Demonstrations(format!(
                    "{} holds another model than this training builds",
                    init.display()
                )));
            }
            Trainer::warm_start(&net, t.check()?)?
        }
    };
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
    let mut meta = PolicyMeta::new(a.kind, tube, a.data);
    meta.warm_start = a.warm_start.map(|p| p.display().to_string());
    meta.context = a.context;
    meta.write(a.out)?;
    Ok(TrainingSummary {
        files: a.data.len(),
        windows: n_windows,
        linked,
        steps: trainer.steps_done(),
    })
}

/// The windows of every file in `data`, in order, their successor links along their episodes
/// ([`successors`], indices into the pooled list; a link never crosses files) and their two observations
/// ([`histories`]). No file is an error.
#[allow(clippy::type_complexity)]
pub fn pooled_windows(
    data: &[PathBuf],
    horizon: usize,
) -> Result<(Vec<Window>, Vec<Option<usize>>, Vec<[si_pusht::Obs; 2]>), RobotError> {
    if data.is_empty() {
        return Err(RobotError::Demonstrations("no training file".into()));
    }
    let mut all = Vec::new();
    let mut next = Vec::new();
    let mut hist = Vec::new();
    for path in data {
        let file = TrainingData::read(path)?;
        let offset = all.len();
        all.extend(data_windows(&file, horizon)?);
        next.extend(successors(&file).into_iter().map(|j| j.map(|j| j + offset)));
        hist.extend(histories(&file));
    }
    Ok((all, next, hist))
}
