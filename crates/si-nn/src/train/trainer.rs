//! The training loop: one [`Trainer::step`] = one draw of a [`TargetSource`], the losses of every head,
//! backward, clipping, Adam, EMA. Every step's randomness comes from a generator keyed by (seed, step), so a
//! run resumed from a checkpoint makes the same batches as an uninterrupted one. [`Trainer::run`] reports to
//! [`TrainObserver`]s (progress bar, CSV log, checkpoints), as si-integrate's driver reports to its observers,
//! and calls [`TrainHook`]s before every step. The state it changes is a [`TrainState`]; checkpoint files
//! are read and written by `checkpoint`.

use std::path::Path;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Interpolant, TargetSource};
use tch::{Device, Kind, Tensor};

use crate::batch::TensorBatch;
use crate::error::{NnError, Result};
use crate::loss::{BatchSpec, LossBatch};
use crate::model::{FieldNet, ModelParams};
use crate::train::checkpoint;
use crate::train::checkpoint::write_loss_csv;
use crate::train::config::TrainParams;
use crate::train::observe::{TrainEvent, TrainHook, TrainObserver};
use crate::train::optim::{clip_grad_norm, ema_update, zero_grad};
use crate::train::state::{LossRow, TrainState};

/// A model under training with its optimiser state: a [`TrainState`] and the step that changes it.
pub struct Trainer {
    state: TrainState,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("step", &self.state.step)
            .field("net", &self.state.net)
            .finish()
    }
}

impl Trainer {
    /// A fresh model (weights from `train.seed`) on `device`.
    pub fn new(model: ModelParams, train: TrainParams, device: Device) -> Result<Self> {
        Ok(Self {
            state: TrainState::new(model, train, device),
        })
    }

    /// A fresh run (new optimiser state, schedule and loss log, step 0) whose model, and EMA model if
    /// `train` asks for one, start from the weights of `net`: the next round of reflow, or a fine-tuning run.
    pub fn warm_start(net: &FieldNet, train: TrainParams) -> Result<Self> {
        let t = Self::new(net.params().clone(), train, net.device())?;
        let source: std::collections::HashMap<String, Tensor> =
            net.named_parameters().into_iter().collect();
        let s = &t.state;
        tch::no_grad(|| {
            for (i, name) in s.names.iter().enumerate() {
                let src = &source[name];
                s.params[i].shallow_clone().copy_(src);
                if let Some(e) = s.ema_params.get(i) {
                    e.shallow_clone().copy_(src);
                }
            }
        });
        Ok(t)
    }

    /// The run's state, read-only (what observers and hooks see).
    pub fn state(&self) -> &TrainState {
        &self.state
    }
    /// Steps done.
    pub fn steps_done(&self) -> usize {
        self.state.step()
    }
    /// The model being trained.
    pub fn net(&self) -> &FieldNet {
        self.state.net()
    }
    /// The EMA model if there is one, else the model: the one to sample from.
    pub fn sampling_net(&self) -> &FieldNet {
        self.state.sampling_net()
    }
    /// The interpolant of the source trained on (stored in checkpoints), once a step has been made.
    pub fn interpolant(&self) -> Option<&Interpolant> {
        self.state.interpolant()
    }
    /// The training parameters.
    pub fn train_params(&self) -> &TrainParams {
        self.state.train_params()
    }
    /// The loss log.
    pub fn log(&self) -> &[LossRow] {
        self.state.log()
    }

    fn batch_spec(&self) -> BatchSpec {
        BatchSpec {
            antithetic: self.state.train.antithetic,
            context_dropout: self.state.train.context_dropout,
        }
    }

    /// The generator of step `step`: ChaCha8 seeded with the run's seed, stream `step`.
    fn step_rng(&self, step: usize) -> ChaCha8Rng {
        let mut r = ChaCha8Rng::seed_from_u64(self.state.train.seed);
        r.set_stream(step as u64);
        r
    }

