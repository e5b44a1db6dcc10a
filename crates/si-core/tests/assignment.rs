//! The exact assignment against independent truth: brute force over all permutations (n ≤ 8), the LP dual
//! certificate on larger random batches, and the OT cost of the coupled batch against the independent one.

use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use si_core::ot::{assignment, squared_distances};
use si_core::{CoreError, Points};

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for k in 0..n {
            let mut q = p.clone();
            q.insert(k, n - 1);
            out.push(q);
        }
    }
    out
}

fn brute_force(c: &DMatrix<f64>) -> f64 {
    let n = c.nrows();
    permutations(n)
        .iter()
        .map(|p| (0..n).map(|i| c[(i, p[i])]).sum::<f64>())
        .fold(f64::INFINITY, f64::min)
}

/// Checks σ is a permutation and the certificate: u_i + v_j ≤ C_ij + tol for all (i, j), equality on σ,
/// and Σu + Σv = cost (weak duality makes the cost optimal).
fn check_certificate(c: &DMatrix<f64>, tol: f64) -> f64 {
    let n = c.nrows();
    let a = assignment(c).unwrap();
    let mut seen = vec![false; n];
    for &j in a.col_of_row() {
        assert!(!seen[j], "column {j} assigned twice");
        seen[j] = true;
    }
    let (u, v) = (a.row_potentials(), a.col_potentials());
    for i in 0..n {
        for j in 0..n {
            assert!(
                u[i] + v[j] <= c[(i, j)] + tol,
                "dual infeasible at ({i}, {j}): {}",
                u[i] + v[j] - c[(i, j)]
            );
        }
        let j = a.col_of_row()[i];
        assert!(
            (u[i] + v[j] - c[(i, j)]).abs() <= tol,
            "assigned pair not tight"
        );
    }
    let dual: f64 = u.iter().sum::<f64>() + v.iter().sum::<f64>();
    let primal: f64 = (0..n).map(|i| c[(i, a.col_of_row()[i])]).sum();
    assert!((a.cost() - primal).abs() <= tol * n as f64);
    assert!(
        (dual - primal).abs() <= tol * n as f64,
        "gap {}",
        primal - dual
    );
    primal
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn equals_brute_force(n in 1usize..=8, seed in any::<u64>(), integer in any::<bool>()) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Integer costs make ties common (several optimal permutations); the optimal cost is still unique.
        let c = DMatrix::from_fn(n, n, |_, _| {
            let x: f64 = rand::Rng::random(&mut rng);
            if integer { (x * 5.0).floor() } else { x * 10.0 - 3.0 }
        });
        let a = assignment(&c).unwrap();
        let best = brute_force(&c);
        prop_assert!((a.cost() - best).abs() <= 1e-9, "{} vs {}", a.cost(), best);
        check_certificate(&c, 1e-9);
    }
}

fn gaussian_to_ring(n: usize, seed: u64) -> (Points, Points) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x0 = Points::standard_normal(n, 2, &mut rng);
    let mut x1 = Points::standard_normal(n, 2, &mut rng);
    for i in 0..n {
        let k = (i % 8) as f64 * std::f64::consts::FRAC_PI_4;
        let p = x1.matrix_mut();
        p[(0, i)] = 4.0 * k.cos() + 0.3 * p[(0, i)];
        p[(1, i)] = 4.0 * k.sin() + 0.3 * p[(1, i)];
    }
    (x0, x1)
}

#[test]
fn certified_optimal_on_geometric_batches() {
    for (n, seed) in [(64, 1), (256, 2), (300, 3), (512, 4)] {
        let (x0, x1) = gaussian_to_ring(n, seed);
        let c = squared_distances(&x0, &x1).unwrap();
        let cost = check_certificate(&c, 1e-9);
        // Cold Hungarian (a different start, the same optimum).
        let cold = si_core::ot::assignment_cold(&c).unwrap();
        assert!((cold.cost() - cost).abs() <= 1e-8 * n as f64);
        // The coupled batch costs less than the independent pairing (the identity permutation).
        let independent: f64 = (0..n).map(|i| c[(i, i)]).sum();
        assert!(cost < independent);
    }
}

#[test]
fn uniform_random_costs_are_certified() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for n in [2, 3, 17, 128] {
        let c = DMatrix::from_fn(n, n, |_, _| rand::Rng::random::<f64>(&mut rng));
        check_certificate(&c, 1e-10);
    }
    // All costs equal: every permutation is optimal.
    let c = DMatrix::from_element(5, 5, 2.5);
    assert!((assignment(&c).unwrap().cost() - 12.5).abs() < 1e-12);
}

