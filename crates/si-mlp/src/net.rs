//! The network and its fields.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use nalgebra::DMatrix;
use safetensors::tensor::{Dtype, SafeTensors};
use si_core::{check_context, Batch, ConditionalField, ContextForm, CoreError, Field, Points};

/// Errors of loading a checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MlpError {
    /// The file could not be read.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not an si-nn checkpoint this reader understands.
    #[error("bad checkpoint: {0}")]
    Bad(String),
}

fn bad(msg: impl Into<String>) -> MlpError {
    MlpError::Bad(msg.into())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Silu,
    Tanh,
}

impl Act {
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

/// Which field a head estimates (si-nn's `Head`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    B,
    S,
    Eta,
    V,
}

/// The input of one forward (t, x, c as the first layer sees them) and every head's output.
type Forward = (Vec<f32>, Vec<Vec<f32>>);

/// An si-nn field model on the host (crate documentation).
#[derive(Debug)]
pub struct HostNet {
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
    pub fn read(path: &Path) -> Result<Self, MlpError> {
        let bytes = std::fs::read(path).map_err(|source| MlpError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }

    /// Parses a checkpoint's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MlpError> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("si_nn"))
            .ok_or_else(|| bad("no si_nn metadata"))?;
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let model = &v["model"];
        let num = |k: &str| -> Result<usize, MlpError> {
            model[k]
                .as_u64()
                .and_then(|u| usize::try_from(u).ok())
                .ok_or_else(|| bad(format!("model.{k} is missing")))
        };
        let (dim, width, depth) = (num("dim")?, num("width")?, num("depth")?);
        let (time_features, context_dim) = (num("time_features")?, num("context_dim")?);
        // absent in checkpoints written before the phase feature existed: no phase
        let time_segments = match &model["time_segments"] {
            serde_json::Value::Null => 0,
            v => v
                .as_u64()
                .and_then(|u| usize::try_from(u).ok())
                .filter(|&u| u <= 1 << 16)
                .ok_or_else(|| bad("model.time_segments is not a size"))?,
        };
        if dim == 0
            || width == 0
            || dim > 1 << 20
            || width > 1 << 16
            || depth > 64
            || time_features > 1024
        {
            return Err(bad("model sizes out of range"));
        }
        let act = match model["activation"].as_str() {
            Some("Relu") => Act::Relu,
            Some("Silu") => Act::Silu,
            Some("Tanh") => Act::Tanh,
            other => {
                return Err(bad(format!(
                    "activation {other:?} is not supported on the host"
                )))
            }
        };
        let heads = model["heads"]
            .as_array()
            .ok_or_else(|| bad("model.heads is missing"))?
            .iter()
            .map(|h| match h.as_str() {
                Some("B") => Ok(Head::B),
                Some("S") => Ok(Head::S),
                Some("Eta") => Ok(Head::Eta),
                Some("V") => Ok(Head::V),
                other => Err(bad(format!("unknown head {other:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if heads.is_empty() {
            return Err(bad("no heads"));
        }
        let shared = model["shared_trunk"]
            .as_bool()
            .ok_or_else(|| bad("model.shared_trunk is missing"))?;
        let input = dim
            + 1
            + 2 * time_features
            + usize::from(time_segments > 0)
            + if context_dim > 0 { context_dim + 1 } else { 0 };
        let ema = st.names().iter().any(|n| n.starts_with("ema."));
        let tensor = |name: &str, shape: &[usize]| -> Result<Vec<f32>, MlpError> {
            let key = if ema {
                format!("ema.{name}")
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
        let mlp = |prefix: &str, out: usize| -> Result<Vec<Layer>, MlpError> {
            let mut layers = Vec::with_capacity(depth + 1);
            let mut fan_in = input;
            for k in 0..=depth {
                let o = if k == depth { out } else { width };
                let w = tensor(&format!("{prefix}.l{k}.weight"), &[o, fan_in])?;
                let b = tensor(&format!("{prefix}.l{k}.bias"), &[o])?;
                layers.push(Layer { w, b, fan_in });
                fan_in = o;
            }
            Ok(layers)
        };
        let mlps = if shared {
            vec![mlp("trunk", dim * heads.len())?]
        } else {
            heads
                .iter()
                .map(|h| {
                    let name = match h {
                        Head::B => "b",
                        Head::S => "s",
                        Head::Eta => "eta",
                        Head::V => "v",
                    };
                    mlp(name, dim)
                })
                .collect::<Result<_, _>>()?
        };
        Ok(Self {
            dim,
            context_dim,
            time_features,
            time_segments,
            act,
            heads,
            shared,
            mlps,
            cache: RefCell::new(None),
        })
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
