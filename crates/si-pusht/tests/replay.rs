//! The port against the reference: replay vectors written by `tools/pusht/make_replay_vectors.py`.

use serde_json::Value;
use si_pusht::env::{DT, K_P, K_V, SUBSTEPS};
use si_pusht::geometry::{for_angle, COG};
use si_pusht::physics::World;
use si_pusht::{coverage, Pose, PushT, V2};

fn data() -> Value {
    let text = include_str!("data/pusht_replay.json");
    serde_json::from_str(text).expect("replay vectors parse")
}

fn arr(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn angle_diff(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(std::f64::consts::TAU);
    d.min(std::f64::consts::TAU - d)
}

/// Worst deviations over one episode up to each step: (pusher, block position, block angle, coverage).
fn replay(ep: &Value) -> Vec<[f64; 4]> {
    let start = arr(&ep["start"]);
    let mut env = PushT::new();
    let obs0 = env
        .reset_to([start[0], start[1], start[2], start[3], start[4]])
        .unwrap();
    let ref0 = arr(&ep["reset_obs"]);
    for k in 0..5 {
        assert!(
            (obs0[k] - ref0[k]).abs() < 1e-9,
            "reset obs {k}: {} vs {}",
            obs0[k],
            ref0[k]
        );
    }
    let mut worst = [0.0f64; 4];
    let mut out = Vec::new();
    let actions = ep["actions"].as_array().unwrap();
    for (t, a) in actions.iter().enumerate() {
        let a = arr(a);
        let s = env.step([a[0], a[1]]).unwrap();
        let r = arr(&ep["obs"][t]);
        let cov = ep["coverage"][t].as_f64().unwrap();
        worst[0] = worst[0].max((s.obs[0] - r[0]).abs().max((s.obs[1] - r[1]).abs()));
        worst[1] = worst[1].max((s.obs[2] - r[2]).hypot(s.obs[3] - r[3]));
        worst[2] = worst[2].max(angle_diff(s.obs[4], r[4]).to_degrees());
        worst[3] = worst[3].max((s.info.coverage - cov).abs());
        out.push(worst);
    }
    out
}

#[test]
fn pusher_follows_the_pd_reference_values() {
    let mut env = PushT::new();
    env.reset_to([200.0, 60.0, 300.0, 300.0, 0.0]).unwrap();
    let mut xs = Vec::new();
    for _ in 0..3 {
        xs.push(env.step([320.0, 60.0]).unwrap().obs[0]);
    }
    for (x, want) in xs.iter().zip([235.481, 273.909, 296.914]) {
        assert!((x - want).abs() < 5e-4, "{x} vs {want}");
    }
}

#[test]
fn coverage_matches_reference_polygon_intersection() {
    let d = data();
    let mut worst = 0.0f64;
    for c in d["coverage"].as_array().unwrap() {
        let p = arr(&c["pose"]);
        let want = c["coverage"].as_f64().unwrap();
        let got = coverage(&Pose {
            position: V2::new(p[0], p[1]),
            angle: p[2],
        });
        worst = worst.max((got - want).abs());
    }
    eprintln!("coverage of 300 poses: worst deviation {worst:.1e}");
    assert!(worst < 1e-9, "worst coverage deviation {worst:e}");
}

#[test]
fn coverage_at_reference_poses_matches() {
    let d = data();
    let mut worst = 0.0f64;
    for ep in d["episodes"].as_array().unwrap() {
        for (o, c) in ep["obs"]
            .as_array()
            .unwrap()
            .iter()
            .zip(ep["coverage"].as_array().unwrap())
        {
            let o = arr(o);
            let got = coverage(&Pose {
                position: V2::new(o[2], o[3]),
                angle: o[4],
            });
            worst = worst.max((got - c.as_f64().unwrap()).abs());
        }
    }
    assert!(worst < 1e-9, "worst coverage deviation {worst:e}");
}

#[test]
fn pusher_trajectory_matches_reference() {
    let d = data();
    for ep in d["episodes"].as_array().unwrap() {
        let w = replay(ep);
        let last = w.last().unwrap();
        assert!(last[0] < 1e-6, "pusher deviates by {} px", last[0]);
    }
}

/// Worst deviations at each checkpoint over the episodes selected by `walls`, printed as a table.
fn worst_table(walls: bool) -> Vec<(usize, [f64; 4])> {
    let d = data();
    let checkpoints = [10usize, 25, 40, 60];
    let mut table = vec![[0.0f64; 4]; checkpoints.len()];
    for ep in d["episodes"].as_array().unwrap() {
        if ep["walls"].as_bool().unwrap() != walls {
            continue;
        }
        let w = replay(ep);
        for (i, &c) in checkpoints.iter().enumerate() {
            let row = w[(c - 1).min(w.len() - 1)];
            for k in 0..4 {
                table[i][k] = table[i][k].max(row[k]);
            }
        }
    }
    for (i, &c) in checkpoints.iter().enumerate() {
        eprintln!(
            "walls={walls}: worst up to step {c:>2}: pusher {:.1e} px, block {:.2e} px, {:.2e} deg, coverage {:.1e}",
            table[i][0], table[i][1], table[i][2], table[i][3]
        );
    }
    checkpoints.iter().copied().zip(table).collect()
}

#[test]
fn block_poses_match_reference_over_contact_rich_episodes() {
    let t = worst_table(false);
    for (step, w) in t {
        assert!(
            w[1] < 1e-6 && w[2] < 1e-6,
            "after {step} steps: {:.3e} px, {:.3e} deg",
            w[1],
            w[2]
        );
        assert!(w[3] < 1e-9, "coverage after {step} steps: {:.3e}", w[3]);
    }
}

#[test]
fn block_poses_near_walls_match_reference() {
    // the T squeezed between the pusher and a wall, and into a corner between two walls: this agrees only
    // because the contacts are solved in the reference's order (see `solve_order_matches_reference`)
    let t = worst_table(true);
    for (step, w) in t {
        assert!(
            w[1] < 1e-6 && w[2] < 1e-6,
            "after {step} steps: {:.3e} px, {:.3e} deg",
            w[1],
            w[2]
        );
        assert!(w[3] < 1e-9, "coverage after {step} steps: {:.3e}", w[3]);
    }
}

/// Contact pairs in solver order at every physics sub-step, against the order in which the reference's
/// post-solve callback sees them (its `space->arbiters`).
#[test]
fn solve_order_matches_reference() {
    let d = data();
    let mut substeps = 0usize;
    let mut several = 0usize;
    for (e, ep) in d["episodes"].as_array().unwrap().iter().enumerate() {
        let s = arr(&ep["start"]);
        // the reset of `PushT::reset_to`: the T turned by θ about its centre of gravity, one sub-step
        let cog = V2::new(s[2], s[3]) + COG;
        let origin = cog - COG.rotate(for_angle(s[4]));
        let mut w = World::new(
            V2::new(s[0], s[1]),
            Pose {
                position: origin,
                angle: s[4],
            },
        );
        w.substep(DT);
        for (t, a) in ep["actions"].as_array().unwrap().iter().enumerate() {
            let a = arr(a);
            let target = V2::new(a[0], a[1]);
            for k in 0..SUBSTEPS {
                let acc = (target - w.agent_p) * K_P + (V2::default() - w.agent_v) * K_V;
                w.agent_v = w.agent_v + acc * DT;
                w.substep(DT);
                let want: Vec<u8> = ep["solve_order"][t][k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u8)
                    .collect();
                assert_eq!(
                    w.active_slots(),
                    &want[..],
                    "episode {e}, step {t}, sub-step {k}"
                );
                substeps += 1;
                several += usize::from(want.len() > 1);
            }
        }
    }
    eprintln!(
        "solve order identical at {substeps} sub-steps ({several} with several contact pairs)"
    );
    assert!(several > 1000);
}

#[test]
fn test_seeds_start_where_the_reference_starts() {
    for (seed, _, want) in si_pusht::test_starts::TEST_STARTS {
        let got = PushT::new().reset(seed);
        for k in 0..5 {
            assert!(
                (got[k] - want[k]).abs() < 1e-9,
                "seed {seed}, entry {k}: {} vs {}",
                got[k],
                want[k]
            );
        }
    }
}
