"""Helpers that make a primitive's declaration a short stanza."""
import numpy as np

from trax import core, dtypes
from trax.core import ShapedArray, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import is_undefined

_KIND_NAMES = {"f": "floating", "i": "signed integer", "u": "unsigned integer",
               "b": "boolean"}


def check_kinds(prim_name, avals, kinds):
    """Raise a clear error unless every aval's dtype kind is in ``kinds``."""
    for i, a in enumerate(avals):
        if a.dtype.kind not in kinds:
            allowed = ", ".join(_KIND_NAMES[k] for k in kinds)
            raise type_error(f"{prim_name} does not accept dtype {a.dtype} "
                             f"(argument {i}); it takes {allowed} arrays")


def check_same_dtypes(prim_name, avals):
    dts = {a.dtype for a in avals}
    if len(dts) > 1:
        raise type_error(f"{prim_name} requires arguments of one dtype, got "
                         f"{', '.join(a.str_short() for a in avals)}; "
                         f"use trax.numpy (which promotes) or convert_element_type")


def broadcast_shapes_elementwise(prim_name, avals):
    """Elementwise operands have one shape, or are rank-0 (broadcast)."""
    shapes = {a.shape for a in avals if a.shape != ()}
    if len(shapes) > 1:
        raise type_error(f"{prim_name} got incompatible shapes "
                         f"{', '.join(a.str_short() for a in avals)}; lax ops "
                         f"need equal shapes or scalars (trax.numpy broadcasts)")
    return shapes.pop() if shapes else ()


def standard_primitive(name, impl, abstract_eval, multiple_results=False):
    prim = core.Primitive(name, multiple_results)
    prim.impl = impl
    prim.abstract_eval = abstract_eval
    return prim


def unary_primitive(name, np_fn, kinds="f"):
    """An elementwise unary primitive; the output has the input's dtype."""
    def abstract_eval(x):
        check_kinds(name, [x], kinds)
        return x

    prim = standard_primitive(name, lambda x: np.asarray(np_fn(x)), abstract_eval)
    prim.batch = batching.vectorized_batcher(prim)
    return prim


def binary_primitive(name, np_fn, kinds="f", out_dtype=None):
    """An elementwise n-ary primitive over operands of one dtype, each of
    the common shape or rank-0. ``out_dtype`` fixes the result dtype (e.g.
    bool for comparisons)."""
    def abstract_eval(*avals):
        check_kinds(name, avals, kinds)
        check_same_dtypes(name, avals)
        shape = broadcast_shapes_elementwise(name, avals)
        weak = all(a.weak_type for a in avals)
        if out_dtype is not None:
            return ShapedArray(shape, out_dtype, False)
        return ShapedArray(shape, avals[0].dtype, weak)

    prim = standard_primitive(name, lambda *xs: np.asarray(np_fn(*xs)), abstract_eval)
    prim.batch = batching.vectorized_batcher(prim)
    return prim


def unbroadcast(ct, aval):
    """Sum a cotangent of the broadcast shape down to ``aval``'s shape
    (elementwise ops broadcast only rank-0 operands)."""
    from trax import lax
    if get_aval(ct).shape == aval.shape:
        return ct
    return lax.reduce_sum(ct, tuple(range(get_aval(ct).ndim)))


def scalar_like(x, value):
    """A Python-scalar-like constant with the dtype of ``x`` (a literal)."""
    return np.array(value, get_aval(x).dtype)


def normalize_axis(axis, ndim, what="axis"):
    if not -ndim <= axis < max(ndim, 1):
        raise type_error(f"{what} {axis} is out of bounds for an array of rank {ndim}")
    return axis % ndim if ndim else 0


def is_float_dtype(x):
    return dtypes.is_float(get_aval(x).dtype)


# ---------------------------------------------------------------- rule helpers shared by the lax modules

def deflinear_in(prim, linear_argnums, transpose):
    """A primitive linear jointly in the arguments ``linear_argnums``; the
    others (e.g. indices) are passed through unchanged to the tangent."""
    linear_argnums = frozenset(linear_argnums)

    def jvp(primals, tangents, **params):
        args = [t if i in linear_argnums else p
                for i, (p, t) in enumerate(zip(primals, tangents))]
        return prim.bind(*primals, **params), prim.bind(*args, **params)
    prim.jvp = jvp
    prim.transpose = transpose


def batched_axes(axes, bdim):
    """Axes of an unbatched operand renumbered for the operand with a batch
    axis at ``bdim``."""
    return tuple(a + (a >= bdim) for a in axes)


def bdim_to(x, dim, pos, size):
    """``x`` with its batch axis at ``pos`` (broadcast in if not mapped)."""
    return batching.moveaxis(batching.bdim_at_front(x, dim, size), 0, pos)


def aval_of(x):
    """The aval of a value or of an UndefinedPrimal (in transpose rules)."""
    return x.aval if is_undefined(x) else get_aval(x)


def check_axes(name, x, axes, what="axes"):
    """A clear error unless ``axes`` are distinct axes of the aval ``x``."""
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        raise type_error(f"{name}: {what} {axes} are invalid for an operand "
                         f"{x.str_short()} (they must be distinct, in [0, {x.ndim}))")


# a user's gather/scatter mode -> the mode param
MODES = {"clip": "clip", "fill": "fill_or_drop", "drop": "fill_or_drop",
         "fill_or_drop": "fill_or_drop", "promise_in_bounds": "promise_in_bounds"}


def canonical_mode(mode, default):
    """The mode param (``"clip"``, ``"fill_or_drop"`` or
    ``"promise_in_bounds"``) for a user's ``mode`` (None: ``default``)."""
    if mode is None:
        return default
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"unknown gather/scatter mode {mode!r}: expected 'clip', "
                         f"'fill', 'drop', 'promise_in_bounds' or None")
    return MODES[mode]


def fill_scalar(dtype, fill_value=None):
    """``fill_value`` as a scalar of ``dtype``; None gives JAX's default
    (NaN for inexact types, the most negative signed int, the largest
    unsigned int, True for bool)."""
    dt = np.dtype(dtype)
    if fill_value is None:
        fill_value = (np.nan if dt.kind in "fc" else np.iinfo(dt).min if dt.kind == "i"
                      else np.iinfo(dt).max if dt.kind == "u" else True)
    return np.array(fill_value).astype(dt)[()]


def with_batch_coordinate(indices):
    """Indices batched along axis 0 with a first coordinate that is the
    batch position, to index an operand batched along axis 0."""
    from trax import lax
    aval = get_aval(indices)
    col = lax.broadcasted_iota(aval.dtype, aval.shape[:-1] + (1,), 0)
    return lax.concatenate([col, indices], aval.ndim - 1)
