"""Our own vectorizer: flat elementwise modules emitted as vector code.

A module that calls the math library (see codegen's ``_OUTLINE_MATH``) and
whose every kernel is an elementwise op of :data:`LANE_SAFE` over arrays of
one shape and one float dtype (operands: such arrays, or scalar literals of
that dtype) is emitted with its loops already in vector form: each loop
steps by the library's lane count W for the dtype and works on ``<W x T>``
values, read and written at a :class:`VectorIndex`, and calls the library's
vector functions directly. When W does not divide the size, every load and
store of the loop is masked (one body, no remainder loop; masked-off lanes
compute on zeros and are never stored). Row groups (plan/rows.py) whose rows
are single elements become one vector row loop; others run kernel by kernel.

LLVM's O3 pipeline then has nothing left to do that pays for its time, so
engine runs a short one instead (see ``engine.optimize(..., o3=False)``):
for the 200-op sin/cos chain on 1000 float32, ~9 ms of O3 (~3 of them in
the loop vectorizer) against ~1 ms.
"""
import numpy as np
from llvmlite import ir

from trax.core import Literal
from trax.compiler import primitives
from trax.compiler.lower import elemental, scalar
from trax.compiler.lower.irtypes import I1, I32, I64, declare

__all__ = ["LANE_SAFE", "eligible", "VectorIndex", "mask", "splat", "load", "store"]

#: Primitives whose rules compute on vectors lane by lane as on scalars.
LANE_SAFE = primitives.names(lane_safe=True)
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def eligible(plan, outvars):
    """Can every kernel of ``plan``, and the copies to the jaxpr's outputs
    ``outvars``, be emitted in vector form?"""
    if any(v.aval.dtype not in _FLOATS for v in outvars):
        return False
    return all(_kernel_ok(root, plan) for root in plan.roots)


def _kernel_ok(root, plan):
    out = root.outvars[0].aval
    if out.dtype not in _FLOATS:
        return False
    stack, seen = [root], set()
    while stack:
        eqn = stack.pop()
        if id(eqn) in seen:
            continue
        seen.add(id(eqn))
        if not _lane_safe(eqn) or eqn.outvars[0].aval.dtype != out.dtype:
            return False
        for v in eqn.invars:
            if v.aval.dtype != out.dtype:
                return False
            if isinstance(v, Literal):
                if v.aval.shape != ():
                    return False
                continue
            if v.aval.shape != out.shape:
                return False
            producer = plan.inlined.get(v)
            if producer is not None:
                stack.append(producer)
    return True


def _lane_safe(eqn):
    name = eqn.primitive.name
    if name not in LANE_SAFE or name not in elemental.RULES or eqn.primitive.multiple_results:
        return False
    return name != "integer_pow" or eqn.params["y"] >= 1


class VectorIndex(elemental.Index):
    """``lanes`` consecutive positions of a flat array, from the linear index
    ``linear`` on; ``mask`` (an ``<lanes x i1>``, or None for all) marks the
    positions that exist."""
    __slots__ = ("lanes", "mask")

    def __init__(self, shape, linear, lanes, mask):
        super().__init__(shape, linear=linear)
        self.lanes = lanes
        self.mask = mask

    def dims(self, b):
        raise TypeError("a VectorIndex has no per-axis indices (flat kernels only)")


def splat(b, value, lanes, fold=True):
    """``value`` (a scalar IR value or constant) in every lane of a vector
    (a vector constant if ``value`` is a constant and ``fold``)."""
    vty = ir.VectorType(value.type, lanes)
    if fold and isinstance(value, ir.Constant):
        return ir.Constant(vty, [value] * lanes)
    one = b.insert_element(ir.Constant(vty, None), value, ir.Constant(I32, 0))
    return b.shuffle_vector(one, one, ir.Constant(ir.VectorType(I32, lanes), None))


def mask(b, base, lanes, size):
    """Which of the ``lanes`` positions from ``base`` on are below ``size``
    (None when ``lanes`` divides ``size``: all of them, always)."""
    if size % lanes == 0:
        return None
    vty = ir.VectorType(I64, lanes)
    at = b.add(splat(b, base, lanes), ir.Constant(vty, list(range(lanes))))
    return b.icmp_unsigned("<", at, ir.Constant(vty, [size] * lanes))


_ALIGN = {ir.FloatType: 4, ir.DoubleType: 8}      # bytes of an element


def _vector_pointer(b, ptr, lanes):
    vty = ir.VectorType(ptr.type.pointee, lanes)
    return vty, b.bitcast(ptr, vty.as_pointer())


def load(b, ptr, index):
    """The ``index.lanes`` elements from ``ptr`` on, as a vector (masked-off
    lanes are zero)."""
    vty, vptr = _vector_pointer(b, ptr, index.lanes)
    align = _ALIGN[type(vty.element)]
    if index.mask is None:
        return b.load(vptr, align=align)
    mty = ir.VectorType(I1, index.lanes)
    fn = declare(b.module, f"llvm.masked.load.{scalar.mangled(vty)}.p0",
                 ir.FunctionType(vty, [vptr.type, I32, mty, vty]))
    return b.call(fn, [vptr, ir.Constant(I32, align), index.mask,
                       ir.Constant(vty, None)])


def store(b, ptr, index, value):
    """Store the vector ``value`` at the ``index.lanes`` elements from ``ptr``
    on (only the lanes of ``index.mask``)."""
    vty, vptr = _vector_pointer(b, ptr, index.lanes)
    align = _ALIGN[type(vty.element)]
    if index.mask is None:
        b.store(value, vptr, align=align)
        return
    mty = ir.VectorType(I1, index.lanes)
    fn = declare(b.module, f"llvm.masked.store.{scalar.mangled(vty)}.p0",
                 ir.FunctionType(ir.VoidType(), [vty, vptr.type, I32, mty]))
    b.call(fn, [value, vptr, ir.Constant(I32, align), index.mask])
