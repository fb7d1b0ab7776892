"""Run Python code in a new process that uses a given disk cache directory."""
import os
import subprocess
import sys


def run_python(code, cache_dir, unset=("TRAX_DISABLE_DISK_CACHE",)):
    """The stdout of ``python -c code`` with ``TRAX_CACHE_DIR=cache_dir`` and
    the variables ``unset`` removed; fails the test if the process fails."""
    return run_python_output(code, cache_dir, unset)[0]


def run_python_output(code, cache_dir, unset=("TRAX_DISABLE_DISK_CACHE",), **env):
    """``(stdout, stderr)`` of :func:`run_python`'s process, with the
    variables ``env`` set (after ``unset`` are removed)."""
    env = {k: v for k, v in os.environ.items() if k not in unset} | env
    env["TRAX_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr


def run_copy(code, cache_dir):
    """:func:`run_python` in a process that loads a copy of numpy's OpenBLAS
    (kept in ``cache_dir``) with other kernels than numpy's (pinned) ones."""
    return run_python_output(code, cache_dir, ("TRAX_DISABLE_DISK_CACHE", "TRAX_DISABLE_BLAS"),
                             OPENBLAS_CORETYPE="Haswell", TRAX_BLAS_CORETYPE="Sandybridge")[0]
