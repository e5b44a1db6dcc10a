//! Where episodes end: the block's pose against the goal at the last step, and how much the pusher was
//! standing still (idle) before it; the same idle measure over demonstration sets (pauses).
//!
//! **Idle step.** A step is idle when its commanded target moved less than [`IDLE_TOLERANCE`] (0.5 px) from
//! the previous step's target; the first step of an episode is compared with the pusher's position in the
//! episode's first observation (there is no previous target).

use std::fmt;

use crate::coverage::{coverage, reward};
use crate::demos::Demonstrations;
use crate::env::{block_pose, Action, Obs};
use crate::error::PushTError;
use crate::eval::Episode;
use crate::geometry::GOAL;

/// A step is idle when its target moved less than this (px) from the previous target.
pub const IDLE_TOLERANCE: f64 = 0.5;
/// The end window: the idle fraction of an episode is taken over its last this many steps.
pub const IDLE_WINDOW: usize = 50;
/// A failed episode ending within this distance (px) and [`NEAR_MISS_DEG`] of the goal is a near miss.
pub const NEAR_MISS_PX: f64 = 5.0;
/// See [`NEAR_MISS_PX`].
pub const NEAR_MISS_DEG: f64 = 5.0;
/// Demonstration steps whose observation has coverage above this are "near the goal" ([`Pauses`]).
pub const NEAR_GOAL_COVERAGE: f64 = 0.8;

/// Whether the target `cur` moved less than [`IDLE_TOLERANCE`] from `prev`.
pub fn is_idle(prev: [f64; 2], cur: Action) -> bool {
    (cur[0] - prev[0]).hypot(cur[1] - prev[1]) < IDLE_TOLERANCE
}

/// `|a − b|` on the circle, in degrees, in `[0, 180]`.
/// Whether step `t` of an episode whose first observation is `first` and whose commanded targets are
/// `actions` is idle: its target against the previous one, or against the pusher's starting position for
/// the first step (module documentation).
fn idle_at(first: &Obs, actions: &[Action], t: usize) -> bool {
    let prev = if t == 0 {
        [first[0], first[1]]
    } else {
        actions[t - 1]
    };
    is_idle(prev, actions[t])
}

fn angle_between_deg(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    d.min(std::f64::consts::TAU - d).to_degrees()
}

/// The end state of one episode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpisodeEnd {
    /// Coverage of the goal by the block in the last observation.
    pub coverage: f64,
    /// Distance (px) from the block's origin to the goal position `(256, 256)` in the last observation.
    pub distance_px: f64,
    /// Angle (degrees, in `[0, 180]`) between the block's angle and the goal angle `π/4` in the last observation.
    pub angle_deg: f64,
    /// Fraction of the last `min(IDLE_WINDOW, steps)` steps that are idle (see the module docs); 0 for an
    /// episode without steps.
    pub idle_fraction: f64,
}

impl EpisodeEnd {
    /// The end state of `e`; `None` when it has no observation.
    pub fn of(e: &Episode) -> Option<Self> {
        let last = e.observations.last()?;
        let b = block_pose(last);
        let n = e.actions.len();
        let from = n.saturating_sub(IDLE_WINDOW);
        let idle = (from..n)
            .filter(|&t| idle_at(&e.observations[0], &e.actions, t))
            .count();
        Some(Self {
            coverage: coverage(&b),
            distance_px: (b.position - GOAL.position).norm(),
            angle_deg: angle_between_deg(b.angle, GOAL.angle),
            idle_fraction: if n == from {
                0.0
            } else {
                idle as f64 / (n - from) as f64
            },
        })
    }
}

/// The first step after which the block scores at least `score` (reward = clip(coverage / 0.95, 0, 1)):
/// the index of the first observation that does (0: the reset itself); `None` when none does.
pub fn first_step_scoring(e: &Episode, score: f64) -> Option<usize> {
    e.observations
        .iter()
        .position(|o| reward(coverage(&block_pose(o))) >= score)
}

/// The mean of `xs` as f64; `None` for none.
fn mean_of(xs: impl IntoIterator<Item = usize>) -> Option<f64> {
    let (n, s) = xs
        .into_iter()
        .fold((0usize, 0usize), |(n, s), x| (n + 1, s + x));
    (n > 0).then(|| s as f64 / n as f64)
}

