"""Faults in the disk cache directory are misses, never hangs or crashes.

* A FIFO, directory or symlink at an entry path is not opened as an entry
  (a FIFO used to block ``open()`` forever): the entry is recompiled and the
  fault counts in ``cache_stats()['disk_errors']``; a symlink also turns the
  disk cache off for the process, with a warning.
* The kept copy of OpenBLAS is verified by a full sha256 before it is used:
  a changed byte anywhere gets it recopied.
* ``~`` in ``TRAX_CACHE_DIR`` is expanded.
"""
import contextlib
import os
import signal
import warnings

import pytest
from child import run_copy

from trax.compiler.runtime import blas, cache


@contextlib.contextmanager
def deadline(seconds=10):
    """Fail (rather than hang) if the block takes longer than ``seconds``."""
    def expire(signum, frame):
        raise TimeoutError(f"blocked for more than {seconds} s")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _fifo(path):
    os.mkfifo(path)


def _directory(path):
    os.mkdir(path)


def _symlink(path):
    target = path.parent / "target"
    cache.write_entry(str(target), b"payload")
    os.symlink(target, path)


@pytest.mark.parametrize("make", [_fifo, _directory, _symlink])
def test_non_regular_entry_is_a_counted_miss(cache_dir, make):
    path = cache_dir / "host" / "entry"
    path.parent.mkdir(parents=True)
    make(path)
    errors = cache.stats["disk_errors"]
    with deadline(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cache.read_entry(str(path)) is None
    assert cache.stats["disk_errors"] == errors + 1
    # a symlink could point at anyone's code: the disk cache is then off (test_cache_trust)
    messages = [str(w.message) for w in caught]
    assert len(messages) == (make is _symlink)
    assert all(f"{path} is a symbolic link" in m for m in messages)
    assert cache.write_entry(str(path), b"new") is (make is not _directory)


def test_missing_entry_is_a_plain_miss(cache_dir):
    errors = cache.stats["disk_errors"]
    assert cache.read_entry(str(cache_dir / "host" / "absent")) is None
    assert cache.stats["disk_errors"] == errors


_JIT = """
import numpy as np, trax
x = np.linspace(0.0, 1.0, 64, dtype=np.float32)
m = np.ones((64, 64), np.float32)
np.testing.assert_allclose(trax.jit(lambda a: (trax.numpy.sin(a) * 2.0).sum())(x),
                           (np.sin(x) * 2.0).sum(), rtol=1e-5)
np.testing.assert_allclose(trax.jit(lambda a, b: a @ b)(m, m), m @ m)
print(trax.compiler.cache_stats()["disk_errors"])
"""


def test_fifos_at_every_entry_path_do_not_hang_a_process(tmp_path):
    """Every entry a process read (compiled jaxprs, host, math library,
    dispatchers, the BLAS copy and its checksum) replaced by a FIFO: a new
    process recompiles (run_copy's timeout fails the test on a hang)."""
    d = tmp_path / "cache"
    assert run_copy(_JIT, d).split() == ["0"]
    entries = [os.path.join(root, n) for root, _, names in os.walk(d) for n in names]
    assert len(entries) >= 4
    for path in entries:
        os.unlink(path)
        os.mkfifo(path)
    assert int(run_copy(_JIT, d).split()[-1]) >= 4


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _flip_byte(path, at):
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize("at", [90 * 1024, 150 * 1024, 200 * 1024])
def test_kept_copy_with_one_changed_byte_is_recopied(lib, cache_dir, at):
    kept = blas.kept_copy(lib)
    _flip_byte(kept, at)
    assert blas.kept_copy(lib) == kept
    assert _read(kept) == _read(lib)


@pytest.mark.parametrize("damage", ["missing", "corrupt", "fifo"])
def test_kept_copy_without_a_valid_checksum_is_recopied(lib, cache_dir, damage):
    kept = blas.kept_copy(lib)
    sha = kept + ".sha256"
    os.unlink(sha)
    if damage == "corrupt":
        with open(sha, "wb") as f:
            f.write(b"TRAXOBJ1" + bytes(40))
    elif damage == "fifo":
        os.mkfifo(sha)
    before = os.stat(kept).st_ino
    with deadline():
        assert blas.kept_copy(lib) == kept
    assert os.stat(kept).st_ino != before
    assert _read(kept) == _read(lib) and cache.read_entry(sha) is not None


def test_kept_copy_that_is_a_fifo_is_replaced(lib, cache_dir):
    kept = blas.kept_copy(lib)
    os.unlink(kept)
    os.mkfifo(kept)
    with deadline():
        assert blas.kept_copy(lib) == kept
    assert _read(kept) == _read(lib)


_BLAS = """
import numpy as np, trax
from trax.compiler.runtime import blas
a = np.arange(128 * 128, dtype=np.float32).reshape(128, 128) / 16384
np.testing.assert_allclose(trax.jit(lambda x, y: x @ y)(a, a), a @ a, rtol=1e-5)
print([getattr(lib, "_name", "") for lib in blas._libs.values()])
"""


def test_real_kept_copy_changed_in_the_middle_is_not_loaded(tmp_path):
    """A byte of the real kept OpenBLAS copy changed outside the old sample
    places (which used to crash a process with SIGTRAP): the next process
    recopies it before loading it."""
    d = tmp_path / "cache"
    names = eval(run_copy(_BLAS, d).splitlines()[-1])
    kept = [n for n in names if n.startswith(str(d / "blas"))]
    if not kept:
        pytest.skip("numpy's OpenBLAS has no Sandybridge kernels to copy with")
    original = _read(kept[0])
    _flip_byte(kept[0], len(original) // 4)
    run_copy(_BLAS, d)
    assert _read(kept[0]) == original


def test_tilde_in_cache_dir_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TRAX_CACHE_DIR", "~/trax-cache")
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    assert cache.cache_dir() == str(tmp_path / "trax-cache")
    path = cache.entry_path("host", "x")
    assert cache.write_entry(path, b"payload")
    assert (tmp_path / "trax-cache" / "host" / "x").is_file()
    assert cache.read_entry(path) == b"payload"
