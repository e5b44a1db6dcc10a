//! Plane vectors, rigid transforms and the T block's geometry (pixels, y down).

use std::ops::{Add, Mul, Neg, Sub};

/// A 2-D vector.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct V2 {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

impl V2 {
    /// `(x, y)`.
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
    /// Dot product.
    #[inline]
    pub fn dot(self, o: V2) -> f64 {
        self.x * o.x + self.y * o.y
    }
    /// Cross product `self.x o.y − self.y o.x`.
    #[inline]
    pub fn cross(self, o: V2) -> f64 {
        self.x * o.y - self.y * o.x
    }
    /// Perpendicular `(−y, x)` (Chipmunk's `cpvperp`).
    #[inline]
    pub fn perp(self) -> V2 {
        V2::new(-self.y, self.x)
    }
    /// Reverse perpendicular `(y, −x)` (Chipmunk's `cpvrperp`).
    #[inline]
    pub fn rperp(self) -> V2 {
        V2::new(self.y, -self.x)
    }
    /// Euclidean length `√(x² + y²)`.
    #[inline]
    pub fn norm(self) -> f64 {
        self.dot(self).sqrt()
    }
    /// `v / (|v| + f64::MIN_POSITIVE)` (Chipmunk's `cpvnormalize`).
    #[inline]
    pub fn normalize(self) -> V2 {
        self * (1.0 / (self.norm() + f64::MIN_POSITIVE))
    }
    /// Squared length.
    #[inline]
    pub fn norm2(self) -> f64 {
        self.dot(self)
    }
    /// Rotation by the unit vector `rot = (cos a, sin a)`: `(x cos a − y sin a, x sin a + y cos a)`.
    #[inline]
    pub fn rotate(self, rot: V2) -> V2 {
        V2::new(
            self.x * rot.x - self.y * rot.y,
            self.x * rot.y + self.y * rot.x,
        )
    }
    /// Whether both coordinates are finite.
    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }
}

impl Add for V2 {
    type Output = V2;
    #[inline]
    fn add(self, o: V2) -> V2 {
        V2::new(self.x + o.x, self.y + o.y)
    }
}
impl Sub for V2 {
    type Output = V2;
    #[inline]
    fn sub(self, o: V2) -> V2 {
        V2::new(self.x - o.x, self.y - o.y)
    }
}
impl Mul<f64> for V2 {
    type Output = V2;
    #[inline]
    fn mul(self, s: f64) -> V2 {
        V2::new(self.x * s, self.y * s)
    }
}
impl Neg for V2 {
    type Output = V2;
    #[inline]
    fn neg(self) -> V2 {
        V2::new(-self.x, -self.y)
    }
}

/// The unit vector `(cos a, sin a)`.
#[inline]
pub fn for_angle(a: f64) -> V2 {
    let (s, c) = a.sin_cos();
    V2::new(c, s)
}

/// Pose of the T: the body origin (middle of the bar's outer edge) and the angle.
/// A body point `q` sits in the world at `position + R(angle) q`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// Body origin.
    pub position: V2,
    /// Angle in radians (counter-clockwise in the y-down frame).
    pub angle: f64,
}

impl Pose {
    /// World coordinates of a body point.
    #[inline]
    pub fn to_world(&self, q: V2) -> V2 {
        self.position + q.rotate(for_angle(self.angle))
    }
}

/// Radius of the pusher (px).
pub const AGENT_RADIUS: f64 = 15.0;
/// The T's centre of gravity in body coordinates: the mean of the two box centroids,
/// `((0, 15) + (0, 75)) / 2 = (0, 45)`.
pub const COG: V2 = V2::new(0.0, 45.0);
/// Mass of the T.
pub const MASS: f64 = 1.0;
/// Moment of inertia of the T: twice the bar's moment about the body origin,
/// `2 · m (w² + h²)/12 + m (h/2)²` with `w = 120, h = 30`, i.e. `2 · 1500 = 3000`.
pub const MOMENT: f64 = 3000.0;
/// Area of the T (px²): `120·30 + 30·90`.
pub const T_AREA: f64 = 6300.0;
/// Goal pose of the T.
pub const GOAL: Pose = Pose {
    position: V2::new(256.0, 256.0),
    angle: std::f64::consts::FRAC_PI_4,
};

/// The bar `[−60, 60] × [0, 30]`, counter-clockwise (positive shoelace area) from the lowest-x vertex.
pub const BAR: [V2; 4] = [
    V2::new(-60.0, 0.0),
    V2::new(60.0, 0.0),
    V2::new(60.0, 30.0),
    V2::new(-60.0, 30.0),
];
/// The stem `[−15, 15] × [30, 120]`, counter-clockwise.
pub const STEM: [V2; 4] = [
    V2::new(-15.0, 30.0),
    V2::new(15.0, 30.0),
    V2::new(15.0, 120.0),
    V2::new(-15.0, 120.0),
];
/// Both boxes of the T.
pub const T_BOXES: [[V2; 4]; 2] = [BAR, STEM];

/// The arena's static walls: segments `(a, b)` of radius [`WALL_RADIUS`].
pub const WALLS: [(V2, V2); 4] = [
    (V2::new(5.0, 506.0), V2::new(5.0, 5.0)),
    (V2::new(5.0, 5.0), V2::new(506.0, 5.0)),
    (V2::new(506.0, 5.0), V2::new(506.0, 506.0)),
    (V2::new(5.0, 506.0), V2::new(506.0, 506.0)),
];
/// Radius of the wall segments.
pub const WALL_RADIUS: f64 = 2.0;
/// Side of the square arena (px).
pub const ARENA: f64 = 512.0;

/// World vertices of both boxes of the T at `pose`.
pub fn t_world(pose: &Pose) -> [[V2; 4]; 2] {
    let rot = for_angle(pose.angle);
    T_BOXES.map(|b| b.map(|q| pose.position + q.rotate(rot)))
}
