"""Python anchors of `cargo xtask bench` for minibatch OT, run on the points the xtask wrote.

For each n (with the number of timed repeats the xtask gives, the same for every solver and for ours):
POT 0.9.7's exact solver (ot.emd, network simplex) alone, with an iteration limit large enough to reach
the optimum and its result code checked (a plan that stopped at the limit is reported as not converged);
torchcfm 1.0.7's exact OT sampler
(OTPlanSampler: squared-distance cost, ot.emd, then pairs drawn from the plan with replacement; its
get_map/sample_map re-stated below with numpy, since torchcfm pins its own torch); scipy's
linear_sum_assignment (C++ shortest augmenting paths) up to n = 1024; and POT's default Sinkhorn
(reg 0.05, float32 cost, as torchcfm's "sinkhorn" method calls it). Prints one JSON object.
"""
import json
import sys
import time
import warnings

import numpy as np
import ot
import scipy
from scipy.optimize import linear_sum_assignment


def best_ms(f, reps):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return 1e3 * best


def sqdist(x0, x1):
    return ((x0[:, None, :] - x1[None, :, :]) ** 2).sum(-1)


def torchcfm_exact(x0, x1, rng):
    # torchcfm.optimal_transport.OTPlanSampler(method="exact").sample_plan(x0, x1, replace=True), with
    # ot.emd called as torchcfm calls it (POT's default iteration limit)
    a, b = ot.unif(x0.shape[0]), ot.unif(x1.shape[0])
    m = sqdist(x0, x1)
    pi = ot.emd(a, b, m)
    p = pi.flatten()
    p = p / p.sum()
    choices = rng.choice(pi.shape[0] * pi.shape[1], p=p, size=x0.shape[0], replace=True)
    i, j = np.divmod(choices, pi.shape[1])
    return x0[i], x1[j], i, j


# ot.emd's iteration limit: far above what the network simplex needs up to n = 4096 (POT's default, 100000,
# stops it early there)
EMD_MAX_ITER = 1_000_000_000


def main():
    folder = sys.argv[1]
    # "n:reps,n:reps,..."
    sizes = [tuple(int(v) for v in s.split(":")) for s in sys.argv[2].split(",")]
    rng = np.random.default_rng(0)
    out = {"versions": {"pot": ot.__version__, "numpy": np.__version__, "scipy": scipy.__version__}}
    for n, reps in sizes:
        x0 = np.load(f"{folder}/x0_{n}.npy")
        x1 = np.load(f"{folder}/x1_{n}.npy")
        m = sqdist(x0, x1)
        a = ot.unif(n)
        row = {}
        row["emd_ms"] = best_ms(lambda: ot.emd(a, a, m, numItermax=EMD_MAX_ITER), reps)
        row["torchcfm_ms"] = best_ms(lambda: torchcfm_exact(x0, x1, rng), reps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pi, log = ot.emd(a, a, m, numItermax=EMD_MAX_ITER, log=True)
        # POT's result codes: 1 optimal, 0 infeasible, 2 unbounded, 3 iteration limit reached
        row["emd_converged"] = int(log["result_code"]) == 1
        row["emd_warning"] = log["warning"]
        row["cost"] = float((pi * m).sum() * n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, log = ot.emd(a, a, m, log=True)
        row["torchcfm_emd_converged"] = int(log["result_code"]) == 1
        _, _, i, j = torchcfm_exact(x0, x1, rng)
        row["torchcfm_distinct_pairs"] = len(set(zip(i.tolist(), j.tolist()))) / n
        if n <= 1024:
            row["scipy_ms"] = best_ms(lambda: linear_sum_assignment(m), reps)
        if n <= 256:
            m32 = m.astype(np.float32)
            a32 = a.astype(np.float32)
            with np.errstate(all="ignore"):
                p = ot.sinkhorn(a32, a32, m32, reg=0.05)
            p = np.asarray(p, dtype=np.float64)
            finite = bool(np.all(np.isfinite(p)))
            row["sinkhorn_finite"] = finite
            row["sinkhorn_row_error"] = float(np.abs(p.sum(1) - a).sum()) if finite else None
            row["sinkhorn_total_mass"] = float(p.sum()) if finite else None
        out[str(n)] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
