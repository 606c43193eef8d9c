"""Shared by the peer programs: the workload list, the timing loop and JSON output.

Every peer prints one JSON object per measured case and line, with the same `id`s as
`dlc bench --json` (mlp.b128, cnn.b64, gelu.fwd, gelu.bwd, adam, xent,
gemm.MxNxK.TT), so bench/compare can put them side by side.
"""
import argparse
import json
import statistics
import sys
import time

GEMM_SHAPES = [
    # W1's eight GEMMs at batch 128 (M, N, K, trans), then the big squares.
    (128, 512, 784, "NT"), (128, 512, 512, "NT"), (128, 10, 512, "NT"), (128, 512, 10, "NN"),
    (10, 512, 128, "TN"), (128, 512, 512, "NN"), (512, 512, 128, "TN"), (512, 784, 128, "TN"),
    (1024, 1024, 1024, "NN"), (2048, 2048, 2048, "NN"),
]
QUICK_GEMM_SHAPES = [(128, 512, 784, "NT"), (1024, 1024, 1024, "NN")]


def gemm_id(m, n, k, trans):
    return f"gemm.{m}x{n}x{k}.{trans}"


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="fewer reps and workloads")
    p.add_argument("--only", default="", help="comma-separated ids or workload names to run")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--config", default="", help="label of this configuration")
    p.add_argument("--reps", type=int, default=0)
    p.add_argument("--min-time", type=float, default=-1)
    return p.parse_args()


class Timer:
    """Warm-up runs, then timed runs until at least `reps` and `min_time` seconds."""

    def __init__(self, args):
        self.reps = args.reps or (3 if args.quick else 10)
        self.min_time = args.min_time if args.min_time >= 0 else (0.1 if args.quick else 0.5)
        self.max_time = 3.0 if args.quick else 10.0
        self.warmup = 1 if args.quick else 2

    def time(self, fn):
        for _ in range(self.warmup):
            fn()
        times = []
        start = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            fn()
            t1 = time.perf_counter()
            times.append((t1 - t0) * 1e3)
            spent = t1 - start
            if len(times) >= self.reps and spent >= self.min_time:
                break
            if spent >= self.max_time and len(times) >= min(self.reps, 2):
                break
        return {"median_ms": statistics.median(times), "min_ms": min(times), "reps": len(times)}


def selected(args, case_id, workload):
    if not args.only:
        return True
    wanted = [w.strip() for w in args.only.split(",") if w.strip()]
    return case_id in wanted or workload in wanted


def emit(system, config, case_id, workload, result, **extra):
    obj = {"system": system, "config": config, "id": case_id, "workload": workload}
    obj.update(result)
    obj.update(extra)
    print(json.dumps(obj), flush=True)


def run_cases(system, config, args, cases):
    """cases: list of (id, workload, make) where make() returns the callable to time,
    plus optional extra JSON fields as a dict (make returns (fn, extra))."""
    timer = Timer(args)
    for case_id, workload, make in cases:
        if not selected(args, case_id, workload):
            continue
        try:
            fn, extra = make()
            result = timer.time(fn)
            emit(system, config, case_id, workload, result, **extra)
        except Exception as e:  # a peer that cannot run one case reports it
            print(json.dumps({"system": system, "config": config, "id": case_id, "workload": workload,
                              "error": f"{type(e).__name__}: {e}"}), flush=True)
            print(f"{system}: {case_id} failed: {e}", file=sys.stderr)
