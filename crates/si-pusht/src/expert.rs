//! A scripted, state-based expert that plans pushes by simulating them.
//!
//! Pushing the quasi-static, frictionless T at an outline point with inward normal `n` moves its centre of
//! gravity along `n` and turns it by the lever arm `(c − x_cog) × n` (moment 3000). Rather than a linearised
//! prediction, the expert simulates each candidate push with the environment itself:
//! 1. candidates: points `c` on the T's outline (every ~10 px, the inner corners excluded) and push depths
//!    `d` past contact;
//! 2. for each, a push primitive from the pre-contact point `s = c − (r + 2) n` (ramp to `s + (2 + d) n` over
//!    `K` steps, then back to `s`) is simulated from the current pose; its value is the decrease of the
//!    keypoint error `e = ⅛ Σᵢ |T(qᵢ) − G(qᵢ)|` (the eight outline vertices, block against goal) per step spent,
//!    travel included, and a push whose simulation reaches success beats all others;
//! 3. one of the best few is drawn with softmax weights (multimodal demonstrations), the pusher travels to `s`
//!    without touching the block (straight when the way is clear, otherwise round a circle about the centre of
//!    gravity on a randomly chosen side when both are about as long), settles, and executes the whole push
//!    (commitment), then plans again.
//!
//! Push targets carry Gaussian noise that is drawn before the simulation, so the prediction stays exact.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::env::{block_pose, Action, Obs, PushT};
use crate::error::PushTError;
use crate::eval::Policy;
use crate::geometry::{for_angle, t_world, Pose, AGENT_RADIUS, ARENA, COG, GOAL, V2};

/// Settings of the expert, as given (unchecked). [`ExpertConfig::check`] validates them once into
/// [`ExpertParams`], which the expert runs with (linfa's pattern); [`Expert::new`] does both.
///
/// Valid settings: `top_k ≥ 1`; `temperature` finite and `≥ 0`; `travel_noise` and `push_noise` (standard
/// deviations) finite in `[0, 512]`; `depths` non-empty, each finite in `[0, 512]`; `detour_radius` finite in `(91.5, 512]` (clear of the T);
/// `max_travel_steps ≥ 1`; `settle_tolerance` finite in `(0, 512]`.
///
/// ```
/// use si_pusht::{ExpertConfig, PushTError};
/// let bad = ExpertConfig { push_noise: f64::INFINITY, ..ExpertConfig::default() };
/// assert!(matches!(bad.check(), Err(PushTError::InvalidParameter { name: "push_noise", .. })));
/// assert!(ExpertConfig::default().check().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ExpertConfig {
    /// How many of the best pushes the softmax draws from.
    pub top_k: usize,
    /// Softmax temperature relative to the best value.
    pub temperature: f64,
    /// Standard deviation of the noise on travel waypoints (px).
    pub travel_noise: f64,
    /// Standard deviation of the noise on push targets (px).
    pub push_noise: f64,
    /// Push depths past contact (px).
    pub depths: Vec<f64>,
    /// Radius of the detour circle about the centre of gravity (px); larger than the T's reach plus the
    /// pusher's radius (76.5 + 15).
    pub detour_radius: f64,
    /// Steps after which an unfinished travel is abandoned and the push re-planned.
    pub max_travel_steps: usize,
    /// A push starts once the pusher is within this distance (px) of its pre-contact point and moved less
    /// than this (px) in the last step: it has settled. The default 0.3 px makes the push start where its
    /// simulation did; under noisy execution a pusher may never settle that closely.
    pub settle_tolerance: f64,
}

impl Default for ExpertConfig {
    fn default() -> Self {
        Self {
            top_k: 3,
            temperature: 0.15,
            travel_noise: 2.0,
            push_noise: 0.5,
            depths: vec![1.5, 3.0, 8.0, 16.0, 30.0, 60.0, 100.0],
            detour_radius: 100.0,
            max_travel_steps: 40,
            settle_tolerance: 0.3,
        }
    }
}

/// Radius the detour circle must exceed: the T's reach about its centre of gravity plus the pusher's radius.
pub const MIN_DETOUR_RADIUS: f64 = 76.5 + AGENT_RADIUS;

