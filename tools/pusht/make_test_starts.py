"""Writes the start states that the reference draws for the published test seeds 100000..100049.

gym-pusht 0.1.8 draws them with gymnasium's seeded numpy generator (PCG64 through a SeedSequence); the Rust
port keeps its own ChaCha8 generator for other seeds but uses these states for the test seeds, so that its
evaluation starts from exactly the reference's 50 test episodes. Usage:

    /tmp/pusht-venv/bin/python tools/pusht/make_test_starts.py > crates/si-pusht/src/test_starts.rs
"""

import gymnasium as gym
import gym_pusht  # noqa: F401
import numpy as np
from gymnasium.utils import seeding

SEEDS = range(100000, 100050)


def drawn_state(seed):
    rng, _ = seeding.np_random(seed)
    return [
        float(rng.integers(50, 450)),
        float(rng.integers(50, 450)),
        float(rng.integers(100, 400)),
        float(rng.integers(100, 400)),
        float(rng.uniform(-np.pi, np.pi)),
    ]


def main():
    env = gym.make("gym_pusht/PushT-v0", obs_type="state")
    rows = []
    for seed in SEEDS:
        state = drawn_state(seed)
        obs, _ = env.reset(seed=seed)
        obs2, _ = env.reset(options={"reset_to_state": state})
        assert np.array_equal(obs, obs2), (seed, obs, obs2)
        rows.append((seed, state, [float(v) for v in obs]))
    print("//! Start states of the published test seeds as the reference draws them (gym-pusht 0.1.8, numpy PCG64")
    print("//! seeded through gymnasium), written by `tools/pusht/make_test_starts.py`.")
    print()
    print("/// `(seed, [agent_x, agent_y, block_x, block_y, block_angle], observation after reset)`.")
    print("#[rustfmt::skip]")
    print("pub const TEST_STARTS: [(u64, [f64; 5], [f64; 5]); %d] = [" % len(rows))
    for seed, s, o in rows:
        print("    (%d, [%s], [%s])," % (seed, ", ".join(repr(v) for v in s), ", ".join(repr(v) for v in o)))
    print("];")


if __name__ == "__main__":
    main()
