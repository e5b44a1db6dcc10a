//! The OT couplings: exact marginals (every drawn point used once), lower transport cost than the independent
//! pairing, the entropic coupling's limits, and the data-dependent coupling's law.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::ot::{pair_optimally, DataDependent, EntropicOt, MinibatchOt};
use si_core::{
    Batch, CoreError, Coupling, FnSampler, Independent, Points, Ring, Sampler, StandardNormal,
};

fn cost(x0: &Points, x1: &Points) -> f64 {
    (0..x0.len())
        .map(|i| (x0.point(i) - x1.point(i)).norm_squared())
        .sum::<f64>()
        / x0.len() as f64
}

fn sorted_columns(p: &Points) -> Vec<Vec<u64>> {
    let mut v: Vec<Vec<u64>> = (0..p.len())
        .map(|i| p.point(i).iter().map(|x| x.to_bits()).collect())
        .collect();
    v.sort();
    v
}

#[test]
fn minibatch_ot_permutes_the_independent_draws() {
    let ring = Ring::new(8, 4.0, 0.3).unwrap();
    let ot = MinibatchOt::new(StandardNormal { dim: 2 }, ring).unwrap();
    let ind = Independent::new(StandardNormal { dim: 2 }, ring).unwrap();
    // The same seed draws the same points: the OT batch is the independent batch with x1 permuted.
    let (a0, a1) = ot
        .sample_pairs(256, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    let (b0, b1) = ind
        .sample_pairs(256, &mut ChaCha8Rng::seed_from_u64(5))
        .unwrap();
    assert_eq!(a0.as_slice(), b0.as_slice());
    // No duplicated pair, no lost point: x1 is a permutation of the drawn batch.
    assert_eq!(sorted_columns(&a1), sorted_columns(&b1));
    let (c_ot, c_ind) = (cost(&a0, &a1), cost(&b0, &b1));
    assert!(
        c_ot < 0.5 * c_ind,
        "OT cost {c_ot} against independent {c_ind}"
    );
    // Optimal pairs do not cross in the sense of cyclical monotonicity: swapping any two partners costs more.
    for i in 0..40 {
        for j in 0..40 {
            let keep = (a0.point(i) - a1.point(i)).norm_squared()
                + (a0.point(j) - a1.point(j)).norm_squared();
            let swap = (a0.point(i) - a1.point(j)).norm_squared()
                + (a0.point(j) - a1.point(i)).norm_squared();
            assert!(keep <= swap + 1e-9);
        }
    }
}

#[test]
fn one_dimensional_ot_is_the_sorted_pairing() {
    // In 1-D the optimal coupling for a convex cost is monotone: the k-th smallest x0 meets the k-th smallest x1.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let x0 = Points::standard_normal(100, 1, &mut rng);
    let mut x1 = Points::standard_normal(100, 1, &mut rng);
    x1.matrix_mut().iter_mut().for_each(|x| *x = 3.0 + 2.0 * *x);
    let (x0, x1) = pair_optimally(x0, &x1).unwrap();
    let mut order: Vec<usize> = (0..100).collect();
    order.sort_by(|&a, &b| x0.as_slice()[a].total_cmp(&x0.as_slice()[b]));
    for w in order.windows(2) {
        assert!(x1.as_slice()[w[0]] <= x1.as_slice()[w[1]]);
    }
}

#[test]
fn entropic_coupling_interpolates_between_ot_and_independent() {
    let ring = Ring::new(8, 4.0, 0.3).unwrap();
    let n = 128;
    let mean_cost = |sigma: f64| {
        let c = EntropicOt::new(StandardNormal { dim: 2 }, ring, sigma, 1e-6, 20_000).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (x0, x1) = c.sample_pairs(n, &mut rng).unwrap();
        cost(&x0, &x1)
    };
    let ot = MinibatchOt::new(StandardNormal { dim: 2 }, ring).unwrap();
    let (o0, o1) = ot
        .sample_pairs(n, &mut ChaCha8Rng::seed_from_u64(11))
        .unwrap();
    let exact = cost(&o0, &o1);
    // E|x0 − x1|² under independence: E|x0|² + E|x1|² = 2 + 16 + 2·0.09.
    let independent = 2.0 + 16.0 + 0.18;
    let (small, large) = (mean_cost(0.2), mean_cost(30.0));
    assert!(
        small < exact + 0.5,
        "σ = 0.2: {small} against exact OT {exact}"
    );
    assert!(
        (large - independent).abs() < 3.0,
        "σ = 30: {large} against {independent}"
    );
    assert!(small < mean_cost(1.5) && mean_cost(1.5) < large);
    assert!(matches!(
        EntropicOt::new(StandardNormal { dim: 2 }, ring, 0.0, 1e-6, 10),
        Err(CoreError::InvalidParameter { name: "sigma", .. })
    ));
}

#[test]
fn data_dependent_coupling_has_the_stated_law() {
    // x1 ~ N(0, I), x0 = 0.5 x1 + 0.1 ζ: Cov(x0, x1) = 0.5, Var x0 = 0.25 + 0.01.
    let c = DataDependent::new(
        StandardNormal { dim: 1 },
        |x: &Points| {
            let mut y = x.clone();
            y.matrix_mut().iter_mut().for_each(|v| *v *= 0.5);
            Ok(y)
        },
        0.1,
    )
    .unwrap();
    let n = 100_000;
    let (x0, x1) = c
        .sample_pairs(n, &mut ChaCha8Rng::seed_from_u64(3))
        .unwrap();
    let (a, b) = (x0.as_slice(), x1.as_slice());
    let cov: f64 = a.iter().zip(b).map(|(p, q)| p * q).sum::<f64>() / n as f64;
    let var0: f64 = a.iter().map(|p| p * p).sum::<f64>() / n as f64;
    // Standard errors: sd(x0 x1) ≈ √(Var) ≈ 0.72/√n, sd(x0²) ≈ 0.37/√n; 5 se.
    assert!((cov - 0.5).abs() < 5.0 * 0.72 / (n as f64).sqrt(), "{cov}");
    assert!(
        (var0 - 0.26).abs() < 5.0 * 0.37 / (n as f64).sqrt(),
        "{var0}"
    );
    let bad = DataDependent::new(
        StandardNormal { dim: 2 },
        |_x: &Points| Ok(Points::zeros(1, 2)),
        0.0,
    )
    .unwrap();
    assert!(matches!(
        bad.sample_pairs(3, &mut ChaCha8Rng::seed_from_u64(1)),
        Err(CoreError::ShapeMismatch { .. })
    ));
    assert!(
        DataDependent::new(StandardNormal { dim: 1 }, |x: &Points| Ok(x.clone()), -1.0).is_err()
    );
    assert!(MinibatchOt::new(StandardNormal { dim: 1 }, StandardNormal { dim: 2 }).is_err());
}

/// Minimum of Σ_i |x0_i − x1_σ(i)|² over all permutations σ (n ≤ 6).
fn brute_force_cost(x0: &Points, x1: &Points) -> f64 {
    fn go(i: usize, used: &mut Vec<bool>, x0: &Points, x1: &Points, acc: f64, best: &mut f64) {
        if i == x0.len() {
            *best = best.min(acc);
            return;
        }
        for j in 0..x1.len() {
            if !used[j] {
                used[j] = true;
                let c = (x0.point(i) - x1.point(j)).norm_squared();
                go(i + 1, used, x0, x1, acc + c, best);
                used[j] = false;
            }
        }
    }
    let mut best = f64::INFINITY;
    go(0, &mut vec![false; x0.len()], x0, x1, 0.0, &mut best);
    best
}

#[test]
fn pair_optimally_matches_brute_force_on_small_batches() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    for n in 1..=6 {
        for _ in 0..5 {
            let x0 = Points::standard_normal(n, 2, &mut rng);
            let x1 = Points::standard_normal(n, 2, &mut rng);
            let (y0, y1) = pair_optimally(x0.clone(), &x1).unwrap();
            assert_eq!(y0.as_slice(), x0.as_slice());
            assert_eq!(sorted_columns(&y1), sorted_columns(&x1));
            let got = cost(&y0, &y1) * n as f64;
            let best = brute_force_cost(&x0, &x1);
            assert!(
                (got - best).abs() <= 1e-12 * (1.0 + best),
                "n = {n}: {got} vs {best}"
            );
        }
    }
    // Different sizes are an error; two empty batches pair trivially.
    let (a, b) = (Points::zeros(3, 2), Points::zeros(2, 2));
    assert!(matches!(
        pair_optimally(a, &b),
        Err(CoreError::ShapeMismatch { .. })
    ));
    let (e0, e1) = pair_optimally(Points::zeros(0, 2), &Points::zeros(0, 2)).unwrap();
    assert!(e0.is_empty() && e1.is_empty());
}

