"""Linear algebra primitives: dot_general (and the dot convenience).

``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``
as in JAX; the result's axes are the batch axes (in ``lhs_batch`` order),
then the free axes of lhs, then the free axes of rhs (each in axis order).
"""
import numpy as np

from trax import dtypes
from trax.core import ShapedArray, get_aval
from trax.errors import type_error
from trax.interpreters.ad import defjvp
from trax.lax.elementwise import convert_element_type
from trax.lax.helpers import (aval_of, batched_axes, check_axes, check_kinds,
                              check_same_dtypes, standard_primitive)
from trax.lax.shape_ops import transpose


def _free_axes(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _as_3d(x, groups, dtype):
    """``x`` transposed to the three axis ``groups``, each merged into one axis."""
    merged = [int(np.prod([x.shape[i] for i in g], dtype=np.int64)) for g in groups]
    return np.transpose(x, sum(groups, ())).reshape(merged).astype(dtype, copy=False)


def _dot_general_impl(lhs, rhs, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    dtype = preferred_element_type or lhs.dtype
    lf, rf = _free_axes(lhs.ndim, lc, lb), _free_axes(rhs.ndim, rc, rb)
    # (batch, free, contract) @ (batch, contract, free): one BLAS-backed matmul
    out = np.matmul(_as_3d(lhs, (lb, lf, lc), dtype), _as_3d(rhs, (rb, rc, rf), dtype))
    return out.reshape([lhs.shape[i] for i in lb + lf] + [rhs.shape[i] for i in rf])


def _dot_general_abstract(lhs, rhs, dimension_numbers, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    check_kinds("dot_general", [lhs, rhs], "fiub")
    check_same_dtypes("dot_general", [lhs, rhs])
    for side, x, c, b in (("lhs", lhs, lc, lb), ("rhs", rhs, rc, rb)):
        check_axes("dot_general", x, c + b, f"{side} contracting + batch axes")
    for what, la, ra in (("contracting", lc, rc), ("batch", lb, rb)):
        lsizes = tuple(lhs.shape[i] for i in la)
        rsizes = tuple(rhs.shape[i] for i in ra)
        if len(la) != len(ra) or lsizes != rsizes:
            raise type_error(f"dot_general: {what} axes {la} of lhs {lhs.str_short()} "
                             f"(sizes {lsizes}) do not match {what} axes {ra} of rhs "
                             f"{rhs.str_short()} (sizes {rsizes})")
    shape = ([lhs.shape[i] for i in lb]
             + [lhs.shape[i] for i in _free_axes(lhs.ndim, lc, lb)]
             + [rhs.shape[i] for i in _free_axes(rhs.ndim, rc, rb)])
    dtype = preferred_element_type or lhs.dtype
    return ShapedArray(shape, dtype, lhs.weak_type and rhs.weak_type
                       and preferred_element_type is None)


dot_general_p = standard_primitive("dot_general", _dot_general_impl, _dot_general_abstract)


def _canonical_dims(dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    return ((tuple(map(int, lc)), tuple(map(int, rc))),
            (tuple(map(int, lb)), tuple(map(int, rb))))


def dot_general(lhs, rhs, dimension_numbers, preferred_element_type=None):
    """Contract ``lhs`` with ``rhs`` over the contracting axes, batched over
    the batch axes (layout: batch, lhs free, rhs free)."""
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize(preferred_element_type)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=_canonical_dims(dimension_numbers),
                              preferred_element_type=preferred_element_type)


def dot(lhs, rhs, preferred_element_type=None):
    """Vector/matrix product: contracts the last axis of ``lhs`` with the
    first axis of ``rhs`` (rank 1 or 2 operands)."""
    lhs_nd, rhs_nd = get_aval(lhs).ndim, get_aval(rhs).ndim
    if not (1 <= lhs_nd <= 2 and 1 <= rhs_nd <= 2):
        raise type_error(f"dot takes rank 1 or 2 operands, got {get_aval(lhs).str_short()} "
                         f"and {get_aval(rhs).str_short()}; use dot_general")
    return dot_general(lhs, rhs, (((lhs_nd - 1,), (0,)), ((), ())), preferred_element_type)


# ----------------------------------------------------------------------------
# differentiation

def _swap(dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    return (rc, lc), (rb, lb)


def _transpose_operand(ct, y, x_aval, dimension_numbers, x_is_lhs):
    """The cotangent of operand ``x`` of ``dot_general(x, y)`` (or of
    ``dot_general(y, x)`` when not ``x_is_lhs``): contract ``ct`` with ``y``
    over y's free axes, then permute the result into x's axis order."""
    (xc, yc), (xb, yb) = dimension_numbers if x_is_lhs else _swap(dimension_numbers)
    y_nd = get_aval(y).ndim
    nb = len(xb)
    x_free = _free_axes(x_aval.ndim, xc, xb)
    y_free = _free_axes(y_nd, yc, yb)
    # ct axes: batch, lhs free, rhs free
    ct_y_free_start = nb + len(x_free) if x_is_lhs else nb
    ct_y_free = tuple(range(ct_y_free_start, ct_y_free_start + len(y_free)))
    dims = ((ct_y_free, y_free), (tuple(range(nb)), yb))
    out = dot_general(convert_element_type(ct, x_aval.dtype), y, dims)
    # out axes: batch, x free (in order), y's remaining = y contracting sorted
    y_rest = sorted(yc)
    position = {}
    for i, a in enumerate(xb):
        position[a] = i
    for i, a in enumerate(x_free):
        position[a] = nb + i
    for a, b in zip(xc, yc):
        position[a] = nb + len(x_free) + y_rest.index(b)
    return transpose(out, tuple(position[a] for a in range(x_aval.ndim)))


def _dot_general_transpose(ct, lhs, rhs, dimension_numbers, preferred_element_type):
    from trax.interpreters.ad import is_undefined
    if is_undefined(lhs) and is_undefined(rhs):
        raise TypeError("dot_general is not linear in both operands at once")
    if is_undefined(lhs):
        return [_transpose_operand(ct, rhs, aval_of(lhs), dimension_numbers, True), None]
    return [None, _transpose_operand(ct, lhs, aval_of(rhs), dimension_numbers, False)]


defjvp(dot_general_p,
       lambda g, lhs, rhs, **params: dot_general_p.bind(g, rhs, **params),
       lambda g, lhs, rhs, **params: dot_general_p.bind(lhs, g, **params))
dot_general_p.transpose = _dot_general_transpose


# ----------------------------------------------------------------------------
# batching

def _dot_general_batch(vals, dims, axis_size, dimension_numbers, preferred_element_type):
    lhs, rhs = vals
    ld, rd = dims
    (lc, rc), (lb, rb) = dimension_numbers
    params = dict(preferred_element_type=preferred_element_type)
    if ld is not None and rd is not None:
        # the vmapped axis becomes a new leading batch axis of dot_general
        dn = ((batched_axes(lc, ld), batched_axes(rc, rd)),
              ((ld, *batched_axes(lb, ld)), (rd, *batched_axes(rb, rd))))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn, **params), 0
    if ld is not None:
        # a free axis of lhs: it lands among the lhs free axes of the output
        lc, lb = batched_axes(lc, ld), batched_axes(lb, ld)
        free = _free_axes(get_aval(lhs).ndim, lc, lb)
        dn = ((lc, rc), (lb, rb))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=dn, **params), \
            len(lb) + free.index(ld)
    rc, rb = batched_axes(rc, rd), batched_axes(rb, rd)
    free = _free_axes(get_aval(rhs).ndim, rc, rb)
    lhs_free = _free_axes(get_aval(lhs).ndim, lc, lb)
    dn = ((lc, rc), (lb, rb))
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dn, **params), \
        len(lb) + len(lhs_free) + free.index(rd)


dot_general_p.batch = _dot_general_batch
