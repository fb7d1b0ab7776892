"""The BLAS that numpy ships, made callable from compiled code.

numpy's wheels bundle OpenBLAS privately (``numpy.libs/libscipy_openblas64_*``,
ILP64: integer arguments are i64, the CBLAS enums i32), so its symbols are
invisible to the JIT until registered. :func:`gemm` probes for
``?gemm`` under the names different numpy builds use, registers the one it
finds in :mod:`trax.compiler.runtime.symbols`, and returns ``(symbol, int_bits)`` -- or None, and
the compiler then emits its own loop nest. :func:`gemm_for` says which products
go to it (those of at least ``MIN_FLOPS`` multiply-adds, except those with few
rows and a short depth: see ``LOOP_ROWS``).
"""
import ctypes
import fnmatch
import hashlib
import os
import threading

import numpy as np

from trax.compiler.runtime import cache, host, symbols

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_CANDIDATES = [     # (library glob relative to numpy's site dir, symbol format, int bits)
    ("numpy.libs/libscipy_openblas64_*.so*", "scipy_cblas_{}gemm64_", 64),
    ("numpy.libs/libscipy_openblas*.so*", "scipy_cblas_{}gemm", 32),
    ("numpy.libs/libopenblas64_*.so*", "cblas_{}gemm64_", 64),
    ("numpy.libs/libopenblas*.so*", "cblas_{}gemm", 32),
    ("numpy/.dylibs/libscipy_openblas64_*.dylib", "scipy_cblas_{}gemm64_", 64),
]
_found = {}
_lock = threading.RLock()      # one thread probes (and loads a library) at a time


def _libraries():
    site = os.path.dirname(os.path.dirname(np.__file__))
    for pattern, fmt, bits in _CANDIDATES:
        folder, name = os.path.split(os.path.join(site, pattern))
        try:                # (not glob: its import is a new process's ~0.3 ms)
            names = sorted(fnmatch.filter(os.listdir(folder), name))
        except OSError:
            continue
        for n in names:
            yield os.path.join(folder, n), fmt, bits


MIN_FLOPS = 32 * 32 * 32       # smaller products run as a loop nest
# So do products of at most LOOP_ROWS rows (M), a depth (K) of at most
# LOOP_DEPTH and at most LOOP_FLOPS multiply-adds: the register-blocked loop
# nest (lower/linalg.py) was as fast as OpenBLAS's sgemm/dgemm there on znver5
# with SkylakeX kernels and faster than with Haswell ones (jit(a @ b) calls,
# float32: [16,128]@[128,128] ~3.0 us against ~3.5 and ~7.5 us,
# [64,128]@[128,128] ~10 against ~10 and ~14 us); [64,512]@[512,512] ran
# ~1.3x slower than SkylakeX kernels (~160 against ~125 us), 256^3 ~1.6x.
# Not matrix-vector products (N = 1: one scalar accumulator a row):
# [64,512]@[512,1] took ~7 us against ~7 (Haswell) and ~2 us (SkylakeX).
LOOP_ROWS, LOOP_DEPTH, LOOP_FLOPS = 64, 512, 1 << 22


def product_sizes(lhs, rhs, dimension_numbers):
    """``(lhs free axes, rhs free axes, batch, m, n, k)`` of a dot_general of
    avals ``lhs`` and ``rhs``."""
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    size = lambda shape, axes: int(np.prod([shape[i] for i in axes], dtype=np.int64))  # noqa: E731
    return (lf, rf, size(lhs.shape, lb), size(lhs.shape, lf), size(rhs.shape, rf),
            size(lhs.shape, lc))


def gemm_for(eqn):
    """The gemm that the product of ``eqn`` (a dot_general, or a
    dot_general_update) goes to, or None when it runs as a loop nest."""
    lhs, rhs = eqn.invars[:2]
    _, _, _, m, n, k = product_sizes(lhs.aval, rhs.aval, eqn.params["dimension_numbers"])
    flops = m * n * k
    if flops < MIN_FLOPS or (m <= LOOP_ROWS and k <= LOOP_DEPTH and flops <= LOOP_FLOPS
                             and n > 1):
        return None
    return gemm(eqn.outvars[0].aval.dtype)


