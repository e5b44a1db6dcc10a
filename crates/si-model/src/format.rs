//! The checkpoint format, written down once: the metadata key, the format tags, the tensor names and the
//! typed parse of the model part of the metadata. si-nn writes its checkpoints with these names and reads
//! them back through them; [`HostNet`](crate::HostNet) reads the same files.
//!
//! A checkpoint is a safetensors file of f32 tensors. Its header metadata holds, under [`METADATA_KEY`],
//! a JSON object with at least `format` (one of [`FORMAT`], [`FORMAT_V1`]) and `model` (a
//! [`ModelConfig`] as serde writes it); si-nn adds the interpolant, the training configuration, the step
//! and the loss log. The tensors:
//!
//! ```text
//! {p}.l{k}.weight, {p}.l{k}.bias   layer k = 0..=depth of the MLP p: p = trunk (shared trunk) or one of
//!                                  b, s, eta, v (one MLP per head); weight [out, in], bias [out]
//! ema.{name}                       the exponential moving average of weight `name` (when kept)
//! adam_m.{name}, adam_v.{name}     Adam's first and second moments of weight `name`
//! state.loss_acc                   the running sum of each head's loss since the last log row
//! ```
//!
//! The two formats differ only in how the interpolant is stored (si-nn converts `si-nn/1` names); the
//! model part is the same, so [`parse_model`] reads both.

use std::collections::HashMap;

use serde::Deserialize;

use crate::config::{Head, ModelConfig, ModelParams};
use crate::error::{ModelError, Result};

/// The safetensors metadata key under which the checkpoint's JSON is stored.
pub const METADATA_KEY: &str = "si_nn";
/// Format tag of the metadata written now.
pub const FORMAT: &str = "si-nn/2";
/// The first format, still read.
pub const FORMAT_V1: &str = "si-nn/1";

/// The prefix of the one MLP of a model with a shared trunk.
pub const TRUNK: &str = "trunk";
/// The prefix of the exponential-moving-average weights.
pub const EMA_PREFIX: &str = "ema.";
/// The prefix of Adam's first moments.
pub const ADAM_M_PREFIX: &str = "adam_m.";
/// The prefix of Adam's second moments.
pub const ADAM_V_PREFIX: &str = "adam_v.";
/// The name of the running loss sum.
pub const LOSS_ACC: &str = "state.loss_acc";

/// The prefix of the MLP of `head` in a model without a shared trunk (`b`, `s`, `eta`, `v`).
pub fn mlp_prefix(head: Head) -> &'static str {
    head.name()
}

/// The name of layer `k` inside an MLP (`l{k}`).
pub fn layer(k: usize) -> String {
    format!("l{k}")
}

/// The weight of layer `k` of the MLP `prefix` (`{prefix}.l{k}.weight`).
pub fn weight(prefix: &str, k: usize) -> String {
    format!("{prefix}.l{k}.weight")
}

/// The bias of layer `k` of the MLP `prefix` (`{prefix}.l{k}.bias`).
pub fn bias(prefix: &str, k: usize) -> String {
    format!("{prefix}.l{k}.bias")
}

/// The name of the EMA copy of weight `name`.
pub fn ema(name: &str) -> String {
    format!("{EMA_PREFIX}{name}")
}

/// The name of Adam's first moment of weight `name`.
pub fn adam_m(name: &str) -> String {
    format!("{ADAM_M_PREFIX}{name}")
}

/// The name of Adam's second moment of weight `name`.
pub fn adam_v(name: &str) -> String {
    format!("{ADAM_V_PREFIX}{name}")
}

/// Whether the tensor names include EMA weights (then readers evaluate those, as si-nn's loader does).
pub fn has_ema<'a>(names: impl IntoIterator<Item = &'a str>) -> bool {
    names.into_iter().any(|n| n.starts_with(EMA_PREFIX))
}

/// One MLP of a model: its name prefix and its layer sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MlpLayout {
    /// [`TRUNK`] or the head's [`mlp_prefix`].
    pub prefix: &'static str,
    /// The input size, the hidden widths (`depth` of them), the output size.
    pub sizes: Vec<usize>,
}

impl MlpLayout {
    /// Every affine layer, in order: (weight name, bias name, fan-in, fan-out).
    pub fn layers(&self) -> impl Iterator<Item = (String, String, usize, usize)> + '_ {
        self.sizes
            .windows(2)
            .enumerate()
            .map(|(k, w)| (weight(self.prefix, k), bias(self.prefix, k), w[0], w[1]))
    }
}

/// The MLPs of a model: one of output d·(number of heads) named [`TRUNK`] with a shared trunk, otherwise
/// one of output d per head, in head order. Each has `depth` hidden layers of `width` after the input of
/// [`ModelParams::input_dim`].
pub fn mlps(params: &ModelParams) -> Vec<MlpLayout> {
    let sizes = |out: usize| {
        let mut s = vec![params.input_dim()];
        s.extend(std::iter::repeat_n(params.width, params.depth));
        s.push(out);
        s
    };
    if params.shared_trunk {
        vec![MlpLayout {
            prefix: TRUNK,
            sizes: sizes(params.dim * params.heads.len()),
        }]
    } else {
        params
            .heads
            .iter()
            .map(|&h| MlpLayout {
                prefix: mlp_prefix(h),
                sizes: sizes(params.dim),
            })
            .collect()
    }
}

