"""Prints, for one replay episode, the reference's broad-phase state after every physics sub-step: the tree of
non-static shapes (pusher, bar, stem) with each leaf's fattened box, time stamp and cached pairs (newest
first), and the order in which the contacts were solved. Used to check `crates/si-pusht/src/broadphase.rs`.

Usage (same throwaway environment as make_replay_vectors.py):

    /tmp/pusht-venv/bin/python tools/pusht/log_broadphase.py crates/si-pusht/tests/data/pusht_replay.json 1 > ref.txt

Chipmunk's trees are not exposed by pymunk; they are read out of memory with cffi, assuming Chipmunk 7.0.3's
layouts (pymunk 6.11): cpSpatialIndex {klass, bbfunc, staticIndex, dynamicIndex}, then cpBBTree
{..., velocityFunc, leaves, root, pooledNodes, pooledPairs, allocatedBuffers, stamp}; Node {obj, bb (l, b, r, t),
parent, a|stamp, b|pairs}; Pair {Thread a, Thread b}, Thread {prev, leaf, next}. The dynamic tree is found in
cpSpace as the index whose static index points back to it.
"""

import json
import sys

import gymnasium as gym
import gym_pusht  # noqa: F401  (registers the environment)
import numpy as np
import pymunk
from pymunk._chipmunk_cffi import ffi


def word(p, i):
    return ffi.cast("uint64_t *", p)[i]


def real(p, i):
    return ffi.cast("double *", p)[i]


def addr(cdata):
    return int(ffi.cast("uintptr_t", cdata))


def dynamic_tree(space):
    sp = addr(space._space)
    for i in range(64):
        x = word(sp, i)
        if 4096 < x < (1 << 48):
            st = word(x, 2)
            if 4096 < st < (1 << 48) and word(st, 3) == x:
                return x
    raise RuntimeError("dynamic tree not found")


def canon(n, names):
    obj = word(n, 0)
    if not obj:
        return "(%s|%s)" % (canon(word(n, 6), names), canon(word(n, 7), names))
    pairs, p = [], word(n, 7)
    while p:
        a_leaf, b_leaf = word(p, 1), word(p, 4)
        pairs.append("%s>%s" % (names[word(a_leaf, 0)], names[word(b_leaf, 0)]))
        p = word(p, 2) if a_leaf == n else word(p, 5)
    bb = ",".join("%.4f" % real(n, k) for k in range(1, 5))
    return "%s#%d%s[%s]" % (names[obj], word(n, 6), bb, ";".join(pairs))


def main(path, episode):
    ep = json.load(open(path))["episodes"][episode]
    env = gym.make("gym_pusht/PushT-v0", obs_type="state")
    u = env.unwrapped
    env.reset(options={"reset_to_state": ep["start"]})
    names = {addr(next(iter(u.agent.shapes))._shape): "agent"}
    names[addr(u._block_shapes[0]._shape)] = "bar"
    names[addr(u._block_shapes[1]._shape)] = "stem"
    for s in u.space.shapes:
        if isinstance(s, pymunk.Segment):
            names[addr(s._shape)] = "wall(%g,%g)-(%g,%g)" % (*s.a, *s.b)
    tree = dynamic_tree(u.space)
    order = []

    def post_solve(arbiter, space, data):
        order.append("%s>%s" % tuple(names[addr(s._shape)] for s in arbiter.shapes))

    u.collision_handeler.post_solve = post_solve
    space_step = u.space.step
    k = [0]

    def logged_step(dt):
        order.clear()
        space_step(dt)
        print(k[0], " ".join(order) or "-", canon(word(tree, 6), names))
        k[0] += 1

    u.space.step = logged_step
    for a in ep["actions"]:
        env.step(np.array(a))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
