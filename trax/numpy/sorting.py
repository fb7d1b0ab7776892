"""Sorting and order statistics: sort, argsort, median."""
from trax import dtypes, lax
from trax.numpy import ufuncs
from trax.numpy.promotion import (aval, canonicalize_axis, convert, inexact_dtype,
                                  operand)


def _along(a, axis):
    """``a`` and an axis, flattening when ``axis`` is None (numpy's rule)."""
    a = operand(a)
    if axis is None:
        return lax.reshape(a, (aval(a).size,)), 0
    return a, canonicalize_axis(axis, aval(a).ndim, "sort")


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """``a`` sorted along ``axis`` (stable; nans last)."""
    a, axis = _along(a, axis)
    out = lax.sort(a, axis)
    return lax.rev(out, (axis,)) if descending else out


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    """The indices that sort ``a`` along ``axis`` (stable; nans last)."""
    a, axis = _along(a, axis)
    if descending:
        a = ufuncs.negative(a) if aval(a).dtype.kind in "fi" else ufuncs.logical_not(a)
    iota = lax.broadcasted_iota(dtypes.int64, aval(a).shape, axis)
    return lax.sort((a, iota), axis, num_keys=1)[1]


def median(a, axis=None, keepdims=False):
    """The median along ``axis`` (mean of the middle two for even counts)."""
    from trax.numpy.reductions import mean
    a = operand(a)
    nd = aval(a).ndim
    a = convert(a, inexact_dtype(aval(a).dtype))
    s, ax = _along(a, axis)
    s = lax.sort(s, ax)
    n = aval(s).shape[ax]
    starts = [(n - 1) // 2 if i == ax else 0 for i in range(aval(s).ndim)]
    limits = [n // 2 + 1 if i == ax else d for i, d in enumerate(aval(s).shape)]
    out = mean(lax.slice(s, starts, limits), ax, keepdims=keepdims)
    return lax.reshape(out, (1,) * nd) if keepdims and axis is None else out
