"""The ODE anchor of `cargo xtask bench --only ode`: torchdiffeq's dopri5 (the solver of interflow and of
Meta's flow_matching) on the exact velocity field of two Gaussian mixtures, written in PyTorch (float64, one
thread), linear interpolant with gamma(t) = sqrt(t(1 - t)).

    python ode_reference.py SPEC.json X0.npy TOL REPS OUT.npy  ->  JSON on stdout

b(t, x) = sum_k w_k(x) [m_k' + 1/2 C_k' C_k^{-1} (x - m_k)] over the pairs k = (i, j) of components,
m_k = (1 - t) mu_i + t nu_j, C_k = (1 - t)^2 S_i + t^2 S'_j + t(1 - t) I, w_k the posterior weights.
"""

import json
import sys
import time

import numpy as np
import torch
import torchdiffeq
from torchdiffeq import odeint

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def main():
    spec = json.load(open(sys.argv[1]))
    x0 = torch.from_numpy(np.load(sys.argv[2])).to(torch.float64)
    tol = float(sys.argv[3])
    reps = int(sys.argv[4])
    r0, r1 = spec["rho0"], spec["rho1"]
    p = torch.tensor(r0["weights"])
    q = torch.tensor(r1["weights"])
    mu = torch.tensor(r0["means"])  # [I, d]
    nu = torch.tensor(r1["means"])  # [J, d]
    s0 = torch.tensor(r0["covs"])  # [I, d, d]
    s1 = torch.tensor(r1["covs"])  # [J, d, d]
    ni, nj, d = mu.shape[0], nu.shape[0], mu.shape[1]
    logw = (p.log()[:, None] + q.log()[None, :]).reshape(-1)
    eye = torch.eye(d)

    class Field(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.nfe = 0

        def forward(self, t, x):
            self.nfe += 1
            # torchdiffeq's starting-step heuristic may probe past t = 1, where C is not a covariance;
            # clamp as si-integrate clamps its stage times
            t = t.clamp(0.0, 1.0)
            a, b = 1.0 - t, t
            m = (a * mu[:, None, :] + b * nu[None, :, :]).reshape(-1, d)
            dm = (-mu[:, None, :] + nu[None, :, :]).reshape(-1, d)
            c = (a * a * s0[:, None] + b * b * s1[None, :]).reshape(-1, d, d) + t * (1 - t) * eye
            dc = (-2 * a * s0[:, None] + 2 * b * s1[None, :]).reshape(-1, d, d) + (1 - 2 * t) * eye
            chol = torch.linalg.cholesky(c)  # [K, d, d]
            r = x[:, None, :] - m[None, :, :]  # [n, K, d]
            u = torch.cholesky_solve(r.permute(1, 2, 0), chol)  # [K, d, n]
            quad = (r.permute(1, 2, 0) * u).sum(1)  # [K, n]
            logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # [K]
            logn = logw[:, None] - 0.5 * quad - 0.5 * logdet[:, None]
            w = torch.softmax(logn, dim=0)  # [K, n]
            g = dm[:, :, None] + 0.5 * torch.bmm(dc, u)  # [K, d, n]
            return (w[:, None, :] * g).sum(0).T  # [n, d]

    f = Field()
    span = torch.tensor([0.0, 1.0])
    best = float("inf")
    for _ in range(reps):
        f.nfe = 0
        start = time.perf_counter()
        with torch.no_grad():
            x1 = odeint(f, x0, span, method="dopri5", rtol=tol, atol=tol)[-1]
        best = min(best, time.perf_counter() - start)
    np.save(sys.argv[5], x1.numpy())
    print(
        json.dumps(
            {
                "ms": 1e3 * best,
                "nfe": f.nfe,
                "versions": {"torch": torch.__version__, "torchdiffeq": torchdiffeq.__version__},
            }
        )
    )


if __name__ == "__main__":
    main()
