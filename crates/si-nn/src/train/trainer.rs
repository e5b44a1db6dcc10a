//! The training loop: one [`Trainer::step`] = one draw of a [`TargetSource`], the losses of every head,
//! backward, clipping, Adam, EMA. Every step's randomness comes from a generator keyed by (seed, step), so a
//! run resumed from a checkpoint makes the same batches as an uninterrupted one. [`Trainer::run`] reports to
//! [`TrainObserver`]s (progress bar, CSV log, checkpoints), as si-integrate's driver reports to its observers.

use std::path::Path;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Interpolant, TargetSource};
use si_data::write_atomic;
use tch::{Device, Kind, Tensor};

use crate::batch::TensorBatch;
use crate::error::{NnError, Result};
use crate::loss::{BatchSpec, LossBatch};
use crate::model::{FieldNet, ModelParams};
use crate::train::checkpoint::{self, CheckpointMeta, LossRow, FORMAT};
use crate::train::config::TrainParams;
use crate::train::observe::{TrainEvent, TrainObserver};
use crate::train::optim::{clip_grad_norm, ema_update, zero_grad, Adam};

/// A model under training with its optimiser state.
pub struct Trainer {
    net: FieldNet,
    ema: Option<FieldNet>,
    params: Vec<Tensor>,
    names: Vec<String>,
    ema_params: Vec<Tensor>,
    adam: Adam,
    interpolant: Option<Interpolant>,
    train: TrainParams,
    step: usize,
    log: Vec<LossRow>,
    loss_acc: Tensor,
    acc_count: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.step)
            .field("net", &self.net)
            .finish()
    }
}

impl Trainer {
    /// A fresh model (weights from `train.seed`) on `device`.
    pub fn new(model: ModelParams, train: TrainParams, device: Device) -> Result<Self> {
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
        Ok(Self {
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
        })
    }

    /// A fresh run (new optimiser state, schedule and loss log, step 0) whose model, and EMA model if
    /// `train` asks for one, start from the weights of `net`: the next round of reflow, or a fine-tuning run.
    pub fn warm_start(net: &FieldNet, train: TrainParams) -> Result<Self> {
        let t = Self::new(net.params().clone(), train, net.device())?;
        let source: std::collections::HashMap<String, Tensor> =
            net.named_parameters().into_iter().collect();
        tch::no_grad(|| {
            for (i, name) in t.names.iter().enumerate() {
                let src = &source[name];
                t.params[i].shallow_clone().copy_(src);
                if let Some(e) = t.ema_params.get(i) {
                    e.shallow_clone().copy_(src);
                }
            }
        });
        Ok(t)
    }

    /// Steps done.
    pub fn steps_done(&self) -> usize {
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

    fn batch_spec(&self) -> BatchSpec {
        BatchSpec {
            antithetic: self.train.antithetic,
            context_dropout: self.train.context_dropout,
        }
    }

    /// The generator of step `step`: ChaCha8 seeded with the run's seed, stream `step`.
    fn step_rng(&self, step: usize) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::seed_from_u64(self.train.seed);
        r.set_stream(step as u64);
        r
    }

    /// One optimisation step on a draw of `train.batch` rows from `source`.
    pub fn step(&mut self, source: &dyn TargetSource<TensorBatch>) -> Result<()> {
        let p = self.net.params();
        let data = source;
        if data.dim() != p.dim || data.context_dim() != p.context_dim {
            return Err(NnError::Shape {
                expected: format!("data of dimension {} with context {}", p.dim, p.context_dim),
                got: format!(
                    "dimension {} with context {}",
                    data.dim(),
                    data.context_dim()
                ),
            });
        }
        if let Some(it) = source.interpolant() {
            if self.interpolant.is_none() {
                self.interpolant = Some(it.clone());
            }
        }
        let mut rng = self.step_rng(self.step);
        let draw = source.draw(self.train.batch, &mut rng)?;
        let batch = LossBatch::new(&draw, &self.batch_spec(), rng.next_u64())?;
        let ctx = batch.model_context();
        let outs = self.net.forward(&batch.t, &batch.xt, ctx.as_ref())?;
        let losses: Vec<Tensor> = p
            .heads
            .iter()
            .zip(&outs)
            .map(|(h, o)| batch.loss(*h, o))
            .collect();
        let stacked = Tensor::stack(&losses, 0);
        let total = stacked.sum(Kind::Float);
        zero_grad(&mut self.params);
        total.backward();
        if let Some(c) = self.train.clip_grad_norm {
            clip_grad_norm(&self.params, c);
        }
        let lr = self.train.lr_at(self.step);
        self.adam.step(&mut self.params, lr, self.step + 1);
        if let Some(decay) = self.train.ema_decay {
            ema_update(&mut self.ema_params, &self.params, decay);
        }
        tch::no_grad(|| {
            let _ = self.loss_acc.g_add_(&stacked.detach());
        });
        self.acc_count += 1;
        self.step += 1;
        if self.step.is_multiple_of(self.train.log_every) || self.step == self.train.steps {
            let mean = Vec::<f32>::try_from(&self.loss_acc / self.acc_count as f64)?;
            if mean.iter().any(|v| !v.is_finite()) {
                return Err(NnError::NonFiniteLoss { step: self.step });
            }
            let row = LossRow {
                step: self.step,
                lr,
                losses: mean.iter().map(|&v| v as f64).collect(),
            };
            tracing::debug!(step = row.step, lr, losses = ?row.losses, "loss");
            self.log.push(row);
            let _ = self.loss_acc.zero_();
            self.acc_count = 0;
        }
        Ok(())
    }