#[test]
fn select_picks_points_by_index() {
    // Three points of dimension 3, stored point after point.
    let p = Points::from_row_major(3, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]).unwrap();
    let s = p.select(&[2, 0, 2, 1]).unwrap();
    assert_eq!((s.len(), s.dim()), (4, 3));
    let want = [7.0, 8.0, 9.0, 1.0, 2.0, 3.0, 7.0, 8.0, 9.0, 4.0, 5.0, 6.0];
    assert_eq!(s.to_row_major(), want.to_vec());
    let e = p.select(&[]).unwrap();
    assert_eq!((e.len(), e.dim()), (0, 3));
    assert!(matches!(
        p.select(&[0, 3]),
        Err(CoreError::ShapeMismatch { .. })
    ));
    // Dimension 2: a different stride.
    let q = Points::from_row_major(3, 2, &[1.0, -1.0, 2.0, -2.0, 3.0, -3.0]).unwrap();
    assert_eq!(
        q.select(&[1, 2, 0]).unwrap().to_row_major(),
        vec![2.0, -2.0, 3.0, -3.0, 1.0, -1.0]
    );
    assert!(q.select(&[3]).is_err());
}

/// 1-D points at fixed positions, whatever the rng.
fn fixed(values: &'static [f64]) -> impl Sampler {
    FnSampler::new(1, move |n: usize, _rng: &mut dyn rand::RngCore| {
        assert_eq!(n, values.len());
        Points::from_row_major(n, 1, values)
    })
}

