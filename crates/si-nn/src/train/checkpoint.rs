//! Checkpoints as safetensors files (PyTorch reads them with `safetensors.torch.load_file`).
//!
//! Tensor names: the weights under their own names (`trunk.l0.weight`, ...), the EMA weights under
//! `ema.`, Adam's moments under `adam_m.` and `adam_v.`, and the running loss sum under `state.loss_acc`.
//! The header metadata `si_nn` holds the model, interpolant and training configuration, the step and
//! the loss log as JSON.
//!
//! Formats: `si-nn/2` (written now) stores the interpolant as si-core serialises it (`serde1`), or `null`
//! for a model trained on a source without one. `si-nn/1` files (written before the interpolant had one
//! serialised form) are still read: their interpolant names (`"OneSidedLinear"`, `{"Linear":{"Sqrt":{"a":1.0}}}`,
//! ...) are converted by [`legacy_interpolant`]. Any other format is an error naming the version.
//!
//! Every read and write of a checkpoint file is here: [`write_state`] and [`read_state`] for a training
//! run's whole [`TrainState`] (a resumed run is bit-identical to an uninterrupted one), [`load_model`] for
//! the model alone, [`save`] and [`load`] for the tensors and metadata underneath; the loss log's CSV too.
//! The metadata key, the format tags and the tensor names are defined once, in [`si_model::format`], which
//! the host evaluator reads through too.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use si_core::{Gamma, Interpolant};
use si_data::write_atomic;
use si_model::format::{self, METADATA_KEY};

use crate::error::{NnError, Result};
use crate::model::FieldNet;
use crate::model::ModelConfig;
use crate::train::config::TrainConfig;
pub use crate::train::state::LossRow;
use crate::train::state::TrainState;

pub use si_model::format::{FORMAT, FORMAT_V1};

/// What a checkpoint says besides its tensors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// [`FORMAT`].
    pub format: String,
    /// The model's architecture.
    pub model: ModelConfig,
    /// The interpolant it was trained with (None for sources without one).
    pub interpolant: Option<Interpolant>,
    /// The training configuration.
    pub train: TrainConfig,
    /// Steps done.
    pub step: usize,
    /// Steps accumulated in `state.loss_acc` since the last log row.
    pub acc_count: usize,
    /// The loss log so far.
    pub log: Vec<LossRow>,
}

fn bad(path: &Path, reason: impl Into<String>) -> NnError {
    NnError::BadCheckpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Writes `tensors` (f32, any device) and `meta` to `path` atomically.
pub fn save(path: &Path, meta: &CheckpointMeta, tensors: &[(String, Tensor)]) -> Result<()> {
    let mut bufs: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let host = t
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .contiguous();
        let shape: Vec<usize> = host.size().iter().map(|&s| s as usize).collect();
        let values = Vec::<f32>::try_from(host.reshape([-1]))?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bufs.push((name.clone(), shape, bytes));
    }
    let views: Vec<(String, TensorView<'_>)> = bufs
        .iter()
        .map(|(n, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (n.clone(), v))
                .map_err(|e| bad(path, e.to_string()))
        })
        .collect::<Result<_>>()?;
    let mut info = HashMap::new();
    info.insert("format".to_string(), "pt".to_string());
    info.insert(
        METADATA_KEY.to_string(),
        serde_json::to_string(meta).map_err(|e| bad(path, e.to_string()))?,
    );
    let bytes =
        safetensors::tensor::serialize(views, &Some(info)).map_err(|e| bad(path, e.to_string()))?;
    Ok(write_atomic(path, &bytes)?)
}

/// Reads a checkpoint: its metadata and its tensors (on the CPU).
pub fn load(path: &Path) -> Result<(CheckpointMeta, HashMap<String, Tensor>)> {
    let bytes =
        std::fs::read(path).map_err(|e| NnError::io(format!("reading {}", path.display()), e))?;
    let (_, header) =
        safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(path, e.to_string()))?;
    let text = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get(METADATA_KEY))
        .ok_or_else(|| {
            bad(
                path,
                format!("no `{METADATA_KEY}` metadata (not written by si-nn)"),
            )
        })?;
    let meta = parse_meta(text).map_err(|reason| bad(path, reason))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(path, e.to_string()))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(
                path,
                format!("tensor {name} is {:?}, expected F32", view.dtype()),
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let shape: Vec<i64> = view.shape().iter().map(|&s| s as i64).collect();
        let t = Tensor::from_slice(&values)
            .f_reshape(shape)
            .map_err(|e| bad(path, format!("tensor {name}: {e}")))?;
        out.insert(name, t);
    }
    Ok((meta, out))
}