fn invalid(name: &'static str, value: impl std::fmt::Debug, reason: &'static str) -> PushTError {
    PushTError::InvalidParameter {
        name,
        value: format!("{value:?}"),
        reason,
    }
}

impl ExpertConfig {
    /// Validates the settings (see [`ExpertConfig`]); the first invalid one is reported as
    /// [`PushTError::InvalidParameter`].
    pub fn check(&self) -> Result<ExpertParams, PushTError> {
        if self.top_k == 0 {
            return Err(invalid("top_k", self.top_k, "must be at least 1"));
        }
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(invalid(
                "temperature",
                self.temperature,
                "must be finite and non-negative",
            ));
        }
        for (name, sd) in [
            ("travel_noise", self.travel_noise),
            ("push_noise", self.push_noise),
        ] {
            if !(sd.is_finite() && (0.0..=ARENA).contains(&sd)) {
                return Err(invalid(name, sd, "must be finite, in [0, 512] px"));
            }
        }
        if self.depths.is_empty() {
            return Err(invalid("depths", &self.depths, "must not be empty"));
        }
        if let Some(d) = self
            .depths
            .iter()
            .find(|d| !(d.is_finite() && (0.0..=ARENA).contains(*d)))
        {
            return Err(invalid(
                "depths",
                d,
                "each depth must be finite, in [0, 512] px",
            ));
        }
        let r = self.detour_radius;
        if !(r.is_finite() && r > MIN_DETOUR_RADIUS && r <= ARENA) {
            return Err(invalid(
                "detour_radius",
                r,
                "must be finite, in (91.5, 512] px (clear of the T)",
            ));
        }
        if self.max_travel_steps == 0 {
            return Err(invalid(
                "max_travel_steps",
                self.max_travel_steps,
                "must be at least 1",
            ));
        }
        let st = self.settle_tolerance;
        if !(st.is_finite() && st > 0.0 && st <= ARENA) {
            return Err(invalid(
                "settle_tolerance",
                st,
                "must be finite, in (0, 512] px",
            ));
        }
        Ok(ExpertParams { cfg: self.clone() })
    }
}

/// Checked settings of the expert: made only by [`ExpertConfig::check`] (or `try_from`), so every value
/// is in range.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpertParams {
    cfg: ExpertConfig,
}

impl ExpertParams {
    /// The settings (read only).
    pub fn config(&self) -> &ExpertConfig {
        &self.cfg
    }
}

impl Default for ExpertParams {
    /// The default settings, which are valid (a test checks them).
    fn default() -> Self {
        Self {
            cfg: ExpertConfig::default(),
        }
    }
}

impl TryFrom<ExpertConfig> for ExpertParams {
    type Error = PushTError;
    fn try_from(cfg: ExpertConfig) -> Result<Self, PushTError> {
        cfg.check()
    }
}

/// Steps over which a push of `depth` px ramps its target.
fn push_steps(depth: f64) -> usize {
    match depth {
        d if d <= 8.0 => 2,
        d if d <= 30.0 => 3,
        d if d <= 60.0 => 4,
        _ => 5,
    }
}

/// Contact candidates in body coordinates: (point, inward normal).
fn candidates() -> Vec<(V2, V2)> {
    let mut out = Vec::new();
    let mut line = |a: V2, b: V2, n: V2, count: usize| {
        for k in 0..count {
            let t = (k as f64 + 0.5) / count as f64;
            out.push((a + (b - a) * t, n));
        }
    };
    line(
        V2::new(-60.0, 0.0),
        V2::new(60.0, 0.0),
        V2::new(0.0, 1.0),
        12,
    ); // top of the bar
    line(
        V2::new(60.0, 0.0),
        V2::new(60.0, 30.0),
        V2::new(-1.0, 0.0),
        3,
    ); // right end
    line(
        V2::new(35.0, 30.0),
        V2::new(60.0, 30.0),
        V2::new(0.0, -1.0),
        3,
    ); // under the bar, right
    line(
        V2::new(15.0, 50.0),
        V2::new(15.0, 120.0),
        V2::new(-1.0, 0.0),
        7,
    ); // stem, right
    line(
        V2::new(-15.0, 120.0),
        V2::new(15.0, 120.0),
        V2::new(0.0, -1.0),
        3,
    ); // stem end
    line(
        V2::new(-15.0, 50.0),
        V2::new(-15.0, 120.0),
        V2::new(1.0, 0.0),
        7,
    ); // stem, left
    line(
        V2::new(-60.0, 30.0),
        V2::new(-35.0, 30.0),
        V2::new(0.0, -1.0),
        3,
    ); // under the bar, left
    line(
        V2::new(-60.0, 0.0),
        V2::new(-60.0, 30.0),
        V2::new(1.0, 0.0),
        3,
    ); // left end
    out
}