#[test]
fn couplings_report_their_dimension_and_accept_empty_batches() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let ot = MinibatchOt::new(StandardNormal { dim: 3 }, StandardNormal { dim: 3 }).unwrap();
    assert_eq!(ot.dim(), 3);
    let (a, b) = ot.sample_pairs(0, &mut rng).unwrap();
    assert!(a.is_empty() && b.is_empty());
    let ent = EntropicOt::new(
        StandardNormal { dim: 3 },
        StandardNormal { dim: 3 },
        0.5,
        1e-6,
        1000,
    )
    .unwrap();
    assert_eq!(ent.dim(), 3);
    let (a, b) = ent.sample_pairs(0, &mut rng).unwrap();
    assert!(a.is_empty() && b.is_empty());
    assert!(matches!(
        EntropicOt::new(
            StandardNormal { dim: 3 },
            StandardNormal { dim: 2 },
            0.5,
            1e-6,
            10
        ),
        Err(CoreError::ShapeMismatch { .. })
    ));
    let dd =
        DataDependent::new(StandardNormal { dim: 3 }, |x: &Points| Ok(x.clone()), 0.0).unwrap();
    assert_eq!(dd.dim(), 3);
    // σ = 0: x0 is exactly m(x1).
    let (x0, x1) = dd.sample_pairs(5, &mut rng).unwrap();
    assert_eq!(x0.as_slice(), x1.as_slice());
    // m(x1) of the right length but the wrong dimension is an error.
    let wrong = DataDependent::new(
        StandardNormal { dim: 2 },
        |x: &Points| Ok(Points::zeros(x.len(), 1)),
        0.0,
    )
    .unwrap();
    assert!(matches!(
        wrong.sample_pairs(3, &mut rng),
        Err(CoreError::ShapeMismatch { .. })
    ));
}

#[test]
fn entropic_coupling_with_small_noise_pairs_separated_clusters_exactly() {
    // Costs: 0.25 on the matching pairs, ≥ 90 elsewhere; at ε = 2σ² = 0.02 the other entries of the
    // conditional are below exp(−4000): every row draws its partner.
    let c = EntropicOt::new(
        fixed(&[0.0, 10.0, 20.0]),
        fixed(&[20.5, 0.5, 10.5]),
        0.1,
        1e-9,
        10_000,
    )
    .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for _ in 0..50 {
        let (x0, x1) = c.sample_pairs(3, &mut rng).unwrap();
        assert_eq!(x0.as_slice(), &[0.0, 10.0, 20.0]);
        assert_eq!(x1.as_slice(), &[0.5, 10.5, 20.5]);
    }
}
