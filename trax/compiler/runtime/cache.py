"""The compiled-code caches: in memory and on disk.

* In memory: optimized-jaxpr key -> :class:`~trax.compiler.runtime.executable.NativeCode`
  (the jaxpr's text names every shape, dtype and literal; constants are
  passed at run time, so their values are not part of the key), for the
  ``MEMORY_ENTRIES`` most recently used keys. A NativeCode that nothing else
  uses either is then freed with its native code.
* On disk: object code, keyed on a hash of the optimized jaxpr's text, the
  compiler's fingerprint (see ``trax.compiler.fingerprint``) and the target (triple,
  CPU, features, llvmlite and LLVM versions). Entries are written atomically
  (temporary file + rename) and carry a checksum; a truncated or corrupted
  entry is ignored, recompiled and replaced.


The disk cache lives in ``$TRAX_CACHE_DIR`` if set (empty: disabled; ``~`` is
expanded), else
``$XDG_CACHE_HOME/trax`` or ``~/.cache/trax``; ``TRAX_DISABLE_DISK_CACHE=1``
disables it. Settings are read at every compilation. The directory also
holds ``blas/``, the kept copy of OpenBLAS (see :func:`trax.compiler.runtime.blas.kept_copy`),
``host/``, LLVM's description of this host (see :mod:`trax.compiler.runtime.host`),
``dispatch/``, the native dispatchers' object code (see :mod:`trax.compiler.runtime.dispatch`),
and ``mathlib/``, the math library's pieces (see :mod:`trax.compiler.math.mathlib`).
"""
import errno
import hashlib
import os
import stat
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
        return os.path.expanduser(d) or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "trax")


def disk_key(text, target):
    """The disk cache key (64 hex digits) of ``text`` for ``target``."""
    return digest(f"{target}\n{text}".encode()).hex()


def entry_path(subdir, name):
    """``<cache dir>/<subdir>/<name>``, or None when the disk cache is disabled."""
    d = cache_dir()
    return None if d is None else os.path.join(d, subdir, name)


def compiled_path(key):
    """Where the object code of compiled jaxprs under ``key`` is kept (None:
    no disk cache)."""
    return entry_path(key[:2], key + ".o")


def through(path, build, load, counted=False):
    """The one recipe of everything trax keeps on disk: read the entry at
    ``path``, else ``build()`` its payload and write it; then return
    ``load(payload)``. An entry that fails to load despite its checksum
    counts in ``disk_errors`` and is rebuilt. With ``counted`` (compiled
    code), hits, misses and writes count in :data:`stats`."""
    payload = read_entry(path)
    if payload is not None:
        try:
            result = load(payload)
        except Exception:
            count("disk_errors")
        else:
            if counted:
                count("disk_hits")
            return result
    if counted:
        count("misses")
    payload = build()
    if write_entry(path, payload) and counted:
        count("disk_writes")
    return load(payload)


def read_entry(path):
    """The checksummed payload stored at ``path`` (None: no path, missing,
    truncated or corrupt; damage counts in ``disk_errors``)."""
    if path is None:
        return None
    f = open_regular(path)
    if f is None:
        return None
    try:
        with f:
            data = f.read()
    except OSError:
        count("disk_errors")
        return None
    head = len(_MAGIC) + 32
    body = data[head:]
    if (len(data) < head or data[:len(_MAGIC)] != _MAGIC
            or digest(body) != data[len(_MAGIC):head]):
        count("disk_errors")
        return None
    return body


def open_regular(path):
    """``path`` opened for binary reading if it is a regular file, else None.

    Opened without blocking and without following a final symlink, so that a
    FIFO, device, directory or link placed at a cache path is a miss, never a
    hang: anything but a missing file counts in ``disk_errors``. Every reader
    of the cache directory opens files through this."""
    flags = (os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno != errno.ENOENT:
            count("disk_errors")
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return os.fdopen(fd, "rb")
    except OSError:
        os.close(fd)
        count("disk_errors")
        return None


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
