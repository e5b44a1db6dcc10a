//! d = 400 with 4 × 4 components: the Cholesky/log-domain path stays finite and matches the
//! per-coordinate factorised truth (covariances diagonal, so each component's log-density is a sum of
//! 1-D terms).

use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use si_analytic::{log_sum_exp, GaussianMixture, MixtureFields};
use si_core::{Batch, Gamma, Interpolant};

const D: usize = 400;

fn mixture(rng: &mut ChaCha8Rng, k: usize, spread: f64) -> GaussianMixture {
    let w = vec![1.0 / k as f64; k];
    let means = (0..k)
        .map(|_| DVector::from_fn(D, |_, _| rng.random_range(-spread..spread)))
        .collect();
    let covs = (0..k)
        .map(|_| DMatrix::from_diagonal(&DVector::from_fn(D, |_, _| rng.random_range(0.2..1.5))))
        .collect();
    GaussianMixture::new(w, means, covs).unwrap()
}

#[test]
fn d400_matches_factorised_truth() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let r0 = mixture(&mut rng, 4, 2.0);
    let r1 = mixture(&mut rng, 4, 3.0);
    let it = Interpolant::linear(Gamma::brownian()).unwrap();
    let fast = MixtureFields::new(r0.clone(), r1.clone(), it.clone()).unwrap();
    let dense = MixtureFields::new(r0.clone(), r1.clone(), it.clone())
        .unwrap()
        .with_dense_algebra();
    for &t in &[0.0, 0.3, 0.7, 1.0] {
        let x = fast.sample(t, 6, &mut rng).unwrap();
        let a = fast.evaluate(t, &x, true).unwrap();
        let b = dense.evaluate(t, &x, true).unwrap();
        let c = it.schedule(t).unwrap();
        for i in 0..x.len() {
            let xi = x.point(i);
            // factorised truth
            let mut logn = Vec::new();
            let mut parts = Vec::new();
            for (p, (mu, cu)) in r0.means().iter().zip(r0.covariances()).enumerate() {
                for (q, (nu, dv)) in r1.means().iter().zip(r1.covariances()).enumerate() {
                    let mut l = r0.weights()[p].ln() + r1.weights()[q].ln();
                    let mut u = vec![0.0; D];
                    let mut g = vec![0.0; D];
                    for r in 0..D {
                        let m = c.alpha * mu[r] + c.beta * nu[r];
                        let var = c.alpha.powi(2) * cu[(r, r)]
                            + c.beta.powi(2) * dv[(r, r)]
                            + c.gamma.powi(2);
                        let dvar = 2.0
                            * (c.alpha_dalpha * cu[(r, r)]
                                + c.beta * c.dbeta * dv[(r, r)]
                                + c.gamma_dgamma);
                        let dm = c.dalpha * mu[r] + c.dbeta * nu[r];
                        l += -0.5 * (2.0 * std::f64::consts::PI * var).ln()
                            - (xi[r] - m).powi(2) / (2.0 * var);
                        u[r] = (xi[r] - m) / var;
                        g[r] = dm + 0.5 * dvar * u[r];
                    }
                    logn.push(l);
                    parts.push((u, g));
                }
            }
            let lse = log_sum_exp(&logn);
            assert!(lse.is_finite());
            assert!(
                (a.log_rho[i] - lse).abs() < 1e-8 * lse.abs().max(1.0),
                "{} vs {}",
                a.log_rho[i],
                lse
            );
            assert!((b.log_rho[i] - lse).abs() < 1e-8 * lse.abs().max(1.0));
            for r in 0..D {
                let (mut s, mut bb) = (0.0, 0.0);
                for (k, (u, g)) in parts.iter().enumerate() {
                    let w = (logn[k] - lse).exp();
                    s -= w * u[r];
                    bb += w * g[r];
                }
                let (sa, sb) = (a.s.point(i)[r], b.s.point(i)[r]);
                assert!((sa - s).abs() < 1e-7 * (1.0 + s.abs()), "s {sa} vs {s}");
                assert!((sb - s).abs() < 1e-7 * (1.0 + s.abs()));
                assert!((a.b.point(i)[r] - bb).abs() < 1e-7 * (1.0 + bb.abs()));
                assert!((b.b.point(i)[r] - bb).abs() < 1e-7 * (1.0 + bb.abs()));
            }
            let (da, db) = (a.div.as_ref().unwrap()[i], b.div.as_ref().unwrap()[i]);
            assert!(
                da.is_finite() && (da - db).abs() < 1e-6 * (1.0 + da.abs()),
                "div {da} vs {db}"
            );
        }
    }
}