#[test]
fn squared_distances_by_hand() {
    let x = Points::from_row_major(2, 2, &[0.0, 0.0, 1.0, 2.0]).unwrap();
    let y = Points::from_row_major(3, 2, &[1.0, 0.0, 0.0, 3.0, -1.0, -1.0]).unwrap();
    let c = squared_distances(&x, &y).unwrap();
    let want = [[1.0, 9.0, 2.0], [4.0, 2.0, 13.0]];
    for i in 0..2 {
        for j in 0..3 {
            assert!((c[(i, j)] - want[i][j]).abs() < 1e-15);
        }
    }
    let z = Points::zeros(2, 3);
    assert!(matches!(
        squared_distances(&x, &z),
        Err(CoreError::ShapeMismatch { .. })
    ));
}

#[test]
fn bad_input_is_a_typed_error() {
    let rect = DMatrix::from_element(2, 3, 1.0);
    assert!(matches!(
        assignment(&rect),
        Err(CoreError::ShapeMismatch { .. })
    ));
    let empty = DMatrix::<f64>::zeros(0, 0);
    assert!(matches!(
        assignment(&empty),
        Err(CoreError::ShapeMismatch { .. })
    ));
    let mut nan = DMatrix::from_element(3, 3, 1.0);
    nan[(1, 2)] = f64::NAN;
    assert!(matches!(assignment(&nan), Err(CoreError::NonFinite { .. })));
    nan[(1, 2)] = f64::INFINITY;
    assert!(matches!(assignment(&nan), Err(CoreError::NonFinite { .. })));
}

#[test]
fn cold_start_is_exact_and_checks_its_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for n in 1..=7 {
        for _ in 0..10 {
            let c = DMatrix::from_fn(n, n, |_, _| rand::Rng::random::<f64>(&mut rng) * 4.0 - 1.0);
            let cold = si_core::ot::assignment_cold(&c).unwrap();
            let best = brute_force(&c);
            assert!(
                (cold.cost() - best).abs() <= 1e-9,
                "{} vs {best}",
                cold.cost()
            );
            let primal: f64 = (0..n).map(|i| c[(i, cold.col_of_row()[i])]).sum();
            assert!((primal - best).abs() <= 1e-9);
        }
    }
    let cold = si_core::ot::assignment_cold;
    let rect = DMatrix::from_element(2, 3, 1.0);
    assert!(matches!(cold(&rect), Err(CoreError::ShapeMismatch { .. })));
    let tall = DMatrix::from_element(3, 2, 1.0);
    assert!(matches!(cold(&tall), Err(CoreError::ShapeMismatch { .. })));
    let empty = DMatrix::<f64>::zeros(0, 0);
    assert!(matches!(cold(&empty), Err(CoreError::ShapeMismatch { .. })));
    let mut nan = DMatrix::from_element(3, 3, 1.0);
    nan[(2, 0)] = f64::NAN;
    assert!(matches!(cold(&nan), Err(CoreError::NonFinite { .. })));
    nan[(2, 0)] = f64::NEG_INFINITY;
    assert!(matches!(cold(&nan), Err(CoreError::NonFinite { .. })));
}

#[test]
fn small_cases_by_hand() {
    // n = 1: the only assignment, with a tight certificate.
    let one = DMatrix::from_element(1, 1, -2.5);
    let a = assignment(&one).unwrap();
    assert_eq!(a.col_of_row(), &[0]);
    assert!((a.cost() + 2.5).abs() < 1e-15);
    assert!((a.row_potentials()[0] + a.col_potentials()[0] + 2.5).abs() < 1e-15);
    // 3 × 3 with the optimum off the diagonal: σ = (2, 0, 1), cost 1 + 2 + 3 = 6 (the diagonal costs 30).
    let c = DMatrix::from_row_slice(3, 3, &[10.0, 9.0, 1.0, 2.0, 10.0, 8.0, 7.0, 3.0, 10.0]);
    for a in [
        assignment(&c).unwrap(),
        si_core::ot::assignment_cold(&c).unwrap(),
    ] {
        assert_eq!(a.col_of_row(), &[2, 0, 1]);
        assert!((a.cost() - 6.0).abs() < 1e-12);
        assert_eq!(a.row_potentials().len(), 3);
        assert_eq!(a.col_potentials().len(), 3);
    }
    check_certificate(&c, 1e-12);
}
