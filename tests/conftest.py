"""Test-session set-up: compiled code goes to a fresh disk cache of this
run's own, not the user's (set TRAX_CACHE_DIR to choose another). The
session's own directory (object files and a ~25 MB kept copy of OpenBLAS)
is removed at exit."""
import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

if "TRAX_CACHE_DIR" not in os.environ:
    _dir = tempfile.mkdtemp(prefix="trax-test-cache-")
    os.environ["TRAX_CACHE_DIR"] = _dir
    atexit.register(shutil.rmtree, _dir, ignore_errors=True)


@pytest.fixture
def lib(tmp_path):
    """A stand-in "library" file of 300 KiB (blas.kept_copy only copies bytes)."""
    path = tmp_path / "src" / "libfake.so"
    path.parent.mkdir()
    path.write_bytes(np.random.default_rng(0).bytes(300 * 1024))
    return str(path)


@pytest.fixture
def cache_dir(monkeypatch, tmp_path):
    """A fresh, enabled disk cache directory for this test (not created yet)."""
    d = tmp_path / "cache"
    monkeypatch.setenv("TRAX_CACHE_DIR", str(d))
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    return d
