//! Random numbers on the model's device from an explicit key, without libtorch's process-wide generator.
//!
//! tch exposes only libtorch's global generator (`tch::manual_seed`), which every thread of a process shares:
//! reseeding it inside a library call would make concurrent users interfere. Instead, noise is a pure
//! function of a 64-bit key and the element's index, computed with tensor operations where the tensor lives
//! (a counter-based generator, as Philox is in cuRAND): element i of a draw with key k gets
//!
//! ```text
//! h_j(i) = mix(mix(i ⊕ k_lo ⊕ c_j) ⊕ k_hi),  j = 1, 2,
//! ```
//!
//! where `mix` is the 32-bit `lowbias32` finaliser (x ^= x >> 16; x *= 0x21f0aaad; x ^= x >> 15;
//! x *= 0xd35a2d97; x ^= x >> 15; every product mod 2³²), u_j = (⌊h_j / 2⁸⌋ + ½) / 2²⁴ ∈ (0, 1), and the
//! Box–Muller pair √(−2 ln u_1) (cos 2πu_2, sin 2πu_2) gives two standard normals. The 32-bit products are
//! formed exactly in int64 from 16-bit halves, so no operation overflows. Uniforms have 24 bits (f32
//! precision), so normals are bounded by √(−2 ln 2⁻²⁵) ≈ 5.9 (a tail mass of 4e-9 is cut).
//!
//! The same draws are computed on the host by [`host_normals`], so the device code is tested bit for bit
//! against plain integer arithmetic, and its statistics against N(0, 1).

use tch::{Device, Kind, Tensor};

use crate::error::{NnError, Result};

const M1: i64 = 0x21f0_aaad;
const M2: i64 = 0xd35a_2d97;
const MASK: i64 = 0xffff_ffff;
/// Stream constants of the two uniforms of a Box–Muller pair.
const C1: u32 = 0x9e37_79b9;
const C2: u32 = 0x85eb_ca6b;

fn mix_host(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(M1 as u32);
    x ^= x >> 15;
    x = x.wrapping_mul(M2 as u32);
    x ^= x >> 15;
    x
}

fn hash_host(i: u32, key: u64, c: u32) -> u32 {
    let (lo, hi) = (key as u32, (key >> 32) as u32);
    mix_host(mix_host(i ^ lo ^ c) ^ hi)
}

fn uniform_host(h: u32) -> f64 {
    ((h >> 8) as f64 + 0.5) / (1u64 << 24) as f64
}

/// The first `len` standard normals of key `key`, computed on the host (f64): the reference the device
/// version is tested against.
pub fn host_normals(key: u64, len: usize) -> Vec<f64> {
    let pairs = len.div_ceil(2);
    let mut out = vec![0.0; 2 * pairs];
    for i in 0..pairs {
        let u1 = uniform_host(hash_host(i as u32, key, C1));
        let u2 = uniform_host(hash_host(i as u32, key, C2));
        let r = (-2.0 * u1.ln()).sqrt();
        let a = 2.0 * std::f64::consts::PI * u2;
        out[i] = r * a.cos();
        out[pairs + i] = r * a.sin();
    }
    out.truncate(len);
    out
}

/// x·m mod 2³² for x ∈ [0, 2³²) held in int64, from the 16-bit halves of m (no product exceeds 2⁴⁹).
fn mul32(x: &Tensor, m: i64) -> Tensor {
    let (lo, hi) = (m & 0xffff, m >> 16);
    let a = x * lo;
    let b = (x * hi).bitwise_and(0xffff) * 65536;
    (a + b).bitwise_and(MASK)
}

fn shr(x: &Tensor, s: i64) -> Tensor {
    x.bitwise_right_shift_tensor_scalar(s)
}

fn mix(x: Tensor) -> Tensor {
    let x = x.bitwise_xor_tensor(&shr(&x, 16));
    let x = mul32(&x, M1);
    let x = x.bitwise_xor_tensor(&shr(&x, 15));
    let x = mul32(&x, M2);
    x.bitwise_xor_tensor(&shr(&x, 15))
}

fn uniform(i: &Tensor, key: u64, c: u32) -> Tensor {
    let (lo, hi) = ((key as u32) as i64, (key >> 32) as i64);
    let h = mix(mix(i.bitwise_xor(lo ^ c as i64)).bitwise_xor(hi));
    (shr(&h, 8).to_kind(Kind::Double) + 0.5) / (1u64 << 24) as f64
}

/// A `shape` tensor of standard normals of key `key` on `device` in `kind` (computed in f64, then cast).
/// Equal to [`host_normals`] element for element (row-major order).
pub fn normals(key: u64, shape: &[i64], kind: Kind, device: Device) -> Result<Tensor> {
    let len: i64 = shape.iter().product();
    if len < 0 || len > 2 * (u32::MAX as i64) {
        return Err(NnError::Shape {
            expected: format!("at most {} random numbers per key", 2 * u32::MAX as u64),
            got: format!("{len}"),
        });
    }
    let pairs = (len + 1) / 2;
    let i = Tensor::arange(pairs, (Kind::Int64, device));
    let u1 = uniform(&i, key, C1);
    let u2 = uniform(&i, key, C2);
    let r = (u1.log() * -2.0).sqrt();
    let a = u2 * (2.0 * std::f64::consts::PI);
    let z = Tensor::cat(&[&r * a.cos(), r * a.sin()], 0);
    Ok(z.narrow(0, 0, len).reshape(shape).to_kind(kind))
}

/// A `[n]` tensor of uniforms in (0, 1) of key `key` (the first uniform of each pair), f64 on `device`.
pub fn uniforms(key: u64, n: i64, device: Device) -> Tensor {
    uniform(&Tensor::arange(n, (Kind::Int64, device)), key, C1)
}

/// The host twin of [`uniforms`].
pub fn host_uniforms(key: u64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| uniform_host(hash_host(i as u32, key, C1)))
        .collect()
}
