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


def _probe(letter):
    for path, fmt, bits in _libraries():
        try:
            lib = ctypes.CDLL(path)
            name = fmt.format(letter)
            address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        engine.add_symbol(name, address)
        return name, bits
    return None
