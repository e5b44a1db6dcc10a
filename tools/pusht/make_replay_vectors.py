"""Writes replay vectors for the Rust Push-T port from the reference environment.

Usage (in a throwaway virtual environment; the reference is not a dependency of the project):

    python3 -m venv /tmp/pusht-venv
    /tmp/pusht-venv/bin/pip install gym-pusht==0.1.8
    /tmp/pusht-venv/bin/python tools/pusht/make_replay_vectors.py crates/si-pusht/tests/data/pusht_replay.json

The file holds
  * "episodes": 14 episodes in which the T never touches a wall and 4 in which it does ("walls"), with start states [ax, ay, bx, by, theta] given to reset(options={"reset_to_state": ...}),
    contact-rich action sequences, and after reset and every step the observation
    [agent_x, agent_y, block_x, block_y, block_angle mod 2pi], the agent velocity, the coverage and the reward;
    and "solve_order": for every step, for each of its 10 physics sub-steps, the contact pairs in the order
    Chipmunk solves them (the order of space->arbiters, seen through the post-solve callback), numbered as
    the port numbers them: 0/1 the pusher against the bar/stem, 2 + 2w + k wall w against box k (bar 0, stem 1);
  * "coverage": block poses [x, y, theta] set directly on the block body with the reference's coverage
    (shapely polygon intersection), most of them near the goal.
"""

import json
import sys

import gymnasium as gym
import gym_pusht  # noqa: F401  (registers the environment)
import numpy as np
import pymunk

N_CLEAN = 14  # episodes in which the T never touches a wall
N_WALL = 4  # episodes in which it does
N_STEPS = 60
# the walls as gym-pusht adds them, (a, b) in pixels
WALLS = [((5.0, 506.0), (5.0, 5.0)), ((5.0, 5.0), (506.0, 5.0)), ((506.0, 5.0), (506.0, 506.0)), ((5.0, 506.0), (506.0, 506.0))]


def contact_rich_actions(env, rng, n_steps, style):
    """Actions chosen online from the reference state: aim through the block's centre of gravity from
    varying sides so that the pusher keeps touching, leaving and re-touching the T."""
    actions = []
    obs_list = []
    infos = []
    target_side = rng.uniform(-np.pi, np.pi)
    for t in range(n_steps):
        body = env.unwrapped.block
        cog = np.array(body.local_to_world((0.0, 45.0)))
        agent = np.array(env.unwrapped.agent.position)
        if style == "wander" and t % 15 == 14:
            target_side = rng.uniform(-np.pi, np.pi)
        if style == "wander" and t % 15 in (0, 1):
            # go round to a new side, away from the block
            a = cog + 110.0 * np.array([np.cos(target_side), np.sin(target_side)])
        else:
            d = cog - agent
            d /= np.linalg.norm(d) + 1e-9
            depth = rng.uniform(5.0, 30.0)
            a = agent + d * depth + rng.normal(0.0, 8.0, size=2)
        if style == "wall":
            # drive the block towards the nearest wall
            a = a + np.sign(cog - 256.0) * 15.0
        a = np.clip(a, 0.0, 512.0)
        obs, reward, terminated, truncated, info = env.step(a)
        actions.append([float(a[0]), float(a[1])])
        obs_list.append(obs)
        infos.append((info, reward))
    return actions, obs_list, infos


def main(out):
    env = gym.make("gym_pusht/PushT-v0", obs_type="state")
    rng = np.random.default_rng(20240601)
    episodes = []
    n_clean = n_wall = 0
    attempt = 0
    while n_clean < N_CLEAN or n_wall < N_WALL:
        style = ["push", "wander", "push", "wander", "push", "wander", "push", "wall"][attempt % 8]
        attempt += 1
        if style == "wall":
            block = [float(rng.integers(100, 130)), float(rng.integers(100, 400))]
        else:
            block = [float(rng.integers(170, 340)), float(rng.integers(170, 340))]
        start = [
            float(rng.integers(50, 450)),
            float(rng.integers(50, 450)),
            block[0],
            block[1],
            float(rng.uniform(-np.pi, np.pi)),
        ]
        obs0, _ = env.reset(options={"reset_to_state": start})
        vel0 = [float(v) for v in env.unwrapped.agent.velocity]
        touched = [False]
        u = env.unwrapped
        agent_shape = next(iter(u.agent.shapes))
        substep_orders = []

        def wall_contact(arbiter, space, data):
            a, b = arbiter.shapes
            k = u._block_shapes.index(b)
            if isinstance(a, pymunk.Segment):
                touched[0] = True
                w = WALLS.index((tuple(a.a), tuple(a.b)))
                substep_orders[-1].append(2 + 2 * w + k)
            else:
                assert a is agent_shape
                substep_orders[-1].append(k)

        u.collision_handeler.post_solve = wall_contact
        space_step = u.space.step

        def logged_step(dt):
            substep_orders.append([])
            space_step(dt)

        u.space.step = logged_step
        actions, obs_list, infos = contact_rich_actions(env, rng, N_STEPS, style)
        u.space.step = space_step
        n_sub = len(substep_orders) // len(actions)
        solve_order = [substep_orders[t * n_sub : (t + 1) * n_sub] for t in range(len(actions))]
        if touched[0]:
            if n_wall >= N_WALL:
                continue
            n_wall += 1
        else:
            if n_clean >= N_CLEAN:
                continue
            n_clean += 1
        episodes.append(
            {
                "style": style,
                "walls": touched[0],
                "start": start,
                "reset_obs": [float(v) for v in obs0],
                "reset_agent_vel": vel0,
                "actions": actions,
                "obs": [[float(v) for v in o] for o in obs_list],
                "agent_vel": [[float(v) for v in i["vel_agent"]] for i, _ in infos],
                "coverage": [float(i["coverage"]) for i, _ in infos],
                "reward": [float(r) for _, r in infos],
                "success": [bool(i["is_success"]) for i, _ in infos],
                "solve_order": solve_order,
            }
        )

    # coverage of poses set directly on the block body
    cov = []
    u = env.unwrapped
    for k in range(300):
        if k < 200:
            pose = [256.0 + rng.normal(0, 6.0), 256.0 + rng.normal(0, 6.0), np.pi / 4 + rng.normal(0, 0.08)]
        else:
            pose = [rng.uniform(150, 360), rng.uniform(150, 360), rng.uniform(0, 2 * np.pi)]
        u.block.angle = pose[2]
        u.block.position = (pose[0], pose[1])
        pos = u.block.position
        pose = [float(pos[0]), float(pos[1]), float(u.block.angle)]
        cov.append({"pose": pose, "coverage": float(u._get_coverage())})

    data = {
        "reference": "gym-pusht 0.1.8 (pymunk %s)" % pymunk.version,
        "episodes": episodes,
        "coverage": cov,
    }
    with open(out + ".tmp", "w") as f:
        json.dump(data, f, separators=(",", ":"))
    import os

    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "pusht_replay.json")