/// Copies `src[name]` into `dst` (checking the shape), under no_grad.
pub fn copy_into(
    path: &Path,
    src: &HashMap<String, Tensor>,
    name: &str,
    dst: &mut Tensor,
) -> Result<()> {
    let s = src
        .get(name)
        .ok_or_else(|| bad(path, format!("missing tensor {name}")))?;
    if s.size() != dst.size() {
        return Err(bad(
            path,
            format!(
                "tensor {name} has shape {:?}, the model needs {:?}",
                s.size(),
                dst.size()
            ),
        ));
    }
    tch::no_grad(|| dst.f_copy_(&s.to_device(dst.device())))?;
    Ok(())
}

/// The metadata of either format (see the module documentation).
fn parse_meta(text: &str) -> std::result::Result<CheckpointMeta, String> {
    let mut value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("metadata: {e}"))?;
    let format = value
        .get("format")
        .and_then(|f| f.as_str())
        .unwrap_or("(none)")
        .to_string();
    if format == FORMAT_V1 {
        let old = value.get("interpolant").cloned().unwrap_or_default();
        let it = legacy_interpolant(&old)?;
        value["interpolant"] = serde_json::to_value(&it).map_err(|e| e.to_string())?;
        value["format"] = FORMAT.into();
    } else if format != FORMAT {
        return Err(format!(
            "checkpoint format {format}; this version reads {FORMAT} and {FORMAT_V1}"
        ));
    }
    serde_json::from_value(value).map_err(|e| format!("metadata: {e}"))
}

/// The interpolant of a `si-nn/1` checkpoint, whose names were `"OneSidedLinear"`, `"OneSidedVp"`,
/// `"EncoderDecoder"`, `{"Linear": γ}`, `{"Trigonometric": γ}`, `{"Mirror": γ}` with γ one of `"Zero"`,
/// `{"Sqrt": {"a": a}}`, `"Quadratic"`, `"SinSquared"`.
pub fn legacy_interpolant(v: &serde_json::Value) -> std::result::Result<Interpolant, String> {
    let gamma = |g: &serde_json::Value| -> std::result::Result<Gamma, String> {
        match g {
            serde_json::Value::String(s) if s == "Zero" => Ok(Gamma::Zero),
            serde_json::Value::String(s) if s == "Quadratic" => Ok(Gamma::Quadratic),
            serde_json::Value::String(s) if s == "SinSquared" => Ok(Gamma::SinSquared),
            _ => match g.pointer("/Sqrt/a").and_then(|a| a.as_f64()) {
                Some(a) => Gamma::sqrt(a).map_err(|e| e.to_string()),
                None => Err(format!("unknown si-nn/1 gamma {g}")),
            },
        }
    };
    let built = match v {
        serde_json::Value::String(s) => match s.as_str() {
            "OneSidedLinear" => Ok(Interpolant::one_sided_linear()),
            "OneSidedVp" => Ok(Interpolant::one_sided_vp()),
            "EncoderDecoder" => Ok(Interpolant::encoder_decoder()),
            other => return Err(format!("unknown si-nn/1 interpolant {other}")),
        },
        serde_json::Value::Object(m) if m.len() == 1 => {
            let (k, g) = m.iter().next().ok_or("empty interpolant")?;
            let g = gamma(g)?;
            match k.as_str() {
                "Linear" => Interpolant::linear(g),
                "Trigonometric" => Interpolant::trigonometric(g),
                "Mirror" => Interpolant::mirror(g),
                other => return Err(format!("unknown si-nn/1 interpolant {other}")),
            }
        }
        other => return Err(format!("unknown si-nn/1 interpolant {other}")),
    };
    built.map_err(|e| e.to_string())
}

