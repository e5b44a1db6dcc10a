//! Contact geometry in Chipmunk's conventions: the pusher circle against a box of the T, and a wall
//! segment against a box of the T. Normals point from the first shape to the second (towards the T).
//!
//! Chipmunk finds closest points by GJK (EPA when overlapping); for a point or a segment against a convex
//! box that is the exact closest-feature pair, which is what is computed here directly.

use crate::geometry::V2;

/// One contact point pair in world coordinates: `p1` on the first shape, `p2` on the box; `hash` identifies
/// the feature pair so that impulses can be carried over from one sub-step to the next.
#[derive(Clone, Copy, Debug, Default)]
pub struct ContactPoint {
    /// Point on the first shape.
    pub p1: V2,
    /// Point on the box.
    pub p2: V2,
    /// Feature id.
    pub hash: u32,
}

/// The result of a collision test: unit normal from the first shape to the box, and up to two points.
#[derive(Clone, Copy, Debug, Default)]
pub struct Manifold {
    /// Unit normal.
    pub n: V2,
    /// Contact points.
    pub points: [ContactPoint; 2],
    /// How many of `points` are used (0 means no contact).
    pub count: usize,
}

/// Unit normal of the Minkowski-difference edge `m0 m1` as Chipmunk computes it,
/// `normalize(rperp(m1 − m0))`, oriented along `toward`.
#[inline]
fn minkowski_normal(m0: V2, m1: V2, toward: V2) -> V2 {
    let n = (m1 - m0).rperp().normalize();
    if n.dot(toward) < 0.0 {
        -n
    } else {
        n
    }
}

/// Outward unit normal of edge `v[i] → v[i+1]` of a counter-clockwise polygon: `rperp(e)/|e|`.
#[inline]
fn outward(v: &[V2; 4], i: usize) -> V2 {
    let e = v[(i + 1) % 4] - v[i];
    e.rperp().normalize()
}

/// Circle (centre `c`, radius `r`) against a counter-clockwise box `v`.
///
/// With the signed distance `d` from `c` to the box and the closest boundary point `q`, there is a contact
/// when `d ≤ r`; the normal `n` is the inward normal of the closest edge (or `(q − c)/|q − c|` at a vertex),
/// and the points are `p1 = c + r n`, `p2 = q`, so that the gap is `(p2 − p1)·n = d − r`.
pub fn circle_box(c: V2, r: f64, v: &[V2; 4]) -> Manifold {
    let mut out = Manifold::default();
    let mut max_s = f64::NEG_INFINITY;
    let mut max_i = 0;
    for i in 0..4 {
        let s = (c - v[i]).dot(outward(v, i));
        if s > max_s {
            max_s = s;
            max_i = i;
        }
    }
    let (n, d, q) = if max_s <= 0.0 {
        // centre inside: leave through the nearest edge
        let o = outward(v, max_i);
        (-o, max_s, c - o * max_s)
    } else {
        if max_s > r {
            return out;
        }
        let mut best = (f64::INFINITY, 0usize, 0.0f64, V2::default());
        for i in 0..4 {
            let a = v[i];
            let e = v[(i + 1) % 4] - a;
            let t = ((c - a).dot(e) / e.norm2()).clamp(0.0, 1.0);
            let q = a + e * t;
            let d2 = (q - c).norm2();
            if d2 < best.0 {
                best = (d2, i, t, q);
            }
        }
        let (_, i, t, q) = best;
        if t > 0.0 && t < 1.0 {
            let n = minkowski_normal(v[i] - c, v[(i + 1) % 4] - c, q - c);
            (n, (q - c).dot(n), q)
        } else {
            let dq = q - c;
            let d = dq.norm();
            (dq * (1.0 / (d + f64::MIN_POSITIVE)), d, q)
        }
    };
    if d <= r {
        out.n = n;
        out.points[0] = ContactPoint {
            p1: c + n * r,
            p2: q,
            hash: 0,
        };
        out.count = 1;
    }
    out
}

/// Whether segments `a b` and `c d` intersect.
fn segments_cross(a: V2, b: V2, c: V2, d: V2) -> bool {
    let d1 = (b - a).cross(c - a);
    let d2 = (b - a).cross(d - a);
    let d3 = (d - c).cross(a - c);
    let d4 = (d - c).cross(b - c);
    (d1 * d2 <= 0.0) && (d3 * d4 <= 0.0)
}

