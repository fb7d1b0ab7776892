"""Standalone elementwise loop kernels over the math functions
(trax.compiler.math.functions), for measuring their
accuracy and speed on their own (tests/test_vmath.py, benchmarks/bench_vmath.py).

``map_kernel(fname, dtype)`` compiles ``void k(T* out, T* in0[, T* in1], i64 n)``
applying ``fname`` to each element and returns it as a ctypes function.
"""
import ctypes
import itertools

import numpy as np
from llvmlite import ir

from trax.compiler.runtime import engine
from trax.compiler.math import functions, outline

_LLVM_TYPE = {np.dtype(np.float32): ir.FloatType(), np.dtype(np.float64): ir.DoubleType()}
_counter = itertools.count()


def map_kernel_ir(fname, dtype, kname, lanes=None, inline=False):
    """The LLVM IR text of the loop kernel. With ``lanes``, each element goes
    through ``outline.call`` (an outlined function with vector variants of
    those widths) instead of inline ``functions.emit``."""
    ty = _LLVM_TYPE[np.dtype(dtype)]
    i64 = ir.IntType(64)
    nargs = functions.ARITY[fname]
    mod = ir.Module(name=kname)
    fn = ir.Function(mod, ir.FunctionType(ir.VoidType(), [ir.PointerType()] * (1 + nargs)
                                          + [i64]), kname)
    for a in fn.args[:-1]:
        a.add_attribute("noalias")
    out, ins, n = fn.args[0], fn.args[1:-1], fn.args[-1]
    entry, loop, done = (fn.append_basic_block(s) for s in ("entry", "loop", "done"))
    b = ir.IRBuilder(entry)
    b.cbranch(b.icmp_signed(">", n, ir.Constant(i64, 0)), loop, done)
    b.position_at_end(loop)
    i = b.phi(i64)
    i.add_incoming(ir.Constant(i64, 0), entry)
    vals = [b.load(b.gep(p, [i], inbounds=True, source_etype=ty), typ=ty) for p in ins]
    used = []
    r = functions.emit(b, fname, vals) if lanes is None else \
        outline.call(b, fname, vals, used, lanes, inline)
    b.store(r, b.gep(out, [i], inbounds=True, source_etype=ty))
    i2 = b.add(i, ir.Constant(i64, 1))
    i.add_incoming(i2, loop)
    b.cbranch(b.icmp_signed("<", i2, n), loop, done)
    b.position_at_end(done)
    b.ret_void()
    if lanes is not None:
        outline.finish(mod, used)
    return str(mod)


def map_kernel(fname, dtype, lanes=None, inline=False):
    """``(kernel, ir_text)``: the compiled loop kernel, called as
    ``kernel(out_ptr, *in_ptrs, n)`` with raw data pointers."""
    kname = f"vm_{fname}_{np.dtype(dtype).name}_{next(_counter)}"
    text = map_kernel_ir(fname, dtype, kname, lanes, inline)
    addr = engine.compile_ir(text, [kname])[kname]
    nargs = functions.ARITY[fname]
    proto = ctypes.CFUNCTYPE(None, *([ctypes.c_void_p] * (1 + nargs)), ctypes.c_int64)
    return proto(addr), text
