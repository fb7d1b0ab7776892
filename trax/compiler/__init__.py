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
import os
import threading
import time
import weakref

from trax.core import Literal
from trax.compiler import blas, cache, elfload, host, mathlib, passes, symbols
from trax.compiler.executable import Compiled, Executable
# the LLVM engine, fusion, codegen and the kernel rules are imported by the
# first compilation that misses the disk cache: a cache hit never needs them

__all__ = ["compile_jaxpr", "Executable", "cache_stats"]

# entry name -> the Compiled holding its code while anything uses it (our
# loader's code is unmapped with the last Compiled, see elfload.Memory)
_loaded = weakref.WeakValueDictionary()
_llvm_loaded = {}   # entry name -> addresses of code LLVM loaded (kept for the process)
_lock = threading.RLock()       # one thread loads a given entry; the others reuse it
# LLVM's loop strength reduction searches longer the more loops a module has
# (11 of the MLP gradient's 35 ms of machine-code generation, 31 loops) and
# buys little in such modules, whose loops are mostly short row kernels: a
# module with more loops than this is emitted without it (MLP gradient: code
# generation ~33 -> ~24 ms; its run time, and softmax's and layer norm's at
# 6-10 loops, not slower; the hessian at n=100, 6 loops, ran 16% slower without)
LSR_MAX_LOOPS = 16


def emit_options(n_loops, calls_library, vectorized):
    """engine.emit_object's choices for a module of ``n_loops`` loops. One
    that calls the math library (small arrays, many transcendentals: its
    loops are mostly calls) is emitted without loop strength reduction and
    the machine scheduler: the 200-op chain's machine code took ~1.5 ms less
    (of ~11), and it, a 40000-element chain and a fused sum of 15
    transcendentals over [200, 250] ran no slower (within noise). One whose
    loops trax ``vectorized`` itself gets the short pipeline, not O3."""
    return {"o3": not vectorized,
            "strength_reduce": n_loops <= LSR_MAX_LOOPS and not calls_library,
            "schedule": not calls_library}


def cache_stats():
    """Counters of the compiled-code caches (a copy)."""
    return dict(cache.stats)


def _jaxpr_key(jaxpr):
    lits = [a.aval.dtype.str for e in jaxpr.eqns for a in e.invars if isinstance(a, Literal)]
    lits += [a.aval.dtype.str for a in jaxpr.outvars if isinstance(a, Literal)]
    return f"{jaxpr}\n{','.join(lits)}"


def compile_jaxpr(closed_jaxpr):
    """Compile a ClosedJaxpr to an :class:`Executable`."""
    opt = passes.simplify(closed_jaxpr)
    key = _jaxpr_key(opt.jaxpr)
    compiled = cache.memory_get(key)
    if compiled is None:
        compiled = cache.memory_put(key, _compile(opt.jaxpr, key))
    return Executable(compiled, closed_jaxpr.in_avals, opt.consts, closed_jaxpr.out_avals)


def _compiler_fingerprint():
    """A hash of the compiler's own sources: generated code changes with them,
    so disk entries of an older compiler are never reused."""
    parts = []
    here = os.path.dirname(os.path.abspath(__file__))
    for fname in sorted(os.listdir(here)):
        if fname.endswith(".py"):
            with open(os.path.join(here, fname), "rb") as f:
                parts.append(fname.encode() + f.read())
    return cache.digest(b"".join(parts)).hex()[:16]


_FINGERPRINT = _compiler_fingerprint()


def _compile(jaxpr, jaxpr_text):
    """Native code for an optimized jaxpr. The disk cache is keyed on the
    jaxpr's text (with the target and the compiler's fingerprint), so a hit
    skips code generation and LLVM entirely."""
    start = time.perf_counter()
    # probing (and registering) the BLAS loads OpenBLAS: only for jaxprs with products
    has_blas = {dt: blas.gemm(dt) is not None for dt in _product_dtypes(jaxpr)}
    dkey = cache.disk_key(f"{_FINGERPRINT} blas={has_blas}\n{jaxpr_text}",
                          host.signature())
    name = f"trax_{dkey[:32]}"
    names = [name, name + "_py", name + "_ws"]

    def source():
        from trax.compiler import fusion, kernels, loops
        from trax.compiler.codegen import ENTRY, Codegen
        plan = fusion.plan(jaxpr)
        cg = Codegen(jaxpr)
        ir_text = cg.generate(plan, kernels)
        ir_text = ir_text.replace(f'@"{ENTRY}"', f'@"{name}"').replace(
            f'@"{ENTRY}_py"', f'@"{name}_py"').replace(f'@"{ENTRY}_ws"', f'@"{name}_ws"')
        return (ir_text, fusion.kernel_summary(jaxpr, plan), loops.emitted(cg.module),
                cg.calls_library, cg.vectorized)

    with _lock:
        compiled = _loaded.get(name)
        if compiled is None:
            memory = None
            addresses = _llvm_loaded.get(name)
            if addresses is None:
                addresses, memory = _load(dkey, source, names)
                if memory is None:
                    _llvm_loaded[name] = addresses
            n_args = len(jaxpr.invars) + len(jaxpr.constvars) + len(jaxpr.outvars)
            compiled = _loaded[name] = Compiled(
                addresses[name], addresses[name + "_py"], addresses[name + "_ws"],
                name, source, jaxpr_text, n_args, memory)
    cache.count("compile_seconds", time.perf_counter() - start)
    return compiled


def _product_dtypes(jaxpr):
    return sorted({str(e.outvars[0].aval.dtype) for e in jaxpr.eqns
                   if e.primitive.name == "dot_general"})


def _load(dkey, source, names):
    """Native code from the disk cache, else generated, compiled and stored;
    placed by our own loader where it can, else by LLVM (see
    elfload.load_or_llvm: returns the addresses and the Memory holding the
    code). The math library's pieces the code calls are loaded first (see
    mathlib)."""
    from_disk = cache.disk_get(dkey)
    if from_disk is not None:
        try:
            mathlib.load_for(from_disk)
            return elfload.load_or_llvm(from_disk, names, symbols.table)
        except Exception:             # unloadable despite its checksum: recompile
            cache.count("disk_errors")
    from trax.compiler import engine
    cache.count("misses")
    ir_text, _, *facts = source()
    obj = engine.emit_object(ir_text, **emit_options(*facts))
    cache.disk_put(dkey, obj)
    mathlib.load_for(obj)
    return elfload.load_or_llvm(obj, names, symbols.table)