/// The mean end state of a group of episodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EndMeans {
    /// Episodes in the group.
    pub episodes: usize,
    /// The means of their [`EpisodeEnd`]s; `None` for an empty group.
    pub mean: Option<EpisodeEnd>,
}

impl EndMeans {
    /// Means of `ends`.
    pub fn of<'a>(ends: impl IntoIterator<Item = &'a EpisodeEnd>) -> Self {
        let mut n = 0usize;
        let mut s = [0.0f64; 4];
        for e in ends {
            n += 1;
            s[0] += e.coverage;
            s[1] += e.distance_px;
            s[2] += e.angle_deg;
            s[3] += e.idle_fraction;
        }
        let k = n as f64;
        Self {
            episodes: n,
            mean: (n > 0).then(|| EpisodeEnd {
                coverage: s[0] / k,
                distance_px: s[1] / k,
                angle_deg: s[2] / k,
                idle_fraction: s[3] / k,
            }),
        }
    }
}

/// End states over a set of episodes: all, the successful ones, the failed ones.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EndSummary {
    /// All episodes (those with an observation).
    pub all: EndMeans,
    /// The successful episodes.
    pub successes: EndMeans,
    /// The failed episodes.
    pub failures: EndMeans,
    /// Failed episodes that end within [`NEAR_MISS_PX`] and [`NEAR_MISS_DEG`] of the goal.
    pub near_misses: usize,
    /// Failed episodes whose score (best coverage / 0.95, capped at 1) reached 0.95 at some step.
    pub failures_scoring_095: usize,
    /// Mean steps of the successful episodes (to success); `None` without successes.
    pub success_steps: Option<f64>,
    /// Over the successful episodes: the mean first step at which the block scored 0.95
    /// ([`first_step_scoring`]); with [`EndSummary::success_steps`] it says how long the last approach takes.
    pub successes_first_095_step: Option<f64>,
    /// Over the failed episodes whose block scored 0.95 at some observation: the mean first such step
    /// ([`first_step_scoring`]), which tells a policy that runs out of time (late) from one that loses the
    /// block after getting it close (early); `None` without such failures.
    pub failures_first_095_step: Option<f64>,
}

impl EndSummary {
    /// Summarises `episodes` (an episode without observations is left out).
    pub fn of(episodes: &[Episode]) -> Self {
        let ends: Vec<(bool, EpisodeEnd)> = episodes
            .iter()
            .filter_map(|e| EpisodeEnd::of(e).map(|end| (e.success, end)))
            .collect();
        let near_misses = ends
            .iter()
            .filter(|(s, e)| !*s && e.distance_px < NEAR_MISS_PX && e.angle_deg < NEAR_MISS_DEG)
            .count();
        let failures_scoring_095 = episodes
            .iter()
            .filter(|e| !e.success && e.score >= 0.95)
            .count();
        let success_steps = mean_of(episodes.iter().filter(|e| e.success).map(|e| e.steps));
        let first_095 = |success: bool| {
            mean_of(
                episodes
                    .iter()
                    .filter(|e| e.success == success)
                    .filter_map(|e| first_step_scoring(e, 0.95)),
            )
        };
        let (successes_first_095_step, failures_first_095_step) =
            (first_095(true), first_095(false));
        Self {
            near_misses,
            failures_scoring_095,
            success_steps,
            successes_first_095_step,
            failures_first_095_step,
            all: EndMeans::of(ends.iter().map(|(_, e)| e)),
            successes: EndMeans::of(ends.iter().filter(|(s, _)| *s).map(|(_, e)| e)),
            failures: EndMeans::of(ends.iter().filter(|(s, _)| !*s).map(|(_, e)| e)),
        }
    }
}

impl fmt::Display for EndMeans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mean {
            Some(m) => write!(
                f,
                "{} (coverage {:.3}, {:.1} px, {:.1} deg, idle {:.2})",
                self.episodes, m.coverage, m.distance_px, m.angle_deg, m.idle_fraction
            ),
            None => write!(f, "0"),
        }
    }
}

