//! [`UNetConfig`]: the convolutional trunk of a field model on images (docs/design.md, "Images").
//!
//! A point of an image model is an image flattened channel-major, x ∈ R^{C·H·W} (the layout of a
//! `(N, C, H, W)` array's rows), so the integrators, losses and couplings see ordinary points while the
//! network sees (C, H, W). The architecture is the DDPM / improved-DDPM U-Net (Ho et al. 2020; Nichol &
//! Dhariwal 2021) at small sizes:
//!
//! ```text
//! e      = W2 act(W1 (φ(t), [frac(T t)], c·m, m) + b1) + b2                      (embedding, 4·base wide)
//! h      = conv3×3(x)                                                            (C → base)
//! down   : per level l, `blocks` residual blocks to base·mults[l] (self-attention after each at the levels
//!          in `attention`), then a stride-2 3×3 convolution (all levels but the last)
//! middle : residual block, self-attention, residual block
//! up     : per level l (last first), blocks + 1 residual blocks on (h, the matching skip) concatenated,
//!          self-attention as on the way down, then nearest ×2 up-sampling and a 3×3 convolution (all
//!          levels but the first)
//! out    = conv3×3(act(GroupNorm(h)))                                            (→ C per head)
//! res(h) = skip(h) + conv3×3(act(GN(conv3×3(act(GN(h))) + W_e act(e))))          (skip: 1×1 if widths differ)
//! attn(h)= h + proj(softmax(qᵀk/√c) v),  (q, k, v) = 1×1 conv of GN(h), over the H·W positions
//! ```
//!
//! GroupNorm acts on each image alone, so the network is equivariant to the order of a batch.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// A U-Net trunk for points that are C × H × W images (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UNetConfig {
    /// Image channels C.
    pub channels: usize,
    /// Image height H.
    pub height: usize,
    /// Image width W.
    pub width: usize,
    /// Feature maps at the first level.
    pub base: usize,
    /// Width multipliers per level (`base · mults[l]` maps at level l); there are `mults.len()` levels and
    /// `mults.len() − 1` halvings, so H and W must be divisible by 2^(levels − 1).
    pub mults: Vec<usize>,
    /// Residual blocks per level on the way down (one more on the way up).
    pub blocks: usize,
    /// Levels (0-based) with self-attention after each residual block.
    pub attention: Vec<usize>,
    /// Groups of every GroupNorm (must divide every level's width).
    pub groups: usize,
}

impl UNetConfig {
    /// A small U-Net for C × H × W images: base 32, levels (1, 2), two blocks per level, attention at the
    /// second level, 8 groups.
    pub fn new(channels: usize, height: usize, width: usize) -> Self {
        Self {
            channels,
            height,
            width,
            base: 32,
            mults: vec![1, 2],
            blocks: 2,
            attention: vec![1],
            groups: 8,
        }
    }

    /// The width of the time (and context) embedding: 4 · base.
    pub fn embed_width(&self) -> usize {
        4 * self.base
    }

    /// The point's dimension C·H·W (`None` on overflow).
    pub fn dim(&self) -> Option<usize> {
        self.channels
            .checked_mul(self.height)?
            .checked_mul(self.width)
    }