    /// One optimisation step on a draw of `train.batch` rows from `source`.
    pub fn step(&mut self, source: &dyn TargetSource<TensorBatch>) -> Result<()> {
        let p = self.state.net.params();
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
            if self.state.interpolant.is_none() {
                self.state.interpolant = Some(it.clone());
            }
        }
        let mut rng = self.step_rng(self.state.step);
        let draw = source.draw(self.state.train.batch, &mut rng)?;
        let batch = LossBatch::new(&draw, &self.batch_spec(), rng.next_u64())?;
        let ctx = batch.model_context();
        let outs = self.state.net.forward(&batch.t, &batch.xt, ctx.as_ref())?;
        let losses: Vec<Tensor> = p
            .heads
            .iter()
            .zip(&outs)
            .map(|(h, o)| batch.loss(*h, o))
            .collect();
        let stacked = Tensor::stack(&losses, 0);
        let total = stacked.sum(Kind::Float);
        zero_grad(&mut self.state.params);
        total.backward();
        if let Some(c) = self.state.train.clip_grad_norm {
            clip_grad_norm(&self.state.params, c);
        }
        let lr = self.state.train.lr_at(self.state.step);
        self.state
            .adam
            .step(&mut self.state.params, lr, self.state.step + 1);
        if let Some(decay) = self.state.train.ema_decay {
            ema_update(&mut self.state.ema_params, &self.state.params, decay);
        }
        tch::no_grad(|| {
            let _ = self.state.loss_acc.g_add_(&stacked.detach());
        });
        self.state.acc_count += 1;
        self.state.step += 1;
        if self.state.step.is_multiple_of(self.state.train.log_every)
            || self.state.step == self.state.train.steps
        {
            let mean = Vec::<f32>::try_from(&self.state.loss_acc / self.state.acc_count as f64)?;
            if mean.iter().any(|v| !v.is_finite()) {
                return Err(NnError::NonFiniteLoss {
                    step: self.state.step,
                });
            }
            let row = LossRow {
                step: self.state.step,
                lr,
                losses: mean.iter().map(|&v| v as f64).collect(),
            };
            tracing::debug!(step = row.step, lr, losses = ?row.losses, "loss");
            self.state.log.push(row);
            let _ = self.state.loss_acc.zero_();
            self.state.acc_count = 0;
        }
        Ok(())
    }

    /// Trains until `train.steps`, reporting to `observers`.
    pub fn run(
        &mut self,
        source: &dyn TargetSource<TensorBatch>,
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        self.run_with(source, self.state.train.steps, &mut [], observers)
    }

    /// Trains until `end` steps in total (at most `train.steps`), reporting to `observers`: `Started`, then
    /// `Step` after every step, then `Finished`.
    pub fn run_until(
        &mut self,
        source: &dyn TargetSource<TensorBatch>,
        end: usize,
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        self.run_with(source, end, &mut [], observers)
    }

    /// [`Trainer::run_until`] with `hooks` called before every step (in order, with the state before the
    /// step), then the step on `source`, then the observers (in order).
    pub fn run_with(
        &mut self,
        source: &dyn TargetSource<TensorBatch>,
        end: usize,
        hooks: &mut [&mut dyn TrainHook],
        observers: &mut [&mut dyn TrainObserver],
    ) -> Result<()> {
        let end = end.min(self.state.train.steps);
        let start = self.state.step;
        for o in observers.iter_mut() {
            o.observe(&self.state, TrainEvent::Started { start, end })?;
        }
        while self.state.step < end {
            for h in hooks.iter_mut() {
                h.before_step(&self.state)?;
            }
            self.step(source)?;
            for o in observers.iter_mut() {
                o.observe(
                    &self.state,
                    TrainEvent::Step {
                        step: self.state.step,
                    },
                )?;
            }
        }
        for o in observers.iter_mut() {
            o.observe(
                &self.state,
                TrainEvent::Finished {
                    step: self.state.step,
                },
            )?;
        }
        if let Some(row) = self.state.log.last() {
            tracing::info!(step = self.state.step, losses = ?row.losses, "training done");
        }
        Ok(())
    }

    /// The loss log as CSV: `step,lr,loss_<head>...`.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        write_loss_csv(path, &self.state)
    }

    /// Writes a checkpoint (weights, EMA weights, Adam moments, loss log) atomically
    /// ([`checkpoint::write_state`]).
    pub fn save(&self, path: &Path) -> Result<()> {
        checkpoint::write_state(path, &self.state)
    }

    /// Continues a run from a checkpoint written by [`Trainer::save`] ([`checkpoint::read_state`]).
    pub fn resume(path: &Path, device: Device) -> Result<Self> {
        Ok(Self {
            state: checkpoint::read_state(path, device)?,
        })
    }
}
