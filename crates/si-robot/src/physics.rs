//! A purpose-built quasi-static solver that reproduces the reference's Chipmunk sub-step for this scene:
//! a kinematic circle (the pusher), one dynamic body made of two boxes (the T), four static wall segments,
//! frictionless inelastic contacts, space damping 0.
//!
//! One sub-step of length `dt`, in Chipmunk's order:
//! 1. positions: `p ← p + (v + v_bias) dt`, `a ← a + (ω + ω_bias) dt`, then `v_bias = ω_bias = 0`;
//! 2. collision detection at the new positions (walls first, then the pusher), contacts are matched with the
//!    cached ones by feature id and inherit their accumulated normal impulse;
//! 3. contacts unused for [`PERSISTENCE`] sub-steps are dropped;
//! 4. pre-step: `m_n = 1 / (m_a⁻¹ + m_b⁻¹ + I_a⁻¹ (r₁×n)² + I_b⁻¹ (r₂×n)²)` and the bias velocity
//!    `b = −β min(0, gap + slop) / dt` with `β = 1 − bias^dt`;
//! 5. velocities: `v ← v · damping^dt = 0` (damping 0: the T is quasi-static);
//! 6. warm start: the cached impulses `jₙ n` (scaled by `dt / dt_prev`) are applied again;
//! 7. [`ITERATIONS`] sweeps of sequential impulses: `jₙ = −(v_rel · n) m_n`, accumulated and clamped at 0,
//!    and the same for the bias impulses acting on `v_bias`.
//!
//! The T's velocity left by step 7 moves it in step 1 of the next sub-step, so it moves one sub-step after
//! the contact that pushes it; that velocity is part of the state.

use crate::contact::{circle_box, segment_box, Manifold};
use crate::geometry::{
    for_angle, t_world, Pose, AGENT_RADIUS, COG, MASS, MOMENT, V2, WALLS, WALL_RADIUS,
};

/// Solver iterations per sub-step (Chipmunk's default).
pub const ITERATIONS: usize = 10;
/// Sub-steps a contact is remembered after it last touched (Chipmunk's `collisionPersistence`).
pub const PERSISTENCE: u64 = 3;

/// Allowed overlap before the bias velocity acts: Chipmunk's `0.1f`, a single-precision constant.
pub fn collision_slop() -> f64 {
    f64::from(0.1f32)
}

