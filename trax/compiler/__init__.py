"""jit's backend: a jaxpr in, native code through LLVM out.

``compile_jaxpr(closed_jaxpr) -> Executable`` is the entry point; the
folders are the pipeline's stages (docs/compiler.md is their map):

    passes/    jaxpr -> simpler jaxpr (inlining, folding, identities, CSE, DCE,
               products folded into BLAS updates)
    plan/      which values fuse into which loops; row groups; the workspace
    lower/     the plan -> LLVM IR (one entry function holding every kernel)
    math/      vectorizable exp/log/sin/...; the math library built once per machine
    runtime/   LLVM engine, object loading, caches, the native call path, BLAS
    driver.py  runs the stages and the caches for one jaxpr
"""
from trax.compiler.driver import cache_stats, compile_jaxpr
from trax.compiler.runtime.executable import Executable

__all__ = ["compile_jaxpr", "Executable", "cache_stats"]
