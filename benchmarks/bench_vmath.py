"""Benchmark: compiled vmath loops vs numpy on 1e7 float32 values (not a test).

    python benchmarks/bench_vmath.py [n]

Prints the median of several runs for each function.
"""

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from llvmlite import ir  # noqa: E402

from trax.compiler.runtime import engine  # noqa: E402
from trax.compiler.lower import scalar  # noqa: E402
from benchmarks.vmath_kernels import map_kernel  # noqa: E402


def median_time(f, reps=7):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def main():
    n = int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000
    rng = np.random.default_rng(0)
    inputs = {
        "exp": rng.uniform(-80, 80, n).astype(np.float32),
        "tanh": rng.uniform(-5, 5, n).astype(np.float32),
        "sin": rng.uniform(-100, 100, n).astype(np.float32),
        "log": rng.uniform(1e-3, 1e3, n).astype(np.float32),
    }
    np_fn = {"exp": np.exp, "tanh": np.tanh, "sin": np.sin, "log": np.log}
    print(f"cpu: {engine.host_info()['cpu']}  n={n} float32  (median of 7 runs)")
    print(f"{'func':6s} {'trax ms':>9s} {'numpy ms':>9s} {'numpy out= ms':>14s} {'speedup':>8s}")
    for name, x in inputs.items():
        lanes = scalar.branchy_lanes(name, ir.FloatType())      # as jit compiles it
        k = map_kernel(name, np.float32, lanes, inline=lanes is not None)[0]
        out = np.empty_like(x)
        o2 = np.empty_like(x)
        t_ours = median_time(lambda: k(out.ctypes.data, x.ctypes.data, n))
        t_np = median_time(lambda: np_fn[name](x))
        t_np_out = median_time(lambda: np_fn[name](x, out=o2))
        rel = np.max(np.abs(out - o2) / np.maximum(np.abs(o2), 1e-30))
        print(f"{name:6s} {t_ours * 1e3:9.2f} {t_np * 1e3:9.2f} {t_np_out * 1e3:14.2f} "
              f"{t_np / t_ours:7.2f}x   (max rel diff {rel:.1e})")


if __name__ == "__main__":
    main()
