"""A plain PyTorch loop of the reference model, timed beside si-nn by `cargo xtask bench`.

One-sided linear interpolant, N(0, I) base, checkerboard target; b and s as two separate 4x256 ReLU MLPs on
(x, t); Adam 2e-3; batch 2000; the s loss with antithetic pairs. Prints one JSON line.
"""
import json, math, sys, time
import torch

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
torch.manual_seed(0)

def mlp():
    layers, d = [], 3
    for _ in range(4):
        layers += [torch.nn.Linear(d, 256), torch.nn.ReLU()]
        d = 256
    layers.append(torch.nn.Linear(256, 2))
    return torch.nn.Sequential(*layers)

def checker(n):
    u1 = torch.rand(n) * 4 - 2
    u2 = torch.rand(n) - 2 * torch.randint(0, 2, (n,)).float() + torch.floor(u1) % 2
    return 2 * torch.stack([u1, u2], 1)

b, s = mlp(), mlp()
opt = torch.optim.Adam(list(b.parameters()) + list(s.parameters()), lr=2e-3)
n = 2000

def step():
    x1, x0 = checker(n), torch.randn(n, 2)
    t = torch.rand(n, 1) * (1 - 2e-4) + 1e-4
    xt = (1 - t) * x0 + t * x1
    bt = b(torch.cat([xt, t], 1))
    lb = (0.5 * (bt ** 2).sum(1) - ((x1 - x0) * bt).sum(1)).mean()
    xm = -(1 - t) * x0 + t * x1
    sp, sm = s(torch.cat([xt, t], 1)), s(torch.cat([xm, t], 1))
    ls = (0.25 * ((sp ** 2).sum(1) + (sm ** 2).sum(1)) + (x0 * (sp - sm)).sum(1) / (2 * (1 - t[:, 0]))).mean()
    opt.zero_grad()
    (lb + ls).backward()
    opt.step()

for _ in range(5):
    step()
t0 = time.perf_counter()
for _ in range(steps):
    step()
train_ms = 1e3 * (time.perf_counter() - t0) / steps

with torch.no_grad():
    x = torch.randn(5000, 2)
    eps, k = 0.5, 100
    dt = 1.0 / k
    t0 = time.perf_counter()
    for i in range(k):
        tt = torch.full((5000, 1), i * dt)
        inp = torch.cat([x, tt], 1)
        x = x + dt * (b(inp) + eps * s(inp)) + math.sqrt(2 * eps * dt) * torch.randn_like(x)
    sde_s = time.perf_counter() - t0
print(json.dumps({"train_ms": train_ms, "sde_s": sde_s, "threads": torch.get_num_threads(), "version": torch.__version__}))