def gemm(dtype):
    """``(symbol, int_bits)`` of a registered CBLAS gemm for float32/float64,
    or None when none is available (or ``TRAX_DISABLE_BLAS=1``)."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64) or os.environ.get("TRAX_DISABLE_BLAS") == "1":
        return None
    letter = "s" if dt == np.float32 else "d"
    with _lock:
        if letter not in _found:
            _found[letter] = _probe(letter)
        return _found[letter]


_AVX512 = ("+avx512f", "+avx512bw", "+avx512dq", "+avx512vl")
_libs = {}      # path -> the CDLL gemm is taken from


def _library(path):
    """The OpenBLAS at ``path``, or a private copy of it with AVX-512
    kernels. A DYNAMIC_ARCH OpenBLAS picks its kernels by CPU model when it
    is loaded, and builds that do not know a newer AVX-512 CPU (e.g. Zen 5)
    fall back to Haswell (AVX2) kernels: sgemm about 1.8x slower. Then, if
    the host has AVX-512 and the library has SkylakeX kernels, a copy of
    it is loaded with ``OPENBLAS_CORETYPE=SkylakeX`` (a copy, because dlopen
    of the same file returns numpy's instance; kept in the disk cache
    directory, see :func:`kept_copy`); numpy's own BLAS is not touched.
    Not when ``OPENBLAS_CORETYPE`` is set (non-empty): that pins numpy's
    kernels on purpose (some builds compute wrong results on some CPUs), so
    numpy's instance is used as it is. ``TRAX_BLAS_CORETYPE`` asks for a
    kernel set explicitly ("" keeps the library's own choice)."""
    if path in _libs:
        return _libs[path]
    lib = ctypes.CDLL(path)
    _libs[path] = lib
    try:
        want = os.environ.get("TRAX_BLAS_CORETYPE")
        if want is None and os.environ.get("OPENBLAS_CORETYPE"):
            want = ""
        if want is None:
            feats = host.features()
            want = "SkylakeX" if all(f in feats for f in _AVX512) else ""
        corename = _symbol(lib, "gotoblas_corename", ctypes.c_char_p)
        if not want or corename is None or not hasattr(lib, "gotoblas_" + want.upper()):
            return lib
        if corename().decode().lower() == want.lower():
            return lib
        lib = _private_copy(lib, path, want) or lib
    except Exception:       # keep numpy's instance on any failure
        pass
    _libs[path] = lib
    return lib


def _symbol(lib, name, restype):
    fn = getattr(lib, name, None)
    if fn is not None:
        fn.restype = restype
    return fn


def _threads(lib):
    """``(thread count, name of its setter)`` of OpenBLAS ``lib``, or
    ``(None, None)``."""
    for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                 "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
        fn = _symbol(lib, name, ctypes.c_int)
        if fn is not None:
            return fn(), name.replace("get_", "set_")
    return None, None


def _private_copy(lib, path, coretype):
    threads, setter = _threads(lib)
    old = os.environ.get("OPENBLAS_CORETYPE")
    os.environ["OPENBLAS_CORETYPE"] = coretype      # read by OpenBLAS when loaded
    try:
        copy = _load_copy(path)
    finally:
        if old is None:
            os.environ.pop("OPENBLAS_CORETYPE", None)
        else:
            os.environ["OPENBLAS_CORETYPE"] = old
    got = _symbol(copy, "gotoblas_corename", ctypes.c_char_p)
    if got is None or got().decode().lower() != coretype.lower():
        return None
    if threads is not None and hasattr(copy, setter):
        getattr(copy, setter)(ctypes.c_int(threads))     # numpy's thread setting
    return copy


def _load_copy(path):
    """dlopen a copy of the library at ``path``: the one kept in the disk
    cache directory (verified by its sha256, not copied again), else a
    temporary file, unlinked after dlopen (the mapping outlives the file)."""
    kept = kept_copy(path)
    if kept is not None:
        try:
            return ctypes.CDLL(kept, mode=os.RTLD_LOCAL)
        except OSError:             # unloadable: drop it, use a temporary copy
            _unlink(kept)
    import tempfile
    fd, tmp = tempfile.mkstemp(suffix=".so", prefix="trax-openblas-")
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_into(path, out)
        return ctypes.CDLL(tmp, mode=os.RTLD_LOCAL)
    finally:
        os.unlink(tmp)


def kept_copy(path):
    """Path of a persistent copy of the library at ``path`` in
    ``<cache dir>/blas/``, made if missing, or None when the disk cache is
    disabled, not trusted or not writable. The copy's name carries a
    hash of the source's real path, size and mtime (a new numpy gets a new
    copy). The sha256 of the bytes copied is stored beside the copy (as a
    checksummed cache entry, ``<copy>.sha256``); an existing copy is used
    only if it is a regular file whose size and whole sha256 match, else it
    is replaced. Copies are written to a temporary file and renamed, so a
    partly written copy is never used."""
    try:
        st = os.stat(path)
        src = f"{os.path.realpath(path)}|{st.st_size}|{st.st_mtime_ns}"
        tag = cache.digest(src.encode()).hex()[:16]
        dest = cache.entry_path("blas", f"{tag}-{os.path.basename(path)}")
        if dest is None:
            return None
        if _intact(dest, st.st_size):
            return dest
        import tempfile
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                sha = _copy_into(path, out)
            if not cache.write_entry(dest + ".sha256", sha):
                raise OSError("cannot store the copy's checksum")
            os.replace(tmp, dest)
        except BaseException:
            _unlink(tmp)
            raise
        return dest
    except OSError:
        return None


def _intact(copy, size):
    """Is ``copy`` a regular file of ``size`` bytes whose sha256 is the one
    stored beside it?"""
    want = cache.read_entry(copy + ".sha256")
    if want is None:
        return False
    f = cache.open_regular(copy)
    if f is None:
        return False
    try:
        with f:
            if os.fstat(f.fileno()).st_size != size:
                return False
            return _sha256(f) == want
    except OSError:
        return False


def _sha256(f, out=None):
    """The sha256 digest of the rest of file object ``f``, whose bytes are
    also written to ``out`` if given."""
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
        if out is not None:
            out.write(chunk)
    return h.digest()


def _copy_into(path, out):
    """Copy the file at ``path`` into the file object ``out``; returns the
    sha256 digest of the bytes copied."""
    with open(path, "rb") as src:
        return _sha256(src, out)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def describe():
    """What compiled products call: ``{"library"`` (the file loaded)``,
    "private_copy", "kernels", "threads"}`` (kernels and threads None where
    OpenBLAS does not say), or None when there is no BLAS (see :func:`gemm`)."""
    found = gemm("float64") or gemm("float32")
    if found is None:
        return None
    with _lock:
        path, lib = next((p, lib) for p, lib in _libs.items() if hasattr(lib, found[0]))
    core = _symbol(lib, "gotoblas_corename", ctypes.c_char_p)
    return {"library": lib._name, "private_copy": lib._name != path,
            "kernels": core().decode() if core is not None else None,
            "threads": _threads(lib)[0]}


def _probe(letter):
    for path, fmt, bits in _libraries():
        try:
            lib = _library(path)
            name = fmt.format(letter)
            address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        symbols.register(name, address)
        return name, bits
    return None
