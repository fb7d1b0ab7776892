"""Runs the compiler's stages for one jaxpr, through its caches.

``compile_jaxpr(closed_jaxpr) -> Executable``: passes.simplify, then the
in-memory cache (keyed on the optimized jaxpr's text), then the disk cache
(keyed on that text, the target and the compiler's fingerprint), and only
on a miss plan.fusion -> lower.codegen -> runtime.engine (LLVM) -> object
code, which runtime.elfload places in the process (see docs/compiler.md).
"""
import threading
import time
import weakref

from trax.core import Literal, registered_primitives
from trax.compiler import primitives
from trax.compiler.fingerprint import FINGERPRINT
from trax.compiler.math import mathlib
from trax.compiler.passes import control
from trax.compiler.passes.simplify import simplify
from trax.compiler.runtime import blas, cache, elfload, host, symbols
from trax.compiler.runtime.executable import Executable, NativeCode, Source
# the LLVM engine, fusion, codegen and the kernel rules are imported by the
# first compilation that misses the disk cache: a cache hit never needs them

__all__ = ["compile_jaxpr", "Executable", "cache_stats"]

primitives.check(registered_primitives())

# entry name -> the NativeCode holding its code while anything uses it (our
# loader's code is unmapped with the last user, see elfload.Memory)
_loaded = weakref.WeakValueDictionary()
_llvm_loaded = {}   # entry name -> addresses of code LLVM loaded (kept for the process)
_pinned = {}        # entry name (LLVM loaded) -> the sub-entries its code calls
_lock = threading.RLock()       # one thread loads a given entry; the others reuse it


def cache_stats():
    """Counters of the compiled-code caches (a copy)."""
    return dict(cache.stats)


def _jaxpr_key(jaxpr):
    return f"{jaxpr}\n{','.join(_literal_dtypes(jaxpr))}"


def _literal_dtypes(jaxpr):
    """The dtypes of ``jaxpr``'s literals, in its sub-jaxprs too (the text
    leaves out those of weakly typed ones)."""
    lits = []
    for e in jaxpr.eqns:
        lits += [a.aval.dtype.str for a in e.invars if isinstance(a, Literal)]
        for sub in control.sub_jaxprs(e):
            lits += ["("] + _literal_dtypes(sub.jaxpr) + [")"]
    return lits + [a.aval.dtype.str for a in jaxpr.outvars if isinstance(a, Literal)]


def compile_jaxpr(closed_jaxpr):
    """Compile a ClosedJaxpr to an :class:`Executable`."""
    opt = simplify(closed_jaxpr)
    key = _jaxpr_key(opt.jaxpr)
    native = cache.memory_get(key)
    if native is None:
        start = time.perf_counter()
        native = cache.memory_put(key, _compile(opt.jaxpr, key))
        cache.count("compile_seconds", time.perf_counter() - start)
    return Executable(native, closed_jaxpr.in_avals, opt.consts, closed_jaxpr.out_avals)


def _compile(jaxpr, jaxpr_text):
    """Native code for an optimized jaxpr. The disk cache is keyed on the
    jaxpr's text (with the target and the compiler's fingerprint), so a hit
    skips code generation and LLVM entirely. The sub-jaxprs of control flow
    are compiled first, as entries of their own that this code calls (see
    lower/control.py): it holds them while it lives."""
    # probing (and registering) the BLAS loads OpenBLAS: only for jaxprs with products
    has_blas = {dt: blas.gemm(dt) is not None for dt in _product_dtypes(jaxpr)}
    dkey = cache.disk_key(f"{FINGERPRINT} blas={has_blas}\n{jaxpr_text}",
                          host.signature())
    name = f"trax_{dkey[:32]}"
    names = [name, name + "_py", name + "_ws"]

    def source():
        from trax.compiler.plan import fusion
        from trax.compiler.lower import kernels
        from trax.compiler.lower.codegen import ENTRY, Codegen
        plan = fusion.plan(jaxpr)
        cg = Codegen(jaxpr, {sub: c for sub, c in zip(subs, children)})
        ir_text = cg.generate(plan, kernels)
        ir_text = ir_text.replace(f'@"{ENTRY}"', f'@"{name}"').replace(
            f'@"{ENTRY}_py"', f'@"{name}_py"').replace(f'@"{ENTRY}_ws"', f'@"{name}_ws"')
        return Source(ir_text, fusion.kernel_summary(jaxpr, plan), cg.b.loop_count,
                      cg.calls_library, cg.vectorized)

    subs = [sub.jaxpr for e in jaxpr.eqns for sub in control.sub_jaxprs(e)]
    children = []
    with _lock:
        native = _loaded.get(name)
        if native is None:
            children = [_compile(sub, _jaxpr_key(sub)) for sub in subs]
            for c in children:
                symbols.register(c.name, c.address)
            memory = None
            addresses = _llvm_loaded.get(name)
            if addresses is None:
                addresses, memory = _load(dkey, source, names)
                if memory is None:
                    _llvm_loaded[name] = addresses
            if memory is None and children:
                _pinned[name] = children    # LLVM's code stays: so must what it calls
            n_args = len(jaxpr.invars) + len(jaxpr.constvars) + len(jaxpr.outvars)
            native = _loaded[name] = NativeCode(
                addresses[name], addresses[name + "_py"], addresses[name + "_ws"],
                name, source, jaxpr_text, n_args, memory, children)
    return native


def _product_dtypes(jaxpr):
    return sorted({str(e.outvars[0].aval.dtype) for e in jaxpr.eqns
                   if e.primitive.name == "dot_general"})


def _load(dkey, source, names):
    """``(addresses, Memory)`` of the native code: object code from the disk
    cache, else generated, compiled and stored; placed by our own loader
    where it can, else by LLVM (then Memory is None, see
    elfload.load_or_llvm). The math library's pieces it calls are loaded
    first (see mathlib)."""
    def build():
        from trax.compiler.runtime import engine
        src = source()
        return engine.emit_object(src.ir_text, **engine.emit_options(
            src.loops, src.calls_library, src.vectorized))

    def load(obj):
        mathlib.load_for(obj)
        return elfload.load_or_llvm(obj, names, symbols.table)

    return cache.through(cache.compiled_path(dkey), build, load, counted=True)