/// Checks that a checkpoint's tensors can hold the model its metadata describes before the model is built,
/// so that a corrupt or hostile header cannot make the loader allocate an arbitrarily large model.
pub fn check_size(
    path: &Path,
    model: &crate::model::ModelParams,
    tensors: &HashMap<String, Tensor>,
) -> Result<()> {
    let stored: i64 = tensors.values().map(|t| t.numel() as i64).sum();
    match model.num_weights() {
        Some(n) if n as i64 <= stored => Ok(()),
        Some(n) => Err(bad(
            path,
            format!(
                "the metadata describes a model of {n} weights, the file holds {stored} values"
            ),
        )),
        None => Err(bad(
            path,
            "the metadata describes a model too large to count",
        )),
    }
}

/// Writes a training run's checkpoint (weights, EMA weights, Adam moments, loss log) atomically.
pub fn write_state(path: &Path, state: &TrainState) -> Result<()> {
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (i, name) in state.names.iter().enumerate() {
        tensors.push((name.clone(), state.params[i].shallow_clone()));
        if let Some(e) = state.ema_params.get(i) {
            tensors.push((format::ema(name), e.shallow_clone()));
        }
        tensors.push((format::adam_m(name), state.adam.m[i].shallow_clone()));
        tensors.push((format::adam_v(name), state.adam.v[i].shallow_clone()));
    }
    tensors.push((format::LOSS_ACC.into(), state.loss_acc.shallow_clone()));
    let meta = CheckpointMeta {
        format: FORMAT.into(),
        model: state.net.params().config().clone(),
        interpolant: state.interpolant.clone(),
        train: state.train.config().clone(),
        step: state.step,
        acc_count: state.acc_count,
        log: state.log.clone(),
    };
    save(path, &meta, &tensors)
}

/// Reads a training run's state on `device` back from a checkpoint written by [`write_state`].
pub fn read_state(path: &Path, device: Device) -> Result<TrainState> {
    let (meta, tensors) = load(path)?;
    let model = meta.model.clone().check()?;
    check_size(path, &model, &tensors)?;
    let train = meta.train.clone().check()?;
    let mut t = TrainState::new(model, train, device);
    t.interpolant = meta.interpolant.clone();
    for i in 0..t.names.len() {
        let name = t.names[i].clone();
        copy_into(path, &tensors, &name, &mut t.params[i])?;
        if let Some(e) = t.ema_params.get_mut(i) {
            copy_into(path, &tensors, &format::ema(&name), e)?;
        }
        copy_into(path, &tensors, &format::adam_m(&name), &mut t.adam.m[i])?;
        copy_into(path, &tensors, &format::adam_v(&name), &mut t.adam.v[i])?;
    }
    copy_into(path, &tensors, format::LOSS_ACC, &mut t.loss_acc)?;
    t.step = meta.step;
    t.acc_count = meta.acc_count;
    t.log = meta.log;
    Ok(t)
}

/// Loads only the model (EMA weights when present) from a checkpoint, for sampling, with the interpolant it
/// was trained for.
pub fn load_model(
    path: &Path,
    device: Device,
) -> Result<(FieldNet, Option<Interpolant>, CheckpointMeta)> {
    let (meta, tensors) = load(path)?;
    let model = meta.model.clone().check()?;
    check_size(path, &model, &tensors)?;
    let net = FieldNet::new(model, device, 0);
    let use_ema = format::has_ema(tensors.keys().map(String::as_str));
    for (name, mut p) in net.named_parameters() {
        let key = if use_ema { format::ema(&name) } else { name };
        copy_into(path, &tensors, &key, &mut p)?;
    }
    let it = meta.interpolant.clone();
    Ok((net, it, meta))
}

/// Writes the loss log of `state` as CSV ([`TrainState::loss_csv`]) to `path` atomically.
pub(crate) fn write_loss_csv(path: &Path, state: &TrainState) -> Result<()> {
    Ok(write_atomic(path, state.loss_csv().as_bytes())?)
}