    /// Trains until `train.steps`, reporting to `observers`.
    pub fn run(
        &mut self,
        source: &dyn TargetSource<TensorBatch>,
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        self.run_until(source, self.train.steps, observers)
    }

    /// Trains until `end` steps in total (at most `train.steps`), reporting to `observers`: `Started`, then
    /// `Step` after every step, then `Finished`.
    pub fn run_until(
        &mut self,
        source: &dyn TargetSource<TensorBatch>,
        end: usize,
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        let end = end.min(self.train.steps);
        let start = self.step;
        for o in observers.iter_mut() {
            o.observe(self, TrainEvent::Started { start, end })?;
        }
        while self.step < end {
            self.step(source)?;
            for o in observers.iter_mut() {
                o.observe(self, TrainEvent::Step { step: self.step })?;
            }
        }
        for o in observers.iter_mut() {
            o.observe(self, TrainEvent::Finished { step: self.step })?;
        }
        if let Some(row) = self.log.last() {
            tracing::info!(step = self.step, losses = ?row.losses, "training done");
        }
        Ok(())
    }

    /// The loss log as CSV: `step,lr,loss_<head>...`.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
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
        Ok(write_atomic(path, s.as_bytes())?)
    }

    /// Writes a checkpoint (weights, EMA weights, Adam moments, loss log) atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: Vec<(String, Tensor)> = Vec::new();
        for (i, name) in self.names.iter().enumerate() {
            tensors.push((name.clone(), self.params[i].shallow_clone()));
            if let Some(e) = self.ema_params.get(i) {
                tensors.push((format!("ema.{name}"), e.shallow_clone()));
            }
            tensors.push((format!("adam_m.{name}"), self.adam.m[i].shallow_clone()));
            tensors.push((format!("adam_v.{name}"), self.adam.v[i].shallow_clone()));
        }
        tensors.push(("state.loss_acc".into(), self.loss_acc.shallow_clone()));
        let meta = CheckpointMeta {
            format: FORMAT.into(),
            model: self.net.params().config().clone(),
            interpolant: self.interpolant.clone(),
            train: self.train.config().clone(),
            step: self.step,
            acc_count: self.acc_count,
            log: self.log.clone(),
        };
        checkpoint::save(path, &meta, &tensors)
    }

    /// Continues a run from a checkpoint written by [`Trainer::save`].
    pub fn resume(path: &Path, device: Device) -> Result<Self> {
        let (meta, tensors) = checkpoint::load(path)?;
        let model = meta.model.clone().check()?;
        checkpoint::check_size(path, &model, &tensors)?;
        let train = meta.train.clone().check()?;
        let mut t = Self::new(model, train, device)?;
        t.interpolant = meta.interpolant.clone();
        for i in 0..t.names.len() {
            let name = t.names[i].clone();
            checkpoint::copy_into(path, &tensors, &name, &mut t.params[i])?;
            if let Some(e) = t.ema_params.get_mut(i) {
                checkpoint::copy_into(path, &tensors, &format!("ema.{name}"), e)?;
            }
            checkpoint::copy_into(path, &tensors, &format!("adam_m.{name}"), &mut t.adam.m[i])?;
            checkpoint::copy_into(path, &tensors, &format!("adam_v.{name}"), &mut t.adam.v[i])?;
        }
        checkpoint::copy_into(path, &tensors, "state.loss_acc", &mut t.loss_acc)?;
        t.step = meta.step;
        t.acc_count = meta.acc_count;
        t.log = meta.log;
        Ok(t)
    }
}

/// Loads only the model (EMA weights when present) from a checkpoint, for sampling, with the interpolant it
/// was trained for.
pub fn load_model(
    path: &Path,
    device: Device,
) -> Result<(FieldNet, Option<Interpolant>, CheckpointMeta)> {
    let (meta, tensors) = checkpoint::load(path)?;
    let model = meta.model.clone().check()?;
    checkpoint::check_size(path, &model, &tensors)?;
    let net = FieldNet::new(model, device, 0);
    let use_ema = tensors.keys().any(|k| k.starts_with("ema."));
    for (name, mut p) in net.named_parameters() {
        let key = if use_ema { format!("ema.{name}") } else { name };
        checkpoint::copy_into(path, &tensors, &key, &mut p)?;
    }
    let it = meta.interpolant.clone();
    Ok((net, it, meta))
}
