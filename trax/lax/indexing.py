"""Integer-array indexing: gather and the scatter family.

They have numpy "gather_nd" semantics. ``indices`` is an integer array of
shape ``(..., k)`` with ``k <= operand.ndim``; its last axis holds
coordinates into the first ``k`` axes of the operand::

    gather(x, idx)[b..., r...] = x[idx[b..., 0], ..., idx[b..., k-1], r...]

so the result (and the ``updates`` of a scatter) has shape
``indices.shape[:-1] + operand.shape[k:]``.

Out of range coordinates: ``gather`` clamps each one into ``[0, n - 1]``;
the scatters drop the updates they address. Negative indices are *not*
wrapped around: trax.numpy normalizes them before calling these.
Repeated indices accumulate in scatter_add/mul/min/max; in ``scatter``
(set) one of the writes wins (the last one in row-major order).
"""
import numpy as np

from trax.core import ShapedArray, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import is_undefined
from trax.lax import elementwise as _ew
from trax.lax.helpers import check_kinds, is_float_dtype, standard_primitive
from trax.lax.reductions import reduce_and
from trax.lax.shape_ops import (aval_of, bdim_to, broadcast_in_dim,
                                broadcasted_iota, concatenate, deflinear_in, full,
                                full_like, iota, reshape, zeros_like)


# ----------------------------------------------------------------------------
# shared checks and helpers

def _check_indices(name, operand, indices):
    if indices.dtype.kind not in "iu":
        raise type_error(f"{name}: indices must be integers, got {indices.str_short()}")
    if indices.ndim == 0:
        raise type_error(f"{name}: indices {indices.str_short()} need a last axis "
                         f"holding the coordinates")
    k = indices.shape[-1]
    if k > operand.ndim:
        raise type_error(f"{name}: indices {indices.str_short()} have {k} coordinates "
                         f"but the operand {operand.str_short()} has only "
                         f"{operand.ndim} axes")
    return k


def _gather_shape(operand_shape, indices_shape):
    return tuple(indices_shape[:-1]) + tuple(operand_shape[indices_shape[-1]:])


def _np_rows(operand, indices):
    """numpy views with at least one coordinate (k == 0 indexes a new
    leading axis of size 1) and the indices flattened to rows."""
    operand, indices = np.asarray(operand), np.asarray(indices)
    if indices.shape[-1] == 0:
        operand = operand[None]
        indices = np.zeros(indices.shape[:-1] + (1,), indices.dtype)
    n = int(np.prod(indices.shape[:-1], dtype=np.int64))
    return operand, indices.reshape(n, indices.shape[-1])


def _index_bounds(indices, bounds):
    """The per-coordinate ``bounds`` broadcast to the shape of ``indices``."""
    aval = get_aval(indices)
    bounds = np.array(bounds[:aval.shape[-1]], aval.dtype)
    return broadcast_in_dim(bounds, aval.shape, (aval.ndim - 1,))


def clamp_indices(indices, shape):
    """``indices`` with each coordinate clamped into ``[0, shape[j] - 1]``."""
    upper = _index_bounds(indices, [max(n - 1, 0) for n in shape])
    return _ew.clamp(np.array(0, get_aval(indices).dtype), indices, upper)


def in_bounds(indices, shape):
    """Which rows of ``indices`` address an element of an array of ``shape``."""
    aval = get_aval(indices)
    ok = _ew.bitwise_and(_ew.ge(indices, np.array(0, aval.dtype)),
                         _ew.lt(indices, _index_bounds(indices, shape)))
    return reduce_and(ok, (aval.ndim - 1,))


def _where_rows(mask, values):
    """``values`` (rows shaped like ``mask`` plus trailing axes) with the
    rows where ``mask`` is False zeroed."""
    aval = get_aval(values)
    mask = broadcast_in_dim(mask, aval.shape, tuple(range(get_aval(mask).ndim)))
    return _ew.select_n(mask, zeros_like(values), values)


def with_batch_coordinate(indices):
    """Indices batched along axis 0 with a first coordinate that is the
    batch position, to index an operand batched along axis 0."""
    aval = get_aval(indices)
    col = broadcasted_iota(aval.dtype, aval.shape[:-1] + (1,), 0)
    return concatenate([col, indices], aval.ndim - 1)


# ----------------------------------------------------------------------------
# gather

def _gather_impl(operand, indices):
    batch_shape = np.shape(indices)[:-1]
    operand, rows = _np_rows(operand, indices)
    coords = tuple(np.clip(rows[:, j], 0, max(operand.shape[j] - 1, 0))
                   for j in range(rows.shape[1]))
    out = operand[coords]
    return out.reshape(batch_shape + out.shape[1:])


