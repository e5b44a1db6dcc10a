"""A plain PyTorch loop of the reference model, timed beside si-nn by `cargo xtask bench`.

One-sided linear interpolant, N(0, I) base, checkerboard target; b and s as two separate 4x256 ReLU MLPs on
(x, t); Adam 2e-3; 1000 antithetic pairs (2000 rows) per step with the losses of si-nn. Runs on the GPU when
there is one (as si-nn does), on the CPU otherwise; the same step under torch.compile is timed as well (the
anchor of the GPU goal), `compiled_ms` null when compilation is not available. Prints one JSON line.
"""
import json, math, sys, time
import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
torch.manual_seed(0)
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()

def mlp():
    layers, d = [], 3
    for _ in range(4):
        layers += [torch.nn.Linear(d, 256), torch.nn.ReLU()]
        d = 256
    layers.append(torch.nn.Linear(256, 2))
    return torch.nn.Sequential(*layers)

def checker(n):
    u1 = torch.rand(n, device=dev) * 4 - 2
    u2 = torch.rand(n, device=dev) - 2 * torch.randint(0, 2, (n,), device=dev).float() + torch.floor(u1) % 2
    return 2 * torch.stack([u1, u2], 1)

b, s = mlp().to(dev), mlp().to(dev)
opt = torch.optim.Adam(list(b.parameters()) + list(s.parameters()), lr=2e-3)
n = 1000  # antithetic pairs: 2000 rows per forward pass, as in si-nn


def step():
    x1, x0 = checker(n), torch.randn(n, 2, device=dev)
    t = torch.rand(n, 1, device=dev) * (1 - 2e-4) + 1e-4
    xp, xm = (1 - t) * x0 + t * x1, -(1 - t) * x0 + t * x1
    inp = torch.cat([torch.cat([xp, xm], 0), torch.cat([t, t], 0)], 1)
    bo, so = b(inp), s(inp)
    bp, bm, sp, sm = bo[:n], bo[n:], so[:n], so[n:]
    quad = lambda p, m: 0.25 * ((p ** 2).sum(1) + (m ** 2).sum(1))
    # One-sided linear: m = t x1, sigma = 1 - t, zeta = x0 (si-nn's loss.rs).
    lb = (quad(bp, bm) - 0.5 * ((x1 * (bp + bm)).sum(1) - (x0 * (bp - bm)).sum(1))).mean()
    ls = (quad(sp, sm) + (x0 * (sp - sm)).sum(1) / (2 * (1 - t[:, 0]))).mean()
    opt.zero_grad()
    (lb + ls).backward()
    opt.step()


def time_steps(f):
    for _ in range(5):
        f()
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        f()
    sync()
    return 1e3 * (time.perf_counter() - t0) / steps


train_ms = time_steps(step)
try:
    compiled_ms = time_steps(torch.compile(step))
except Exception as e:  # no compiler toolchain, unsupported platform: report, do not fail the bench
    print(f"torch.compile unavailable: {e}", file=sys.stderr)
    compiled_ms = None

with torch.no_grad():
    x = torch.randn(5000, 2, device=dev)
    eps, k = 0.5, 100
    dt = 1.0 / k
    t0 = time.perf_counter()
    for i in range(k):
        tt = torch.full((5000, 1), i * dt, device=dev)
        inp = torch.cat([x, tt], 1)
        x = x + dt * (b(inp) + eps * s(inp)) + math.sqrt(2 * eps * dt) * torch.randn_like(x)
    sync()
    sde_s = time.perf_counter() - t0
print(json.dumps({"train_ms": train_ms, "compiled_ms": compiled_ms, "sde_s": sde_s, "device": dev.type,
                  "threads": torch.get_num_threads(), "version": torch.__version__}))
