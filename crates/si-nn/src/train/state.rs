//! The state of a training run: the model (and its EMA copy), Adam's moments, the step, the loss log. The
//! trainer owns one [`TrainState`] and changes it one step at a time; observers and hooks see it read-only,
//! and checkpoints are written from it and read back into it (`checkpoint`).

use serde::{Deserialize, Serialize};
use si_core::Interpolant;
use tch::{Device, Kind, Tensor};

use crate::model::{FieldNet, ModelParams};
use crate::train::config::TrainParams;
use crate::train::optim::Adam;

/// One row of the loss log: the mean of each head's loss over `log_every` steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossRow {
    /// Steps done when the row was written.
    pub step: usize,
    /// Learning rate of the last step.
    pub lr: f64,
    /// Mean loss of each head, in the model's head order.
    pub losses: Vec<f64>,
}

/// Everything a run has learned and counted so far. Read-only outside the crate: [`crate::Trainer`] steps
/// it, `checkpoint` writes and reads it.
pub struct TrainState {
    pub(crate) net: FieldNet,
    pub(crate) ema: Option<FieldNet>,
    /// The weights of `net`, in `names` order (shallow clones: updating them updates the model).
    pub(crate) params: Vec<Tensor>,
    pub(crate) names: Vec<String>,
    /// The weights of `ema`, in the same order (empty without EMA).
    pub(crate) ema_params: Vec<Tensor>,
    pub(crate) adam: Adam,
    pub(crate) interpolant: Option<Interpolant>,
    pub(crate) train: TrainParams,
    pub(crate) step: usize,
    pub(crate) log: Vec<LossRow>,
    /// The sum of each head's loss since the last log row.
    pub(crate) loss_acc: Tensor,
    /// Steps summed in `loss_acc`.
    pub(crate) acc_count: usize,
}

impl std::fmt::Debug for TrainState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainState")
            .field("step", &self.step)
            .field("net", &self.net)
            .finish()
    }
}

impl TrainState {
    /// A fresh model (weights from `train.seed`; the EMA model, if `train` asks for one, a copy) on
    /// `device`, zero moments, step 0.
    pub(crate) fn new(model: ModelParams, train: TrainParams, device: Device) -> Self {
        let net = FieldNet::new(model.clone(), device, train.seed);
        let (names, params): (Vec<String>, Vec<Tensor>) =
            net.named_parameters().into_iter().unzip();
        let ema = train
            .ema_decay
            .map(|_| FieldNet::new(model.clone(), device, train.seed));
        let ema_params: Vec<Tensor> = match &ema {
            Some(e) => {
                let ps: Vec<Tensor> = e.named_parameters().into_iter().map(|(_, t)| t).collect();
                tch::no_grad(|| {
                    for (mut e, p) in ps.iter().map(|t| t.shallow_clone()).zip(&params) {
                        e.copy_(p);
                    }
                });
                ps
            }
            None => Vec::new(),
        };
        let adam = Adam::new(&params, train.betas, train.adam_eps);
        let heads = model.heads.len() as i64;
        Self {
            net,
            ema,
            params,
            names,
            ema_params,
            adam,
            interpolant: None,
            train,
            step: 0,
            log: Vec::new(),
            loss_acc: Tensor::zeros([heads], (Kind::Float, device)),
            acc_count: 0,
        }
    }

    /// Steps done.
    pub fn step(&self) -> usize {
        self.step
    }
    /// The model being trained.
    pub fn net(&self) -> &FieldNet {
        &self.net
    }
    /// The EMA model if there is one, else the model: the one to sample from.
    pub fn sampling_net(&self) -> &FieldNet {
        self.ema.as_ref().unwrap_or(&self.net)
    }
    /// The interpolant of the source trained on (stored in checkpoints), once a step has been made.
    pub fn interpolant(&self) -> Option<&Interpolant> {
        self.interpolant.as_ref()
    }
    /// The training parameters.
    pub fn train_params(&self) -> &TrainParams {
        &self.train
    }
    /// The loss log.
    pub fn log(&self) -> &[LossRow] {
        &self.log
    }
    /// The latest loss-log row, if one has been written.
    pub fn last_row(&self) -> Option<&LossRow> {
        self.log.last()
    }
    /// The learning rate of the last step (of the first step before any).
    pub fn lr(&self) -> f64 {
        self.train.lr_at(self.step.saturating_sub(1))
    }

    /// The loss log as CSV text: `step,lr,loss_<head>...`, one row per log row.
    pub fn loss_csv(&self) -> String {
        let mut s = String::from("step,lr");
        for h in &self.net.params().heads {
            s.push_str(&format!(",loss_{}", h.name()));
        }
        s.push('\n');
        for r in &self.log {
            s.push_str(&format!("{},{:e}", r.step, r.lr));
            for v in &r.losses {
                s.push_str(&format!(",{v:.6}"));
            }
            s.push('\n');
        }
        s
    }
}
