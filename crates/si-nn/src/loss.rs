//! The quadratic losses of the fields (arXiv 2303.08797, §2.2, eqs. 2.13–2.17) on one training batch.
//!
//! Every interpolant is written x_t = m(t) + σ(t) ζ with ζ ~ N(0, I): two-sided and mirror interpolants
//! have m = α x0 + β x1, σ = γ, ζ = z; one-sided ones have m = β x1, σ = α and ζ = x0 (the Gaussian base).
//! Then (∂tI + γ̇ z) = ṁ + σ̇ ζ and s = −η/σ, and the losses are
//!
//! * L_b = E[½|b̂|² − (ṁ + σ̇ζ)·b̂],
//! * L_s = E[½|ŝ|² + σ⁻¹ ζ·ŝ],
//! * L_η = E[½|η̂|² − ζ·η̂],
//! * L_v = E[½|v̂|² − ∂tI·v̂] (∂tI = ṁ two-sided, ṁ + σ̇ζ one-sided, where v = b: `Draw::v_is_b`).
//!
//! Antithetic pairs x_t^± = m ± σζ average the two evaluations; the singular factors σ̇ and σ⁻¹ then
//! multiply b̂(x⁺) − b̂(x⁻) = O(σ), which keeps the estimate's variance bounded near t = 0 and 1.
//! The draws come from any [`si_core::TargetSource`] (built-in interpolants, and any other Gaussian tube
//! x_t = m + σζ); its times must keep σ⁻¹ and σ̇ finite.

use si_core::Draw;
use tch::{Kind, Tensor};

use crate::batch::TensorBatch;
use crate::error::{NnError, Result};
use crate::model::{Context, Head};
use crate::rng;

/// One training batch on the model's device, made from a [`Draw`] of a target source.
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
    /// Whether the target of v is that of b (one-sided interpolants).
    pub v_is_b: bool,
    /// Number of pairs n.
    pub n: i64,
}

/// How a draw becomes a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec {
    /// Antithetic pairs x_t^± = m ± σζ.
    pub antithetic: bool,
    /// Probability of dropping the context of a pair (classifier-free guidance training).
    pub context_dropout: f64,
}

impl LossBatch {
    /// x_t^± = m ± σζ from a draw; the context of each pair is dropped with probability
    /// `spec.context_dropout`, decided by uniforms of key `dropout_key` on the device.
    pub fn new(draw: &Draw<TensorBatch>, spec: &BatchSpec, dropout_key: u64) -> Result<Self> {
        let f = |t: &Tensor| t.to_kind(Kind::Float);
        let (m, zeta, mdot) = (f(&draw.m.0), f(&draw.zeta.0), f(&draw.dm.0));
        let n = m.size().first().copied().unwrap_or(0);
        if zeta.size() != m.size() || mdot.size() != m.size() {
            return Err(NnError::Shape {
                expected: format!("m, dm and zeta of shape {:?}", m.size()),
                got: format!("{:?} and {:?}", mdot.size(), zeta.size()),
            });
        }
        let col = |r: &Tensor| f(r).reshape([-1, 1]);
        let (t, sigma, dsigma) = (col(&draw.t.0), col(&draw.sigma.0), col(&draw.dsigma.0));
        for (name, r) in [("t", &t), ("sigma", &sigma), ("dsigma", &dsigma)] {
            if r.size() != [n, 1] {
                return Err(NnError::Shape {
                    expected: format!("{name}: {n} values"),
                    got: format!("{:?}", r.size()),
                });
            }
        }
        let noise = &zeta * &sigma;
        let (t, xt) = if spec.antithetic {
            (
                Tensor::cat(&[&t, &t], 0),
                Tensor::cat(&[&m + &noise, &m - &noise], 0),
            )
        } else {
            (t, &m + &noise)
        };
        let context = match &draw.context {
            Some(c) => {
                let c = f(&c.0);
                let keep = if spec.context_dropout > 0.0 {
                    rng::uniforms(dropout_key, n, c.device())
                        .ge(spec.context_dropout)
                        .to_kind(Kind::Float)
                        .reshape([n, 1])
                } else {
                    Tensor::ones([n, 1], (Kind::Float, c.device()))
                };
                Some(if spec.antithetic {
                    (Tensor::cat(&[&c, &c], 0), Tensor::cat(&[&keep, &keep], 0))
                } else {
                    (c, keep)
                })
            }
            None => None,
        };
        Ok(Self {
            t,
            xt,
            zeta,
            mdot,
            sigma,
            dsigma,
            context,
            antithetic: spec.antithetic,
            v_is_b: draw.v_is_b,
            n,
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
                Head::V if self.v_is_b => {
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
                Head::V if self.v_is_b => -dot(&bt, out),
                Head::V => -dot(&self.mdot, out),
            };
            (quad + lin).mean(Kind::Float)
        }
    }
}
