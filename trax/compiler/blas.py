"""The BLAS that numpy ships, made callable from compiled code.

numpy's wheels bundle OpenBLAS privately (``numpy.libs/libscipy_openblas64_*``,
ILP64: integer arguments are i64, the CBLAS enums i32), so its symbols are
invisible to the JIT until registered. :func:`gemm` probes for
``?gemm`` under the names different numpy builds use, registers the one it
finds with the engine, and returns ``(symbol, int_bits)`` -- or None, and
the compiler then emits its own loop nest.
"""
import ctypes
import glob
import os

import numpy as np

from trax.compiler import engine

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_CANDIDATES = [     # (library glob relative to numpy's site dir, symbol format, int bits)
    ("numpy.libs/libscipy_openblas64_*.so*", "scipy_cblas_{}gemm64_", 64),
    ("numpy.libs/libscipy_openblas*.so*", "scipy_cblas_{}gemm", 32),
    ("numpy.libs/libopenblas64_*.so*", "cblas_{}gemm64_", 64),
    ("numpy.libs/libopenblas*.so*", "cblas_{}gemm", 32),
    ("numpy/.dylibs/libscipy_openblas64_*.dylib", "scipy_cblas_{}gemm64_", 64),
]
_found = {}


def _libraries():
    site = os.path.dirname(os.path.dirname(np.__file__))
    for pattern, fmt, bits in _CANDIDATES:
        for path in sorted(glob.glob(os.path.join(site, pattern))):
            yield path, fmt, bits


def gemm(dtype):
    """``(symbol, int_bits)`` of a registered CBLAS gemm for float32/float64,
    or None when none is available (or ``TRAX_DISABLE_BLAS=1``)."""
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64) or os.environ.get("TRAX_DISABLE_BLAS") == "1":
        return None
    letter = "s" if dt == np.float32 else "d"
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
    of the same file returns numpy's instance); numpy's own BLAS is not
    touched. ``TRAX_BLAS_CORETYPE`` overrides the kernel set ("" keeps the
    library's own choice)."""
    if path in _libs:
        return _libs[path]
    lib = ctypes.CDLL(path)
    _libs[path] = lib
    try:
        want = os.environ.get("TRAX_BLAS_CORETYPE")
        if want is None:
            feats = engine.host_info()["features"].split(",")
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


def _private_copy(lib, path, coretype):
    import shutil
    import tempfile
    threads = None
    for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                 "scipy_openblas_get_num_threads", "openblas_get_num_threads"):
        fn = _symbol(lib, name, ctypes.c_int)
        if fn is not None:
            threads, setter = fn(), name.replace("get_", "set_")
            break
    fd, tmp = tempfile.mkstemp(suffix=".so", prefix="trax-openblas-")
    old = os.environ.get("OPENBLAS_CORETYPE")
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out)
        os.environ["OPENBLAS_CORETYPE"] = coretype
        copy = ctypes.CDLL(tmp, mode=os.RTLD_LOCAL)
    finally:
        if old is None:
            os.environ.pop("OPENBLAS_CORETYPE", None)
        else:
            os.environ["OPENBLAS_CORETYPE"] = old
        os.unlink(tmp)              # the mapping outlives the file
    got = _symbol(copy, "gotoblas_corename", ctypes.c_char_p)
    if got is None or got().decode().lower() != coretype.lower():
        return None
    if threads is not None and hasattr(copy, setter):
        getattr(copy, setter)(ctypes.c_int(threads))     # numpy's thread setting
    return copy


def _probe(letter):
    for path, fmt, bits in _libraries():
        try:
            lib = _library(path)
            name = fmt.format(letter)
            address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        engine.add_symbol(name, address)
        return name, bits
    return None
