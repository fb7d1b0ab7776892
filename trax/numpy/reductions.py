"""Reductions over axes (sum, mean, var, max, argmax, all, ...) and
cumulative ops, with numpy's ``axis`` (None, int, tuple, negative) and
``keepdims`` conventions and numpy's accumulator dtypes (ints sum in int64,
means of ints are float64).
"""
import builtins

import numpy as np

from trax import dtypes, lax
from trax.numpy.promotion import (aval, canonicalize_axes, canonicalize_axis,
                                  convert, inexact_dtype, operand)
from trax.numpy import ufuncs


def _keep(out, shape, axes, keepdims):
    if not keepdims:
        return out
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return lax.reshape(out, kept)


def _sum_dtype(dtype):
    """numpy accumulates bools and small ints in the platform integer."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b" or (dtype.kind == "i" and dtype.itemsize < 8):
        return dtypes.int64
    if dtype.kind == "u" and dtype.itemsize < 8:
        return np.dtype("uint64")
    return dtype


def _reduce(name, lax_fn, a, axis, keepdims, dtype=None):
    a = operand(a)
    if dtype is not None:
        a = convert(a, dtype)
    shape = aval(a).shape
    axes = canonicalize_axes(axis, len(shape), name)
    out = lax_fn(a, axes) if axes else a
    return _keep(out, shape, axes, keepdims)


def sum(a, axis=None, dtype=None, keepdims=False):
    """Sum over ``axis`` (all axes when None)."""
    dtype = _sum_dtype(aval(a).dtype) if dtype is None else dtype
    return _reduce("sum", lax.reduce_sum, a, axis, keepdims, dtype)


def prod(a, axis=None, dtype=None, keepdims=False):
    """Product over ``axis``."""
    dtype = _sum_dtype(aval(a).dtype) if dtype is None else dtype
    return _reduce("prod", lax.reduce_prod, a, axis, keepdims, dtype)


def _check_nonempty(name, a, axis):
    shape = aval(a).shape
    axes = canonicalize_axes(axis, len(shape), name)
    if builtins.any(shape[i] == 0 for i in axes):
        raise ValueError(f"{name}: zero-size reduction along axes {axes} of an "
                         f"array of shape {shape} has no identity")


def max(a, axis=None, keepdims=False):
    """Maximum over ``axis`` (nan propagates)."""
    _check_nonempty("max", a, axis)
    return _reduce("max", lax.reduce_max, a, axis, keepdims)


def min(a, axis=None, keepdims=False):
    """Minimum over ``axis`` (nan propagates)."""
    _check_nonempty("min", a, axis)
    return _reduce("min", lax.reduce_min, a, axis, keepdims)


amax, amin = max, min


def all(a, axis=None, keepdims=False):
    """Whether every element along ``axis`` is true (nonzero)."""
    return _reduce("all", lax.reduce_and, ufuncs._to_bool(a), axis, keepdims)


def any(a, axis=None, keepdims=False):
    """Whether some element along ``axis`` is true (nonzero)."""
    return _reduce("any", lax.reduce_or, ufuncs._to_bool(a), axis, keepdims)


def _count(a, axis):
    shape = aval(a).shape
    return int(np.prod([shape[i] for i in canonicalize_axes(axis, len(shape))],
                       dtype=np.int64))


def mean(a, axis=None, dtype=None, keepdims=False):
    """Arithmetic mean over ``axis`` (integers average in float64)."""
    a = operand(a)
    if dtype is None:
        dtype = aval(a).dtype if aval(a).dtype.kind == "f" else dtypes.float64
    dtype = inexact_dtype(dtype)
    total = sum(convert(a, dtype), axis, keepdims=keepdims)
    return lax.div(total, np.array(_count(a, axis), dtype))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Variance over ``axis``, dividing by ``n - ddof``."""
    a = operand(a)
    m = mean(a, axis, dtype, keepdims=True)
    centered = ufuncs.subtract(convert(a, aval(m).dtype), m)
    sq = sum(ufuncs.square(centered), axis, keepdims=keepdims)
    return lax.div(sq, np.array(_count(a, axis) - ddof, aval(sq).dtype))


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``, dividing by ``n - ddof``."""
    return lax.sqrt(var(a, axis, dtype, ddof, keepdims))


def _arg_reduce(name, lax_fn, a, axis, keepdims):
    a = operand(a)
    if axis is None:
        out = lax_fn(lax.reshape(a, (aval(a).size,)), 0, dtypes.int64)
        return lax.reshape(out, (1,) * aval(a).ndim) if keepdims else out
    shape = aval(a).shape
    axis = canonicalize_axis(axis, len(shape), name)
    _check_nonempty(name, a, axis)
    return _keep(lax_fn(a, axis, dtypes.int64), shape, (axis,), keepdims)


def argmax(a, axis=None, keepdims=False):
    """Index of the maximum along ``axis`` (of the flattened array if None)."""
    return _arg_reduce("argmax", lax.argmax, a, axis, keepdims)


def argmin(a, axis=None, keepdims=False):
    """Index of the minimum along ``axis`` (of the flattened array if None)."""
    return _arg_reduce("argmin", lax.argmin, a, axis, keepdims)


def _cumulative(name, lax_fn, a, axis, dtype):
    a = operand(a)
    if dtype is not None or lax_fn in (lax.cumsum, lax.cumprod):
        a = convert(a, _sum_dtype(aval(a).dtype) if dtype is None else dtype)
    if axis is None:
        a, axis = lax.reshape(a, (aval(a).size,)), 0
    return lax_fn(a, canonicalize_axis(axis, aval(a).ndim, name))


def cumsum(a, axis=None, dtype=None):
    """Running sum along ``axis`` (of the flattened array if None)."""
    return _cumulative("cumsum", lax.cumsum, a, axis, dtype)


def cumprod(a, axis=None, dtype=None):
    """Running product along ``axis`` (of the flattened array if None)."""
    return _cumulative("cumprod", lax.cumprod, a, axis, dtype)


def count_nonzero(a, axis=None, keepdims=False):
    """How many elements along ``axis`` are nonzero."""
    return sum(ufuncs._to_bool(a), axis, keepdims=keepdims)


def ptp(a, axis=None, keepdims=False):
    """``max - min`` along ``axis``."""
    return ufuncs.subtract(max(a, axis, keepdims), min(a, axis, keepdims))


def average(a, axis=None, weights=None):
    """Mean along ``axis``, optionally weighted (1-D weights go along axis)."""
    if weights is None:
        return mean(a, axis)
    from trax.numpy.promotion import broadcast_to, promote_dtypes_inexact
    a, weights = promote_dtypes_inexact(a, weights)
    if aval(weights).ndim == 1 and aval(a).ndim > 1:
        axis_ = canonicalize_axis(axis, aval(a).ndim, "average")
        weights = lax.reshape(weights, [aval(weights).size if i == axis_ else 1
                                        for i in range(aval(a).ndim)])
    weights = broadcast_to(weights, aval(a).shape, "average")
    return lax.div(sum(lax.mul(a, weights), axis), sum(weights, axis))


def _nan_reduction(name, reduce, fill):
    def fn(a, axis=None, keepdims=False):
        a = operand(a)
        if aval(a).dtype.kind == "f":
            a = ufuncs.where(ufuncs.isnan(a), np.array(fill, aval(a).dtype), a)
        return reduce(a, axis, keepdims=keepdims)
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{reduce.__name__} along ``axis`` ignoring nans (numpy.{name})."
    return fn


nansum = _nan_reduction("nansum", sum, 0)
nanprod = _nan_reduction("nanprod", prod, 1)
nanmax = _nan_reduction("nanmax", max, -np.inf)
nanmin = _nan_reduction("nanmin", min, np.inf)


def nanmean(a, axis=None, keepdims=False):
    """Mean along ``axis`` ignoring nans."""
    a = operand(a)
    keep = ufuncs.logical_not(ufuncs.isnan(a))
    total = nansum(convert(a, inexact_dtype(aval(a).dtype)), axis, keepdims=keepdims)
    return lax.div(total, convert(sum(keep, axis, keepdims=keepdims), aval(total).dtype))
