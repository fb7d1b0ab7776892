"""numpy dtypes as LLVM types, and the constants of a dtype.

A value lives in a register as its *register type* (bool is ``i1``) and in
memory as its *memory type* (bool is one byte, ``i8``).
"""
import numpy as np
from llvmlite import ir

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I8P = I8.as_pointer()
VOID = ir.VoidType()

_FLOATS = {2: ir.HalfType(), 4: ir.FloatType(), 8: ir.DoubleType()}


def reg_type(dtype):
    """The LLVM type of one element of ``dtype`` in a register."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return I1
    if dt.kind == "f":
        return _FLOATS[dt.itemsize]
    if dt.kind in "iu":
        return ir.IntType(8 * dt.itemsize)
    raise NotImplementedError(f"trax.compiler: no LLVM type for dtype {dt}")


def declare(module, name, fnty):
    """The function ``name`` of ``module``, declared with type ``fnty`` if
    it is not there yet (an external function or an LLVM intrinsic)."""
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, fnty, name)
    return fn


def mem_type(dtype):
    """The LLVM type of one element of ``dtype`` in memory."""
    dt = np.dtype(dtype)
    return I8 if dt.kind == "b" else reg_type(dt)


def const(dtype, value):
    """An LLVM constant of ``dtype`` (register type) holding ``value``."""
    dt = np.dtype(dtype)
    ty = reg_type(dt)
    v = np.asarray(value).astype(dt)[()]
    if dt.kind == "f":
        return ir.Constant(ty, float(v))
    if dt.kind == "b":
        return ir.Constant(ty, int(bool(v)))
    return ir.Constant(ty, int(v))


def i64(n):
    return ir.Constant(I64, int(n))


def to_mem(b, dtype, value):
    """A register value of ``dtype`` as it is stored in memory."""
    return b.zext(value, I8) if np.dtype(dtype).kind == "b" else value


def from_mem(b, dtype, value):
    """A value loaded from memory as a register value of ``dtype``."""
    if np.dtype(dtype).kind == "b":
        return b.icmp_unsigned("!=", value, ir.Constant(I8, 0))
    return value


def is_signed(dtype):
    return np.dtype(dtype).kind == "i"


def is_float(dtype):
    return np.dtype(dtype).kind == "f"
