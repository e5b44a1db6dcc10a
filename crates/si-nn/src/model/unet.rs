//! The U-Net trunk of an image model (si-model's [`UNetConfig`] describes it, with the formulas; the weight
//! count there is tested equal to what is built here).

use tch::nn::{self, Module};
use tch::Tensor;

use crate::model::Activation;
use si_model::UNetConfig;

/// Layers are created with zeros (GroupNorm with ones and zeros); [`super::net`]'s initialisation then
/// fills the weights from the caller's seed, never from libtorch's process-wide generator.
pub(crate) fn conv(p: nn::Path, i: usize, o: usize, k: i64, stride: i64) -> nn::Conv2D {
    nn::conv2d(
        p,
        i as i64,
        o as i64,
        k,
        nn::ConvConfig {
            stride,
            padding: k / 2,
            ws_init: nn::Init::Const(0.0),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        },
    )
}

pub(crate) fn linear(p: nn::Path, i: usize, o: usize) -> nn::Linear {
    nn::linear(
        p,
        i as i64,
        o as i64,
        nn::LinearConfig {
            ws_init: nn::Init::Const(0.0),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

/// The path segment of every GroupNorm starts with this, so that initialisation can give them (1, 0).
pub(crate) const NORM: &str = "norm";

fn group_norm(p: nn::Path, groups: usize, c: usize) -> nn::GroupNorm {
    nn::group_norm(p, groups as i64, c as i64, Default::default())
}

fn act(h: Tensor, a: Activation) -> Tensor {
    match a {
        Activation::Relu => h.relu(),
        Activation::Silu => h.silu(),
        Activation::Gelu => h.gelu("none"),
        Activation::Tanh => h.tanh(),
    }
}

/// skip(h) + conv(act(GN(conv(act(GN(h))) + W_e act(e)))).
#[derive(Debug)]
struct ResBlock {
    norm1: nn::GroupNorm,
    conv1: nn::Conv2D,
    emb: nn::Linear,
    norm2: nn::GroupNorm,
    conv2: nn::Conv2D,
    skip: Option<nn::Conv2D>,
}

impl ResBlock {
    fn new(p: nn::Path, i: usize, o: usize, e: usize, groups: usize) -> Self {
        Self {
            norm1: group_norm(&p / format!("{NORM}1"), groups, i),
            conv1: conv(&p / "conv1", i, o, 3, 1),
            emb: linear(&p / "emb", e, o),
            norm2: group_norm(&p / format!("{NORM}2"), groups, o),
            conv2: conv(&p / "conv2", o, o, 3, 1),
            skip: (i != o).then(|| conv(&p / "skip", i, o, 1, 1)),
        }
    }

    fn forward(&self, x: &Tensor, e: &Tensor, a: Activation) -> Tensor {
        let h = self.conv1.forward(&act(self.norm1.forward(x), a));
        let h = h + self.emb.forward(e).unsqueeze(-1).unsqueeze(-1);
        let h = self.conv2.forward(&act(self.norm2.forward(&h), a));
        match &self.skip {
            Some(s) => s.forward(x) + h,
            None => x + h,
        }
    }
}

/// h + proj(softmax(qᵀk/√c) v) over the H·W positions (one head).
#[derive(Debug)]
struct Attention {
    norm: nn::GroupNorm,
    qkv: nn::Conv2D,
    proj: nn::Conv2D,
    c: i64,
}

impl Attention {
    fn new(p: nn::Path, c: usize, groups: usize) -> Self {
        Self {
            norm: group_norm(&p / NORM, groups, c),
            qkv: conv(&p / "qkv", c, 3 * c, 1, 1),
            proj: conv(&p / "proj", c, c, 1, 1),
            c: c as i64,
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        let s = x.size();
        let (n, h, w) = (s[0], s[2], s[3]);
        let qkv = self
            .qkv
            .forward(&self.norm.forward(x))
            .reshape([n, 3, self.c, h * w]);
        let (q, k, v) = (qkv.select(1, 0), qkv.select(1, 1), qkv.select(1, 2));
        // weights[n, i, j] = softmax_j(q_i · k_j / √c)
        let weights = (q.transpose(1, 2).matmul(&k) / (self.c as f64).sqrt()).softmax(-1, q.kind());
        let out = v
            .matmul(&weights.transpose(1, 2))
            .reshape([n, self.c, h, w]);
        x + self.proj.forward(&out)
    }
}

/// One residual block with its optional attention.
#[derive(Debug)]
struct Stage {
    res: ResBlock,
    attn: Option<Attention>,
}

impl Stage {
    fn forward(&self, x: &Tensor, e: &Tensor, a: Activation) -> Tensor {
        let h = self.res.forward(x, e, a);
        match &self.attn {
            Some(at) => at.forward(&h),
            None => h,
        }
    }
}

/// The U-Net: (x as [n, C, H, W], the conditioning input [n, k]) → [n, out, H, W].
#[derive(Debug)]
pub(crate) struct UNet {
    emb1: nn::Linear,
    emb2: nn::Linear,
    conv_in: nn::Conv2D,
    /// Per level: its stages, then the down-sampling convolution (all levels but the last).
    down: Vec<(Vec<Stage>, Option<nn::Conv2D>)>,
    middle: (ResBlock, Attention, ResBlock),
    /// Per level, last first: its stages, then the up-sampling convolution (all levels but the first).
    up: Vec<(Vec<Stage>, Option<nn::Conv2D>)>,
    norm_out: nn::GroupNorm,
    conv_out: nn::Conv2D,
    act: Activation,
    shape: [i64; 3],
}

impl UNet {
    /// The U-Net of `cfg` with `embed_in` conditioning inputs and `out` output channels (the layout that
    /// si-model's `UNetConfig::num_weights` counts).
    pub(crate) fn new(
        p: nn::Path,
        cfg: &UNetConfig,
        embed_in: usize,
        out: usize,
        act: Activation,
    ) -> Self {
        let e = cfg.embed_width();
        let g = cfg.groups;
        let levels = cfg.mults.len();
        let stage = |p: nn::Path, i: usize, o: usize, l: usize| Stage {
            res: ResBlock::new(&p / "res", i, o, e, g),
            attn: cfg
                .attention
                .contains(&l)
                .then(|| Attention::new(&p / "attn", o, g)),
        };
        let mut ch = cfg.base;
        let mut skips = vec![ch];
        let mut down = Vec::with_capacity(levels);
        for (l, m) in cfg.mults.iter().enumerate() {
            let o = cfg.base * m;
            let q = &p / "down" / l;
            let mut stages = Vec::with_capacity(cfg.blocks);
            for b in 0..cfg.blocks {
                stages.push(stage(&q / b, ch, o, l));
                ch = o;
                skips.push(ch);
            }
            let ds = (l + 1 < levels).then(|| {
                skips.push(ch);
                conv(&q / "downsample", ch, ch, 3, 2)
            });
            down.push((stages, ds));
        }
        let middle = (
            ResBlock::new(&p / "mid" / "res0", ch, ch, e, g),
            Attention::new(&p / "mid" / "attn", ch, g),
            ResBlock::new(&p / "mid" / "res1", ch, ch, e, g),
        );
        let mut up = Vec::with_capacity(levels);
        for (l, m) in cfg.mults.iter().enumerate().rev() {
            let o = cfg.base * m;
            let q = &p / "up" / l;
            let mut stages = Vec::with_capacity(cfg.blocks + 1);
            for b in 0..=cfg.blocks {
                let s = skips.pop().unwrap_or(0);
                stages.push(stage(&q / b, ch + s, o, l));
                ch = o;
            }
            let us = (l > 0).then(|| conv(&q / "upsample", ch, ch, 3, 1));
            up.push((stages, us));
        }
        Self {
            emb1: linear(&p / "emb1", embed_in, e),
            emb2: linear(&p / "emb2", e, e),
            conv_in: conv(&p / "conv_in", cfg.channels, cfg.base, 3, 1),
            down,
            middle,
            up,
            norm_out: group_norm(&p / format!("{NORM}_out"), g, ch),
            conv_out: conv(&p / "conv_out", ch, out, 3, 1),
            act,
            shape: [cfg.channels as i64, cfg.height as i64, cfg.width as i64],
        }
    }

    /// x as `[n, C·H·W]` (channel-major rows), `cond` `[n, k]` → `[n, out, H, W]`.
    pub(crate) fn forward(&self, x: &Tensor, cond: &Tensor) -> Tensor {
        let a = self.act;
        let n = x.size()[0];
        let [c, hgt, wid] = self.shape;
        let e = self.emb2.forward(&act(self.emb1.forward(cond), a));
        let mut h = self.conv_in.forward(&x.reshape([n, c, hgt, wid]));
        let mut skips = vec![h.shallow_clone()];
        for (stages, ds) in &self.down {
            for s in stages {
                h = s.forward(&h, &e, a);
                skips.push(h.shallow_clone());
            }
            if let Some(d) = ds {
                h = d.forward(&h);
                skips.push(h.shallow_clone());
            }
        }
        h = self.middle.0.forward(&h, &e, a);
        h = self.middle.1.forward(&h);
        h = self.middle.2.forward(&h, &e, a);
        for (stages, us) in &self.up {
            for s in stages {
                let skip = skips.pop().unwrap_or_else(|| h.zeros_like());
                h = s.forward(&Tensor::cat(&[h, skip], 1), &e, a);
            }
            if let Some(u) = us {
                let sz = h.size();
                h = u.forward(&h.upsample_nearest2d([2 * sz[2], 2 * sz[3]], None, None));
            }
        }
        self.conv_out.forward(&act(self.norm_out.forward(&h), a))
    }
}
