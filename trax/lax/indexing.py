"""Integer-array indexing: gather and the scatter family.

They have numpy "gather_nd" semantics. ``indices`` is an integer array of
shape ``(..., k)`` with ``k <= operand.ndim``; its last axis holds
coordinates into the first ``k`` axes of the operand::

    gather(x, idx)[b..., r...] = x[idx[b..., 0], ..., idx[b..., k-1], r...]

so the result (and the ``updates`` of a scatter) has shape
``indices.shape[:-1] + operand.shape[k:]``.

Out of range coordinates follow the ``mode`` param (JAX's
``GatherScatterMode``; ``canonical_mode`` reads a user's spelling):

* ``"clip"``: each coordinate is clamped into ``[0, n - 1]``;
* ``"fill_or_drop"`` (``"fill"``/``"drop"``): a gather returns
  ``fill_value`` for a row with any coordinate out of range (by default
  NaN for floats, the most negative int, the largest unsigned int, True);
  a scatter drops the row's updates;
* ``"promise_in_bounds"``: the caller promises no row is out of range; if
  one is, a gather clamps it and a scatter drops it (as JAX does in
  practice).

``gather`` defaults to promise_in_bounds and the scatters to fill_or_drop,
as in JAX. Negative indices are *not* wrapped around: trax.numpy
normalizes them before calling these.
Repeated indices accumulate in scatter_add/mul/min/max; in ``scatter``
(set) one of the writes wins (the last one in row-major order).
"""
import numpy as np

from trax.core import ShapedArray, Tracer, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import is_undefined
from trax.lax import elementwise as _ew
from trax.lax.helpers import (MODES, aval_of, bdim_to, canonical_mode, check_kinds,
                              deflinear_in, fill_scalar, is_float_dtype, standard_primitive,
                              with_batch_coordinate)
from trax.lax.shape_ops import broadcast_in_dim, full, full_like, iota, reshape, zeros_like


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


def _check_mode(name, mode):
    if mode not in MODES.values():
        raise ValueError(f"{name}: mode={mode!r} is not a mode param; use "
                         f"canonical_mode() to read a user's mode")


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


def _where_rows(mask, values):
    """``values`` (rows shaped like ``mask`` plus trailing axes) with the
    rows where ``mask`` is False zeroed."""
    aval = get_aval(values)
    mask = broadcast_in_dim(mask, aval.shape, tuple(range(get_aval(mask).ndim)))
    return _ew.select_n(mask, zeros_like(values), values)


# ----------------------------------------------------------------------------
# gather

def _rows_in_bounds(rows, shape):
    """Which rows of the 2-d numpy ``rows`` address an element of ``shape``."""
    return np.all((rows >= 0) & (rows < np.array(shape[:rows.shape[1]], np.int64)), axis=1)


def _gather_impl(operand, indices, mode, fill_value):
    batch_shape = np.shape(indices)[:-1]
    operand, rows = _np_rows(operand, indices)
    coords = tuple(np.clip(rows[:, j], 0, max(operand.shape[j] - 1, 0))
                   for j in range(rows.shape[1]))
    out = operand[coords]
    if mode == "fill_or_drop":
        out[~_rows_in_bounds(rows, operand.shape)] = fill_scalar(out.dtype, fill_value)
    return out.reshape(batch_shape + out.shape[1:])


def _gather_abstract(operand, indices, mode, fill_value):
    _check_mode("gather", mode)
    k = _check_indices("gather", operand, indices)
    if any(n == 0 for n in operand.shape[:k]) and int(np.prod(indices.shape[:-1])):
        raise type_error(f"gather: cannot index into the empty axes of "
                         f"{operand.str_short()}")
    return ShapedArray(_gather_shape(operand.shape, indices.shape), operand.dtype,
                       operand.weak_type)


gather_p = standard_primitive("gather", _gather_impl, _gather_abstract)


def gather(operand, indices, mode=None, fill_value=None):
    """``operand[indices[..., 0], ..., indices[..., k-1]]``; out-of-range
    rows follow ``mode`` (default promise_in_bounds), ``fill_value`` (a
    concrete scalar) is used by mode 'fill' (see the module docstring)."""
    mode = canonical_mode(mode, "promise_in_bounds")
    if mode != "fill_or_drop":
        fill_value = None
    elif fill_value is not None:
        if isinstance(fill_value, Tracer) or np.ndim(fill_value) != 0:
            raise type_error(f"gather: fill_value must be a concrete scalar, got "
                             f"{fill_value!r}")
        fill_value = np.asarray(fill_value).item()
    return gather_p.bind(operand, indices, mode=mode, fill_value=fill_value)