def _gather_abstract(operand, indices):
    k = _check_indices("gather", operand, indices)
    if any(n == 0 for n in operand.shape[:k]) and int(np.prod(indices.shape[:-1])):
        raise type_error(f"gather: cannot index into the empty axes of "
                         f"{operand.str_short()}")
    return ShapedArray(_gather_shape(operand.shape, indices.shape), operand.dtype,
                       operand.weak_type)


gather_p = standard_primitive("gather", _gather_impl, _gather_abstract)


def gather(operand, indices):
    """``operand[indices[..., 0], ..., indices[..., k-1]]`` (clamped; see
    the module docstring)."""
    return gather_p.bind(operand, indices)


def _gather_transpose(ct, operand, indices):
    shape = operand.aval.shape
    zeros = full(shape, 0, operand.aval.dtype)
    return [scatter_add(zeros, clamp_indices(indices, shape), ct), None]


def _gather_batch(vals, dims, axis_size):
    operand, indices = vals
    od, idim = dims
    if idim is None:
        k = get_aval(indices).shape[-1]
        return (gather(batching.moveaxis(operand, od, k), indices),
                get_aval(indices).ndim - 1)
    indices = batching.moveaxis(indices, idim, 0)
    if od is None:
        return gather(operand, indices), 0
    return gather(batching.moveaxis(operand, od, 0), with_batch_coordinate(indices)), 0


deflinear_in(gather_p, (0,), _gather_transpose)
gather_p.batch = _gather_batch


# ----------------------------------------------------------------------------
# the scatter family

def _scatter_impl(combine):
    def impl(operand, indices, updates):
        k = np.shape(indices)[-1]
        out, rows = _np_rows(np.array(operand, copy=True), indices)
        updates = np.asarray(updates).reshape(rows.shape[:1] + out.shape[rows.shape[1]:])
        ok = np.all((rows >= 0) & (rows < np.array(out.shape[:rows.shape[1]])), axis=1)
        coords = tuple(rows[ok, j] for j in range(rows.shape[1]))
        if combine is None:
            out[coords] = updates[ok]
        else:
            combine.at(out, coords, updates[ok])
        return out if k else out[0]
    return impl


def _scatter_abstract(name, kinds):
    def rule(operand, indices, updates):
        check_kinds(name, [operand], kinds)
        _check_indices(name, operand, indices)
        expected = _gather_shape(operand.shape, indices.shape)
        if updates.shape != expected or updates.dtype != operand.dtype:
            raise type_error(f"{name}: updates {updates.str_short()} must have the "
                             f"operand's dtype {operand.dtype} and shape {expected} "
                             f"(indices.shape[:-1] + operand.shape[k:]) for operand "
                             f"{operand.str_short()} and indices {indices.str_short()}")
        return operand
    return rule


def _scatter_primitive(name, combine, kinds):
    return standard_primitive(name, _scatter_impl(combine), _scatter_abstract(name, kinds))


scatter_p = _scatter_primitive("scatter", None, "fiub")
scatter_add_p = _scatter_primitive("scatter_add", np.add, "fiu")
scatter_mul_p = _scatter_primitive("scatter_mul", np.multiply, "fiu")
scatter_min_p = _scatter_primitive("scatter_min", np.minimum, "fiub")
scatter_max_p = _scatter_primitive("scatter_max", np.maximum, "fiub")


def scatter(operand, indices, updates):
    """``operand`` with ``operand[indices] = updates`` (one write wins on
    repeats; out-of-range rows dropped)."""
    return scatter_p.bind(operand, indices, updates)


def scatter_add(operand, indices, updates):
    """``operand`` with ``updates`` added at ``indices`` (repeats accumulate)."""
    return scatter_add_p.bind(operand, indices, updates)


def scatter_mul(operand, indices, updates):
    """``operand`` multiplied by ``updates`` at ``indices``."""
    return scatter_mul_p.bind(operand, indices, updates)


def scatter_min(operand, indices, updates):
    """``operand`` with the minimum of it and ``updates`` at ``indices``."""
    return scatter_min_p.bind(operand, indices, updates)


def scatter_max(operand, indices, updates):
    """``operand`` with the maximum of it and ``updates`` at ``indices``."""
    return scatter_max_p.bind(operand, indices, updates)


def _scatter_add_transpose(ct, operand, indices, updates):
    ct_updates = None
    if is_undefined(updates):
        ct_updates = _where_rows(in_bounds(indices, aval_of(operand).shape),
                                 gather(ct, indices))
    return [ct if is_undefined(operand) else None, None, ct_updates]


