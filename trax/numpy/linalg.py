"""trax.numpy.linalg: norms (and the products numpy.linalg also exports).

Decompositions (svd, eig, inv, solve, ...) are not implemented, so the
matrix norms 2, -2 and 'nuc' that need singular values are unsupported.
"""
import numpy as np

from trax import lax
from trax.errors import type_error
from trax.numpy import reductions, ufuncs
from trax.numpy.products import (diagonal, matmul, outer, tensordot,  # noqa: F401
                                 trace, vecdot)
from trax.numpy.promotion import aval, canonicalize_axes, promote_dtypes_inexact
from trax.numpy.manipulation import matrix_transpose  # noqa: F401


def _vector_norm(x, ord, axis, keepdims):
    a = ufuncs.absolute(x)
    if ord is None or ord == 2:
        return lax.sqrt(reductions.sum(ufuncs.multiply(x, x), axis, keepdims=keepdims))
    if ord == np.inf:
        return reductions.max(a, axis, keepdims)
    if ord == -np.inf:
        return reductions.min(a, axis, keepdims)
    if ord == 0:
        return reductions.sum(ufuncs.not_equal(x, 0), axis, dtype=aval(x).dtype,
                              keepdims=keepdims)
    if ord == 1:
        return reductions.sum(a, axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise type_error(f"norm: ord {ord!r} is only valid for matrices")
    p = float(ord)
    total = reductions.sum(ufuncs.power(a, p), axis, keepdims=keepdims)
    return ufuncs.power(total, 1.0 / p)


def _matrix_norm(x, ord, axes, keepdims):
    r, c = axes
    if ord is None or ord == "fro":
        return lax.sqrt(reductions.sum(ufuncs.multiply(x, x), axes, keepdims=keepdims))
    if ord in (1, -1, np.inf, -np.inf):
        # 1: max over columns of column sums; inf: max over rows of row sums
        sum_axis, pick_axis = (r, c) if ord in (1, -1) else (c, r)
        sums = reductions.sum(ufuncs.absolute(x), sum_axis, keepdims=True)
        pick = reductions.max if ord in (1, np.inf) else reductions.min
        out = pick(sums, pick_axis, keepdims=True)
        return out if keepdims else lax.squeeze(out, axes)
    raise NotImplementedError(f"norm: matrix ord {ord!r} needs singular values, "
                              f"which trax does not compute")


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector norms (ord None/2, 1, inf, -inf, 0, p) over one axis and matrix
    norms ('fro'/None, 1, -1, inf, -inf) over two axes. With ``axis=None``,
    the 2-norm of the flattened array, or ``ord``'s norm of a 1-D/2-D array."""
    x, = promote_dtypes_inexact(x)
    nd = aval(x).ndim
    if axis is None:
        if ord is None:
            axes = tuple(range(nd))
            out = lax.sqrt(reductions.sum(ufuncs.multiply(x, x), axes, keepdims=keepdims))
            return out
        if nd not in (1, 2):
            raise type_error(f"norm: ord={ord!r} with axis=None needs a 1-D or 2-D "
                             f"array, got rank {nd}")
        axis = tuple(range(nd))
    axes = canonicalize_axes(axis, nd, "norm")
    if isinstance(axis, (list, tuple)) and len(axis) == 2:
        axes = tuple(a % nd for a in axis)
        return _matrix_norm(x, ord, axes, keepdims)
    if len(axes) != 1:
        raise type_error(f"norm: axis {axis!r} must name one or two axes")
    return _vector_norm(x, ord, axes[0], keepdims)