/// Minimum separating axis and signed distance between segment `a b` and box `v` (negative when the segment's
/// core line crosses the box), oriented from the segment to the box.
fn segment_box_axis(a: V2, b: V2, v: &[V2; 4]) -> (V2, f64) {
    let inside = |p: V2| (0..4).all(|i| (p - v[i]).dot(outward(v, i)) <= 0.0);
    let overlapping =
        inside(a) || inside(b) || (0..4).any(|i| segments_cross(a, b, v[i], v[(i + 1) % 4]));
    if !overlapping {
        // (distance, point on the segment, point on the box, normal)
        let mut best = (f64::INFINITY, V2::default(), V2::default(), V2::default());
        for &p in v {
            let e = b - a;
            let t = ((p - a).dot(e) / e.norm2()).clamp(0.0, 1.0);
            let q = a + e * t;
            let d = (p - q).norm();
            if d < best.0 {
                let n = if t > 0.0 && t < 1.0 {
                    minkowski_normal(p - a, p - b, p - q)
                } else {
                    (p - q).normalize()
                };
                best = (d, q, p, n);
            }
        }
        for &p in &[a, b] {
            for i in 0..4 {
                let (v0, v1) = (v[i], v[(i + 1) % 4]);
                let e = v1 - v0;
                let t = ((p - v0).dot(e) / e.norm2()).clamp(0.0, 1.0);
                let q = v0 + e * t;
                let d = (q - p).norm();
                if d < best.0 {
                    let n = if t > 0.0 && t < 1.0 {
                        minkowski_normal(v0 - p, v1 - p, q - p)
                    } else {
                        (q - p).normalize()
                    };
                    best = (d, p, q, n);
                }
            }
        }
        return (best.3, best.0);
    }
    // overlapping: the axis of least penetration among the box normals and the segment normal
    let mut best = (f64::NEG_INFINITY, V2::default());
    for i in 0..4 {
        let o = outward(v, i);
        let s = (a - v[i]).dot(o).min((b - v[i]).dot(o));
        if s > best.0 {
            best = (s, -o);
        }
    }
    let e = b - a;
    let m = e.rperp().normalize();
    for n in [m, -m] {
        let s = v
            .iter()
            .map(|&p| (p - a).dot(n))
            .fold(f64::INFINITY, f64::min);
        if s > best.0 {
            best = (s, n);
        }
    }
    (best.1, best.0)
}

/// Wall segment `a b` (radius `r`) against box `v`: Chipmunk's edge clipping (`ContactPoints`) of the segment
/// edge against the box edge that faces it, giving up to two points.
pub fn segment_box(a: V2, b: V2, r: f64, v: &[V2; 4]) -> Manifold {
    let mut out = Manifold::default();
    let (n, d) = segment_box_axis(a, b, v);
    if d > r {
        return out;
    }
    // segment edge facing n
    let tn = (b - a).normalize().rperp();
    let (e1a, e1b, h1a, h1b) = if tn.dot(n) > 0.0 {
        (a, b, 0u32, 1u32)
    } else {
        (b, a, 1, 0)
    };
    // box edge facing −n
    let m = -n;
    let mut i1 = 0;
    let mut best = f64::NEG_INFINITY;
    for (i, p) in v.iter().enumerate() {
        let s = p.dot(m);
        if s > best {
            best = s;
            i1 = i;
        }
    }
    let i0 = (i1 + 3) % 4;
    let i2 = (i1 + 1) % 4;
    // Chipmunk's plane normal of vertex i is the normal of edge i−1 → i
    let (e2a, e2b, h2a, h2b) = if m.dot(outward(v, i0)) > m.dot(outward(v, i1)) {
        (v[i0], v[i1], i0 as u32, i1 as u32)
    } else {
        (v[i1], v[i2], i1 as u32, i2 as u32)
    };
    let cr = |p: V2| p.cross(n);
    let (d1a, d1b, d2a, d2b) = (cr(e1a), cr(e1b), cr(e2a), cr(e2b));
    let e1_denom = 1.0 / (d1b - d1a + f64::MIN_POSITIVE);
    let e2_denom = 1.0 / (d2b - d2a + f64::MIN_POSITIVE);
    let lerp = |p: V2, q: V2, t: f64| p * (1.0 - t) + q * t;
    let c01 = |t: f64| t.clamp(0.0, 1.0);
    {
        let p1 = n * r + lerp(e1a, e1b, c01((d2b - d1a) * e1_denom));
        let p2 = lerp(e2a, e2b, c01((d1a - d2a) * e2_denom));
        if (p2 - p1).dot(n) <= 0.0 {
            out.points[out.count] = ContactPoint {
                p1,
                p2,
                hash: (h1a << 8) | h2b,
            };
            out.count += 1;
        }
    }
    {
        let p1 = n * r + lerp(e1a, e1b, c01((d2a - d1a) * e1_denom));
        let p2 = lerp(e2a, e2b, c01((d1b - d2a) * e2_denom));
        if (p2 - p1).dot(n) <= 0.0 {
            out.points[out.count] = ContactPoint {
                p1,
                p2,
                hash: (h1b << 8) | h2a,
            };
            out.count += 1;
        }
    }
    if out.count > 0 {
        out.n = n;
    }
    out
}
