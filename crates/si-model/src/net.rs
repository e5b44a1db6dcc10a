//! The network and its fields.

use std::cell::RefCell;
use std::path::Path;

use nalgebra::DMatrix;
use safetensors::tensor::{Dtype, SafeTensors};
use si_core::{check_context, Batch, ConditionalField, ContextForm, CoreError, Field, Points};

use crate::config::{Activation, Head, ModelConfig, ModelParams};
use crate::error::ModelError;
use crate::format;

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError::BadCheckpoint(msg.into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Silu,
    Tanh,
}

impl Act {
    /// The activations the host evaluates; any other is [`ModelError::UnsupportedActivation`].
    fn new(a: Activation) -> Result<Self, ModelError> {
        match a {
            Activation::Relu => Ok(Act::Relu),
            Activation::Silu => Ok(Act::Silu),
            Activation::Tanh => Ok(Act::Tanh),
            Activation::Gelu => Err(ModelError::UnsupportedActivation(a)),
        }
    }

    fn apply(self, h: &mut [f32]) {
        match self {
            Act::Relu => h.iter_mut().for_each(|v| *v = v.max(0.0)),
            Act::Silu => h.iter_mut().for_each(|v| *v /= 1.0 + (-*v).exp()),
            Act::Tanh => h.iter_mut().for_each(|v| *v = v.tanh()),
        }
    }
}

/// One affine layer: W (out × in, row-major) and b.
#[derive(Clone, Debug)]
struct Layer {
    w: Vec<f32>,
    b: Vec<f32>,
    fan_in: usize,
}

impl Layer {
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend(
            self.w
                .chunks_exact(self.fan_in)
                .zip(&self.b)
                .map(|(row, b)| b + dot(row, x)),
        );
    }
}

/// w·x with eight independent partial sums, so that the compiler can keep them in one SIMD register
/// (a single running f32 sum is a serial dependency chain it may not reorder).
fn dot(w: &[f32], x: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (wc, xc) = (w.chunks_exact(8), x.chunks_exact(8));
    let (wr, xr) = (wc.remainder(), xc.remainder());
    for (a, b) in wc.zip(xc) {
        for k in 0..8 {
            acc[k] += a[k] * b[k];
        }
    }
    let tail: f32 = wr.iter().zip(xr).map(|(a, b)| a * b).sum();
    acc.iter().sum::<f32>() + tail
}

/// The input of one forward (t, x, c as the first layer sees them) and every head's output.
type Forward = (Vec<f32>, Vec<Vec<f32>>);

/// An si-nn field model on the host (crate documentation).
#[derive(Debug)]
pub struct HostNet {
    params: ModelParams,
    dim: usize,
    context_dim: usize,
    time_features: usize,
    time_segments: usize,
    act: Act,
    heads: Vec<Head>,
    shared: bool,
    /// One MLP (shared trunk) or one per head.
    mlps: Vec<Vec<Layer>>,
    /// The last forward of the shared trunk.
    cache: RefCell<Option<Forward>>,
}

