//! Small allocation-free kernels on flat row-major buffers: Cholesky, triangular solves, log-sum-exp.

// Index loops mirror the formulas (row r, column q) in these numerical kernels.
#![allow(clippy::needless_range_loop)]

/// log Σ exp(v_k), stable for very negative entries (all −∞ gives −∞).
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// In-place lower Cholesky factor of the d × d row-major SPD matrix `a` (upper part left untouched).
/// Returns false when `a` is not numerically positive definite.
#[inline]
pub fn cholesky_in_place(a: &mut [f64], d: usize) -> bool {
    for j in 0..d {
        let mut s = a[j * d + j];
        for k in 0..j {
            s -= a[j * d + k] * a[j * d + k];
        }
        if s <= 0.0 || !s.is_finite() {
            return false;
        }
        let ljj = s.sqrt();
        a[j * d + j] = ljj;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = s / ljj;
        }
    }
    true
}

/// Solves L y = r in place (L lower, row-major).
#[inline]
pub fn forward_solve(l: &[f64], d: usize, y: &mut [f64]) {
    for i in 0..d {
        let mut s = y[i];
        for k in 0..i {
            s -= l[i * d + k] * y[k];
        }
        y[i] = s / l[i * d + i];
    }
}

/// Solves Lᵀ u = y in place (L lower, row-major).
#[inline]
pub fn backward_solve(l: &[f64], d: usize, u: &mut [f64]) {
    for i in (0..d).rev() {
        let mut s = u[i];
        for k in i + 1..d {
            s -= l[k * d + i] * u[k];
        }
        u[i] = s / l[i * d + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], L = [[2, 0], [1, √2]]
        let mut a = [4.0, 2.0, 2.0, 3.0];
        assert!(cholesky_in_place(&mut a, 2));
        assert!((a[0] - 2.0).abs() < 1e-15 && (a[2] - 1.0).abs() < 1e-15);
        assert!((a[3] - 2f64.sqrt()).abs() < 1e-15);
        let mut y = [2.0, 1.0];
        forward_solve(&a, 2, &mut y);
        backward_solve(&a, 2, &mut y);
        // A⁻¹ (2, 1) = (1/8)[[3, −2], [−2, 4]] (2, 1) = (0.5, 0)
        assert!((y[0] - 0.5).abs() < 1e-14 && y[1].abs() < 1e-14);
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        let mut a = [1.0, 2.0, 2.0, 1.0];
        assert!(!cholesky_in_place(&mut a, 2));
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(&[-1000.0, -1000.0]) - (-1000.0 + 2f64.ln())).abs() < 1e-12);
        assert_eq!(log_sum_exp(&[f64::NEG_INFINITY]), f64::NEG_INFINITY);
    }
}