def _gather_jvp(primals, tangents, mode, fill_value):
    operand, indices = primals
    out = gather_p.bind(operand, indices, mode=mode, fill_value=fill_value)
    # the filled rows are constants: their tangent is zero
    t_fill = 0 if mode == "fill_or_drop" else None
    return out, gather_p.bind(tangents[0], indices, mode=mode, fill_value=t_fill)


def _gather_transpose(ct, operand, indices, mode, fill_value):
    # a promised gather clamps in practice: its transpose adds at the
    # clamped rows, so derivatives match the values computed
    zeros = full(operand.aval.shape, 0, operand.aval.dtype)
    scatter_mode = "fill_or_drop" if mode == "fill_or_drop" else "clip"
    return [scatter_add(zeros, indices, ct, mode=scatter_mode), None]


def _gather_batch(vals, dims, axis_size, mode, fill_value):
    operand, indices = vals
    od, idim = dims
    params = dict(mode=mode, fill_value=fill_value)
    if idim is None:
        k = get_aval(indices).shape[-1]
        return (gather_p.bind(batching.moveaxis(operand, od, k), indices, **params),
                get_aval(indices).ndim - 1)
    indices = batching.moveaxis(indices, idim, 0)
    if od is None:
        return gather_p.bind(operand, indices, **params), 0
    return gather_p.bind(batching.moveaxis(operand, od, 0), with_batch_coordinate(indices),
                         **params), 0


gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose
gather_p.batch = _gather_batch


# ----------------------------------------------------------------------------
# the scatter family

def _scatter_impl(combine):
    def impl(operand, indices, updates, mode):
        k = np.shape(indices)[-1]
        out, rows = _np_rows(np.array(operand, copy=True), indices)
        updates = np.asarray(updates).reshape(rows.shape[:1] + out.shape[rows.shape[1]:])
        if mode == "clip":
            rows = np.clip(rows, 0, np.maximum(np.array(out.shape[:rows.shape[1]]) - 1, 0))
        ok = _rows_in_bounds(rows, out.shape)
        coords = tuple(rows[ok, j] for j in range(rows.shape[1]))
        if combine is None:
            out[coords] = updates[ok]
        else:
            combine.at(out, coords, updates[ok])
        return out if k else out[0]
    return impl


def _scatter_abstract(name, kinds):
    def rule(operand, indices, updates, mode):
        _check_mode(name, mode)
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


def scatter(operand, indices, updates, mode=None):
    """``operand`` with ``operand[indices] = updates`` (one write wins on
    repeats); out-of-range rows follow ``mode`` (default: dropped)."""
    return scatter_p.bind(operand, indices, updates, mode=canonical_mode(mode, "fill_or_drop"))


def scatter_add(operand, indices, updates, mode=None):
    """``operand`` with ``updates`` added at ``indices`` (repeats
    accumulate); out-of-range rows follow ``mode`` (default: dropped)."""
    return scatter_add_p.bind(operand, indices, updates,
                              mode=canonical_mode(mode, "fill_or_drop"))


def scatter_mul(operand, indices, updates, mode=None):
    """``operand`` multiplied by ``updates`` at ``indices``; out-of-range
    rows follow ``mode`` (default: dropped)."""
    return scatter_mul_p.bind(operand, indices, updates,
                              mode=canonical_mode(mode, "fill_or_drop"))


def scatter_min(operand, indices, updates, mode=None):
    """``operand`` with the minimum of it and ``updates`` at ``indices``;
    out-of-range rows follow ``mode`` (default: dropped)."""
    return scatter_min_p.bind(operand, indices, updates,
                              mode=canonical_mode(mode, "fill_or_drop"))


def scatter_max(operand, indices, updates, mode=None):
    """``operand`` with the maximum of it and ``updates`` at ``indices``;
    out-of-range rows follow ``mode`` (default: dropped)."""
    return scatter_max_p.bind(operand, indices, updates,
                              mode=canonical_mode(mode, "fill_or_drop"))


def _gather_scattered(x, indices, mode, fill_value=0):
    """Per row of ``indices``, the element of ``x`` a scatter with ``mode``
    writes (``fill_value`` for the rows it drops)."""
    if mode == "clip":
        return gather(x, indices, mode="clip")
    return gather(x, indices, mode="fill", fill_value=fill_value)


def _scatter_add_transpose(ct, operand, indices, updates, mode):
    ct_updates = _gather_scattered(ct, indices, mode) if is_undefined(updates) else None
    return [ct if is_undefined(operand) else None, None, ct_updates]


def _winning_rows(indices, shape, mode):
    """Which rows of ``indices`` are the write that ``scatter`` keeps."""
    aval = get_aval(indices)
    n = int(np.prod(aval.shape[:-1], dtype=np.int64))
    ids = reshape(iota(np.int64, n), aval.shape[:-1])
    kept = scatter(full(shape[:aval.shape[-1]], -1, np.int64), indices, ids, mode)
    return _ew.eq(_gather_scattered(kept, indices, mode, -1), ids)


