#!/usr/bin/env python3
"""PyTorch eager on the workloads of ../shared/BENCHMARKS.md, exactly as defined there.

Run by bench/compare under Debian's python3 (python3-torch, 1.13). The configuration
(ATEN_CPU_CAPABILITY, glibc malloc settings, OMP_WAIT_POLICY) comes from the
environment the caller sets; --config names it in the output. Prints one JSON object
per case and line (see common.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

N_ELEMS = 1 << 24


def gelu_as_written(x):
    return 0.5 * x * (1.0 + torch.tanh(0.7978845608 * (x + 0.044715 * (x * x * x))))


def mlp_step(batch):
    def make():
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
        x = torch.rand(batch, 784)
        y = torch.randint(0, 10, (batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return step, {}
    return make


def cnn_step(batch):
    def make():
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        x = torch.rand(batch, 1, 28, 28)
        y = torch.randint(0, 10, (batch,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return step, {}
    return make


def gelu_case(bwd, lib):
    def make():
        x = torch.rand(N_ELEMS) * 6 - 3
        f = (lambda t: F.gelu(t, approximate="tanh")) if lib else gelu_as_written
        if not bwd:
            return (lambda: f(x)), {}
        xg = x.clone().requires_grad_(True)
        return (lambda: torch.autograd.grad(f(xg).sum(), xg)), {}
    return make


def adam_case():
    def make():
        p = nn.Parameter(torch.rand(N_ELEMS) * 2 - 1)
        p.grad = torch.rand(N_ELEMS) * 2 - 1
        opt = torch.optim.Adam([p], lr=1e-3)
        opt.step()  # creates the state (m, v) so every timed step is the update alone
        return opt.step, {}
    return make


def xent_case():
    def make():
        logits = (torch.rand(4096, 1000) * 8 - 4).requires_grad_(True)
        labels = torch.randint(0, 1000, (4096,))

        def run():
            loss = F.cross_entropy(logits, labels)
            return loss, torch.autograd.grad(loss, logits)
        return run, {}
    return make


def gemm_case(m, n, k, trans):
    def make():
        a = torch.rand(k, m) if trans[0] == "T" else torch.rand(m, k)
        b = torch.rand(n, k) if trans[1] == "T" else torch.rand(k, n)
        opa = (lambda: a.t()) if trans[0] == "T" else (lambda: a)
        opb = (lambda: b.t()) if trans[1] == "T" else (lambda: b)
        return (lambda: torch.mm(opa(), opb())), {"flops": 2 * m * n * k}
    return make


def main():
    args = common.parse_args(__doc__)
    torch.set_num_threads(args.threads)
    config = args.config or "default"
    cases = [("mlp.b128", "mlp", mlp_step(128))]
    if not args.quick:
        cases.append(("mlp.b1024", "mlp", mlp_step(1024)))
    cases += [
        ("cnn.b64", "cnn", cnn_step(64)),
        ("gelu.fwd", "gelu", gelu_case(False, False)),
        ("gelu.bwd", "gelu", gelu_case(True, False)),
        ("gelu.fwd.lib", "gelu", gelu_case(False, True)),
        ("gelu.bwd.lib", "gelu", gelu_case(True, True)),
        ("adam", "adam", adam_case()),
        ("xent", "xent", xent_case()),
    ]
    for m, n, k, t in (common.QUICK_GEMM_SHAPES if args.quick else common.GEMM_SHAPES):
        cases.append((common.gemm_id(m, n, k, t), "gemm", gemm_case(m, n, k, t)))
    extra = {"version": torch.__version__, "capability": torch.backends.cpu.get_cpu_capability()
             if hasattr(torch.backends, "cpu") and hasattr(torch.backends.cpu, "get_cpu_capability") else ""}
    print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads, config {config}", file=sys.stderr)
    common.run_cases("pytorch", config, args, cases)
    common.emit("pytorch", config, "_info", "_info", extra)


if __name__ == "__main__":
    main()
