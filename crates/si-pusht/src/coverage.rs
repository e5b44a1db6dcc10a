//! Coverage of the goal by the block: polygon intersection of the two Ts.
//!
//! Both Ts are the union of two boxes with disjoint interiors, so
//! `area(G ∩ B) = Σᵢⱼ area(Gᵢ ∩ Bⱼ)` over the four box pairs; each term clips one convex quadrilateral
//! by the other (Sutherland–Hodgman) and takes the shoelace area.

use crate::geometry::{t_world, Pose, GOAL, T_AREA, V2};

/// Reward scale and success threshold: `reward = clip(coverage / 0.95, 0, 1)`, success iff `coverage > 0.95`.
pub const SUCCESS_THRESHOLD: f64 = 0.95;

/// Most vertices a clipped box can have (4 + one per clipping edge).
const MAX_VERTS: usize = 8;

/// Shoelace area `½ Σ xᵢ yᵢ₊₁ − xᵢ₊₁ yᵢ` (positive for counter-clockwise order).
fn shoelace(p: &[V2]) -> f64 {
    let n = p.len();
    let mut s = 0.0;
    for i in 0..n {
        s += p[i].cross(p[(i + 1) % n]);
    }
    0.5 * s
}

/// Area of the intersection of two convex counter-clockwise quadrilaterals.
pub fn convex_intersection_area(subject: &[V2; 4], clip: &[V2; 4]) -> f64 {
    let mut buf_a = [V2::default(); MAX_VERTS];
    let mut buf_b = [V2::default(); MAX_VERTS];
    buf_a[..4].copy_from_slice(subject);
    let mut n = 4;
    for i in 0..4 {
        let e0 = clip[i];
        let e1 = clip[(i + 1) % 4];
        let edge = e1 - e0;
        // inside: to the left of the edge, cross(edge, p − e0) ≥ 0
        let side = |p: V2| edge.cross(p - e0);
        let mut m = 0;
        for k in 0..n {
            let cur = buf_a[k];
            let prev = buf_a[(k + n - 1) % n];
            let sc = side(cur);
            let sp = side(prev);
            if sc >= 0.0 {
                if sp < 0.0 && m < MAX_VERTS {
                    buf_b[m] = prev + (cur - prev) * (sp / (sp - sc));
                    m += 1;
                }
                if m < MAX_VERTS {
                    buf_b[m] = cur;
                    m += 1;
                }
            } else if sp >= 0.0 && m < MAX_VERTS {
                buf_b[m] = prev + (cur - prev) * (sp / (sp - sc));
                m += 1;
            }
        }
        n = m;
        if n < 3 {
            return 0.0;
        }
        std::mem::swap(&mut buf_a, &mut buf_b);
    }
    shoelace(&buf_a[..n]).max(0.0)
}

/// Fraction of the goal T covered by the block T at `pose`: `area(goal ∩ block) / 6300`.
pub fn coverage(pose: &Pose) -> f64 {
    coverage_against(pose, &GOAL)
}

/// Fraction of the T at `goal` covered by the T at `pose`.
pub fn coverage_against(pose: &Pose, goal: &Pose) -> f64 {
    let g = t_world(goal);
    let b = t_world(pose);
    // cheap rejection: centres of gravity further apart than twice the T's circumradius about it
    let cg = goal.to_world(crate::geometry::COG);
    let cb = pose.to_world(crate::geometry::COG);
    if (cg - cb).norm2() > 154.0 * 154.0 {
        return 0.0;
    }
    let mut area = 0.0;
    for gb in &g {
        for bb in &b {
            area += convex_intersection_area(bb, gb);
        }
    }
    area / T_AREA
}

/// `clip(coverage / 0.95, 0, 1)`.
pub fn reward(coverage: f64) -> f64 {
    (coverage / SUCCESS_THRESHOLD).clamp(0.0, 1.0)
}
