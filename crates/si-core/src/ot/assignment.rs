//! The exact linear assignment problem: the minibatch OT coupling with uniform weights (arXiv 2302.00482).
//!
//! For n points x0_i and n points x1_j with uniform weights the optimal transport plan for the cost
//! C_ij = |x0_i − x1_j|² is a permutation σ (Birkhoff–von Neumann): pairing x0_i with x1_σ(i) uses every
//! point exactly once, so no pair is repeated (sampling pairs from the plan with replacement, as torchcfm
//! does, repeats about 1 − 1/e ≈ 37 % of them).
//!
//! Solver: ε-scaling auction (Bertsekas 1988) to near-optimal prices, then the shortest-augmenting-path
//! Hungarian method (Kuhn–Munkres with potentials, O(n) per scanned column) started from those prices.
//! The auction alone is ε-optimal; the Hungarian pass makes the result exact, and it is fast because the
//! auction's prices are nearly optimal duals, so most augmenting paths have length one. The textbook
//! methods from zero duals (Jonker–Volgenant, Kuhn–Munkres) walk long augmenting paths on geometric costs.
//!
//! Exactness is certified by LP duality: the returned potentials satisfy u_i + v_j ≤ C_ij for every
//! (i, j) (up to rounding) with equality on the assignment, so Σ C_iσ(i) = Σ u_i + Σ v_j is the optimum.

use nalgebra::DMatrix;

use crate::batch::{Batch, Points};
use crate::error::{CoreError, Result};

const NONE: usize = usize::MAX;

/// An optimal assignment σ with its dual certificate.
#[derive(Clone, Debug)]
pub struct Assignment {
    col_of_row: Vec<usize>,
    cost: f64,
    u: Vec<f64>,
    v: Vec<f64>,
}

impl Assignment {
    /// σ: row i is assigned column `col_of_row()[i]`; every column appears once.
    pub fn col_of_row(&self) -> &[usize] {
        &self.col_of_row
    }
    /// The total cost Σ_i C_iσ(i).
    pub fn cost(&self) -> f64 {
        self.cost
    }
    /// Row potentials u of the dual certificate (u_i + v_j ≤ C_ij, equality on σ).
    pub fn row_potentials(&self) -> &[f64] {
        &self.u
    }
    /// Column potentials v of the dual certificate.
    pub fn col_potentials(&self) -> &[f64] {
        &self.v
    }
}

/// The squared distances C_ij = |x_i − y_j|² between the points of two batches of one dimension.
pub fn squared_distances(x: &Points, y: &Points) -> Result<DMatrix<f64>> {
    if x.dim() != y.dim() {
        return Err(CoreError::ShapeMismatch {
            expected: format!("points of dimension {}", x.dim()),
            got: format!("dimension {}", y.dim()),
        });
    }
    let (d, xs, ys) = (x.dim(), x.as_slice(), y.as_slice());
    Ok(DMatrix::from_fn(x.len(), y.len(), |i, j| {
        let (a, b) = (&xs[i * d..(i + 1) * d], &ys[j * d..(j + 1) * d]);
        a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
    }))
}

/// The optimal assignment of a square cost matrix: σ minimising Σ_i C_iσ(i), exact (see the module
/// documentation for the method and its certificate).
///
/// Errors: a non-square or empty matrix, non-finite costs.
pub fn assignment(cost: &DMatrix<f64>) -> Result<Assignment> {
    let c = checked_row_major(cost)?;
    Ok(solve(&c, cost.nrows(), true))
}

/// The same problem solved by the Hungarian method from zero duals, without the auction's warm start
/// (for measurements: the auction's gain is the difference).
#[doc(hidden)]
pub fn assignment_cold(cost: &DMatrix<f64>) -> Result<Assignment> {
    let c = checked_row_major(cost)?;
    Ok(solve(&c, cost.nrows(), false))
}

/// The entries of a non-empty, square, finite cost matrix row after row (every inner loop of the solver
/// scans one row; nalgebra stores columns).
fn checked_row_major(cost: &DMatrix<f64>) -> Result<Vec<f64>> {
    let n = cost.nrows();
    if n == 0 || cost.ncols() != n {
        return Err(CoreError::ShapeMismatch {
            expected: "a non-empty square cost matrix".into(),
            got: format!("{} × {}", cost.nrows(), cost.ncols()),
        });
    }
    if cost.iter().any(|c| !c.is_finite()) {
        return Err(CoreError::NonFinite {
            what: "assignment cost matrix",
        });
    }
    let mut c = vec![0.0; n * n];
    for (j, col) in cost.column_iter().enumerate() {
        for (i, x) in col.iter().enumerate() {
            c[i * n + j] = *x;
        }
    }
    Ok(c)
}

fn solve(c: &[f64], n: usize, warm: bool) -> Assignment {
    let prices = if warm && n > 1 {
        auction_prices(c, n)
    } else {
        vec![0.0; n]
    };
    // Column potentials v = −p; row potentials u_i = min_j (C_ij − v_j) make every reduced cost ≥ 0, and each
    // row whose argmin column is still free is matched to it (a tight pair) before any search.
    let v: Vec<f64> = prices.iter().map(|p| -p).collect();
    let mut u = vec![0.0; n];
    let mut col_of_row = vec![NONE; n];
    let mut row_of_col = vec![NONE; n];
    for (i, ui) in u.iter_mut().enumerate() {
        let row = &c[i * n..(i + 1) * n];
        let (mut best, mut arg) = (f64::INFINITY, 0);
        for (j, (cij, vj)) in row.iter().zip(&v).enumerate() {
            let r = cij - vj;
            if r < best {
                best = r;
                arg = j;
            }
        }
        *ui = best;
        if row_of_col[arg] == NONE {
            row_of_col[arg] = i;
            col_of_row[i] = arg;
        }
    }
    hungarian(c, n, Duals { u, v }, col_of_row, row_of_col)
}

