//! Route (b) to the Schrödinger bridge, learned (si-nn `methods::interpolant_opt`; docs/math.md §9): from
//! the Brownian-bridge member over the independent coupling, whose SDE couples DSBM's benchmark ends with
//! 0.546 per coordinate, the descent–ascent must move the schedule to the bridge's (√5 − 1)/2 ≈ 0.618. The
//! coupling a schedule implies is si-analytic's closed form (no sampling); the seed is fixed, and the
//! threshold is a third of the start's error (the run at hand ends 0.013 off, the start 0.072).

use nalgebra::{DMatrix, DVector};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::interpolant_opt::{implied_cross_covariance, DiagonalEnds};
use si_analytic::{GaussianMixture, MixtureFields};
use si_core::{Batch, Points, PolySchedule, Sampler};
use si_nn::methods::interpolant_opt::{optimise_interpolant, InterpolantOptConfig};
use si_nn::{Activation, Head, ModelConfig, NnError, TensorBatch};

/// N(m, I) in d dimensions.
struct Shifted {
    m: f64,
    d: usize,
}

impl Sampler for Shifted {
    fn dim(&self) -> usize {
        self.d
    }
    fn sample(&self, n: usize, rng: &mut dyn RngCore) -> si_core::Result<Points> {
        let z = Points::standard_normal(n, self.d, rng);
        Ok(Points::from_matrix_unchecked(z.matrix().add_scalar(self.m)))
    }
}

fn model(d: usize, heads: Vec<Head>) -> si_nn::ModelParams {
    let mut m = ModelConfig::new(d);
    m.width = 64;
    m.depth = 2;
    m.activation = Activation::Silu;
    m.heads = heads;
    m.check().unwrap()
}

#[test]
fn the_learned_schedule_moves_to_the_bridge() {
    let d = 2;
    let (rho0, rho1) = (Shifted { m: -0.1, d }, Shifted { m: 0.1, d });
    let cfg = InterpolantOptConfig {
        steps: 1500,
        batch: 256,
        ..InterpolantOptConfig::default()
    }
    .check()
    .unwrap();
    let opt = optimise_interpolant(
        &rho0,
        &rho1,
        model(d, vec![Head::B, Head::S]),
        &cfg,
        tch::Device::Cpu,
    )
    .unwrap();
    let ends = DiagonalEnds::new(vec![-0.1; d], vec![1.0; d], vec![0.1; d], vec![1.0; d]).unwrap();
    let want = (5f64.sqrt() - 1.0) / 2.0;
    let start =
        implied_cross_covariance(&PolySchedule::brownian(1.0, 3).unwrap(), &ends, 0.5).unwrap()[0];
    let got = implied_cross_covariance(&opt.schedule, &ends, 0.5).unwrap()[0];
    let tol = (start - want).abs() / 3.0;
    assert!(
        (got - want).abs() < tol,
        "learned {got}, bridge {want}, start {start}; member {:?}",
        opt.schedule
    );
    // the networks are the fields of the schedule they end with: b and s against the exact mixture fields
    // of the learned member at samples of its ρ_t (relative L2 error; a sign error in either regression
    // would give 2 and an untrained network about 1, while the schedule's path does not see either). The
    // run at hand is at 0.13-0.32 for b (small here: the benchmark's b is the mean's drift 0.2 plus a
    // slowly varying variance term) and 0.02-0.03 for s; the tolerances are 0.6 and 0.2.
    let gauss = |m: f64| {
        GaussianMixture::new(
            vec![1.0],
            vec![DVector::from_element(d, m)],
            vec![DMatrix::identity(d, d)],
        )
        .unwrap()
    };
    let exact =
        MixtureFields::new(gauss(-0.1), gauss(0.1), opt.schedule.interpolant().unwrap()).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for t in [0.3, 0.5, 0.7] {
        let x = exact.sample(t, 2000, &mut rng).unwrap();
        let want = exact.evaluate(t, &x, false).unwrap();
        let xt = TensorBatch::from_points(&x, &(tch::Kind::Float, tch::Device::Cpu)).unwrap();
        let outs =
            tch::no_grad(|| opt.net.forward(&opt.net.time_tensor(t), xt.tensor(), None)).unwrap();
        for (k, exact_field) in [(0, &want.b), (1, &want.s)] {
            let got = TensorBatch(outs[k].shallow_clone()).to_points().unwrap();
            let err = (got.matrix() - exact_field.matrix()).norm() / exact_field.matrix().norm();
            let tol = if k == 0 { 0.6 } else { 0.2 };
            assert!(err < tol, "t = {t}, head {k}: relative error {err}");
        }
    }
    // the action's estimate settles: the last two estimates agree within a tenth
    let h = &opt.history;
    let (a, b) = (h[h.len() - 2].1, h[h.len() - 1].1);
    assert!((a - b).abs() < 0.1 * b.abs(), "{h:?}");
}

#[test]
fn bad_settings_and_models_are_typed_errors() {
    let bad = InterpolantOptConfig {
        schedule_lr: 0.0,
        ..InterpolantOptConfig::default()
    };
    assert!(matches!(
        bad.check(),
        Err(NnError::InvalidHyperParameter { .. })
    ));
    let bad = InterpolantOptConfig {
        time_margin: 0.5,
        ..InterpolantOptConfig::default()
    };
    assert!(bad.check().is_err());
    let cfg = InterpolantOptConfig {
        steps: 2,
        batch: 8,
        ..InterpolantOptConfig::default()
    }
    .check()
    .unwrap();
    let (rho0, rho1) = (Shifted { m: 0.0, d: 2 }, Shifted { m: 0.0, d: 2 });
    assert!(matches!(
        optimise_interpolant(
            &rho0,
            &rho1,
            model(2, vec![Head::B]),
            &cfg,
            tch::Device::Cpu
        ),
        Err(NnError::MissingHead(_))
    ));
    let rho3 = Shifted { m: 0.0, d: 3 };
    assert!(matches!(
        optimise_interpolant(
            &rho0,
            &rho3,
            model(2, vec![Head::B, Head::S]),
            &cfg,
            tch::Device::Cpu
        ),
        Err(NnError::Shape { .. })
    ));
}
