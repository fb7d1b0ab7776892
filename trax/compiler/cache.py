"""The compiled-code caches: in memory and on disk.

* In memory: optimized-jaxpr key -> :class:`~trax.compiler.executable.Compiled`
  (the jaxpr's text names every shape, dtype and literal; constants are
  passed at run time, so their values are not part of the key), for the
  ``MEMORY_ENTRIES`` most recently used keys. A Compiled that nothing else
  uses either is then freed with its native code.
* On disk: object code, keyed on a hash of the optimized jaxpr's text, the
  compiler's fingerprint (see ``trax.compiler``) and the target (triple,
  CPU, features, llvmlite and LLVM versions). Entries are written atomically
  (temporary file + rename) and carry a checksum; a truncated or corrupted
  entry is ignored, recompiled and replaced.


The disk cache lives in ``$TRAX_CACHE_DIR`` if set (empty: disabled), else
``$XDG_CACHE_HOME/trax`` or ``~/.cache/trax``; ``TRAX_DISABLE_DISK_CACHE=1``
disables it. Settings are read at every compilation. The directory also
holds ``blas/``, the kept copy of OpenBLAS (see :func:`trax.compiler.blas.kept_copy`),
``host/``, LLVM's description of this host (see :mod:`trax.compiler.host`),
``dispatch/``, the native dispatchers' object code (see :mod:`trax.compiler.dispatch`),
and ``mathlib/``, the math library's pieces (see :mod:`trax.compiler.mathlib`).
"""
import hashlib
import os
import tempfile
import threading

from trax.lru import LRU

_MAGIC = b"TRAXOBJ1"
MEMORY_ENTRIES = 512
_memory = LRU(MEMORY_ENTRIES)
stats = {"memory_hits": 0, "disk_hits": 0, "misses": 0, "disk_writes": 0,
         "disk_errors": 0, "compile_seconds": 0.0}
_stats_lock = threading.Lock()


def count(stat, n=1):
    """Add ``n`` to ``stats[stat]`` (threads compile at the same time)."""
    with _stats_lock:
        stats[stat] += n


def digest(data):
    """The sha256 digest (32 bytes) of ``data``."""
    return hashlib.sha256(data).digest()


def memory_get(key):
    hit = _memory.get(key)
    if hit is not None:
        count("memory_hits")
    return hit


def memory_put(key, compiled):
    """Store ``compiled`` under ``key`` unless another thread stored one
    first; returns the one stored."""
    return _memory.setdefault(key, compiled)


def clear_memory():
    """Forget in-memory entries (native code stays loaded)."""
    _memory.clear()


def cache_dir():
    """The disk cache directory, or None when the disk cache is disabled."""
    if os.environ.get("TRAX_DISABLE_DISK_CACHE", "") not in ("", "0"):
        return None
    d = os.environ.get("TRAX_CACHE_DIR")
    if d is not None:
        return d or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "trax")


def disk_key(text, target):
    """The disk cache key (64 hex digits) of ``text`` for ``target``."""
    return digest(f"{target}\n{text}".encode()).hex()


def entry_path(subdir, name):
    """``<cache dir>/<subdir>/<name>``, or None when the disk cache is disabled."""
    d = cache_dir()
    return None if d is None else os.path.join(d, subdir, name)


def _path(key):
    return entry_path(key[:2], key + ".o")


def disk_get(key):
    """The object code stored under ``key``, or None (missing or corrupt)."""
    body = read_entry(_path(key))
    if body is not None:
        count("disk_hits")
    return body


def disk_put(key, obj):
    """Store object code atomically; failures (read-only dir, full disk) are ignored."""
    if write_entry(_path(key), obj):
        count("disk_writes")


def read_entry(path):
    """The checksummed payload stored at ``path`` (None: no path, missing,
    truncated or corrupt; damage counts in ``disk_errors``)."""
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    body = data[head:]
    if (len(data) < head or data[:len(_MAGIC)] != _MAGIC
            or digest(body) != data[len(_MAGIC):head]):
        count("disk_errors")
        return None
    return body


def write_entry(path, payload):
    """Store ``payload`` with a checksum at ``path`` atomically (temporary file
    + rename). Returns whether it was written; I/O errors count in
    ``disk_errors`` and are not raised."""
    if path is None:
        return False
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_MAGIC + digest(payload) + payload)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        return True
    except OSError:
        count("disk_errors")
        return False