def _scatter_transpose(ct, operand, indices, updates, mode):
    u_aval = aval_of(updates)
    ct_operand = scatter(ct, indices, full(u_aval.shape, 0, u_aval.dtype), mode) \
        if is_undefined(operand) else None
    ct_updates = _where_rows(_winning_rows(indices, aval_of(operand).shape, mode),
                             _gather_scattered(ct, indices, mode)) \
        if is_undefined(updates) else None
    return [ct_operand, None, ct_updates]


def _scatter_mul_transpose(ct, operand, indices, updates, mode):
    if is_undefined(updates):
        raise TypeError("scatter_mul is not linear in its updates")
    return [scatter_mul(ct, indices, updates, mode), None, None]


def _product_of_others(operand, indices, updates, mode):
    """For each update, the product of the other updates to the same
    element (exact with zeros: the division only ever divides a product of
    nonzero updates by one of its own factors)."""
    aval = get_aval(updates)
    zeros, ones = zeros_like(updates), full(aval.shape, 1, aval.dtype)
    is_zero = _ew.eq(updates, zeros)
    safe = _ew.select_n(is_zero, updates, ones)
    nonzero_prod = _gather_scattered(
        scatter_mul(full(get_aval(operand).shape, 1, aval.dtype), indices, safe, mode),
        indices, mode)
    zeros_here = _gather_scattered(
        scatter_add(zeros_like(operand), indices,
                    _ew.convert_element_type(is_zero, aval.dtype), mode), indices, mode)
    if_zero = _ew.select_n(_ew.eq(zeros_here, ones), zeros, nonzero_prod)
    if_nonzero = _ew.select_n(_ew.eq(zeros_here, zeros), zeros, _ew.div(nonzero_prod, safe))
    return _ew.select_n(is_zero, if_nonzero, if_zero)


def _scatter_mul_jvp(primals, tangents, mode):
    operand, indices, updates = primals
    t_operand, _, t_updates = tangents
    out = scatter_mul(operand, indices, updates, mode)
    if not is_float_dtype(operand):
        return out, zeros_like(out)
    # d out[p] = d x[p] * prod_j u_j + x[p] * sum_j d u_j * prod_{i != j} u_i
    scale = _ew.mul(_gather_scattered(operand, indices, mode),
                    _product_of_others(operand, indices, updates, mode))
    t_out = _ew.add(scatter_mul(t_operand, indices, updates, mode),
                    scatter_add(zeros_like(operand), indices, _ew.mul(t_updates, scale), mode))
    return out, t_out


def _scatter_extremum_jvp(prim):
    # the tangent of whichever values attain the extremum, ties split evenly
    def jvp(primals, tangents, mode):
        operand, indices, updates = primals
        t_operand, _, t_updates = tangents
        out = prim.bind(operand, indices, updates, mode=mode)
        if not is_float_dtype(operand):
            return out, zeros_like(out)
        dtype = get_aval(operand).dtype
        x_wins = _ew.convert_element_type(_ew.eq(operand, out), dtype)
        u_wins = _ew.convert_element_type(
            _ew.eq(updates, _gather_scattered(out, indices, mode)), dtype)
        zeros = zeros_like(operand)
        count = _ew.add(x_wins, scatter_add(zeros, indices, u_wins, mode))
        count = _ew.select_n(_ew.eq(count, zeros), count, full_like(count, 1))  # NaNs
        total = _ew.add(_ew.mul(t_operand, x_wins),
                        scatter_add(zeros, indices, _ew.mul(t_updates, u_wins), mode))
        return out, _ew.div(total, count)
    return jvp


def _scatter_batch(prim):
    def rule(vals, dims, axis_size, mode):
        operand, indices, updates = vals
        od, idim, ud = dims
        if idim is None:
            i_aval = get_aval(indices)
            k, nb = i_aval.shape[-1], i_aval.ndim - 1
            return prim.bind(bdim_to(operand, od, k, axis_size), indices,
                             bdim_to(updates, ud, nb, axis_size), mode=mode), k
        indices = with_batch_coordinate(batching.moveaxis(indices, idim, 0))
        return prim.bind(batching.bdim_at_front(operand, od, axis_size), indices,
                         batching.bdim_at_front(updates, ud, axis_size), mode=mode), 0
    return rule


deflinear_in(scatter_add_p, (0, 2), _scatter_add_transpose)
deflinear_in(scatter_p, (0, 2), _scatter_transpose)
scatter_mul_p.jvp = _scatter_mul_jvp
scatter_mul_p.transpose = _scatter_mul_transpose
scatter_min_p.jvp = _scatter_extremum_jvp(scatter_min_p)
scatter_max_p.jvp = _scatter_extremum_jvp(scatter_max_p)
for _p in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p):
    _p.batch = _scatter_batch(_p)
