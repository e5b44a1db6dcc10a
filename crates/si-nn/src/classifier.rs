//! [`Classifier`]: a small convolutional classifier of images, the feature space of the Fréchet distance of
//! image samples and the judge of class-conditional samples (docs/design.md, "Images").
//!
//! ```text
//! h1 = relu(conv3×3(x))                      C → 16 maps, H × W
//! h2 = relu(conv3×3, stride 2 (h1))          16 → 32 maps, ⌈H/2⌉ × ⌈W/2⌉
//! f  = relu(W1 flatten(h2) + b1)             the features (`FEATURES` wide): the last hidden layer
//! logits = W2 f + b2
//! ```
//!
//! Trained by cross-entropy with Adam on minibatches drawn from the caller's seed; its weights start from
//! the same seeded initialisation as the field models (no process-wide generator).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Points};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::error::{NnError, Result};
use crate::model::{conv, linear};

/// Width of the feature layer.
pub const FEATURES: usize = 128;

/// How a [`Classifier`] is trained.
#[derive(Clone, Copy, Debug)]
pub struct ClassifierTraining {
    /// Adam steps.
    pub steps: usize,
    /// Images per step.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Seed of the minibatch draws.
    pub seed: u64,
}

/// The classifier of C × H × W images (points of dimension C·H·W, channel-major) into `classes`.
pub struct Classifier {
    vs: nn::VarStore,
    conv1: nn::Conv2D,
    conv2: nn::Conv2D,
    fc1: nn::Linear,
    fc2: nn::Linear,
    shape: [i64; 3],
    classes: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("shape", &self.shape)
            .field("classes", &self.classes)
            .finish()
    }
}

impl Classifier {
    /// A fresh classifier of `channels × height × width` images into `classes` (≥ 2), its weights drawn
    /// from `seed`.
    pub fn new(
        channels: usize,
        height: usize,
        width: usize,
        classes: usize,
        device: Device,
        seed: u64,
    ) -> Result<Self> {
        if channels == 0 || height == 0 || width == 0 || !(2..=1 << 16).contains(&classes) {
            return Err(NnError::InvalidHyperParameter {
                name: "classifier",
                reason: format!(
                    "images of {channels}x{height}x{width} into {classes} classes (sides ≥ 1, 2..=65536 classes)"
                ),
            });
        }
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let (c, h, w) = (channels as i64, height as i64, width as i64);
        let flat = 32 * height.div_ceil(2) * width.div_ceil(2);
        let conv1 = conv(&root / "conv1", channels, 16, 3, 1);
        let conv2 = conv(&root / "conv2", 16, 32, 3, 2);
        let fc1 = linear(&root / "fc1", flat, FEATURES);
        let fc2 = linear(&root / "fc2", FEATURES, classes);
        crate::model::init_weights(&vs, seed);
        Ok(Self {
            vs,
            conv1,
            conv2,
            fc1,
            fc2,
            shape: [c, h, w],
            classes,
        })
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    fn tensor(&self, x: &Points) -> Result<Tensor> {
        let d: i64 = self.shape.iter().product();
        if x.dim() as i64 != d || x.is_empty() {
            return Err(NnError::Shape {
                expected: format!(
                    "images of {}x{}x{} (points of dimension {d})",
                    self.shape[0], self.shape[1], self.shape[2]
                ),
                got: format!("{} points of dimension {}", x.len(), x.dim()),
            });
        }
        let values: Vec<f32> = x.as_slice().iter().map(|v| *v as f32).collect();
        Ok(Tensor::from_slice(&values)
            .reshape([x.len() as i64, self.shape[0], self.shape[1], self.shape[2]])
            .to_device(self.vs.device()))
    }

    fn features_of(&self, x: &Tensor) -> Tensor {
        let h = self.conv1.forward(x).relu();
        let h = self.conv2.forward(&h).relu();
        self.fc1.forward(&h.flatten(1, -1)).relu()
    }

    /// The features (the last hidden layer, [`FEATURES`] wide) of each image.
    pub fn features(&self, x: &Points) -> Result<Points> {
        let t = self.tensor(x)?;
        let f = tch::no_grad(|| self.features_of(&t))
            .to_kind(Kind::Double)
            .to_device(Device::Cpu);
        let v: Vec<f64> = Vec::try_from(f.reshape([-1]))?;
        Ok(Points::from_row_major(x.len(), FEATURES, &v)?)
    }

    /// The most probable class of each image.
    pub fn predict(&self, x: &Points) -> Result<Vec<usize>> {
        let t = self.tensor(x)?;
        let logits = tch::no_grad(|| self.fc2.forward(&self.features_of(&t)));
        let idx: Vec<i64> = Vec::try_from(logits.argmax(1, false).to_device(Device::Cpu))?;
        Ok(idx.into_iter().map(|i| i as usize).collect())
    }

    /// The fraction of images classified as their label.
    pub fn accuracy(&self, x: &Points, labels: &[usize]) -> Result<f64> {
        self.check_labels(x, labels)?;
        let p = self.predict(x)?;
        Ok(p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / labels.len() as f64)
    }

    fn check_labels(&self, x: &Points, labels: &[usize]) -> Result<()> {
        if labels.len() != x.len() {
            return Err(NnError::Shape {
                expected: format!("{} labels", x.len()),
                got: format!("{}", labels.len()),
            });
        }
        if let Some(l) = labels.iter().find(|l| **l >= self.classes) {
            return Err(NnError::Shape {
                expected: format!("labels in 0..{}", self.classes),
                got: format!("label {l}"),
            });
        }
        Ok(())
    }

    /// Trains by cross-entropy on (`x`, `labels`) with Adam: each step a minibatch of `batch` images drawn
    /// with replacement from the training seed; `augment` may change each drawn batch (e.g. a fresh
    /// dequantisation) before it is used. Returns the mean loss of each step.
    pub fn fit(
        &mut self,
        x: &Points,
        labels: &[usize],
        t: ClassifierTraining,
        augment: &mut dyn FnMut(Points, &mut ChaCha8Rng) -> Points,
    ) -> Result<Vec<f64>> {
        self.check_labels(x, labels)?;
        if t.steps == 0 || t.batch == 0 || !(t.lr.is_finite() && t.lr > 0.0) {
            return Err(NnError::InvalidHyperParameter {
                name: "classifier training",
                reason: format!(
                    "steps {}, batch {} (≥ 1) and lr {} (> 0)",
                    t.steps, t.batch, t.lr
                ),
            });
        }
        let mut opt = nn::Adam::default().build(&self.vs, t.lr)?;
        let mut rng = ChaCha8Rng::seed_from_u64(t.seed);
        let mut losses = Vec::with_capacity(t.steps);
        for _ in 0..t.steps {
            let idx: Vec<usize> = (0..t.batch).map(|_| rng.random_range(0..x.len())).collect();
            let xb = augment(x.select(&idx)?, &mut rng);
            let yb: Vec<i64> = idx.iter().map(|&i| labels[i] as i64).collect();
            let xt = self.tensor(&xb)?;
            let yt = Tensor::from_slice(&yb).to_device(self.vs.device());
            let loss = self
                .fc2
                .forward(&self.features_of(&xt))
                .cross_entropy_for_logits(&yt);
            opt.backward_step(&loss);
            losses.push(loss.double_value(&[]));
        }
        Ok(losses)
    }
}
