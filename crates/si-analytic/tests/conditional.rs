//! The exact η, v and b are the conditional expectations that define them (arXiv 2303.08797, §2):
//! η(t, x) = E[z | x_t = x], v(t, x) = E[∂tI | x_t = x], b(t, x) = E[∂tI + γ̇ z | x_t = x].
//! Checked in 1-D by Monte Carlo: draw (x0, x1, z), keep the samples whose x_t falls in a narrow window
//! around x, and average. This tests the fields against their definitions, not against each other.

mod common;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_analytic::MixtureFields;
use si_core::{Field, Gamma, Interpolant, Points};

#[test]
fn fields_are_the_conditional_expectations() {
    let (r0, r1) = common::pair_1d();
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    let n = 400_000;
    for (it, t) in [
        (Interpolant::linear(Gamma::brownian()).unwrap(), 0.4),
        (Interpolant::trigonometric(Gamma::Quadratic).unwrap(), 0.7),
        (Interpolant::encoder_decoder(), 0.3),
    ] {
        let f = MixtureFields::new(r0.clone(), r1.clone(), it.clone()).unwrap();
        let x0 = r0.sample(n, &mut rng);
        let x1 = r1.sample(n, &mut rng);
        let z = Points::standard_normal(n, 1, &mut rng);
        let tg = it.targets(&vec![t; n], &x0, &x1, &z, false).unwrap();
        // three well-populated points: where ρ(t, x) > 0.08, the first, middle and last on a grid
        let grid: Vec<f64> = (0..33).map(|k| -8.0 + 0.5 * k as f64).collect();
        let rho = f
            .log_density(t, &Points::from_row_major(grid.len(), 1, &grid).unwrap())
            .unwrap();
        let dense: Vec<f64> = grid
            .iter()
            .zip(&rho)
            .filter(|(_, l)| l.exp() > 0.08)
            .map(|(x, _)| *x)
            .collect();
        assert!(dense.len() >= 3);
        for &x in &[dense[0], dense[dense.len() / 2], dense[dense.len() - 1]] {
            let h = 0.05;
            // per target: (sum, sum of squares) over the window
            let mut acc = [[0.0f64; 2]; 3];
            let mut cnt = 0.0f64;
            for i in 0..n {
                if (tg.xt.as_slice()[i] - x).abs() < h {
                    cnt += 1.0;
                    for (a, v) in acc.iter_mut().zip([
                        tg.eta.as_slice()[i],
                        tg.v.as_slice()[i],
                        tg.b.as_slice()[i],
                    ]) {
                        a[0] += v;
                        a[1] += v * v;
                    }
                }
            }
            assert!(cnt > 2000.0, "too few samples near {x}");
            let p = Points::from_row_major(1, 1, &[x]).unwrap();
            let (eta, v, b) = (
                f.denoiser(t, &p).unwrap().as_slice()[0],
                f.v(t, &p).unwrap().as_slice()[0],
                f.velocity(t, &p).unwrap().as_slice()[0],
            );
            // 5 Monte Carlo standard errors (from the window's own spread) plus the O(h²) window bias
            for (k, (name, exact)) in [("eta", eta), ("v", v), ("b", b)].into_iter().enumerate() {
                let mean = acc[k][0] / cnt;
                let sd = (acc[k][1] / cnt - mean * mean).max(0.0).sqrt();
                let tol = 5.0 * sd / cnt.sqrt() + 0.01 * (1.0 + exact.abs());
                assert!(
                    (mean - exact).abs() < tol,
                    "{} {name} at {x}: MC {mean} vs exact {exact} (tol {tol})",
                    it.name()
                );
            }
        }
    }
}
