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
    variables ``env`` set too."""
    env = dict(os.environ, TRAX_CACHE_DIR=str(cache_dir), **env)
    for var in unset:
        env.pop(var, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout, out.stderr