impl HostNet {
    /// Reads a checkpoint file.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Parses a checkpoint's bytes: the model part of the metadata into a checked [`ModelConfig`] (through
    /// [`format::read_model`] and [`ModelConfig::check`]), then the weights [`format::mlps`] names, each
    /// checked to be f32 of the layer's shape.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let params = format::read_model(meta.metadata().as_ref())?.check()?;
        if params.unet.is_some() {
            return Err(ModelError::UnsupportedArchitecture);
        }
        let act = Act::new(params.activation)?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let ema = format::has_ema(st.names().into_iter().map(String::as_str));
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>, ModelError> {
            let key = if ema {
                format::ema(name)
            } else {
                name.to_string()
            };
            let t = st.tensor(&key).map_err(|e| bad(format!("{key}: {e}")))?;
            if t.dtype() != Dtype::F32 || t.shape() != shape {
                return Err(bad(format!(
                    "{key}: {:?} {:?}, expected F32 {shape:?}",
                    t.dtype(),
                    t.shape()
                )));
            }
            Ok(t.data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect())
        };
        let mlps = format::mlps(&params)
            .iter()
            .map(|mlp| {
                mlp.layers()
                    .map(|(w, b, fan_in, out)| {
                        Ok(Layer {
                            w: tensor(&w, &[out, fan_in])?,
                            b: tensor(&b, &[out])?,
                            fan_in,
                        })
                    })
                    .collect::<Result<Vec<_>, ModelError>>()
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            dim: params.dim,
            context_dim: params.context_dim,
            time_features: params.time_features,
            time_segments: params.time_segments,
            act,
            heads: params.heads.clone(),
            shared: params.shared_trunk,
            mlps,
            params,
            cache: RefCell::new(None),
        })
    }

    /// The model's configuration, as the checkpoint's metadata holds it.
    pub fn config(&self) -> &ModelConfig {
        self.params.config()
    }

    /// The model's checked configuration.
    pub fn params(&self) -> &ModelParams {
        &self.params
    }

    /// The dimension d of the points.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The size of the context (0: unconditional).
    pub fn context_dim(&self) -> usize {
        self.context_dim
    }

    /// The model as a [`Field`] without context (an unconditional model, or a conditional one with the
    /// context dropped, as trained with context dropout).
    pub fn unconditional(&self) -> Result<HostField<'_>, CoreError> {
        Ok(HostField {
            net: self,
            context: None,
            form: ContextForm::Shared,
        })
    }

    /// The input vector of one point.
    fn input(&self, t: f64, x: &[f64], c: Option<&[f64]>, buf: &mut Vec<f32>) {
        buf.clear();
        buf.extend(x.iter().map(|&v| v as f32));
        let t32 = t as f32;
        buf.push(t32);
        // a_k = π k t, as si-nn computes it in f32: the sines, then the cosines
        let a = |k: usize| t32 * (std::f32::consts::PI * k as f32);
        buf.extend((1..=self.time_features).map(|k| a(k).sin()));
        buf.extend((1..=self.time_features).map(|k| a(k).cos()));
        if self.time_segments > 0 {
            let p = t32 * self.time_segments as f32;
            buf.push(p - p.trunc()); // frac, as torch's frac (t ≥ 0)
        }
        if self.context_dim > 0 {
            match c {
                Some(c) => {
                    buf.extend(c.iter().map(|&v| v as f32));
                    buf.push(1.0);
                }
                None => buf.extend(std::iter::repeat_n(0.0, self.context_dim + 1)),
            }
        }
    }

    fn run(&self, layers: &[Layer], input: &[f32]) -> Vec<f32> {
        let (mut h, mut next) = (input.to_vec(), Vec::new());
        for (k, l) in layers.iter().enumerate() {
            l.apply(&h, &mut next);
            std::mem::swap(&mut h, &mut next);
            if k + 1 < layers.len() {
                self.act.apply(&mut h);
            }
        }
        h
    }

    /// Head `head` at every point of `x`.
    fn head(
        &self,
        head: Head,
        t: f64,
        x: &Points,
        c: Option<(&Points, ContextForm)>,
    ) -> Result<Points, CoreError> {
        si_core::check_time(t)?;
        let k = self
            .heads
            .iter()
            .position(|h| *h == head)
            .ok_or(CoreError::Unsupported {
                quantity: "this field (the model has no such head)",
            })?;
        if x.dim() != self.dim {
            return Err(CoreError::ShapeMismatch {
                expected: format!("points of dimension {}", self.dim),
                got: format!("dimension {}", x.dim()),
            });
        }
        if let Some((_, form)) = c {
            form.check_points(x.len())?;
        }
        let d = self.dim;
        let mut out = DMatrix::zeros(d, x.len());
        let mut buf = Vec::new();
        for i in 0..x.len() {
            let ci = c.map(|(c, form)| c.point(form.index(i)));
            self.input(
                t,
                x.point(i).as_slice(),
                ci.as_ref().map(|v| v.as_slice()),
                &mut buf,
            );
            let y: Vec<f32> = if self.shared {
                let mut cache = self.cache.borrow_mut();
                match cache.as_ref() {
                    Some((key, outs)) if *key == buf => outs[k].clone(),
                    _ => {
                        let all = self.run(&self.mlps[0], &buf);
                        let outs: Vec<Vec<f32>> =
                            all.chunks_exact(d).map(<[f32]>::to_vec).collect();
                        let y = outs[k].clone();
                        *cache = Some((buf.clone(), outs));
                        y
                    }
                }
            } else {
                self.run(&self.mlps[k], &buf)
            };
            for r in 0..d {
                out[(r, i)] = f64::from(y[r]);
            }
        }
        Points::from_matrix(out).map_err(|_| CoreError::NonFinite {
            what: "the host model's output",
        })
    }
}

/// The model with its context fixed: a [`Field`] on host points.
#[derive(Debug)]
pub struct HostField<'a> {
    net: &'a HostNet,
    context: Option<Points>,
    form: ContextForm,
}

impl HostField<'_> {
    fn eval(&self, head: Head, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.net
            .head(head, t, x, self.context.as_ref().map(|c| (c, self.form)))
    }
}

impl Field<Points> for HostField<'_> {
    fn dim(&self) -> usize {
        self.net.dim
    }
    fn velocity(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.eval(Head::B, t, x)
    }
    fn score(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.eval(Head::S, t, x)
    }
    fn denoiser(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.eval(Head::Eta, t, x)
    }
    fn v(&self, t: f64, x: &Points) -> Result<Points, CoreError> {
        self.eval(Head::V, t, x)
    }
}

impl ConditionalField<Points> for HostNet {
    type Given<'a> = HostField<'a>;
    fn dim(&self) -> usize {
        self.dim
    }
    fn context_dim(&self) -> usize {
        self.context_dim
    }
    fn given(&self, context: &Points) -> Result<HostField<'_>, CoreError> {
        if self.context_dim == 0 {
            return Err(CoreError::Unsupported {
                quantity: "a context (the model is unconditional)",
            });
        }
        let form = check_context(context, self.context_dim)?;
        Ok(HostField {
            net: self,
            context: Some(context.clone()),
            form,
        })
    }
}