def _winning_rows(indices, shape):
    """Which rows of ``indices`` are the write that ``scatter`` keeps."""
    aval = get_aval(indices)
    n = int(np.prod(aval.shape[:-1], dtype=np.int64))
    ids = reshape(iota(np.int64, n), aval.shape[:-1])
    kept = scatter(full(shape[:aval.shape[-1]], -1, np.int64), indices, ids)
    return _ew.eq(gather(kept, indices), ids)


def _scatter_transpose(ct, operand, indices, updates):
    u_aval = aval_of(updates)
    ct_operand = scatter(ct, indices, full(u_aval.shape, 0, u_aval.dtype)) \
        if is_undefined(operand) else None
    ct_updates = _where_rows(_winning_rows(indices, aval_of(operand).shape),
                             gather(ct, indices)) if is_undefined(updates) else None
    return [ct_operand, None, ct_updates]


def _scatter_mul_transpose(ct, operand, indices, updates):
    if is_undefined(updates):
        raise TypeError("scatter_mul is not linear in its updates")
    return [scatter_mul(ct, indices, updates), None, None]


def _product_of_others(operand, indices, updates):
    """For each update, the product of the other updates to the same
    element (exact with zeros: the division only ever divides a product of
    nonzero updates by one of its own factors)."""
    aval = get_aval(updates)
    zeros, ones = zeros_like(updates), full(aval.shape, 1, aval.dtype)
    is_zero = _ew.eq(updates, zeros)
    safe = _ew.select_n(is_zero, updates, ones)
    nonzero_prod = gather(scatter_mul(full(get_aval(operand).shape, 1, aval.dtype),
                                      indices, safe), indices)
    zeros_here = gather(scatter_add(zeros_like(operand), indices,
                                    _ew.convert_element_type(is_zero, aval.dtype)), indices)
    if_zero = _ew.select_n(_ew.eq(zeros_here, ones), zeros, nonzero_prod)
    if_nonzero = _ew.select_n(_ew.eq(zeros_here, zeros), zeros, _ew.div(nonzero_prod, safe))
    return _ew.select_n(is_zero, if_nonzero, if_zero)


def _scatter_mul_jvp(primals, tangents):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    out = scatter_mul(operand, indices, updates)
    if not is_float_dtype(operand):
        return out, zeros_like(out)
    # d out[p] = d x[p] * prod_j u_j + x[p] * sum_j d u_j * prod_{i != j} u_i
    scale = _ew.mul(gather(operand, indices), _product_of_others(operand, indices, updates))
    t_out = _ew.add(scatter_mul(t_operand, indices, updates),
                    scatter_add(zeros_like(operand), indices, _ew.mul(t_updates, scale)))
    return out, t_out


def _scatter_extremum_jvp(prim):
    # the tangent of whichever values attain the extremum, ties split evenly
    def jvp(primals, tangents):
        operand, indices, updates = primals
        t_operand, _, t_updates = tangents
        out = prim.bind(operand, indices, updates)
        if not is_float_dtype(operand):
            return out, zeros_like(out)
        dtype = get_aval(operand).dtype
        x_wins = _ew.convert_element_type(_ew.eq(operand, out), dtype)
        u_wins = _ew.convert_element_type(_ew.eq(updates, gather(out, indices)), dtype)
        zeros = zeros_like(operand)
        count = _ew.add(x_wins, scatter_add(zeros, indices, u_wins))
        count = _ew.select_n(_ew.eq(count, zeros), count, full_like(count, 1))  # NaNs
        total = _ew.add(_ew.mul(t_operand, x_wins),
                        scatter_add(zeros, indices, _ew.mul(t_updates, u_wins)))
        return out, _ew.div(total, count)
    return jvp


def _scatter_batch(prim):
    def rule(vals, dims, axis_size):
        operand, indices, updates = vals
        od, idim, ud = dims
        if idim is None:
            i_aval = get_aval(indices)
            k, nb = i_aval.shape[-1], i_aval.ndim - 1
            return prim.bind(bdim_to(operand, od, k, axis_size), indices,
                             bdim_to(updates, ud, nb, axis_size)), k
        indices = with_batch_coordinate(batching.moveaxis(indices, idim, 0))
        return prim.bind(batching.bdim_at_front(operand, od, axis_size), indices,
                         batching.bdim_at_front(updates, ud, axis_size)), 0
    return rule


deflinear_in(scatter_add_p, (0, 2), _scatter_add_transpose)
deflinear_in(scatter_p, (0, 2), _scatter_transpose)
scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = _scatter_mul_transpose
scatter_min_p.jvp = _scatter_extremum_jvp(scatter_min_p)
scatter_max_p.jvp = _scatter_extremum_jvp(scatter_max_p)
for _p in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    _p.batch = _scatter_batch(_p)
