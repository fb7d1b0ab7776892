"""Benchmark: the compiler on a fused elementwise + reduction workload.

    python benchmarks/bench_compiler.py [--quick]

``sum(tanh(x) * exp(-x*x) + sin(x) * 0.5)`` over float32 vectors: compiled
(trax.compiler.compile_jaxpr) vs eager (trax.core.eval_jaxpr) vs pure NumPy.
Prints medians from this run, the ratios, compile time and the per-call
overhead of a tiny compiled function.
"""
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import trax  # noqa: E402
from trax import lax  # noqa: E402
from trax.compiler import compile_jaxpr  # noqa: E402
from trax.core import eval_jaxpr  # noqa: E402


def f(x):
    y = lax.add(lax.mul(lax.tanh(x), lax.exp(lax.neg(lax.mul(x, x)))), lax.mul(lax.sin(x), 0.5))
    return lax.reduce_sum(y, (0,))


def f_numpy(x):
    return np.sum(np.tanh(x) * np.exp(-x * x) + np.sin(x) * np.float32(0.5), dtype=np.float32)


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main(quick=False):
    sizes = (10**4, 10**5) if quick else (10**6, 10**7)
    print(f"{'n':>10} {'compiled':>12} {'eager':>12} {'numpy':>12} "
          f"{'eager/comp':>11} {'numpy/comp':>11} {'compile':>9}")
    for n in sizes:
        x = np.random.default_rng(0).uniform(-3, 3, n).astype(np.float32)
        cj = trax.make_jaxpr(f)(x)
        t = time.perf_counter()
        exe = compile_jaxpr(cj)
        t_compile = time.perf_counter() - t
        got = exe(x)[0]
        want = f_numpy(x)
        assert abs(float(got) - float(want)) <= 1e-3 * max(1.0, abs(float(want))), (got, want)
        repeat = 5 if n >= 10**7 else 20
        tc = median_time(lambda: exe(x), repeat)
        te = median_time(lambda: eval_jaxpr(cj.jaxpr, cj.consts, x), max(3, repeat // 4))
        tn = median_time(lambda: f_numpy(x), repeat)
        print(f"{n:>10} {tc * 1e3:>10.3f}ms {te * 1e3:>10.3f}ms {tn * 1e3:>10.3f}ms "
              f"{te / tc:>10.1f}x {tn / tc:>10.1f}x {t_compile * 1e3:>7.1f}ms")
    tiny = compile_jaxpr(trax.make_jaxpr(lambda a, b: lax.add(a, b))(
        np.float32(1), np.float32(2)))
    a, b = np.float32(1), np.float32(2)
    per_call = median_time(lambda: [tiny(a, b) for _ in range(1000)], 7) / 1000
    print(f"call overhead (2 scalar inputs, 1 output): {per_call * 1e6:.2f} us")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