/// The T's outline vertices in body coordinates (keypoints).
const KEYPOINTS: [V2; 8] = [
    V2::new(-60.0, 0.0),
    V2::new(60.0, 0.0),
    V2::new(60.0, 30.0),
    V2::new(15.0, 30.0),
    V2::new(15.0, 120.0),
    V2::new(-15.0, 120.0),
    V2::new(-15.0, 30.0),
    V2::new(-60.0, 30.0),
];

/// Mean distance between the outline vertices of the T at `pose` and at the goal (px).
pub fn keypoint_error(pose: &Pose) -> f64 {
    KEYPOINTS
        .iter()
        .map(|&q| (pose.to_world(q) - GOAL.to_world(q)).norm())
        .sum::<f64>()
        / 8.0
}

/// Distance from point `p` to the T at `pose` (0 inside).
fn distance_to_t(p: V2, pose: &Pose) -> f64 {
    let mut best = f64::INFINITY;
    for bx in t_world(pose) {
        let inside = (0..4).all(|i| (bx[(i + 1) % 4] - bx[i]).cross(p - bx[i]) >= 0.0);
        if inside {
            return 0.0;
        }
        for i in 0..4 {
            best = best.min(point_segment_distance(p, bx[i], bx[(i + 1) % 4]));
        }
    }
    best
}

fn point_segment_distance(p: V2, a: V2, b: V2) -> f64 {
    let e = b - a;
    let t = ((p - a).dot(e) / e.norm2().max(1e-12)).clamp(0.0, 1.0);
    (p - (a + e * t)).norm()
}

/// Whether the pusher moving straight from `a` to `b` keeps `margin` clear of the T (sampled every 2 px).
/// At most 4096 samples (paths up to 8192 px, 16 arena widths, are sampled every 2 px), so that a far-off or
/// non-finite point cannot make the loop run for ever.
fn clear_path(a: V2, b: V2, pose: &Pose, margin: f64) -> bool {
    let n = ((b - a).norm() / 2.0).ceil().clamp(1.0, 4096.0) as usize;
    (0..=n)
        .all(|k| distance_to_t(a + (b - a) * (k as f64 / n as f64), pose) >= AGENT_RADIUS + margin)
}

#[derive(Clone, Debug)]
enum Phase {
    Plan,
    Travel {
        waypoints: Vec<V2>,
        index: usize,
        steps: usize,
        push: Vec<Action>,
    },
    Push {
        actions: Vec<Action>,
        index: usize,
    },
}

/// The scripted expert (a [`Policy`] that returns one action at a time).
#[derive(Clone, Debug)]
pub struct Expert {
    cfg: ExpertConfig,
    rng: ChaCha8Rng,
    phase: Phase,
    cands: Vec<(V2, V2)>,
}

/// The chosen push: its actions and the route to its pre-contact point.
struct Choice {
    push: Vec<Action>,
    waypoints: Vec<V2>,
}

impl Expert {
    /// An expert with settings `cfg`, checked first ([`ExpertConfig::check`]).
    pub fn new(cfg: ExpertConfig) -> Result<Self, PushTError> {
        Ok(Self::with_params(cfg.check()?))
    }

    /// An expert with checked settings.
    pub fn with_params(params: ExpertParams) -> Self {
        Self {
            cfg: params.cfg,
            rng: ChaCha8Rng::seed_from_u64(0),
            phase: Phase::Plan,
            cands: candidates(),
        }
    }

