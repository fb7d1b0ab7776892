"""What a new process reuses from the disk cache directory.

* The private copy of numpy's OpenBLAS that trax/compiler/blas.py loads
  with AVX-512 kernels is kept there and reused by later processes; a
  damaged copy is replaced, and without a usable cache directory a temporary
  copy is used.
* A disk-cache hit loads object code without importing the fusion planner
  or the kernel rules.
"""
import math
import os

import pytest
from child import run_copy, run_python

from trax.compiler.runtime import blas, cache


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_kept_copy_is_made_once_and_reused(lib, cache_dir):
    kept = blas.kept_copy(lib)
    assert os.path.dirname(kept) == str(cache_dir / "blas")
    assert kept.endswith("-libfake.so") and _read(kept) == _read(lib)
    before = os.stat(kept)
    assert blas.kept_copy(lib) == kept
    after = os.stat(kept)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    name = os.path.basename(kept)           # the copy and its checksum, no temp files left
    assert sorted(os.listdir(cache_dir / "blas")) == [name, name + ".sha256"]


@pytest.mark.parametrize("damage", ["truncated", "head", "middle", "tail", "empty"])
def test_damaged_copy_is_replaced(lib, cache_dir, damage):
    kept = blas.kept_copy(lib)
    data = _read(kept)
    n = len(data)
    bad = {"truncated": data[: n // 2],
           "head": b"\0" * 100 + data[100:],
           "middle": data[: n // 2] + bytes(64) + data[n // 2 + 64:],
           "tail": data[:-100] + b"\0" * 100,
           "empty": b""}[damage]
    with open(kept, "wb") as f:
        f.write(bad)
    assert blas.kept_copy(lib) == kept
    assert _read(kept) == _read(lib)


def test_new_source_gets_a_new_copy(lib, cache_dir):
    first = blas.kept_copy(lib)
    with open(lib, "ab") as f:            # e.g. numpy upgraded: other size and mtime
        f.write(b"more")
    second = blas.kept_copy(lib)
    assert second != first and _read(second) == _read(lib)


def test_no_kept_copy_without_a_usable_cache_dir(lib, monkeypatch, tmp_path):
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    monkeypatch.setenv("TRAX_CACHE_DIR", "")
    assert blas.kept_copy(lib) is None
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("TRAX_DISABLE_DISK_CACHE", "1")
    assert blas.kept_copy(lib) is None
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE")
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "file"))
    with pytest.warns(cache.UntrustedCacheWarning, match="file is not a directory"):
        assert blas.kept_copy(lib) is None
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "c"))
    assert blas.kept_copy(str(tmp_path / "missing.so")) is None


def test_unloadable_kept_copy_falls_back_to_a_temporary_copy(monkeypatch, tmp_path):
    """A kept copy that dlopen refuses is deleted and a temporary copy is loaded."""
    real = math.__file__                  # any loadable shared object will do
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    monkeypatch.setattr(blas, "kept_copy", lambda path: str(junk))
    lib = blas._load_copy(real)
    assert lib is not None and not junk.exists()


_CHILD = """
import numpy as np, trax
from trax.compiler.runtime import blas
a = np.ones((128, 128), np.float32)
np.testing.assert_allclose(trax.jit(lambda x, y: x @ y)(a, a), a @ a)
print([getattr(lib, "_name", "") for lib in blas._libs.values()])
"""


def _child(cache_dir):
    return eval(run_copy(_CHILD, cache_dir).strip().splitlines()[-1])



def test_processes_share_the_kept_copy(tmp_path):
    d = tmp_path / "cache"
    names = _child(d)
    kept = [n for n in names if n.startswith(str(d / "blas"))]
    if not kept:
        pytest.skip("numpy's OpenBLAS has no Sandybridge kernels to copy with")
    before = os.stat(kept[0])
    assert _child(d) == names             # the second process loads the same file
    after = os.stat(kept[0])
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(os.listdir(d / "blas")) == 2       # the copy and its checksum


_HIT = """
import sys, numpy as np, trax
from trax.compiler.runtime import cache
x = np.arange(6.0).reshape(2, 3)
np.testing.assert_allclose(trax.jit(lambda a: (a * 2.0).sum(0))(x), (x * 2.0).sum(0))
gen = ("plan.fusion", "lower.codegen", "math.functions", "lower.reductions", "lower.linalg",
       "lower.structural")
print(cache.stats["disk_hits"], cache.stats["misses"],
      [m for m in gen if "trax.compiler." + m in sys.modules] == list(gen),
      any("trax.compiler." + m in sys.modules for m in gen))
"""


def test_disk_hit_does_not_import_the_code_generator(tmp_path):
    runs = [run_python(_HIT, tmp_path / "cache").split() for _ in range(2)]
    assert runs == [["0", "1", "True", "True"], ["1", "0", "False", "False"]]
