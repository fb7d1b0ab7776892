"""The math library: the math functions (functions.py) compiled once per machine, not per jaxpr.

A jaxpr with many transcendentals over small arrays (see codegen's
``_OUTLINE_MATH``) calls one function per (function, dtype) instead of
inlining it. Those functions' bodies are the same in every such module, and
they cost LLVM more than the loops calling them: for the 200-op chain of
sin and cos, ~6 ms of the machine code and ~3 ms of O3, and ~4 ms of IR
generation. So the modules only declare them (``trax_lib_<name>_<f32|f64>``
and its vector versions, see ``outline.call(..., library=True)``), and this
module provides them: one *piece* per (function, dtype) (sin and cos share
one, as they share their body), compiled on first need, kept in the disk
cache (``mathlib/``, keyed like compiled jaxprs on the compiler's
fingerprint and the target) and loaded into the process once, by our object
loader where it can (see elfload), before any object that calls it.
:func:`build_all` builds every piece ahead of time (~1 s).
"""
import re
import threading

from trax.compiler.fingerprint import FINGERPRINT
from trax.compiler.runtime import cache, elfload, host, symbols

__all__ = ["lanes", "load_for", "piece", "build_all"]

_SYMBOL = re.compile(rb"trax_lib_(\w+?)_(f32|f64)(?:_v\d+)?\0")
_lock = threading.Lock()
_loaded = {}     # (member names, tag) -> the piece's Memory (kept for the process)


def lanes():
    """Bytes per element -> lane counts of the vector versions of library
    functions: the host's widest vectors, and 256-bit ones too on AVX-512
    hosts (LLVM may prefer those there)."""
    bits = host.vector_bits()
    widths = (bits, 256) if bits > 256 else (bits,)
    return {size: tuple(w // (8 * size) for w in widths) for size in (4, 8)}


# Functions that share one piece: outlined sin and cos share one body
# (outline._shared_trig), built once for both.
_PIECES = {"sin": ("sin", "cos"), "cos": ("sin", "cos")}


def load_for(obj):
    """Load every piece that the object code ``obj`` calls (no-op for the
    ones already loaded)."""
    for name, tag in set(_SYMBOL.findall(obj)):
        piece(name.decode(), tag.decode())


def piece(name, tag):
    """Load the piece holding math function ``name`` over ``tag`` ("f32"
    or "f64") into the process (from the disk cache, else compiled and
    stored) and register its functions for code loaded afterwards."""
    members = _PIECES.get(name, (name,))
    with _lock:
        if (members, tag) in _loaded:
            return
        ty, widths = _ty(tag), lanes()[8 if tag == "f64" else 4]
        from trax.compiler.math import outline
        names = [n for m in members for n in outline.library_names(m, ty, widths)]
        addresses, memory = cache.through(
            cache.entry_path("mathlib", _key(members, tag) + ".o"),
            lambda: _build(members, ty, widths),
            lambda obj: elfload.load_or_llvm(obj, names, symbols.table))
        for n, address in addresses.items():
            symbols.register(n, address)
        _loaded[members, tag] = memory


def _ty(tag):
    from llvmlite import ir
    return ir.DoubleType() if tag == "f64" else ir.FloatType()


def _key(members, tag):
    return cache.disk_key(f"mathlib {FINGERPRINT} {' '.join(members)} {tag}",
                          host.signature())


def _build(members, ty, widths):
    """Object code defining the functions of a piece."""
    from llvmlite import ir
    from trax.compiler.runtime import engine
    from trax.compiler.math import outline
    module = ir.Module(name="trax_mathlib")
    for name in members:
        outline.define_library(module, name, ty, widths)
    return engine.emit_object(str(module))


def build_all():
    """Load (building where needed) every piece; returns how many there are."""
    from trax.compiler.math import functions
    pieces = sorted({_PIECES.get(name, (name,)) for name in functions.CANONICAL})
    for members in pieces:
        for tag in ("f32", "f64"):
            piece(members[0], tag)
    return 2 * len(pieces)