/// Fraction of overlap left after one second: Chipmunk's `cpfpow(1.0f − 0.1f, 60.0f)`, i.e. `0.9^60` with 0.9 in
/// single precision (≈ 0.0017970074).
pub fn collision_bias() -> f64 {
    f64::from(1.0f32 - 0.1f32).powf(60.0)
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ArbiterState {
    #[default]
    First,
    Normal,
    Cached,
}

#[derive(Clone, Copy, Debug, Default)]
struct Contact {
    r1: V2,
    r2: V2,
    hash: u32,
    jn_acc: f64,
    j_bias: f64,
    n_mass: f64,
    bias: f64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Arbiter {
    live: bool,
    n: V2,
    contacts: [Contact; 2],
    count: usize,
    stamp: u64,
    state: ArbiterState,
    /// Body a: `None` for the pusher (kinematic, moving), `Some(())` for a static wall at the origin.
    a_is_wall: bool,
}

/// `[min x, min y, max x, max y]` of a box.
#[inline]
fn bounding_box(v: &[V2; 4]) -> [f64; 4] {
    let mut bb = [v[0].x, v[0].y, v[0].x, v[0].y];
    for p in &v[1..] {
        bb[0] = bb[0].min(p.x);
        bb[1] = bb[1].min(p.y);
        bb[2] = bb[2].max(p.x);
        bb[3] = bb[3].max(p.y);
    }
    bb
}

#[inline]
fn overlap(a: &[f64; 4], b: &[f64; 4]) -> bool {
    a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3]
}

/// Number of shape pairs: (pusher + 4 walls) × (bar, stem).
const SLOTS: usize = 10;

/// The full physical state: pusher, T (centre of gravity, angle, velocities and bias velocities) and the
/// contact cache.
#[derive(Clone, Debug)]
pub struct World {
    /// Pusher centre.
    pub agent_p: V2,
    /// Pusher velocity.
    pub agent_v: V2,
    /// The T's centre of gravity in the world.
    pub block_p: V2,
    /// The T's angle.
    pub block_a: f64,
    /// The T's velocity (left by the last solve).
    pub block_v: V2,
    /// The T's angular velocity.
    pub block_w: f64,
    block_v_bias: V2,
    block_w_bias: f64,
    arbiters: [Arbiter; SLOTS],
    active: [u8; SLOTS],
    n_active: usize,
    stamp: u64,
    curr_dt: f64,
    /// `(dt, 1 − bias^dt)` for the last `dt` seen.
    beta_dt: (f64, f64),
}

impl World {
    /// A world at rest with an empty contact cache: pusher at `agent`, T with origin pose `block`.
    pub fn new(agent: V2, block: Pose) -> Self {
        Self {
            agent_p: agent,
            agent_v: V2::default(),
            block_p: block.to_world(COG),
            block_a: block.angle,
            block_v: V2::default(),
            block_w: 0.0,
            block_v_bias: V2::default(),
            block_w_bias: 0.0,
            arbiters: [Arbiter::default(); SLOTS],
            active: [0; SLOTS],
            n_active: 0,
            stamp: 0,
            curr_dt: 0.0,
            beta_dt: (f64::NAN, 0.0),
        }
    }

    /// The T's pose (body origin `p − R(a) c` and angle).
    pub fn block_pose(&self) -> Pose {
        let rot = for_angle(self.block_a);
        Pose {
            position: self.block_p - COG.rotate(rot),
            angle: self.block_a,
        }
    }

    /// Whether the pusher touched the T in the last sub-step.
    pub fn agent_in_contact(&self) -> bool {
        self.active[..self.n_active]
            .iter()
            .any(|&s| !self.arbiters[s as usize].a_is_wall)
    }

    /// Contact pairs of the last sub-step in solver order: `0`/`1` the pusher against the bar/stem,
    /// `2 + 2w + k` wall `w` against box `k`.
    pub fn active_slots(&self) -> &[u8] {
        &self.active[..self.n_active]
    }

    /// Number of contact pairs (pusher or wall against a box of the T) in the last sub-step.
    pub fn active_pairs(&self) -> usize {
        self.n_active
    }

    fn collide(&mut self, slot: usize, m: &Manifold, a_is_wall: bool) {
        if m.count == 0 {
            return;
        }
        let a_p = if a_is_wall {
            V2::default()
        } else {
            self.agent_p
        };
        let b_p = self.block_p;
        let arb = &mut self.arbiters[slot];
        if !arb.live {
            *arb = Arbiter {
                live: true,
                state: ArbiterState::First,
                a_is_wall,
                ..Arbiter::default()
            };
        }
        let mut contacts = [Contact::default(); 2];
        for (k, cp) in m.points[..m.count].iter().enumerate() {
            let mut c = Contact {
                r1: cp.p1 - a_p,
                r2: cp.p2 - b_p,
                hash: cp.hash,
                ..Contact::default()
            };
            for old in &arb.contacts[..arb.count] {
                if old.hash == c.hash {
                    c.jn_acc = old.jn_acc;
                }
            }
            contacts[k] = c;
        }
        arb.contacts = contacts;
        arb.count = m.count;
        arb.n = m.n;
        if arb.state == ArbiterState::Cached {
            arb.state = ArbiterState::First;
        }
        arb.stamp = self.stamp;
        self.active[self.n_active] = slot as u8;
        self.n_active += 1;
    }

    /// Applies impulse `j` at offset `r2` of the T (and `−j` to the infinitely heavy body a).
    #[inline]
    fn impulse_b(v: &mut V2, w: &mut f64, r2: V2, j: V2) {
        *v = *v + j * (1.0 / MASS);
        *w += (1.0 / MOMENT) * r2.cross(j);
    }

    /// One physics sub-step of length `dt` (no control).
    pub fn substep(&mut self, dt: f64) {
        self.stamp += 1;
        let prev_dt = self.curr_dt;
        self.curr_dt = dt;
        for k in 0..self.n_active {
            let s = self.active[k] as usize;
            self.arbiters[s].state = ArbiterState::Normal;
        }
        self.n_active = 0;

        // 1. positions
        self.agent_p = self.agent_p + self.agent_v * dt;
        self.block_p = self.block_p + (self.block_v + self.block_v_bias) * dt;
        self.block_a += (self.block_w + self.block_w_bias) * dt;
        self.block_v_bias = V2::default();
        self.block_w_bias = 0.0;

        // 2. collisions: static walls first, then the pusher; boxes whose bounding boxes do not overlap
        //    cannot touch (Chipmunk's broad phase), which skips most tests
        let boxes = t_world(&self.block_pose());
        let bbs = boxes.map(|bx| bounding_box(&bx));
        for (w, &(a, b)) in WALLS.iter().enumerate() {
            let wall_bb = [
                a.x.min(b.x) - WALL_RADIUS,
                a.y.min(b.y) - WALL_RADIUS,
                a.x.max(b.x) + WALL_RADIUS,
                a.y.max(b.y) + WALL_RADIUS,
            ];
            for (k, bx) in boxes.iter().enumerate() {
                if overlap(&wall_bb, &bbs[k]) {
                    let m = segment_box(a, b, WALL_RADIUS, bx);
                    self.collide(2 + 2 * w + k, &m, true);
                }
            }
        }
        let c = self.agent_p;
        let agent_bb = [
            c.x - AGENT_RADIUS,
            c.y - AGENT_RADIUS,
            c.x + AGENT_RADIUS,
            c.y + AGENT_RADIUS,
        ];
        for (k, bx) in boxes.iter().enumerate() {
            if overlap(&agent_bb, &bbs[k]) {
                let m = circle_box(c, AGENT_RADIUS, bx);
                self.collide(k, &m, false);
            }
        }

        // 3. forget stale contacts
        for arb in self.arbiters.iter_mut().filter(|a| a.live) {
            let ticks = self.stamp - arb.stamp;
            if ticks >= 1 && arb.state != ArbiterState::Cached {
                arb.state = ArbiterState::Cached;
            }
            if ticks >= PERSISTENCE {
                arb.live = false;
                arb.count = 0;
            }
        }

        // 4. pre-step
        let slop = collision_slop();
        if dt.to_bits() != self.beta_dt.0.to_bits() {
            self.beta_dt = (dt, 1.0 - collision_bias().powf(dt));
        }
        let beta = self.beta_dt.1;
        let i_inv = 1.0 / MOMENT;
        for k in 0..self.n_active {
            let s = self.active[k] as usize;
            let a_p = if self.arbiters[s].a_is_wall {
                V2::default()
            } else {
                self.agent_p
            };
            let delta = self.block_p - a_p;
            let arb = &mut self.arbiters[s];
            let n = arb.n;
            for c in arb.contacts[..arb.count].iter_mut() {
                let rn = c.r2.cross(n);
                c.n_mass = 1.0 / (1.0 / MASS + i_inv * rn * rn);
                let dist = (c.r2 - c.r1 + delta).dot(n);
                c.bias = -beta * (dist + slop).min(0.0) / dt;
                c.j_bias = 0.0;
            }
        }

        // 5. velocities: v ← v · damping^dt = 0 for damping 0
        self.block_v = V2::default();
        self.block_w = 0.0;

        // 6. warm start
        let dt_coef = if prev_dt == 0.0 { 0.0 } else { dt / prev_dt };
        for k in 0..self.n_active {
            let s = self.active[k] as usize;
            let arb = self.arbiters[s];
            if arb.state == ArbiterState::First {
                continue;
            }
            for c in &arb.contacts[..arb.count] {
                let j = arb.n * (c.jn_acc * dt_coef);
                Self::impulse_b(&mut self.block_v, &mut self.block_w, c.r2, j);
            }
        }

        // 7. sequential impulses
        for _ in 0..ITERATIONS {
            for k in 0..self.n_active {
                let s = self.active[k] as usize;
                let a_v = if self.arbiters[s].a_is_wall {
                    V2::default()
                } else {
                    self.agent_v
                };
                let arb = &mut self.arbiters[s];
                let n = arb.n;
                for c in arb.contacts[..arb.count].iter_mut() {
                    let vb2 = self.block_v_bias + c.r2.perp() * self.block_w_bias;
                    let vr = (self.block_v + c.r2.perp() * self.block_w) - a_v;
                    let vbn = vb2.dot(n);
                    let vrn = vr.dot(n);
                    let jbn = (c.bias - vbn) * c.n_mass;
                    let jbn_old = c.j_bias;
                    c.j_bias = (jbn_old + jbn).max(0.0);
                    let jn = -vrn * c.n_mass;
                    let jn_old = c.jn_acc;
                    c.jn_acc = (jn_old + jn).max(0.0);
                    Self::impulse_b(
                        &mut self.block_v_bias,
                        &mut self.block_w_bias,
                        c.r2,
                        n * (c.j_bias - jbn_old),
                    );
                    Self::impulse_b(
                        &mut self.block_v,
                        &mut self.block_w,
                        c.r2,
                        n * (c.jn_acc - jn_old),
                    );
                }
            }
        }
    }
}