/// The format versions this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Version {
    /// [`FORMAT_V1`].
    V1,
    /// [`FORMAT`].
    V2,
}

/// The version a format tag names; any other tag is [`ModelError::Format`].
pub fn version(tag: &str) -> Result<Version> {
    match tag {
        FORMAT => Ok(Version::V2),
        FORMAT_V1 => Ok(Version::V1),
        other => Err(ModelError::Format {
            found: other.to_string(),
        }),
    }
}

/// The part of the metadata JSON that describes the model (other members are ignored).
#[derive(Deserialize)]
struct ModelPart {
    model: ModelConfig,
}

/// The model configuration of a checkpoint from its metadata JSON (the value under [`METADATA_KEY`]),
/// after checking the format tag. The configuration is returned as written; callers `check()` it.
pub fn parse_model(json: &str) -> Result<ModelConfig> {
    // the tag first, so that a file of another format is reported as such, not as a parse error
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ModelError::bad(format!("metadata: {e}")))?;
    let tag = value.get("format").and_then(|f| f.as_str());
    version(tag.unwrap_or("(none)"))?;
    let part: ModelPart =
        serde_json::from_value(value).map_err(|e| ModelError::bad(format!("metadata: {e}")))?;
    Ok(part.model)
}

/// The model configuration of a checkpoint from its safetensors header metadata.
pub fn read_model(metadata: Option<&HashMap<String, String>>) -> Result<ModelConfig> {
    let json = metadata.and_then(|m| m.get(METADATA_KEY)).ok_or_else(|| {
        ModelError::bad(format!(
            "no `{METADATA_KEY}` metadata (not written by si-nn)"
        ))
    })?;
    parse_model(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Activation;

    #[test]
    fn names() {
        assert_eq!(weight(TRUNK, 0), "trunk.l0.weight");
        assert_eq!(bias(mlp_prefix(Head::Eta), 3), "eta.l3.bias");
        assert_eq!(ema("trunk.l0.weight"), "ema.trunk.l0.weight");
        assert_eq!(adam_m("b.l1.bias"), "adam_m.b.l1.bias");
        assert_eq!(adam_v("b.l1.bias"), "adam_v.b.l1.bias");
        assert_eq!(layer(2), "l2");
        assert!(has_ema(["trunk.l0.weight", "ema.trunk.l0.weight"]));
        assert!(!has_ema(["trunk.l0.weight", "adam_m.trunk.l0.weight"]));
    }

    #[test]
    fn layouts() {
        let mut c = ModelConfig::new(3);
        c.width = 8;
        c.depth = 2;
        c.time_features = 1;
        let p = c.clone().check().unwrap();
        // input 3 + 1 + 2
        assert_eq!(
            mlps(&p),
            vec![MlpLayout {
                prefix: TRUNK,
                sizes: vec![6, 8, 8, 6]
            }]
        );
        let l: Vec<_> = mlps(&p)[0].layers().collect();
        assert_eq!(
            l[2],
            ("trunk.l2.weight".into(), "trunk.l2.bias".into(), 8, 6)
        );
        c.shared_trunk = false;
        c.heads = vec![Head::Eta, Head::B];
        c.context_dim = 2;
        let m = mlps(&c.check().unwrap());
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].prefix, "eta");
        assert_eq!(m[1].prefix, "b");
        assert_eq!(m[1].sizes, vec![9, 8, 8, 3]);
    }

    #[test]
    fn formats() {
        assert_eq!(version("si-nn/2").unwrap(), Version::V2);
        assert_eq!(version("si-nn/1").unwrap(), Version::V1);
        assert!(
            matches!(version("si-nn/3"), Err(ModelError::Format { found }) if found == "si-nn/3")
        );
        let model = r#"{"dim":2,"width":4,"depth":1,"activation":"Gelu","time_features":0,
            "context_dim":0,"heads":["B"],"shared_trunk":true}"#;
        // si-nn/1 files have no time_segments: it reads as 0
        let c = parse_model(&format!(
            r#"{{"format":"si-nn/1","model":{model},"step":3}}"#
        ))
        .unwrap();
        assert_eq!(c.time_segments, 0);
        assert_eq!(c.activation, Activation::Gelu);
        assert!(matches!(
            parse_model(&format!(r#"{{"format":"si-nn/9","model":{model}}}"#)),
            Err(ModelError::Format { found }) if found == "si-nn/9"
        ));
        assert!(matches!(
            parse_model(&format!(r#"{{"model":{model}}}"#)),
            Err(ModelError::Format { found }) if found == "(none)"
        ));
        assert!(matches!(
            parse_model(r#"{"format":"si-nn/2"}"#),
            Err(ModelError::BadCheckpoint(_))
        ));
        assert!(matches!(
            parse_model("{"),
            Err(ModelError::BadCheckpoint(_))
        ));
        assert!(matches!(
            read_model(None),
            Err(ModelError::BadCheckpoint(_))
        ));
    }
}
