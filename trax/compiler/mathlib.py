"""The math library: vmath's functions compiled once per machine, not per jaxpr.

A jaxpr with many transcendentals over small arrays (see codegen's
``_OUTLINE_MATH``) calls one function per (function, dtype) instead of
inlining it. Those functions' bodies are the same in every such module, and
they cost LLVM more than the loops calling them: for the 200-op chain of
sin and cos, ~6 ms of the machine code and ~3 ms of O3, and ~4 ms of IR
generation. So the modules only declare them (``trax_lib_<name>_<f32|f64>``
and its vector versions, see ``vmath.call(..., library=True)``), and this
module provides them: one *piece* per (function, dtype), compiled on first
need, kept in the disk cache (``mathlib/``, keyed like compiled jaxprs on
the compiler's fingerprint and the target) and loaded into the process
once, by our object loader where it can (see elfload), before any object
that calls it. :func:`build_all` builds every piece ahead of time (~1 s).
"""
import re
import threading

from trax.compiler import cache, elfload, host, symbols

__all__ = ["lanes", "load_for", "piece", "build_all"]

_SYMBOL = re.compile(rb"trax_lib_(\w+?)_(f32|f64)(?:_v\d+)?\0")
_lock = threading.Lock()
_loaded = set()          # (name, tag) pieces in this process


def lanes():
    """Bytes per element -> lane counts of the vector versions of library
    functions: the host's widest vectors, and 256-bit ones too on AVX-512
    hosts (LLVM may prefer those there)."""
    bits = host.vector_bits()
    widths = (bits, 256) if bits > 256 else (bits,)
    return {size: tuple(w // (8 * size) for w in widths) for size in (4, 8)}


def load_for(obj):
    """Load every piece that the object code ``obj`` calls (no-op for the
    ones already loaded)."""
    for name, tag in set(_SYMBOL.findall(obj)):
        piece(name.decode(), tag.decode())


def piece(name, tag):
    """Load the piece for vmath function ``name`` over ``tag`` ("f32" or
    "f64") into the process (from the disk cache, else compiled and stored)
    and register its functions for code loaded afterwards."""
    with _lock:
        if (name, tag) in _loaded:
            return
        names = _names(name, tag)
        path = cache.entry_path("mathlib", _key(name, tag) + ".o")
        obj = cache.read_entry(path)
        if obj is None:
            obj = _build(name, tag)
            cache.write_entry(path, obj)
        for n, address in elfload.load_or_llvm(obj, names, symbols.table).items():
            symbols.register(n, address)
        _loaded.add((name, tag))


def _ty(tag):
    from llvmlite import ir
    return ir.DoubleType() if tag == "f64" else ir.FloatType()


def _names(name, tag):
    from trax.compiler import vmath
    return vmath.library_names(name, _ty(tag), lanes()[8 if tag == "f64" else 4])


def _key(name, tag):
    from trax.compiler import _FINGERPRINT
    return cache.disk_key(f"mathlib {_FINGERPRINT} {name} {tag}", host.signature())


def _build(name, tag):
    """Object code defining the piece's functions."""
    from llvmlite import ir
    from trax.compiler import engine, vmath
    module = ir.Module(name="trax_mathlib")
    vmath.define_library(module, name, _ty(tag), lanes()[8 if tag == "f64" else 4])
    return engine.emit_object(str(module))


def build_all():
    """Load (building where needed) every piece; returns how many there are."""
    from trax.compiler import vmath
    names = sorted(vmath.CANONICAL)
    for name in names:
        for tag in ("f32", "f64"):
            piece(name, tag)
    return 2 * len(names)

