//! [`FieldNet`]: the MLP that estimates b, s, η and/or v at (t, x | c).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use si_model::format;

use super::unet::UNet;
use crate::error::{NnError, Result};
use crate::model::{Activation, Head, ModelParams};

/// Layers are created with zeros, so that building a model never draws from libtorch's process-wide
/// generator; [`FieldNet::new`] then fills them from the caller's seed.
fn zero_init() -> nn::LinearConfig {
    nn::LinearConfig {
        ws_init: nn::Init::Const(0.0),
        bs_init: Some(nn::Init::Const(0.0)),
        bias: true,
    }
}

/// PyTorch's default initialisation of `nn.Linear` and `nn.Conv2d` (weights: Kaiming-uniform with a = √5;
/// biases: the same bound), U(−1/√fan_in, 1/√fan_in) for both with fan_in the product of a weight's sizes
/// after the first (inputs × kernel), drawn on the host from ChaCha8 seeded with `seed` in the order of the
/// sorted parameter names, then copied to the weights' device. GroupNorm's scale and shift (a path segment
/// starting with `norm`) keep PyTorch's (1, 0) and draw nothing.
pub(crate) fn init_weights(vs: &nn::VarStore, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let fan = |size: &[i64]| -> i64 { size.iter().skip(1).product::<i64>().max(1) };
    let fan_in = |name: &str| -> i64 {
        let weight = name.trim_end_matches("bias").to_string() + "weight";
        vars.iter()
            .find(|(n, _)| *n == weight)
            .map(|(_, w)| fan(&w.size()))
            .unwrap_or(1)
    };
    for (name, var) in &vars {
        let size = var.size();
        if name
            .split('.')
            .any(|seg| seg.starts_with(super::unet::NORM))
        {
            continue;
        }
        let fan = if name.ends_with("bias") {
            fan_in(name)
        } else {
            fan(&size)
        };
        let bound = 1.0 / (fan as f64).sqrt();
        let n: i64 = size.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| rng.random_range(-bound..bound) as f32)
            .collect();
        let host = Tensor::from_slice(&values).reshape(size.as_slice());
        let mut v = var.shallow_clone();
        tch::no_grad(|| v.copy_(&host.to_device(v.device())));
    }
}

/// A plain MLP: `depth` hidden layers of `width` with an activation, then a linear output layer.
#[derive(Debug)]
struct Mlp {
    layers: Vec<nn::Linear>,
    act: Activation,
}

impl Mlp {
    fn new(
        p: nn::Path,
        input: usize,
        width: usize,
        depth: usize,
        out: usize,
        act: Activation,
    ) -> Self {
        let mut layers = Vec::with_capacity(depth + 1);
        let mut fan_in = input as i64;
        for k in 0..depth {
            layers.push(nn::linear(
                &p / format::layer(k),
                fan_in,
                width as i64,
                zero_init(),
            ));
            fan_in = width as i64;
        }
        layers.push(nn::linear(
            &p / format::layer(depth),
            fan_in,
            out as i64,
            zero_init(),
        ));
        Self { layers, act }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut h = self.layers[0].forward(x);
        for l in &self.layers[1..] {
            h = match self.act {
                Activation::Relu => h.relu_(),
                Activation::Silu => h.silu_(),
                Activation::Gelu => h.gelu("none"),
                Activation::Tanh => h.tanh_(),
            };
            h = l.forward(&h);
        }
        let _ = last;
        h
    }
}

/// The context of a conditional model for a batch: c (`[n, k]`) and a mask (`[n, 1]`, 1 where c is given,
/// 0 where it is dropped, as in classifier-free guidance training).
#[derive(Debug)]
pub struct Context<'a> {
    /// The context vectors.
    pub c: &'a Tensor,
    /// 1 where the context is used, 0 where the model must ignore it.
    pub mask: &'a Tensor,
}

/// A network that maps the model's input to its outputs.
#[derive(Debug)]
enum Trunk {
    /// On (x, φ(t), c·m, m) → [n, out].
    Mlp(Mlp),
    /// On x as an image, with (φ(t), c·m, m) as its embedding → [n, out channels, H, W].
    UNet(Box<UNet>),
}

/// The field model: input (x, φ(t), c·m, m), with φ(t) = (t, sin(πkt), cos(πkt))_{k=1..K}; outputs one
/// d-vector per head. With a shared trunk every head is a slice of one last layer (one forward gives all
/// fields); otherwise each head has its own network. The network is an MLP, or a U-Net on x as a C × H × W
/// image with (φ(t), c·m, m) as its embedding (`ModelConfig::unet`; each head is then C of the output
/// channels).
pub struct FieldNet {
    vs: nn::VarStore,
    params: ModelParams,
    trunks: Vec<Trunk>,
    freqs: Option<Tensor>,
}

impl std::fmt::Debug for FieldNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldNet")
            .field("params", &self.params)
            .finish()
    }
}

