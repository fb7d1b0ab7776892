"""Benchmark runner: trax jit vs trax eager vs NumPy (and JAX if installed).

    python -m benchmarks [--quick] [--single-thread] [--only N,N]

Prints one table of medians measured in this run, with ratios against NumPy
and JAX, and first-call (trace + compile) times separately.
"""
import argparse
import os
import sys


def _parse():
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    p.add_argument("--single-thread", action="store_true",
                   help="pin to one core and cap BLAS threads at 1")
    p.add_argument("--only", default="", help="comma-separated workload numbers")
    p.add_argument("--no-jax", action="store_true", help="skip JAX even if installed")
    return p.parse_args()


if __name__ == "__main__":
    args = _parse()
    if args.single_thread:
        # must happen before numpy (and its BLAS) is imported
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false").strip()
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from benchmarks.runner import run
    sys.exit(run(args))
