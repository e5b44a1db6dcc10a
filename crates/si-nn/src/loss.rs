//! The quadratic losses of the fields (arXiv 2303.08797, §2.2, eqs. 2.13–2.17) on one training batch.
//!
//! Every interpolant is written x_t = m(t) + σ(t) ζ with ζ ~ N(0, I): two-sided and mirror interpolants
//! have m = α x0 + β x1, σ = γ, ζ = z; one-sided ones have m = β x1, σ = α and ζ = x0 (the Gaussian base).
//! Then (∂tI + γ̇ z) = ṁ + σ̇ ζ and s = −η/σ, and the losses are
//!
//! * L_b = E[½|b̂|² − (ṁ + σ̇ζ)·b̂],
//! * L_s = E[½|ŝ|² + σ⁻¹ ζ·ŝ],
//! * L_η = E[½|η̂|² − ζ·η̂],
//! * L_v = E[½|v̂|² − ∂tI·v̂] (∂tI = ṁ two-sided, ṁ + σ̇ζ one-sided, where v = b).
//!
//! Antithetic pairs x_t^± = m ± σζ average the two evaluations; the singular factors σ̇ and σ⁻¹ then
//! multiply b̂(x⁺) − b̂(x⁻) = O(σ), which keeps the estimate's variance bounded near t = 0 and 1.
//! Times are drawn from U[t_min, 1 − t_min] so that σ⁻¹ and σ̇ are finite at every drawn time.

use rand::{Rng, RngCore};
use rand_distr::StandardNormal;
use si_core::{Batch, Interpolant, Sidedness};
use tch::{Device, Kind, Tensor};

use crate::data::TrainingData;
use crate::error::{NnError, Result};
use crate::model::{Context, Head};

/// One training batch on the model's device.
#[derive(Debug)]
pub struct LossBatch {
    /// Times `[rows, 1]` (the pair's time repeated for x⁻ when antithetic).
    pub t: Tensor,
    /// x_t: `[n, d]`, or `[2n, d]` (x⁺ rows then x⁻ rows) when antithetic.
    pub xt: Tensor,
    /// ζ `[n, d]`.
    pub zeta: Tensor,
    /// ṁ `[n, d]`.
    pub mdot: Tensor,
    /// σ `[n, 1]`.
    pub sigma: Tensor,
    /// σ̇ `[n, 1]`.
    pub dsigma: Tensor,
    /// Context `[rows, k]` and mask `[rows, 1]` (0 where dropped).
    pub context: Option<(Tensor, Tensor)>,
    /// Whether x_t holds antithetic pairs.
    pub antithetic: bool,
    /// Whether the interpolant is one-sided (then v = b).
    pub one_sided: bool,
    /// Number of pairs n.
    pub n: i64,
}

/// How a batch is drawn.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec {
    /// Number of pairs n (rows of the forward pass: 2n when antithetic).
    pub pairs: usize,
    /// Antithetic pairs.
    pub antithetic: bool,
    /// Times are drawn from U[t_min, 1 − t_min].
    pub t_min: f64,
    /// Probability of dropping the context of a pair (classifier-free guidance training).
    pub context_dropout: f64,
}

fn to_tensor(v: &[f64], rows: usize, cols: usize, device: Device) -> Tensor {
    let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    Tensor::from_slice(&f)
        .reshape([rows as i64, cols as i64])
        .to_device(device)
}