impl FieldNet {
    /// A freshly initialised model on `device`: PyTorch's default `nn.Linear` initialisation, drawn from a
    /// generator seeded with `seed` (distinct seeds give distinct weights; no process-wide generator is
    /// touched, so models can be built concurrently).
    pub fn new(params: ModelParams, device: Device, seed: u64) -> Self {
        let vs = nn::VarStore::new(device);
        let (d, h) = (params.dim, params.heads.len());
        let root = vs.root();
        let embed_in = params.input_dim() - d;
        let trunks = if let Some(u) = &params.unet {
            let unet = |p: nn::Path, out: usize| {
                Trunk::UNet(Box::new(UNet::new(p, u, embed_in, out, params.activation)))
            };
            if params.shared_trunk {
                vec![unet(&root / format::TRUNK, u.channels * h)]
            } else {
                params
                    .heads
                    .iter()
                    .map(|head| unet(&root / format::mlp_prefix(*head), u.channels))
                    .collect()
            }
        } else if params.shared_trunk {
            vec![Trunk::Mlp(Mlp::new(
                &root / format::TRUNK,
                params.input_dim(),
                params.width,
                params.depth,
                d * h,
                params.activation,
            ))]
        } else {
            params
                .heads
                .iter()
                .map(|head| {
                    Trunk::Mlp(Mlp::new(
                        &root / format::mlp_prefix(*head),
                        params.input_dim(),
                        params.width,
                        params.depth,
                        d,
                        params.activation,
                    ))
                })
                .collect()
        };
        let freqs = (params.time_features > 0).then(|| {
            let k: Vec<f32> = (1..=params.time_features)
                .map(|k| std::f32::consts::PI * k as f32)
                .collect();
            Tensor::from_slice(&k).to_device(device)
        });
        init_weights(&vs, seed);
        Self {
            vs,
            params,
            trunks,
            freqs,
        }
    }

    /// The checked hyper-parameters.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// The device of the weights.
    pub fn device(&self) -> Device {
        self.vs.device()
    }

    /// The variable store (weights).
    pub fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }

    /// Mutable variable store (loading weights).
    pub fn var_store_mut(&mut self) -> &mut nn::VarStore {
        &mut self.vs
    }

    /// The weights by name, sorted by name (a fixed order for optimisers and checkpoints).
    pub fn named_parameters(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Position of `head` among the outputs.
    pub fn head_index(&self, head: Head) -> Option<usize> {
        self.params.heads.iter().position(|h| *h == head)
    }

    /// φ(t) for t of shape `[m, 1]` (m = n, or 1 for one time shared by the batch): t, then sin(πkt) and
    /// cos(πkt) for k = 1..K, then the phase frac(T t) when `time_segments` = T > 0.
    fn embed(&self, t: &Tensor) -> Tensor {
        let mut parts = vec![t.shallow_clone()];
        if let Some(f) = &self.freqs {
            let a = t * f.unsqueeze(0);
            parts.push(a.sin());
            parts.push(a.cos());
        }
        if self.params.time_segments > 0 {
            parts.push((t * self.params.time_segments as f64).frac());
        }
        if parts.len() == 1 {
            t.shallow_clone()
        } else {
            Tensor::cat(&parts, 1)
        }
    }

    /// The conditioning part of the input, (φ(t), c·m, m), for t of shape `[n, 1]` or `[1, 1]`.
    fn conditioning(&self, t: &Tensor, x: &Tensor, ctx: Option<&Context<'_>>) -> Result<Tensor> {
        let n = x.size()[0];
        let emb = self.embed(t).expand([n, -1], false);
        let mut parts = vec![emb];
        if self.params.context_dim > 0 {
            match ctx {
                Some(c) => {
                    let cs = c.c.size();
                    if cs != [n, self.params.context_dim as i64] {
                        return Err(NnError::Shape {
                            expected: format!("context [{n}, {}]", self.params.context_dim),
                            got: format!("{cs:?}"),
                        });
                    }
                    parts.push(c.c * c.mask);
                    parts.push(c.mask.shallow_clone());
                }
                None => {
                    parts.push(Tensor::zeros(
                        [n, self.params.context_dim as i64 + 1],
                        (x.kind(), x.device()),
                    ));
                }
            }
        }
        Ok(Tensor::cat(&parts, 1))
    }

    /// Every head at (t, x | c): one `[n, d]` tensor per head, in the order of `params.heads`.
    /// `t` has shape `[n, 1]` (one time per point) or `[1, 1]` (one time for the batch).
    pub fn forward(
        &self,
        t: &Tensor,
        x: &Tensor,
        ctx: Option<&Context<'_>>,
    ) -> Result<Vec<Tensor>> {
        let d = self.params.dim as i64;
        let xs = x.size();
        if xs.len() != 2 || xs[1] != d {
            return Err(NnError::Shape {
                expected: format!("points [n, {d}]"),
                got: format!("{xs:?}"),
            });
        }
        let cond = self.conditioning(t, x, ctx)?;
        let n = xs[0];
        // each trunk's output as [n, heads it holds · d] (an image's channels are head-major)
        let run = |trunk: &Trunk| match trunk {
            Trunk::Mlp(m) => m.forward(&Tensor::cat(&[x.shallow_clone(), cond.shallow_clone()], 1)),
            Trunk::UNet(u) => u.forward(x, &cond).reshape([n, -1]),
        };
        if self.params.shared_trunk {
            let out = run(&self.trunks[0]);
            Ok((0..self.params.heads.len() as i64)
                .map(|k| out.narrow(1, k * d, d))
                .collect())
        } else {
            Ok(self.trunks.iter().map(run).collect())
        }
    }

    /// A time tensor `[1, 1]` on the model's device.
    pub fn time_tensor(&self, t: f64) -> Tensor {
        Tensor::from_slice(&[t as f32])
            .reshape([1, 1])
            .to_device(self.device())
    }

    /// A deep copy on the same device: the same configuration and a copy of every weight (later training
    /// of `self` does not change it).
    pub fn try_clone(&self) -> Result<FieldNet> {
        let mut copy = FieldNet::new(self.params.clone(), self.device(), 0);
        copy.vs.copy(&self.vs)?;
        Ok(copy)
    }

    /// The number of trainable weights.
    pub fn num_parameters(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel() as i64)
            .sum()
    }

    /// Floating-point kind of the weights.
    pub fn kind(&self) -> Kind {
        Kind::Float
    }
}