    /// Checks the sizes against the model's point dimension `dim`.
    pub(crate) fn check(&self, dim: usize) -> Result<()> {
        let bad = |reason: String| Err(ModelError::hyper("unet", reason));
        if self.channels == 0 || self.height == 0 || self.width == 0 {
            return bad(format!(
                "image shape {}×{}×{} has a zero side",
                self.channels, self.height, self.width
            ));
        }
        if self.dim() != Some(dim) {
            return bad(format!(
                "images of {}×{}×{} are {} numbers, the model's dimension is {dim}",
                self.channels,
                self.height,
                self.width,
                self.channels
                    .saturating_mul(self.height)
                    .saturating_mul(self.width)
            ));
        }
        if self.mults.is_empty() || self.mults.len() > 8 {
            return bad(format!("{} levels; 1 to 8 are supported", self.mults.len()));
        }
        let halvings = 1usize << (self.mults.len() - 1);
        if !self.height.is_multiple_of(halvings) || !self.width.is_multiple_of(halvings) {
            return bad(format!(
                "{} levels halve the image {} times: {}×{} is not divisible by {halvings} (pad the images, or use fewer levels)",
                self.mults.len(),
                self.mults.len() - 1,
                self.height,
                self.width
            ));
        }
        if self.base == 0 || self.base > 4096 || self.groups == 0 || self.blocks > 16 {
            return bad(format!(
                "base {} (1..=4096), groups {} (≥ 1) and blocks {} (≤ 16)",
                self.base, self.groups, self.blocks
            ));
        }
        for &m in &self.mults {
            let w = self.base.checked_mul(m).filter(|w| *w > 0 && *w <= 1 << 16);
            match w {
                Some(w) if w.is_multiple_of(self.groups) => {}
                _ => {
                    return bad(format!(
                        "level width base·mult = {}·{m} must be in 1..=65536 and divisible by the {} groups",
                        self.base, self.groups
                    ))
                }
            }
        }
        if let Some(l) = self.attention.iter().find(|l| **l >= self.mults.len()) {
            return bad(format!(
                "attention at level {l}, but there are {} levels",
                self.mults.len()
            ));
        }
        Ok(())
    }

    /// The number of weights of one U-Net with `embed_in` conditioning inputs and `out` output channels,
    /// counted as si-nn builds it (`None` on overflow).
    pub(crate) fn num_weights(&self, embed_in: usize, out: usize) -> Option<usize> {
        let e = self.embed_width();
        let lin = |i: usize, o: usize| i.checked_mul(o)?.checked_add(o);
        let conv =
            |i: usize, o: usize, k: usize| i.checked_mul(o)?.checked_mul(k * k)?.checked_add(o);
        let gn = |c: usize| c.checked_mul(2);
        let res = |i: usize, o: usize| -> Option<usize> {
            let mut n = gn(i)?
                .checked_add(conv(i, o, 3)?)?
                .checked_add(lin(e, o)?)?
                .checked_add(gn(o)?)?
                .checked_add(conv(o, o, 3)?)?;
            if i != o {
                n = n.checked_add(conv(i, o, 1)?)?;
            }
            Some(n)
        };
        let attn = |c: usize| -> Option<usize> {
            gn(c)?
                .checked_add(conv(c, 3 * c, 1)?)?
                .checked_add(conv(c, c, 1)?)
        };
        let levels = self.mults.len();
        let mut n = lin(embed_in, e)?
            .checked_add(lin(e, e)?)?
            .checked_add(conv(self.channels, self.base, 3)?)?;
        let mut ch = self.base;
        let mut skips = vec![ch];
        for (l, m) in self.mults.iter().enumerate() {
            let o = self.base.checked_mul(*m)?;
            for _ in 0..self.blocks {
                n = n.checked_add(res(ch, o)?)?;
                ch = o;
                if self.attention.contains(&l) {
                    n = n.checked_add(attn(ch)?)?;
                }
                skips.push(ch);
            }
            if l + 1 < levels {
                n = n.checked_add(conv(ch, ch, 3)?)?;
                skips.push(ch);
            }
        }
        n = n
            .checked_add(res(ch, ch)?)?
            .checked_add(attn(ch)?)?
            .checked_add(res(ch, ch)?)?;
        for (l, m) in self.mults.iter().enumerate().rev() {
            let o = self.base.checked_mul(*m)?;
            for _ in 0..=self.blocks {
                let s = skips.pop()?;
                n = n.checked_add(res(ch.checked_add(s)?, o)?)?;
                ch = o;
                if self.attention.contains(&l) {
                    n = n.checked_add(attn(ch)?)?;
                }
            }
            if l > 0 {
                n = n.checked_add(conv(ch, ch, 3)?)?;
            }
        }
        n.checked_add(gn(ch)?)?.checked_add(conv(ch, out, 3)?)
    }
}
