//! The keyed on-device generator against its host twin and N(0, 1), and the device-resident data source
//! against the formulas of its draws.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::{Batch, Gamma, Interpolant, Points, TargetSource, TimeRange};
use si_nn::rng::{host_normals, host_uniforms, normals, uniforms};
use si_nn::{DeviceData, TensorBatch};
use tch::{Device, Kind};

fn to_vec(t: &tch::Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.to_kind(Kind::Double).reshape([-1])).unwrap()
}

#[test]
fn device_noise_equals_its_host_twin() {
    for (key, len) in [
        (0u64, 1usize),
        (7, 9),
        (u64::MAX, 1000),
        (0x1234_5678_9abc, 4097),
    ] {
        let dev = to_vec(&normals(key, &[len as i64], Kind::Double, Device::Cpu).unwrap());
        let host = host_normals(key, len);
        for (i, (a, b)) in dev.iter().zip(&host).enumerate() {
            assert!((a - b).abs() < 1e-12, "key {key}, element {i}: {a} vs {b}");
        }
        let du = to_vec(&uniforms(key, len as i64, Device::Cpu));
        assert_eq!(du, host_uniforms(key, len), "uniforms of key {key}");
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 through erf; error < 1.5e-7).
fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    let erf = if x >= 0.0 { y } else { -y };
    0.5 * (1.0 + erf)
}

#[test]
fn device_noise_is_standard_normal_and_keys_are_independent() {
    // n = 200,000 draws. False-alarm rates: mean and variance within 5 standard errors (6e-7 each);
    // Kolmogorov–Smirnov distance below 1.95/√n (p = 0.001); lag-1 and cross-key correlations within
    // 5/√n.
    let n = 200_000usize;
    let a = to_vec(&normals(11, &[n as i64], Kind::Double, Device::Cpu).unwrap());
    let b = to_vec(&normals(12, &[n as i64], Kind::Double, Device::Cpu).unwrap());
    let nf = n as f64;
    let mean = a.iter().sum::<f64>() / nf;
    let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    assert!(mean.abs() < 5.0 / nf.sqrt(), "mean {mean}");
    assert!(
        (var - 1.0).abs() < 5.0 * (2.0 / nf).sqrt(),
        "variance {var}"
    );
    let mut sorted = a.clone();
    sorted.sort_by(f64::total_cmp);
    let ks = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = phi(x);
            (f - i as f64 / nf)
                .abs()
                .max(((i + 1) as f64 / nf - f).abs())
        })
        .fold(0.0, f64::max);
    assert!(ks < 1.95 / nf.sqrt(), "KS distance {ks}");
    let corr =
        |u: &[f64], v: &[f64]| u.iter().zip(v).map(|(x, y)| x * y).sum::<f64>() / u.len() as f64;
    let lag = corr(&a[..n - 1], &a[1..]);
    let half = corr(&a[..n / 2], &a[n / 2..]);
    let cross = corr(&a, &b);
    for (what, c) in [
        ("lag-1", lag),
        ("cos/sin halves", half),
        ("keys 11 and 12", cross),
    ] {
        assert!(c.abs() < 5.0 / nf.sqrt(), "{what} correlation {c}");
    }
}

#[test]
fn batch_noise_is_keyed_by_the_callers_generator() {
    let zero = TensorBatch::upload(&Points::zeros(1000, 2), Kind::Float, Device::Cpu).unwrap();
    let noisy = |seed: u64| {
        let mut x = zero.clone();
        x.add_noise(1.0, &mut ChaCha8Rng::seed_from_u64(seed))
            .unwrap();
        x.to_points().unwrap().to_row_major()
    };
    assert_eq!(noisy(1), noisy(1), "same generator, same noise");
    assert_ne!(noisy(1), noisy(2), "distinct generators, distinct noise");
}

fn rows(t: &si_nn::TensorRows) -> Vec<f64> {
    TensorBatch::rows_to_vec(t).unwrap()
}

