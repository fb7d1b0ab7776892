"""jit's backend: jaxpr -> native code through LLVM.

``compile_jaxpr(closed_jaxpr) -> Executable`` is the entry point (see
docs/compiler.md):

    passes.simplify   inline calls, fold constants, identities, CSE, DCE
    fusion.plan       which values are materialized, which fuse into loops
    codegen           one LLVM function with every kernel (elemental rules in
                      elemental.py, kernel rules in reductions.py, linalg.py, ...)
    engine            O3 + vectorization for the host CPU; object code
    cache             in-memory and on-disk caches of compiled code
    elfload, host     disk-cache hits without LLVM (our own object loader;
                      LLVM's host description remembered on disk)
    executable        the thin Python call path
"""
import time

from trax.core import Literal, registered_primitives
from trax.compiler.fingerprint import FINGERPRINT
from trax.compiler.runtime import blas, cache, elfload, host, symbols
from trax.compiler.math import mathlib
from trax.compiler.passes.simplify import simplify
from trax.compiler.runtime.executable import Compiled, Executable
from trax.compiler import primitives
# the LLVM engine, fusion, codegen and the kernel rules are imported by the
# first compilation that misses the disk cache: a cache hit never needs them

__all__ = ["compile_jaxpr", "Executable", "cache_stats"]

primitives.check(registered_primitives())

_loaded = {}        # entry name -> address, for code already in this process
def cache_stats():
    """Counters of the compiled-code caches (a copy)."""
    return dict(cache.stats)


def _jaxpr_key(jaxpr):
    lits = [a.aval.dtype.str for e in jaxpr.eqns for a in e.invars if isinstance(a, Literal)]
    lits += [a.aval.dtype.str for a in jaxpr.outvars if isinstance(a, Literal)]
    return f"{jaxpr}\n{','.join(lits)}"


def compile_jaxpr(closed_jaxpr):
    """Compile a ClosedJaxpr to an :class:`Executable`."""
    opt = simplify(closed_jaxpr)
    key = _jaxpr_key(opt.jaxpr)
    compiled = cache.memory_get(key)
    if compiled is None:
        compiled = _compile(opt.jaxpr, key)
        cache.memory_put(key, compiled)
    return Executable(compiled, closed_jaxpr.in_avals, opt.consts, closed_jaxpr.out_avals)


def _compile(jaxpr, jaxpr_text):
    """Native code for an optimized jaxpr. The disk cache is keyed on the
    jaxpr's text (with the target and the compiler's fingerprint), so a hit
    skips code generation and LLVM entirely."""
    start = time.perf_counter()
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
        cg = Codegen(jaxpr)
        ir_text = cg.generate(plan, kernels)
        ir_text = ir_text.replace(f'@"{ENTRY}"', f'@"{name}"').replace(
            f'@"{ENTRY}_py"', f'@"{name}_py"').replace(f'@"{ENTRY}_ws"', f'@"{name}_ws"')
        return (ir_text, fusion.kernel_summary(jaxpr, plan), cg.b.loop_count,
                cg.calls_library, cg.vectorized)

    addresses = _loaded.get(name)
    if addresses is None:
        addresses = _loaded[name] = _load(dkey, source, names)
    cache.stats["compile_seconds"] += time.perf_counter() - start
    n_args = len(jaxpr.invars) + len(jaxpr.constvars) + len(jaxpr.outvars)
    return Compiled(addresses[name], addresses[name + "_py"], addresses[name + "_ws"],
                    name, source, jaxpr_text, n_args)


def _product_dtypes(jaxpr):
    return sorted({str(e.outvars[0].aval.dtype) for e in jaxpr.eqns
                   if e.primitive.name == "dot_general"})


def _load(dkey, source, names):
    """Native code from the disk cache (placed by our own loader where it can,
    else by LLVM), else generated, compiled and stored. The math library's
    pieces the code calls are loaded first (see mathlib)."""
    from_disk = cache.disk_get(dkey)
    if from_disk is not None:
        try:
            mathlib.load_for(from_disk)
            return elfload.load_or_llvm(from_disk, names, symbols.table)
        except Exception:             # unloadable despite its checksum: recompile
            cache.stats["disk_errors"] += 1
    from trax.compiler.runtime import engine
    cache.stats["misses"] += 1
    ir_text, _, *facts = source()
    obj = engine.emit_object(ir_text, **engine.emit_options(*facts))
    cache.disk_put(dkey, obj)
    mathlib.load_for(obj)
    return engine.load_object(obj, names)