impl LossBatch {
    /// Draws a batch: pairs from `data`, t ~ U[t_min, 1 − t_min], fresh z ~ N(0, I) (two-sided/mirror).
    pub fn draw(
        interpolant: &Interpolant,
        data: &dyn TrainingData,
        spec: &BatchSpec,
        rng: &mut dyn RngCore,
        device: Device,
    ) -> Result<Self> {
        let n = spec.pairs;
        let d = data.dim();
        let draw = data.draw(n, rng)?;
        let one_sided = interpolant.sidedness() == Sidedness::OneSided;
        if draw.x0.len() != n || draw.x1.len() != n || draw.x0.dim() != d || draw.x1.dim() != d {
            return Err(NnError::Shape {
                expected: format!("{n} pairs of dimension {d}"),
                got: format!("{} and {} points", draw.x0.len(), draw.x1.len()),
            });
        }
        let (x0, x1) = (draw.x0.as_slice(), draw.x1.as_slice());
        let rows = if spec.antithetic { 2 * n } else { n };
        let (mut t, mut sig, mut dsig) = (vec![0.0; rows], vec![0.0; n], vec![0.0; n]);
        let (mut xt, mut zeta, mut mdot) =
            (vec![0.0; rows * d], vec![0.0; n * d], vec![0.0; n * d]);
        for i in 0..n {
            let u: f64 = rng.random();
            let ti = spec.t_min + (1.0 - 2.0 * spec.t_min) * u;
            let c = interpolant.schedule_unchecked(ti);
            t[i] = ti;
            sig[i] = c.noise_scale;
            dsig[i] = c.dnoise_scale;
            for k in 0..d {
                let j = i * d + k;
                let (z, m, dm) = if one_sided {
                    (x0[j], c.beta * x1[j], c.dbeta * x1[j])
                } else {
                    let z: f64 = rng.sample(StandardNormal);
                    (
                        z,
                        c.alpha * x0[j] + c.beta * x1[j],
                        c.dalpha * x0[j] + c.dbeta * x1[j],
                    )
                };
                zeta[j] = z;
                mdot[j] = dm;
                xt[j] = m + c.noise_scale * z;
                if spec.antithetic {
                    xt[n * d + j] = m - c.noise_scale * z;
                }
            }
            if spec.antithetic {
                t[n + i] = ti;
            }
        }
        let context = match (&draw.context, data.context_dim()) {
            (Some(cx), k) if k > 0 => {
                let mut c = vec![0.0; rows * k];
                let mut mask = vec![0.0; rows];
                for i in 0..n {
                    let keep = if rng.random::<f64>() < spec.context_dropout {
                        0.0
                    } else {
                        1.0
                    };
                    let ci = cx.point(i);
                    for r in [i, i + n]
                        .into_iter()
                        .take(if spec.antithetic { 2 } else { 1 })
                    {
                        mask[r] = keep;
                        for a in 0..k {
                            c[r * k + a] = ci[a];
                        }
                    }
                }
                Some((
                    to_tensor(&c, rows, k, device),
                    to_tensor(&mask, rows, 1, device),
                ))
            }
            _ => None,
        };
        Ok(Self {
            t: to_tensor(&t, rows, 1, device),
            xt: to_tensor(&xt, rows, d, device),
            zeta: to_tensor(&zeta, n, d, device),
            mdot: to_tensor(&mdot, n, d, device),
            sigma: to_tensor(&sig, n, 1, device),
            dsigma: to_tensor(&dsig, n, 1, device),
            context,
            antithetic: spec.antithetic,
            one_sided,
            n: n as i64,
        })
    }

    /// The context for the model's forward pass.
    pub fn model_context(&self) -> Option<Context<'_>> {
        self.context.as_ref().map(|(c, mask)| Context { c, mask })
    }

    /// The loss of one head from its output `[rows, d]` (a scalar tensor).
    pub fn loss(&self, head: Head, out: &Tensor) -> Tensor {
        let dot = |a: &Tensor, b: &Tensor| (a * b).sum_dim_intlist(1, false, Kind::Float);
        if self.antithetic {
            let (p, m) = (out.narrow(0, 0, self.n), out.narrow(0, self.n, self.n));
            let quad = (dot(&p, &p) + dot(&m, &m)) * 0.25;
            let diff = &p - &m;
            let sum = &p + &m;
            let sig = self.sigma.squeeze_dim(1);
            let dsig = self.dsigma.squeeze_dim(1);
            let lin = match head {
                Head::B => -(dot(&self.mdot, &sum) + dot(&self.zeta, &diff) * dsig) * 0.5,
                Head::S => dot(&self.zeta, &diff) / sig * 0.5,
                Head::Eta => -dot(&self.zeta, &diff) * 0.5,
                Head::V if self.one_sided => {
                    -(dot(&self.mdot, &sum) + dot(&self.zeta, &diff) * dsig) * 0.5
                }
                Head::V => -dot(&self.mdot, &sum) * 0.5,
            };
            (quad + lin).mean(Kind::Float)
        } else {
            let quad = dot(out, out) * 0.5;
            let bt = &self.mdot + &self.zeta * &self.dsigma;
            let lin = match head {
                Head::B => -dot(&bt, out),
                Head::S => dot(&(&self.zeta / &self.sigma), out),
                Head::Eta => -dot(&self.zeta, out),
                Head::V if self.one_sided => -dot(&bt, out),
                Head::V => -dot(&self.mdot, out),
            };
            (quad + lin).mean(Kind::Float)
        }
    }
}
