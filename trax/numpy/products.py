"""Products of arrays: dot, matmul, vdot, inner, outer, tensordot, kron,
and the diagonal helpers trace, diagonal, diag. All contractions are one
``lax.dot_general`` (output axes: batch, then lhs free, then rhs free).
"""
import numpy as np

from trax import lax
from trax.errors import type_error
from trax.numpy import reductions, ufuncs
from trax.numpy.indexing import _Arr, getitem
from trax.numpy.manipulation import broadcast_arrays, moveaxis, stack
from trax.numpy.promotion import (aval, broadcast_shapes, broadcast_to,
                                  canonicalize_axis, operand, promote_dtypes)


def _dot_general(a, b, contract, batch=((), ())):
    return lax.dot_general(a, b, (tuple(map(tuple, contract)), tuple(map(tuple, batch))))


def _check_size(fname, a, b, ax_a, ax_b):
    na, nb = aval(a).shape[ax_a], aval(b).shape[ax_b]
    if na != nb:
        raise type_error(f"{fname}: shapes {aval(a).shape} and {aval(b).shape} are "
                         f"not aligned: axis {ax_a} (size {na}) != axis {ax_b} (size {nb})")


def dot(a, b):
    """numpy.dot: scalars multiply; otherwise contract the last axis of
    ``a`` with the second-to-last of ``b`` (the only one if 1-D)."""
    a, b = promote_dtypes(a, b)
    na, nb = aval(a).ndim, aval(b).ndim
    if na == 0 or nb == 0:
        return ufuncs.multiply(a, b)
    ax_b = 0 if nb == 1 else nb - 2
    _check_size("dot", a, b, na - 1, ax_b)
    return _dot_general(a, b, ((na - 1,), (ax_b,)))


def matmul(a, b):
    """``a @ b``: matrix products over broadcast leading (batch) axes;
    1-D operands are promoted to matrices and the added axis removed."""
    a, b = promote_dtypes(a, b)
    na, nb = aval(a).ndim, aval(b).ndim
    if na == 0 or nb == 0:
        raise type_error("matmul: operands must not be scalars (use multiply or *)")
    if na == 1:
        a = lax.reshape(a, (1,) + aval(a).shape)
    if nb == 1:
        b = lax.reshape(b, aval(b).shape + (1,))
    sa, sb = aval(a).shape, aval(b).shape
    _check_size("matmul", a, b, len(sa) - 1, len(sb) - 2)
    batch = broadcast_shapes(sa[:-2], sb[:-2], fname="matmul")
    a = broadcast_to(a, batch + sa[-2:], "matmul")
    b = broadcast_to(b, batch + sb[-2:], "matmul")
    nbatch = len(batch)
    bdims = tuple(range(nbatch))
    out = _dot_general(a, b, ((nbatch + 1,), (nbatch,)), (bdims, bdims))
    drop = ([nbatch] if na == 1 else []) + ([len(aval(out).shape) - 1] if nb == 1 else [])
    return lax.squeeze(out, drop) if drop else out


def vdot(a, b):
    """The dot product of the flattened arrays."""
    a, b = promote_dtypes(a, b)
    return dot(lax.reshape(a, (aval(a).size,)), lax.reshape(b, (aval(b).size,)))


def vecdot(x1, x2, axis=-1):
    """Dot products of vectors along ``axis`` (broadcasting the rest)."""
    x1, x2 = promote_dtypes(x1, x2)
    return reductions.sum(ufuncs.multiply(x1, x2), axis)


def inner(a, b):
    """Contract the last axes of ``a`` and ``b``."""
    a, b = promote_dtypes(a, b)
    na, nb = aval(a).ndim, aval(b).ndim
    if na == 0 or nb == 0:
        return ufuncs.multiply(a, b)
    _check_size("inner", a, b, na - 1, nb - 1)
    return _dot_general(a, b, ((na - 1,), (nb - 1,)))


def outer(a, b):
    """``a.ravel()[:, None] * b.ravel()[None, :]``."""
    a, b = promote_dtypes(a, b)
    a = lax.reshape(a, (aval(a).size, 1))
    b = lax.reshape(b, (1, aval(b).size))
    return ufuncs.multiply(a, b)