    /// Route from `a` to the pre-contact point `s` (inward normal `n`) that keeps clear of the T.
    fn route(&mut self, a: V2, s: V2, n: V2, pose: &Pose) -> Vec<V2> {
        let entry = s - n * 12.0;
        if clear_path(a, entry, pose, 3.0) {
            return vec![entry, s];
        }
        let cog = pose.to_world(COG);
        let r = self.cfg.detour_radius;
        let mut wps = Vec::new();
        // back off from the block first
        let mut start = a;
        let d = distance_to_t(a, pose);
        if d < AGENT_RADIUS + 6.0 {
            // away from the nearest boundary point, estimated by finite differences of the distance
            let h = 0.5;
            let gx =
                distance_to_t(a + V2::new(h, 0.0), pose) - distance_to_t(a - V2::new(h, 0.0), pose);
            let gy =
                distance_to_t(a + V2::new(0.0, h), pose) - distance_to_t(a - V2::new(0.0, h), pose);
            let g = V2::new(gx, gy);
            let g = if g.norm() > 1e-9 {
                g.normalize()
            } else {
                (a - cog).normalize()
            };
            start = a + g * (AGENT_RADIUS + 8.0 - d);
            wps.push(start);
        }
        let u = start - cog;
        let phi_b = u.y.atan2(u.x);
        // entry point on the circle along the push line: |s − n L − cog| = r
        let w = s - cog;
        let wn = w.dot(n);
        let l = wn + (wn * wn - w.norm2() + r * r).max(0.0).sqrt();
        let e = s - n * l;
        let ue = e - cog;
        let phi_e = ue.y.atan2(ue.x);
        let tau = std::f64::consts::TAU;
        let mut delta = (phi_e - phi_b).rem_euclid(tau);
        if delta > std::f64::consts::PI {
            delta -= tau;
        }
        // nearly opposite: either side, at random
        if delta.abs() > 0.8 * std::f64::consts::PI && self.rng.random_bool(0.5) {
            delta -= tau * delta.signum();
        }
        let steps = (delta.abs() / 20f64.to_radians()).ceil().max(1.0) as usize;
        let sd = self.cfg.travel_noise;
        let mut noise = || sd * self.rng.sample::<f64, _>(StandardNormal);
        for k in 0..=steps {
            let phi = phi_b + delta * (k as f64 / steps as f64);
            let p = cog + for_angle(phi) * r;
            wps.push(p + V2::new(noise(), noise()));
        }
        wps.push(e);
        wps.push(s);
        wps
    }

