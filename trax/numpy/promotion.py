"""Operands, dtype promotion and numpy broadcasting for trax.numpy.

Every trax.numpy function funnels its array arguments through these helpers:
they accept tracers, numpy arrays, numpy scalars, Python scalars and (nested)
lists, promote dtypes with ``trax.dtypes.result_type`` (weak Python scalars
adapt to the arrays they meet) and broadcast with explicit
``broadcast_in_dim`` so that the lax primitives see equal shapes.
"""
import numpy as np

from trax import dtypes, lax
from trax.core import Tracer, get_aval, to_array
from trax.errors import type_error


def operand(x):
    """``x`` as something lax accepts: tracers and Python scalars (weakly
    typed) pass through, everything else becomes a trax Array."""
    if isinstance(x, Tracer) or (isinstance(x, (bool, int, float))
                                 and not isinstance(x, np.generic)):
        return x
    return to_array(x)


def aval(x):
    """The abstract value (shape, dtype, weak type) of an operand."""
    return get_aval(operand(x))


def shape(x):
    """The shape of an operand."""
    return aval(x).shape


def ndim(x):
    """The rank of an operand."""
    return aval(x).ndim


def size(x):
    """The number of elements of an operand."""
    return aval(x).size


def result_type(*args):
    """The dtype numpy (NEP 50, weak Python scalars) gives ``args``."""
    return dtypes.result_type(*map(aval, args))[0]


def inexact_dtype(dtype, weak=False):
    """The floating dtype numpy's float ufuncs return for ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return dtype
    return dtypes.float64 if weak else np.result_type(dtype, np.float16)


def convert(x, dtype, weak_type=False):
    """Cast one operand; concrete values are converted right away (no
    equation in a trace), tracers with ``convert_element_type``."""
    x = operand(x)
    dtype = dtypes.canonicalize(dtype)
    if isinstance(x, Tracer):
        return lax.convert_element_type(x, dtype, weak_type)
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        if weak_type:
            y = _PYTHON_TYPE[dtype.kind](x)
            if get_aval(y).dtype == dtype:
                return y            # still a weakly typed Python scalar
        if not isinstance(x, float):
            return to_array(np.array(x, dtype))
        x = to_array(np.array(x))
    if x.dtype == dtype:
        return x
    if x.dtype.kind == "f" and dtype.kind in "iu":     # saturating, nan to 0, as jit
        return to_array(lax.convert_element_type(x, dtype))
    return to_array(x.astype(dtype))


_PYTHON_TYPE = {"b": bool, "i": int, "u": int, "f": float, "c": complex}


def promote_dtypes(*args):
    """Cast all operands to their common (promoted) dtype."""
    return _promote(args, inexact=False)


def promote_dtypes_inexact(*args):
    """Like promote_dtypes, then to floating point (ints go to float64)."""
    return _promote(args, inexact=True)


def _promote(args, inexact, avals=None):
    if avals is None:
        args = [operand(a) for a in args]
        avals = [get_aval(a) for a in args]
    dtype, weak = dtypes.result_type(*avals)
    if inexact:
        dtype = inexact_dtype(dtype, weak)
    return [a if _has_type(a, av, dtype, weak) else convert(a, dtype, weak)
            for a, av in zip(args, avals)]


def _has_type(x, aval, dtype, weak):
    """Would ``convert(x, dtype, weak)`` return ``x`` itself?"""
    if isinstance(x, Tracer):
        return aval.dtype == dtype and aval.weak_type == weak
    return isinstance(x, np.ndarray) and x.dtype == dtype


def broadcast_shapes(*shapes, fname="broadcast_shapes"):
    """The numpy broadcast of ``shapes``; the error names ``fname``."""
    nd = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(nd):
        sizes = {s[i - nd + len(s)] for s in shapes if i - nd + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise type_error(f"{fname}: shapes {', '.join(str(tuple(s)) for s in shapes)} "
                             f"cannot be broadcast together (axis {i - nd} has sizes "
                             f"{sorted(sizes)})")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_to(x, shape, fname="broadcast_to"):
    """Broadcast ``x`` to ``shape`` by numpy's rules (trailing axes align)."""
    x = operand(x)
    shape = tuple(int(d) for d in shape)
    xs = get_aval(x).shape
    if len(xs) > len(shape) or broadcast_shapes(xs, shape, fname=fname) != shape:
        raise type_error(f"{fname}: cannot broadcast an array of shape {xs} "
                         f"to shape {shape}")
    if xs == shape:
        return x
    return lax.broadcast_in_dim(x, shape, tuple(range(len(shape) - len(xs), len(shape))))


def broadcast_args(fname, *args):
    """Broadcast operands to their common shape; rank-0 ones stay rank-0
    since lax's elementwise primitives broadcast those themselves."""
    args = [operand(a) for a in args]
    return _broadcast(fname, args, [get_aval(a).shape for a in args])


def _broadcast(fname, args, shapes):
    if all(s == shapes[0] for s in shapes):
        return args
    out_shape = broadcast_shapes(*shapes, fname=fname)
    return [a if s in ((), out_shape) else broadcast_to(a, out_shape, fname)
            for a, s in zip(args, shapes)]


def promote_args(fname, *args):
    """Promote dtypes and broadcast shapes: ready for an n-ary primitive."""
    return _promote_and_broadcast(fname, args, inexact=False)


def promote_args_inexact(fname, *args):
    """promote_args, then to floating point."""
    return _promote_and_broadcast(fname, args, inexact=True)


def _promote_and_broadcast(fname, args, inexact):
    # promote_dtypes then broadcast_args, looking at each operand once
    args = [operand(a) for a in args]
    avals = [get_aval(a) for a in args]
    return _broadcast(fname, _promote(args, inexact, avals), [a.shape for a in avals])


def canonicalize_axis(axis, nd, fname="axis"):
    """A possibly negative axis as an index in [0, nd)."""
    axis = int(axis)
    if not -nd <= axis < nd:
        raise type_error(f"{fname}: axis {axis} is out of bounds for an array of rank {nd}")
    return axis % nd


def canonicalize_axes(axis, nd, fname="axis"):
    """``None`` (all axes), an int or a tuple of ints as a sorted tuple."""
    if axis is None:
        return tuple(range(nd))
    if isinstance(axis, (list, tuple)):
        axes = tuple(canonicalize_axis(a, nd, fname) for a in axis)
    else:
        axes = (canonicalize_axis(axis, nd, fname),)
    if len(set(axes)) != len(axes):
        raise type_error(f"{fname}: repeated axis in {axis}")
    return tuple(sorted(axes))
