//! A purpose-built quasi-static solver that reproduces the reference's Chipmunk sub-step for this scene:
//! a kinematic circle (the pusher), one dynamic body made of two boxes (the T), four static wall segments,
//! frictionless inelastic contacts, space damping 0.
//!
//! One sub-step of length `dt`, in Chipmunk's order:
//! 1. positions: `p ← p + (v + v_bias) dt`, `a ← a + (ω + ω_bias) dt`, then `v_bias = ω_bias = 0`;
//! 2. collision detection at the new positions, pair by pair in the order in which the reference's broad phase
//!    (two bounding-box trees, modelled in [`crate::broadphase`]) reports the pairs: that order is the order of
//!    `space->arbiters`, hence the order of the sequential impulses in step 7, and it matters as soon as the
//!    pusher and a wall touch the T together; contacts are matched with the cached ones by feature id and
//!    inherit their accumulated normal impulse;
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

use crate::broadphase::{Bb, BroadPhase, AGENT, BAR, STEM, WALL0};
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

/// Bounding box of a box of the T (Chipmunk's polygon `bb`).
#[inline]
fn bounding_box(v: &[V2; 4]) -> Bb {
    let mut bb = Bb {
        l: v[0].x,
        b: v[0].y,
        r: v[0].x,
        t: v[0].y,
    };
    for p in &v[1..] {
        bb.l = bb.l.min(p.x);
        bb.b = bb.b.min(p.y);
        bb.r = bb.r.max(p.x);
        bb.t = bb.t.max(p.y);
    }
    bb
}

/// Bounding box of the pusher centred at `c`.
#[inline]
fn circle_bb(c: V2) -> Bb {
    Bb {
        l: c.x - AGENT_RADIUS,
        b: c.y - AGENT_RADIUS,
        r: c.x + AGENT_RADIUS,
        t: c.y + AGENT_RADIUS,
    }
}

/// Bounding box of wall `w` (its segment widened by the radius).
#[inline]
fn wall_bb(w: usize) -> Bb {
    let (a, b) = WALLS[w];
    Bb {
        l: a.x.min(b.x) - WALL_RADIUS,
        b: a.y.min(b.y) - WALL_RADIUS,
        r: a.x.max(b.x) + WALL_RADIUS,
        t: a.y.max(b.y) + WALL_RADIUS,
    }
}

/// Most broad-phase callbacks in one sub-step: 3 pairs among the non-static shapes and 3 × 4 with walls.
const MAX_CALLS: usize = 15;

/// Where the reference's `_setup()` adds the pusher and the T before `reset` moves them; the broad phase's
/// trees keep the shape of that construction.
const SETUP_AGENT: V2 = V2::new(256.0, 400.0);
/// See [`SETUP_AGENT`].
const SETUP_BLOCK: Pose = Pose {
    position: V2::new(256.0, 300.0),
    angle: 0.0,
};

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
    /// The reference's bounding-box trees, which decide the solve order.
    broad: BroadPhase,
}

impl World {
    /// A world at rest with an empty contact cache: pusher at `agent`, T with origin pose `block`.
    ///
    /// The broad phase's trees are built as the reference's `_setup()` builds them (pusher at (256, 400), T at
    /// (256, 300), angle 0) whatever `agent` and `block` are: the reference moves its bodies there afterwards
    /// without rebuilding the trees, and the next sub-step reindexes them.
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
            broad: {
                let t = t_world(&SETUP_BLOCK);
                BroadPhase::new(
                    [wall_bb(0), wall_bb(1), wall_bb(2), wall_bb(3)],
                    [
                        circle_bb(SETUP_AGENT),
                        bounding_box(&t[0]),
                        bounding_box(&t[1]),
                    ],
                )
            },
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

        // 2. collisions, in the order the reference's broad phase finds the pairs (see `broadphase`): the
        //    solver sweeps the contacts in that order
        let boxes = t_world(&self.block_pose());
        let c = self.agent_p;
        let bbs = [
            circle_bb(c),
            bounding_box(&boxes[0]),
            bounding_box(&boxes[1]),
        ];
        let bv = (self.block_v.x, self.block_v.y);
        let mut calls = [(0u8, 0u8); MAX_CALLS];
        let mut n_calls = 0;
        self.broad.reindex_query(
            bbs,
            [(self.agent_v.x, self.agent_v.y), bv, bv],
            &mut |a, b| {
                calls[n_calls] = (a, b);
                n_calls += 1;
            },
        );
        for &(a, b) in &calls[..n_calls] {
            // (other shape, box of the T); pairs within the T, or without it, never collide here
            let (o, k) = match (a, b) {
                (x, BAR | STEM) if x != BAR && x != STEM => (x, b),
                (BAR | STEM, x) if x != BAR && x != STEM => (x, a),
                _ => continue,
            };
            let k = (k - BAR) as usize;
            let bb_k = bbs[1 + k];
            if o == AGENT {
                if bbs[0].intersects(&bb_k) {
                    let m = circle_box(c, AGENT_RADIUS, &boxes[k]);
                    self.collide(k, &m, false);
                }
            } else {
                let w = (o - WALL0) as usize;
                if wall_bb(w).intersects(&bb_k) {
                    let (wa, wb) = WALLS[w];
                    let m = segment_box(wa, wb, WALL_RADIUS, &boxes[k]);
                    self.collide(2 + 2 * w + k, &m, true);
                }
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