#[test]
fn device_data_draws_follow_the_interpolant() {
    // A data set of one point p: then x1 = p in every row, and each draw's m, ṁ, σ, σ̇ are known in closed
    // form given t and x0, which are recovered from the draw itself.
    let p = [1.5, -2.0];
    let data = Points::from_row_major(1, 2, &p).unwrap();
    let times = TimeRange::new(0.01).unwrap();
    let n = 20_000;
    // One-sided linear: m = t p, ṁ = p, σ = 1 − t, σ̇ = −1, ζ = x0 ~ N(0, I).
    let src = DeviceData::new(
        Interpolant::one_sided_linear(),
        &data,
        None,
        times,
        Device::Cpu,
    )
    .unwrap();
    let d = src.draw(n, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
    assert!(d.v_is_b && d.context.is_none());
    let (t, sig, dsig) = (rows(&d.t), rows(&d.sigma), rows(&d.dsigma));
    let (m, dm) = (d.m.to_points().unwrap(), d.dm.to_points().unwrap());
    for i in 0..n {
        assert!((0.01..=0.99).contains(&t[i]));
        assert!((sig[i] - (1.0 - t[i])).abs() < 1e-6 && (dsig[i] + 1.0).abs() < 1e-6);
        #[allow(clippy::needless_range_loop)]
        for k in 0..2 {
            assert!((m.point(i)[k] - t[i] * p[k]).abs() < 1e-5);
            assert!((dm.point(i)[k] - p[k]).abs() < 1e-6);
        }
    }
    // Two-sided linear with γ = √(t(1−t)): m = (1 − t) x0 + t p, ṁ = p − x0, σ = γ; x0 and ζ independent
    // N(0, I) (5-standard-error bounds on n = 20,000).
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let src = DeviceData::new(it, &data, None, times, Device::Cpu).unwrap();
    let d = src.draw(n, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
    assert!(!d.v_is_b);
    let (t, sig) = (rows(&d.t), rows(&d.sigma));
    let (m, dm, z) = (
        d.m.to_points().unwrap(),
        d.dm.to_points().unwrap(),
        d.zeta.to_points().unwrap(),
    );
    let (mut s0, mut s00, mut s0z) = (0.0, 0.0, 0.0);
    for i in 0..n {
        assert!((sig[i] - (t[i] * (1.0 - t[i])).sqrt()).abs() < 1e-6);
        #[allow(clippy::needless_range_loop)]
        for k in 0..2 {
            let x0 = (m.point(i)[k] - t[i] * p[k]) / (1.0 - t[i]);
            assert!((dm.point(i)[k] - (p[k] - x0)).abs() < 1e-4, "row {i}");
            s0 += x0;
            s00 += x0 * x0;
            s0z += x0 * z.point(i)[k];
        }
    }
    let nn = 2.0 * n as f64;
    let se = 5.0 / nn.sqrt();
    assert!((s0 / nn).abs() < se, "mean of x0 {}", s0 / nn);
    assert!(
        (s00 / nn - 1.0).abs() < 5.0 * (2.0 / nn).sqrt(),
        "variance of x0 {}",
        s00 / nn
    );
    assert!((s0z / nn).abs() < se, "x0 and z correlated: {}", s0z / nn);
    // Labels become one-hot contexts of the drawn rows; a bad label is a typed error.
    let two = Points::from_row_major(2, 1, &[0.0, 10.0]).unwrap();
    let src = DeviceData::new(
        Interpolant::one_sided_linear(),
        &two,
        Some((&[0, 1], 2)),
        times,
        Device::Cpu,
    )
    .unwrap();
    let d = src.draw(500, &mut ChaCha8Rng::seed_from_u64(5)).unwrap();
    let (c, dm) = (
        d.context.unwrap().to_points().unwrap(),
        d.dm.to_points().unwrap(),
    );
    for i in 0..500 {
        let label = if dm.point(i)[0] > 5.0 { 1 } else { 0 };
        assert_eq!(c.point(i)[label], 1.0);
        assert_eq!(c.point(i)[1 - label], 0.0);
    }
    assert!(DeviceData::new(
        Interpolant::one_sided_linear(),
        &two,
        Some((&[0, 2], 2)),
        times,
        Device::Cpu
    )
    .is_err());
}

#[test]
fn loss_batches_carry_contexts_and_drop_them_at_the_asked_rate() {
    use si_nn::loss::{BatchSpec, LossBatch};
    // Labelled rows on the device: the batch's context is the rows' one-hot labels, repeated for the
    // antithetic rows with the same mask; with dropout p the kept fraction is 1 − p within 5 standard
    // errors (n = 20,000 pairs: false-alarm rate 6e-7).
    let n = 20_000usize;
    let pts = Points::from_row_major(2, 1, &[0.0, 10.0]).unwrap();
    let src = DeviceData::new(
        Interpolant::one_sided_linear(),
        &pts,
        Some((&[0, 1], 2)),
        TimeRange::new(0.01).unwrap(),
        Device::Cpu,
    )
    .unwrap();
    let draw = src.draw(n, &mut ChaCha8Rng::seed_from_u64(8)).unwrap();
    let labels = draw.context.as_ref().unwrap().to_points().unwrap();
    for (p, antithetic) in [(0.0, false), (0.3, true)] {
        let spec = BatchSpec {
            antithetic,
            context_dropout: p,
        };
        let b = LossBatch::new(&draw, &spec, 99).unwrap();
        let ctx = b
            .model_context()
            .expect("a conditional draw gives a context");
        let rows = if antithetic { 2 * n } else { n };
        assert_eq!(ctx.c.size(), [rows as i64, 2]);
        assert_eq!(ctx.mask.size(), [rows as i64, 1]);
        let c = to_vec(ctx.c);
        let mask = to_vec(ctx.mask);
        for r in 0..rows {
            let i = r % n;
            assert_eq!(&c[2 * r..2 * r + 2], labels.point(i).as_slice(), "row {r}");
            assert_eq!(mask[r], mask[i], "antithetic rows share the mask");
        }
        let kept = mask[..n].iter().sum::<f64>() / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt().max(1e-12);
        assert!(
            (kept - (1.0 - p)).abs() <= 5.0 * se,
            "kept {kept} at dropout {p}"
        );
    }
    // An unconditional draw has no context.
    let plain = DeviceData::new(
        Interpolant::one_sided_linear(),
        &pts,
        None,
        TimeRange::new(0.01).unwrap(),
        Device::Cpu,
    )
    .unwrap();
    let d = plain.draw(8, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
    let spec = BatchSpec {
        antithetic: true,
        context_dropout: 0.5,
    };
    assert!(LossBatch::new(&d, &spec, 0)
        .unwrap()
        .model_context()
        .is_none());
}

#[test]
fn dequantised_device_draws_lie_in_their_counts_cells() {
    use si_core::TargetSource;
    // row r holds the count r in every pixel, labelled r: each drawn x1 = m/β must lie in the cell of its
    // label's count, [2k/L − 1, 2(k + 1)/L − 1)
    let levels = 5;
    let (n, d) = (levels, 3);
    let counts: Vec<f64> = (0..n).flat_map(|r| vec![r as f64; d]).collect();
    let labels: Vec<usize> = (0..n).collect();
    let p = si_core::Points::from_row_major(n, d, &counts).unwrap();
    let src = si_nn::DeviceData::new(
        si_core::Interpolant::one_sided_linear(),
        &p,
        Some((&labels, levels)),
        si_core::TimeRange::new(0.05).unwrap(),
        tch::Device::Cpu,
    )
    .unwrap()
    .with_dequantization(levels)
    .unwrap();
    let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(3);
    let draw = src.draw(400, &mut rng).unwrap();
    let m: Vec<f32> = Vec::try_from(draw.m.0.reshape([-1])).unwrap();
    let t: Vec<f32> = Vec::try_from(draw.t.0.reshape([-1])).unwrap();
    let ctx: Vec<f32> = Vec::try_from(
        draw.context
            .unwrap()
            .0
            .argmax(1, false)
            .to_kind(tch::Kind::Float),
    )
    .unwrap();
    let l = levels as f64;
    let mut spread = 0.0f64;
    for i in 0..400 {
        let k = f64::from(ctx[i]);
        for j in 0..d {
            // one-sided linear: β(t) = t
            let x1 = f64::from(m[i * d + j]) / f64::from(t[i]);
            let lo = 2.0 * k / l - 1.0;
            assert!(
                x1 > lo - 1e-5 && x1 < lo + 2.0 / l + 1e-5,
                "x1 {x1} outside the cell of {k}"
            );
            spread = spread.max(x1 - lo);
        }
    }
    // fresh u: the values fill their cells (not one fixed offset)
    assert!(spread > 1.8 / l);
    // non-counts are refused
    let half = si_core::Points::from_row_major(1, 1, &[0.5]).unwrap();
    let s = si_nn::DeviceData::new(
        si_core::Interpolant::one_sided_linear(),
        &half,
        None,
        si_core::TimeRange::new(0.05).unwrap(),
        tch::Device::Cpu,
    )
    .unwrap();
    assert!(s.with_dequantization(5).is_err());
}