/// Feasible potentials: u_i + v_j ≤ C_ij.
struct Duals {
    u: Vec<f64>,
    v: Vec<f64>,
}

/// ε-scaling auction (Gauss–Seidel, forward) in cost form: row i bids for j1 = argmin_j C_ij + p_j and
/// raises p_j1 by (second best − best) + ε. Each phase divides ε by `THETA` and restarts the assignment
/// from the current prices; ε-complementary slackness at the end of a phase bounds the suboptimality by nε.
fn auction_prices(c: &[f64], n: usize) -> Vec<f64> {
    const THETA: f64 = 4.0;
    let (lo, hi) = c
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let range = hi - lo;
    let mut prices = vec![0.0; n];
    if range <= 0.0 {
        return prices;
    }
    // The Hungarian pass finishes exactly; the auction only needs duals good enough that augmenting
    // paths are short. Stopping at range/(128n), dividing ε by 4 per phase, was measured as the fastest
    // total on the ring batches of `cargo xtask bench --only ot` (docs/math.md §5.1).
    let eps_final = range / (128.0 * n as f64);
    let mut eps = range / 4.0;
    let mut owner = vec![NONE; n];
    let mut free: Vec<usize> = Vec::with_capacity(n);
    loop {
        owner.fill(NONE);
        free.clear();
        free.extend((0..n).rev());
        while let Some(i) = free.pop() {
            let row = &c[i * n..(i + 1) * n];
            let (mut best, mut second, mut j1) = (f64::INFINITY, f64::INFINITY, 0);
            for (j, (cij, pj)) in row.iter().zip(&prices).enumerate() {
                let val = cij + pj;
                if val < second {
                    if val < best {
                        second = best;
                        best = val;
                        j1 = j;
                    } else {
                        second = val;
                    }
                }
            }
            prices[j1] += second - best + eps;
            let previous = std::mem::replace(&mut owner[j1], i);
            if previous != NONE {
                free.push(previous);
            }
        }
        if eps <= eps_final {
            return prices;
        }
        eps = (eps / THETA).max(eps_final);
    }
}

/// Shortest augmenting paths with potentials (Kuhn–Munkres in the form of Jonker–Volgenant and Crouse 2016:
/// Dijkstra over the unscanned columns only, the duals updated once per augmentation, ties broken towards
/// free columns), from feasible potentials and a partial matching of tight pairs. The free rows are added one
/// at a time; every matched pair stays tight, so the final matching is optimal with certificate (u, v).
fn hungarian(
    c: &[f64],
    n: usize,
    duals: Duals,
    mut col_of_row: Vec<usize>,
    mut row_of_col: Vec<usize>,
) -> Assignment {
    let Duals { mut u, mut v } = duals;
    let mut shortest = vec![f64::INFINITY; n];
    let mut path = vec![NONE; n];
    let mut remaining: Vec<usize> = Vec::with_capacity(n);
    let mut scanned_rows: Vec<usize> = Vec::with_capacity(n);
    let mut scanned_cols: Vec<usize> = Vec::with_capacity(n);
    for start in 0..n {
        if col_of_row[start] != NONE {
            continue;
        }
        shortest.fill(f64::INFINITY);
        remaining.clear();
        remaining.extend(0..n);
        scanned_rows.clear();
        scanned_cols.clear();
        let (mut i, mut min_val) = (start, 0.0);
        let sink = loop {
            // One Dijkstra step from row i over the columns not yet reached.
            scanned_rows.push(i);
            let row = &c[i * n..(i + 1) * n];
            let base = min_val - u[i];
            let (mut lowest, mut index) = (f64::INFINITY, 0);
            for (k, &j) in remaining.iter().enumerate() {
                let r = base + row[j] - v[j];
                if r < shortest[j] {
                    path[j] = i;
                    shortest[j] = r;
                }
                let s = shortest[j];
                if s < lowest || (s <= lowest && row_of_col[j] == NONE) {
                    lowest = s;
                    index = k;
                }
            }
            min_val = lowest;
            let j = remaining.swap_remove(index);
            scanned_cols.push(j);
            if row_of_col[j] == NONE {
                break j;
            }
            i = row_of_col[j];
        };
        // Dual update: tight along the tree, feasible elsewhere.
        u[start] += min_val;
        for &r in &scanned_rows[1..] {
            u[r] += min_val - shortest[col_of_row[r]];
        }
        for &j in &scanned_cols {
            v[j] -= min_val - shortest[j];
        }
        // Augment along the path back to the start row.
        let mut j = sink;
        loop {
            i = path[j];
            row_of_col[j] = i;
            let next = std::mem::replace(&mut col_of_row[i], j);
            if i == start {
                break;
            }
            j = next;
        }
    }
    let cost = col_of_row
        .iter()
        .enumerate()
        .map(|(i, &j)| c[i * n + j])
        .sum();
    Assignment {
        col_of_row,
        cost,
        u,
        v,
    }
}
