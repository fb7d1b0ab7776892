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

Only native code nobody else could have written is loaded (as OpenSSH and
pip judge their directories): the cache root and every folder in it are
created with mode 0700, and before an entry is read the root (its real
path: symlinks resolved) and the folder holding the entry must be
directories owned by this user and not writable by group or others; the
folders *above* the root only must not be writable by everyone without the
sticky bit (``/tmp`` is fine, a ``chmod 777`` folder is not). Entries are
opened without following symlinks and must be regular files owned by this
user, not writable by group or others. Anything else is reported once per
process by a :class:`UntrustedCacheWarning` naming the path and the reason,
after which that cache directory is not used by the process (code is
compiled in memory). A FIFO, device or directory at an entry path is only a
miss (see :func:`open_regular`).
"""
import errno
import hashlib
import os
import stat
import tempfile
import threading
import warnings

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


class UntrustedCacheWarning(RuntimeWarning):
    """The disk cache directory could be written by someone else (or cannot be
    made): this process does not use it."""


_refused = {}       # configured cache root -> (path, reason) it was refused for


def configured_dir():
    """The disk cache directory the settings name, or None when the disk
    cache is disabled (whether it is trusted is :func:`cache_dir`'s part)."""
    if os.environ.get("TRAX_DISABLE_DISK_CACHE", "") not in ("", "0"):
        return None
    d = os.environ.get("TRAX_CACHE_DIR")
    if d is not None:
        return os.path.expanduser(d) or None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "trax")


def cache_dir():
    """The real path of the disk cache directory (made with mode 0700 if
    missing), or None when the disk cache is disabled, or the directory is
    not trusted (see the module's docstring) or cannot be made."""
    root = configured_dir()
    if root is None or root in _refused:
        return None
    real, why = _trusted_root(root)
    if why is not None:
        _refuse(*why, root=root)
        return None
    return real


def distrust(root=None):
    """``(path, reason)`` for which the cache directory ``root`` (default:
    the configured one) is not used by this process, or None."""
    root = configured_dir() if root is None else root
    if root is None:
        return None
    if root not in _refused:
        cache_dir()
    return _refused.get(root)


def describe():
    """The disk cache for :func:`trax.print_environment_info`:
    ``{"directory", "used", "why_not", "files", "bytes"}`` -- the configured
    directory (None: disabled), whether this process uses it, why not
    (``(path, reason)`` or None), and the regular files it holds."""
    root = configured_dir()
    used = cache_dir() if root is not None else None
    files = size = 0
    for folder, _, names in os.walk(used or root or os.devnull):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                files, size = files + 1, size + st.st_size
    return {"directory": root, "used": used is not None, "why_not": distrust(root),
            "files": files, "bytes": size}


def _untrusted(st):
    """Why a folder or entry with ``os.lstat`` result ``st`` is not to be
    trusted, or None."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by this user (uid {os.geteuid()})"
    if st.st_mode & 0o022:
        return f"is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _trusted_root(root):
    """``(real path of root, None)``, or ``(None, (path, reason))``."""
    try:
        _make_folders(root)
        real = os.path.realpath(root)
        st = os.stat(real)
        if not stat.S_ISDIR(st.st_mode):
            return None, (root, "is not a directory")
        why = _untrusted(st)
        if why is not None:
            return None, (real, why)
        up = real
        while os.path.dirname(up) != up:
            up = os.path.dirname(up)
            mode = os.stat(up).st_mode
            if mode & 0o002 and not mode & stat.S_ISVTX:
                return None, (up, "is writable by everyone without the sticky bit")
    except FileExistsError:
        return None, (root, "is not a directory")
    except OSError as e:
        return None, (root, f"cannot be made or read ({e.strerror})")
    return real, None


def _make_folders(path):
    """``os.makedirs(path, exist_ok=True)``, every folder made with mode 0700
    (makedirs gives the ones above ``path`` the default mode)."""
    parent = os.path.dirname(path)
    if parent != path and not os.path.isdir(parent):
        _make_folders(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def _refuse(path, reason, root=None):
    """Stop using the cache directory ``root`` (default: the configured one)
    in this process because of ``path``, warning once."""
    root = configured_dir() if root is None else root
    if root is None or root in _refused:
        return
    _refused[root] = (path, reason)
    warnings.warn(f"trax: not using the disk cache directory {root}: {path} {reason}; "
                  f"this process compiles in memory", UntrustedCacheWarning, stacklevel=2)


def disk_key(text, target):
    """The disk cache key (64 hex digits) of ``text`` for ``target``."""
    return digest(f"{target}\n{text}".encode()).hex()


def entry_path(subdir, name):
    """``<cache dir>/<subdir>/<name>``, or None when the disk cache is
    disabled or not trusted. The folder ``subdir`` (one level) is made with
    mode 0700 if missing, and must be trusted like the root."""
    d = cache_dir()
    if d is None:
        return None
    folder = os.path.join(d, subdir)
    try:
        _make_folders(folder)
    except OSError:
        pass
    try:
        st = os.lstat(folder)
    except OSError:
        return os.path.join(folder, name)   # (reads miss, writes count their errors)
    why = "is not a directory" if not stat.S_ISDIR(st.st_mode) else None
    why = _untrusted(st) or why
    if why is not None:
        _refuse(folder, why)
        return None
    return os.path.join(folder, name)


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
    hang: anything but a missing file counts in ``disk_errors``. A symlink,
    or a file owned by someone else or writable by group or others, also
    turns the disk cache off for the process (see the module's docstring).
    Every reader of the cache directory opens files through this."""
    flags = (os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
             | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno != errno.ENOENT:
            count("disk_errors")
        if e.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            _refuse(path, "is a symbolic link")
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        why = _untrusted(st)
        if why is not None:
            _refuse(path, why)
            raise OSError(errno.EPERM, why, path)
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
        _make_folders(os.path.dirname(path))
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