impl fmt::Display for EndSummary {
    /// One line: the mean end state of the successes and of the failures (idle: of the last
    /// [`IDLE_WINDOW`] steps).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "end state (means at the last step; idle = fraction of the last {IDLE_WINDOW} steps whose target moved < {IDLE_TOLERANCE} px): successes {}, failures {}; \
             failures ending within {NEAR_MISS_PX} px and {NEAR_MISS_DEG} deg of the goal: {}, failures whose score reached 0.95: {}",
            self.successes, self.failures, self.near_misses, self.failures_scoring_095
        )?;
        let steps = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.0}"));
        write!(
            f,
            "; steps to success {} (first scoring 0.95 at step {}), failures first scoring 0.95 at step {}",
            steps(self.success_steps),
            steps(self.successes_first_095_step),
            steps(self.failures_first_095_step)
        )
    }
}

/// Idle steps (pauses) of a demonstration set, overall and near the goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pauses {
    /// Steps (rows).
    pub steps: usize,
    /// Idle steps among them.
    pub idle: usize,
    /// Steps whose observation has coverage above [`NEAR_GOAL_COVERAGE`].
    pub near_goal_steps: usize,
    /// Idle steps among those.
    pub near_goal_idle: usize,
}

impl Pauses {
    /// Counts the idle steps of `d` (after [`Demonstrations::validate`]); the first row of each episode is
    /// compared with the pusher's position in its observation.
    pub fn of(d: &Demonstrations) -> Result<Self, PushTError> {
        d.validate()?;
        let mut p = Self {
            steps: d.obs.len(),
            idle: 0,
            near_goal_steps: 0,
            near_goal_idle: 0,
        };
        let mut start = 0;
        for &end in &d.episode_ends {
            for i in start..end {
                let idle = idle_at(&d.obs[start], &d.actions[start..end], i - start);
                let near = coverage(&block_pose(&d.obs[i])) > NEAR_GOAL_COVERAGE;
                p.idle += usize::from(idle);
                p.near_goal_steps += usize::from(near);
                p.near_goal_idle += usize::from(idle && near);
            }
            start = end;
        }
        Ok(p)
    }

    /// Fraction of all steps that are idle; `None` without steps.
    pub fn idle_fraction(&self) -> Option<f64> {
        (self.steps > 0).then(|| self.idle as f64 / self.steps as f64)
    }

    /// Fraction of the near-goal steps that are idle; `None` without near-goal steps.
    pub fn near_goal_idle_fraction(&self) -> Option<f64> {
        (self.near_goal_steps > 0).then(|| self.near_goal_idle as f64 / self.near_goal_steps as f64)
    }
}

impl fmt::Display for Pauses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frac = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.3}"));
        write!(
            f,
            "pauses (target moved < {IDLE_TOLERANCE} px): {} of {} steps ({}), near the goal (coverage > {NEAR_GOAL_COVERAGE}) {} of {} ({})",
            self.idle,
            self.steps,
            frac(self.idle_fraction()),
            self.near_goal_idle,
            self.near_goal_steps,
            frac(self.near_goal_idle_fraction())
        )
    }
}