    fn plan(&mut self, obs: &Obs) -> Option<Choice> {
        let agent = V2::new(obs[0], obs[1]);
        let pose = block_pose(obs);
        let e0 = keypoint_error(&pose);
        let rot = for_angle(pose.angle);
        let sd = self.cfg.push_noise;
        let mut scored: Vec<(f64, usize, f64, Vec<Action>)> = Vec::new();
        let cog = pose.to_world(COG);
        for (ci, &(c, n)) in self.cands.iter().enumerate() {
            let cw = pose.to_world(c);
            let nw = n.rotate(rot);
            let s = cw - nw * (AGENT_RADIUS + 2.0);
            // travel estimate: straight if close, else round the circle
            let travel = if (agent - s).norm() < 25.0 {
                (agent - s).norm() / 25.0
            } else {
                let ua = agent - cog;
                let us = s - cog;
                let ang = ua.cross(us).atan2(ua.dot(us)).abs();
                (ang * self.cfg.detour_radius + 60.0) / 25.0 + 2.0
            };
            for &depth in &self.cfg.depths {
                let k_steps = push_steps(depth);
                let mut push = Vec::with_capacity(k_steps + 1);
                for k in 1..=k_steps {
                    let t = s + nw * ((2.0 + depth) * k as f64 / k_steps as f64);
                    push.push([
                        t.x + sd * self.rng.sample::<f64, _>(StandardNormal),
                        t.y + sd * self.rng.sample::<f64, _>(StandardNormal),
                    ]);
                }
                push.push([s.x, s.y]);
                let mut sim = PushT::from_pose(s, pose);
                let mut reached = None;
                for (k, a) in push.iter().enumerate() {
                    match sim.step(*a) {
                        Ok(st) if st.info.success && reached.is_none() => reached = Some(k + 1),
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                let w = sim.world().block_pose();
                let gain = e0 - keypoint_error(&w);
                // a push that reaches the goal beats any other; sooner is better
                let value = match reached {
                    Some(k) => 1e3 - (k as f64 + travel),
                    None => gain / (push.len() as f64 + travel),
                };
                scored.push((value, ci, gain, push));
            }
        }
        // a value is NaN only when a simulation broke down (e.g. a far-off observation): never choose it
        scored.retain(|x| !x.0.is_nan());
        if scored.is_empty() {
            return None;
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.truncate(self.cfg.top_k.max(1));
        let best = scored[0].0;
        let temp = self.cfg.temperature * best.abs() + 1e-6;
        let weights: Vec<f64> = scored.iter().map(|x| ((x.0 - best) / temp).exp()).collect();
        let total: f64 = weights.iter().sum();
        let mut pick = 0;
        // degenerate weights (an infinite best value, a zero or non-finite sum): take the best
        if total.is_finite() && total > 0.0 && weights.iter().all(|w| w.is_finite()) {
            let mut u = self.rng.random_range(0.0..total);
            for (i, w) in weights.iter().enumerate() {
                if u < *w {
                    pick = i;
                    break;
                }
                u -= w;
            }
        }
        let (_, ci, _, push) = scored.swap_remove(pick);
        let (c, n) = self.cands[ci];
        let nw = n.rotate(rot);
        let s = pose.to_world(c) - nw * (AGENT_RADIUS + 2.0);
        let waypoints = self.route(agent, s, nw, &pose);
        Some(Choice { push, waypoints })
    }
}

impl Default for Expert {
    fn default() -> Self {
        Self::with_params(ExpertParams::default())
    }
}

impl Policy for Expert {
    fn reset(&mut self, seed: u64) {
        self.rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_e4e7);
        self.phase = Phase::Plan;
    }

    fn act(&mut self, history: &[Obs]) -> Result<Vec<Action>, PushTError> {
        let obs = *history
            .last()
            .ok_or_else(|| PushTError::Policy("empty observation history".into()))?;
        if let Some((i, v)) = obs.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(PushTError::NonFiniteState {
                index: i,
                value: *v,
            });
        }
        let agent = V2::new(obs[0], obs[1]);
        let speed = if history.len() >= 2 {
            let p = history[history.len() - 2];
            (agent - V2::new(p[0], p[1])).norm()
        } else {
            0.0
        };
        // at most plan → travel → push (or travel abandoned → plan → travel) before an action is returned
        for _ in 0..8 {
            match &mut self.phase {
                Phase::Plan => {
                    let choice = self
                        .plan(&obs)
                        .ok_or_else(|| PushTError::Policy("no push candidate".into()))?;
                    self.phase = Phase::Travel {
                        waypoints: choice.waypoints,
                        index: 0,
                        steps: 0,
                        push: choice.push,
                    };
                }
                Phase::Travel {
                    waypoints,
                    index,
                    steps,
                    push,
                } => {
                    let last = waypoints.len().saturating_sub(1);
                    while *index < last && (agent - waypoints[*index]).norm() < 10.0 {
                        *index += 1;
                    }
                    let Some(&wp) = waypoints.get(*index) else {
                        self.phase = Phase::Plan;
                        continue;
                    };
                    let settle = self.cfg.settle_tolerance;
                    if *index == last && (agent - wp).norm() < settle && speed < settle {
                        let actions = std::mem::take(push);
                        self.phase = Phase::Push { actions, index: 0 };
                        continue;
                    }
                    *steps += 1;
                    if *steps > self.cfg.max_travel_steps {
                        self.phase = Phase::Plan;
                        continue;
                    }
                    return Ok(vec![[wp.x, wp.y]]);
                }
                Phase::Push { actions, index } => {
                    if let Some(&a) = actions.get(*index) {
                        *index += 1;
                        return Ok(vec![a]);
                    }
                    self.phase = Phase::Plan;
                }
            }
        }
        Err(PushTError::Policy(
            "expert could not settle on an action".into(),
        ))
    }
}

/// Seeds for demonstrations: `first, first + 1, …` up to the end of the training set
/// ([`SeedSet::Training`](crate::protocol::SeedSet::Training): below 200000, the test seeds skipped), so no
/// demonstration comes from a validation, test or final seed.
pub fn training_seeds(first: u64) -> impl Iterator<Item = u64> {
    (first..crate::protocol::TRAINING_SEEDS.end).filter(|s| !crate::eval::TEST_SEEDS.contains(s))
}
