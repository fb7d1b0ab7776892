"""``trax.print_environment_info()``: what trax runs with, for bug reports."""
import os
import sys


def environment_info():
    """``[(name, value), ...]``: versions, CPU, BLAS, disk cache and threads."""
    import platform

    import llvmlite
    import llvmlite.binding as llvm
    import numpy as np

    import trax
    from trax.compiler.runtime import blas, cache, host

    rows = [("trax", trax.__version__), ("numpy", np.__version__),
            ("llvmlite", llvmlite.__version__),
            ("LLVM", ".".join(map(str, llvm.llvm_version_info))),
            ("python", sys.version.replace("\n", " ")),
            ("platform", platform.platform())]
    feats = [f[1:] for f in host.features() if f.startswith("+")]
    rows += [("CPU", f"{llvm.get_host_cpu_name()} ({_model_name() or platform.machine()})"),
             ("CPU features", " ".join(sorted(feats)))]
    b = blas.describe()
    if b is None:
        rows.append(("BLAS", "none (products run as loop nests)"))
    else:
        copy = " (trax's private copy)" if b["private_copy"] else ""
        rows += [("BLAS", b["library"] + copy), ("BLAS kernels", b["kernels"] or "unknown"),
                 ("BLAS threads", str(b["threads"] or "unknown")),
                 ("OPENBLAS_CORETYPE", os.environ.get("OPENBLAS_CORETYPE", "(not set)")),
                 ("TRAX_BLAS_CORETYPE", os.environ.get("TRAX_BLAS_CORETYPE", "(not set)"))]
    c = cache.describe()
    if c["directory"] is None:
        rows.append(("disk cache", "disabled"))
    else:
        why = c["why_not"]
        trust = "trusted, in use" if c["used"] else f"NOT used: {why[0]} {why[1]}"
        rows += [("disk cache", c["directory"]),
                 ("disk cache size", f"{c['bytes'] / 2**20:.1f} MiB in {c['files']} files"),
                 ("disk cache trust", trust)]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows.append(("threads", f"{cpus} CPUs available to this process ({os.cpu_count()} in all)"))
    return rows


def _model_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return None


def print_environment_info(return_string=False):
    """Print (or with ``return_string``, return) what trax runs with: trax,
    numpy, llvmlite, LLVM and Python versions, the CPU and its features, the
    BLAS library with its kernel set and threads, the disk cache's location,
    size and trust, and the thread count. Like ``jax.print_environment_info``."""
    rows = environment_info()
    width = max(len(name) for name, _ in rows)
    text = "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in rows)
    if return_string:
        return text
    print(text)