#[cfg(test)]
// The values below are worked by hand and exact in f64 (distances of 3-4-5 triangles, ratios of small counts).
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use std::time::Duration;

    const G: f64 = std::f64::consts::FRAC_PI_4;

    fn episode(success: bool, observations: Vec<Obs>, actions: Vec<Action>) -> Episode {
        Episode {
            seed: 0,
            score: 0.0,
            success,
            steps: actions.len(),
            observations,
            actions,
            latency: Duration::ZERO,
            displaced_at: None,
        }
    }

    #[test]
    fn short_episode_at_the_goal() {
        // 3 steps from the pusher at (10, 10): target (11, 10) moved 1 px (not idle), (11, 10) again
        // (idle), then (20, 10) (not idle) → 1 / 3.
        let o0 = [10.0, 10.0, 256.0, 256.0, G];
        let last = [20.0, 10.0, 256.0, 256.0, G];
        let e = episode(
            true,
            vec![o0, o0, o0, last],
            vec![[11.0, 10.0], [11.0, 10.0], [20.0, 10.0]],
        );
        let end = EpisodeEnd::of(&e).unwrap();
        assert!((end.coverage - 1.0).abs() < 1e-12, "{}", end.coverage);
        assert_eq!(end.distance_px, 0.0);
        assert_eq!(end.angle_deg, 0.0);
        assert_eq!(end.idle_fraction, 1.0 / 3.0);
    }

    #[test]
    fn far_block_and_angle_wrap() {
        // block 30-40-50 px from the goal, angle π/4 + 190° → 170° from the goal angle
        let angle = (G + 190f64.to_radians()).rem_euclid(std::f64::consts::TAU);
        let last = [0.0, 0.0, 286.0, 296.0, angle];
        let e = episode(false, vec![[0.0; 5], last], vec![[0.0, 0.0]]);
        let end = EpisodeEnd::of(&e).unwrap();
        assert_eq!(end.distance_px, 50.0);
        assert!((end.angle_deg - 170.0).abs() < 1e-9, "{}", end.angle_deg);
        assert_eq!(end.idle_fraction, 1.0);
        // 10° on the other side, and exactly opposite
        assert!((angle_between_deg(G - 10f64.to_radians(), G) - 10.0).abs() < 1e-9);
        assert_eq!(angle_between_deg(std::f64::consts::PI, 0.0), 180.0);
        // far away: no coverage
        let far = episode(false, vec![[0.0, 0.0, 50.0, 50.0, G]], vec![]);
        let end = EpisodeEnd::of(&far).unwrap();
        assert_eq!(end.coverage, 0.0);
        assert_eq!(end.idle_fraction, 0.0); // no steps
        assert_eq!(EpisodeEnd::of(&episode(false, vec![], vec![])), None);
    }

    #[test]
    fn only_the_last_fifty_steps_count() {
        // 60 steps: the first 20 move by 1 px each (not idle), the last 40 stay (idle) → 40 / 50
        let mut actions = Vec::new();
        for t in 0..60 {
            let x = (t.min(19) + 1) as f64;
            actions.push([x, 0.0]);
        }
        let obs = vec![[0.0, 0.0, 50.0, 50.0, 0.0]; 61];
        let end = EpisodeEnd::of(&episode(false, obs, actions)).unwrap();
        assert_eq!(end.idle_fraction, 0.8);
    }

    #[test]
    fn summary_splits_successes_and_failures() {
        let at_goal = [0.0, 0.0, 256.0, 256.0, G];
        let s = episode(true, vec![at_goal, at_goal], vec![[0.0, 0.0]]); // idle 1
        let f1 = episode(
            false,
            vec![[0.0; 5], [0.0, 0.0, 286.0, 296.0, G]],
            vec![[5.0, 0.0]],
        ); // 50 px, idle 0
        let f2 = episode(
            false,
            vec![[0.0; 5], [0.0, 0.0, 256.0, 266.0, G]],
            vec![[0.0, 0.0]],
        ); // 10 px, idle 1
        let sum = EndSummary::of(&[s, f1, f2, episode(false, vec![], vec![])]);
        assert_eq!(sum.all.episodes, 3);
        assert_eq!(sum.successes.episodes, 1);
        assert_eq!(sum.failures.episodes, 2);
        let fm = sum.failures.mean.unwrap();
        assert_eq!(fm.distance_px, 30.0);
        assert_eq!(fm.angle_deg, 0.0);
        assert_eq!(fm.idle_fraction, 0.5);
        assert_eq!(sum.all.mean.unwrap().distance_px, 20.0);
        let none = EndSummary::of(&[]);
        assert_eq!((none.all.episodes, none.all.mean), (0, None));
        assert!(sum
            .to_string()
            .contains("successes 1 (coverage 1.000, 0.0 px, 0.0 deg, idle 1.00), failures 2 ("));
        // f2 ends 10 px from the goal: not a near miss; nor does any failure score 0.95
        assert_eq!((sum.near_misses, sum.failures_scoring_095), (0, 0));
        // a failure √13 px from the goal, 4.9° off, with score 0.96: both counts; 5 px exactly: neither
        let mut close = episode(
            false,
            vec![[0.0; 5], [0.0, 0.0, 258.0, 259.0, G + 4.9f64.to_radians()]],
            vec![[0.0, 0.0]],
        );
        close.score = 0.96;
        let mut edge = close.clone();
        edge.observations[1] = [0.0, 0.0, 256.0, 261.0, G];
        edge.score = 0.949;
        let sum = EndSummary::of(&[close.clone(), edge]);
        assert_eq!((sum.near_misses, sum.failures_scoring_095), (1, 1));
        close.success = true;
        let sum = EndSummary::of(&[close]);
        assert_eq!((sum.near_misses, sum.failures_scoring_095), (0, 0));
    }

    #[test]
    fn when_the_block_first_scores_and_how_long_successes_take() {
        let at_goal = [0.0, 0.0, 256.0, 256.0, G];
        let away = [0.0, 0.0, 50.0, 50.0, G];
        // a failure at the goal after two steps, then pushed away: first scoring at observation 2
        let lost = episode(false, vec![away, away, at_goal, away], vec![[0.0; 2]; 3]);
        assert_eq!(first_step_scoring(&lost, 0.95), Some(2));
        assert_eq!(first_step_scoring(&lost, 0.0), Some(0));
        // a failure that never got there; a failure at the goal from the reset on
        let never = episode(false, vec![away; 5], vec![[0.0; 2]; 4]);
        assert_eq!(first_step_scoring(&never, 0.95), None);
        let from_start = episode(false, vec![at_goal, away], vec![[0.0; 2]]);
        // successes of 1 and 5 steps
        let s1 = episode(true, vec![away, at_goal], vec![[0.0; 2]]);
        let s5 = episode(true, vec![away; 6], vec![[0.0; 2]; 5]);
        let sum = EndSummary::of(&[lost, never, from_start, s1, s5]);
        // s1 scores at observation 1; s5 never does (a success is counted by the environment, not here)
        assert_eq!(sum.success_steps, Some(3.0));
        assert_eq!(sum.successes_first_095_step, Some(1.0));
        assert_eq!(sum.failures_first_095_step, Some(1.0));
        assert!(sum.to_string().ends_with(
            "; steps to success 3 (first scoring 0.95 at step 1), failures first scoring 0.95 at step 1"
        ));
        let none = EndSummary::of(&[]);
        assert_eq!(
            (
                none.success_steps,
                none.successes_first_095_step,
                none.failures_first_095_step
            ),
            (None, None, None)
        );
        assert!(none.to_string().ends_with(
            "steps to success - (first scoring 0.95 at step -), failures first scoring 0.95 at step -"
        ));
    }

    #[test]
    fn pauses_of_a_hand_made_set() {
        let at_goal = [0.0, 0.0, 256.0, 256.0, G];
        let away = [0.0, 0.0, 50.0, 50.0, G];
        // episode 1 (rows 0..3): pusher at (0, 0); targets (0, 0.2) idle, (3, 0) moved, (3, 0.1) idle;
        // rows 1 and 2 near the goal
        // episode 2 (rows 3..5): pusher at (0, 0); first target (0, 0) idle (compared with the pusher, not with
        // the previous episode's last target), then (0, 0) idle; row 4 near the goal
        let d = Demonstrations {
            obs: vec![away, at_goal, at_goal, away, at_goal],
            actions: vec![[0.0, 0.2], [3.0, 0.0], [3.0, 0.1], [0.0, 0.0], [0.0, 0.0]],
            episode_ends: vec![3, 5],
            seeds: vec![1, 2],
        };
        let p = Pauses::of(&d).unwrap();
        assert_eq!(
            p,
            Pauses {
                steps: 5,
                idle: 4,
                near_goal_steps: 3,
                near_goal_idle: 2
            }
        );
        assert_eq!(p.idle_fraction(), Some(0.8));
        assert_eq!(p.near_goal_idle_fraction(), Some(2.0 / 3.0));
        let empty = Pauses::of(&Demonstrations::default()).unwrap();
        assert_eq!(
            (empty.idle_fraction(), empty.near_goal_idle_fraction()),
            (None, None)
        );
        let bad = Demonstrations {
            episode_ends: vec![4],
            seeds: vec![1],
            ..d
        };
        assert!(Pauses::of(&bad).is_err());
    }
}