def tensordot(a, b, axes=2):
    """Contract ``axes`` (an int: last n of a with first n of b; or a pair
    of axis lists)."""
    a, b = promote_dtypes(a, b)
    na, nb = aval(a).ndim, aval(b).ndim
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n > min(na, nb) or n < 0:
            raise type_error(f"tensordot: cannot contract {n} axes of arrays of rank "
                             f"{na} and {nb}")
        ax_a, ax_b = list(range(na - n, na)), list(range(n))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
        if len(ax_a) != len(ax_b):
            raise type_error(f"tensordot: axes {axes} pair up different numbers of axes")
        ax_a = [canonicalize_axis(x, na, "tensordot") for x in ax_a]
        ax_b = [canonicalize_axis(x, nb, "tensordot") for x in ax_b]
    for i, j in zip(ax_a, ax_b):
        _check_size("tensordot", a, b, i, j)
    return _dot_general(a, b, (ax_a, ax_b))


def kron(a, b):
    """The Kronecker product."""
    a, b = promote_dtypes(a, b)
    nd = max(aval(a).ndim, aval(b).ndim)
    a = lax.reshape(a, (1,) * (nd - aval(a).ndim) + aval(a).shape)
    b = lax.reshape(b, (1,) * (nd - aval(b).ndim) + aval(b).shape)
    sa, sb = aval(a).shape, aval(b).shape
    # interleave: a's axis i at 2i, b's axis i at 2i + 1, then merge pairs
    a = lax.reshape(a, [x for d in sa for x in (d, 1)])
    b = lax.reshape(b, [x for d in sb for x in (1, d)])
    return lax.reshape(ufuncs.multiply(a, b), [x * y for x, y in zip(sa, sb)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors (or 2-vectors, giving the z part)
    along the given axes."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote_dtypes(a, b)
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    na, nb = aval(a).shape[-1], aval(b).shape[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise type_error(f"cross: vectors must have 2 or 3 components, got {na} and {nb}")
    ax = [getitem(a, (Ellipsis, i)) if i < na else 0 for i in range(3)]
    bx = [getitem(b, (Ellipsis, i)) if i < nb else 0 for i in range(3)]
    mul, sub = ufuncs.multiply, ufuncs.subtract
    z = sub(mul(ax[0], bx[1]), mul(ax[1], bx[0]))
    if na == nb == 2:
        return z
    x = sub(mul(ax[1], bx[2]), mul(ax[2], bx[1]))
    y = sub(mul(ax[2], bx[0]), mul(ax[0], bx[2]))
    return moveaxis(stack(broadcast_arrays(x, y, z), -1), -1, axisc)


# ----------------------------------------------------------------------------
# diagonals

def diagonal(a, offset=0, axis1=0, axis2=1):
    """The ``offset`` diagonal of the (axis1, axis2) planes, as a last axis."""
    nd = aval(a).ndim
    if nd < 2:
        raise type_error(f"diagonal needs an array of rank >= 2, got rank {nd}")
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = aval(a).shape[-2:]
    rows = np.arange(max(0, min(n, m - offset) if offset >= 0 else min(n + offset, m)))
    rows = rows + max(-offset, 0)
    cols = rows + offset
    return getitem(a, (Ellipsis, _Arr(rows), _Arr(cols)))


def trace(a, offset=0, axis1=0, axis2=1):
    """The sum along a diagonal."""
    return reductions.sum(diagonal(a, offset, axis1, axis2), -1)


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-D ``v``, or a 2-D array with the 1-D
    ``v`` on its ``k``-th diagonal."""
    v = operand(v)
    nd = aval(v).ndim
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise type_error(f"diag needs a 1-D or 2-D array, got rank {nd}")
    size = aval(v).size + abs(k)
    zero = np.zeros((), aval(v).dtype)
    # out[r, r + k] = v[r] for k >= 0 and out[c - k, c] = v[c] for k < 0
    padded = lax.pad(v, zero, [(0, abs(k), 0)])
    vec = lax.reshape(padded, (size, 1) if k >= 0 else (1, size))
    return ufuncs.where(np.eye(size, size, k, dtype=bool), vec, zero)
