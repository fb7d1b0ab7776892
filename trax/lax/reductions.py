"""Reductions (sum, max, min, prod, and, or), arg reductions and
cumulative ops."""
import numpy as np

from trax import dtypes
from trax.core import ShapedArray, get_aval
from trax.errors import type_error
from trax.interpreters import ad
from trax.interpreters.ad import deflinear, defzero
from trax.lax import elementwise as _ew
from trax.lax.helpers import (check_axes, check_kinds, is_float_dtype, normalize_axis,
                              standard_primitive)
from trax.lax.shape_ops import (broadcast_in_dim, concatenate, expand_dims,
                                pad, reshape, rev, slice, transpose, zeros_like)


def _reduced_shape(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_abstract(name, kinds="fiub"):
    def rule(x, axes):
        check_kinds(name, [x], kinds)
        check_axes(name, x, axes)
        return ShapedArray(_reduced_shape(x.shape, axes), x.dtype, x.weak_type)
    return rule


def _reducer_batch(prim):
    def rule(vals, dims, axis_size, axes):
        x, d = vals[0], dims[0]
        # axes refer to the unbatched operand: shift those at or past d
        new_axes = tuple(a + (a >= d) for a in axes)
        out_dim = d - sum(a < d for a in axes)
        return prim.bind(x, axes=new_axes), out_dim
    return rule


reduce_sum_p = standard_primitive(
    "reduce_sum", lambda x, axes: np.sum(x, axis=axes, dtype=np.asarray(x).dtype),
    _reduce_abstract("reduce_sum"))


def reduce_sum(x, axes):
    """Sum ``x`` over ``axes`` (a tuple of axis indices)."""
    axes = tuple(sorted(int(a) for a in axes))
    if not axes:
        return x
    return reduce_sum_p.bind(x, axes=axes)


def _reduce_sum_transpose(ct, x, axes):
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


deflinear(reduce_sum_p, _reduce_sum_transpose)
reduce_sum_p.batch = _reducer_batch(reduce_sum_p)


# ----------------------------------------------------------------------------
# max, min, prod, and, or

def _max_identity(dtype):
    return (-np.inf if dtype.kind == "f" else False if dtype.kind == "b"
            else np.iinfo(dtype).min)


def _min_identity(dtype):
    return (np.inf if dtype.kind == "f" else True if dtype.kind == "b"
            else np.iinfo(dtype).max)


def _ufunc_reduce_impl(ufunc, identity):
    def impl(x, axes):
        x = np.asarray(x)
        return np.asarray(ufunc.reduce(x, axis=axes, dtype=x.dtype,
                                       initial=identity(x.dtype)), x.dtype)
    return impl


def _bitwise_reduce_impl(bool_ufunc, int_ufunc, identity):
    def impl(x, axes):
        x = np.asarray(x)
        ufunc = bool_ufunc if x.dtype == np.bool_ else int_ufunc
        return np.asarray(ufunc.reduce(x, axis=axes, initial=identity(x.dtype)), x.dtype)
    return impl


def _reducer(name, impl, kinds):
    prim = standard_primitive(name, impl, _reduce_abstract(name, kinds))
    prim.batch = _reducer_batch(prim)
    return prim


def _reduce_max_impl(x, axes):
    """np.max, except that +0 is above -0 (as in JAX and the compiled code)."""
    out = _ufunc_reduce_impl(np.maximum, _max_identity)(x, axes)
    if out.dtype.kind != "f":
        return out
    # a sum of zeros (all else taken as -0) is -0 only when every zero is -0
    zeros = np.add.reduce(np.where(x == 0, x, -0.0), axis=axes, dtype=out.dtype, initial=-0.0)
    return np.asarray(np.where(out == 0, zeros, out), out.dtype)


def _reduce_min_impl(x, axes):
    """np.min, except that -0 is below +0 (as in JAX and the compiled code)."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        return _ufunc_reduce_impl(np.minimum, _min_identity)(x, axes)
    return np.asarray(-_reduce_max_impl(-x, axes), x.dtype)


reduce_max_p = _reducer("reduce_max", _reduce_max_impl, "fiub")
reduce_min_p = _reducer("reduce_min", _reduce_min_impl, "fiub")
reduce_prod_p = _reducer("reduce_prod", _ufunc_reduce_impl(np.multiply, lambda d: 1), "fiu")
reduce_and_p = _reducer("reduce_and", _bitwise_reduce_impl(
    np.logical_and, np.bitwise_and, lambda d: ~np.zeros((), d)), "iub")
reduce_or_p = _reducer("reduce_or", _bitwise_reduce_impl(
    np.logical_or, np.bitwise_or, lambda d: np.zeros((), d)), "iub")


def _reduce_fn(prim, doc):
    def reduce(x, axes):
        axes = tuple(sorted(int(a) for a in axes))
        if not axes:
            return x
        return prim.bind(x, axes=axes)
    reduce.__name__ = prim.name
    reduce.__doc__ = doc
    return reduce


reduce_max = _reduce_fn(reduce_max_p, "The maximum of ``x`` over ``axes`` (NaN propagates).")
reduce_min = _reduce_fn(reduce_min_p, "The minimum of ``x`` over ``axes`` (NaN propagates).")
reduce_prod = _reduce_fn(reduce_prod_p, "The product of ``x`` over ``axes``.")
reduce_and = _reduce_fn(reduce_and_p, "Logical (bool) or bitwise (int) and over ``axes``.")
reduce_or = _reduce_fn(reduce_or_p, "Logical (bool) or bitwise (int) or over ``axes``.")


def _kept_axes(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


def _reduce_extremum_jvp(prim):
    # the tangent at the location(s) of the extremum, ties weighted equally
    def jvp(primals, tangents, axes):
        x, = primals
        t, = tangents
        out = prim.bind(x, axes=axes)
        if not is_float_dtype(x):
            return out, zeros_like(out)
        aval = get_aval(x)
        at = broadcast_in_dim(out, aval.shape, _kept_axes(aval.ndim, axes))
        at = _ew.convert_element_type(_ew.eq(x, at), aval.dtype)
        return out, _ew.div(reduce_sum(_ew.mul(t, at), axes), reduce_sum(at, axes))
    return jvp


def _axes_to_last(x, axes):
    """``x`` with ``axes`` moved to the end and merged into one axis."""
    aval = get_aval(x)
    kept = _kept_axes(aval.ndim, axes)
    n = int(np.prod([aval.shape[a] for a in axes], dtype=np.int64))
    return reshape(transpose(x, kept + tuple(axes)),
                   tuple(aval.shape[i] for i in kept) + (n,))


def _shift_along(x, axis, lo, hi, fill):
    """Shift ``x`` along ``axis`` by padding ``lo``/``hi`` (one positive,
    one negative) with ``fill``."""
    config = [(0, 0, 0)] * get_aval(x).ndim
    config[axis] = (lo, hi, 0)
    return pad(x, fill, config)


def _reduce_prod_jvp(primals, tangents, axes):
    # d prod = sum_i t_i * prod_{j != i} x_j, where the product of the others
    # is (exclusive cumprod from the left) * (exclusive cumprod from the right):
    # exact even when some x_j are zero
    x, = primals
    t, = tangents
    out = reduce_prod(x, axes)
    if not is_float_dtype(x):
        return out, zeros_like(out)
    xs, ts = _axes_to_last(x, axes), _axes_to_last(t, axes)
    last = get_aval(xs).ndim - 1
    before = _shift_along(cumprod(xs, last), last, 1, -1, 1)
    after = _shift_along(cumprod(xs, last, reverse=True), last, -1, 1, 1)
    return out, reduce_sum(_ew.mul(ts, _ew.mul(before, after)), (last,))


reduce_max_p.jvp = _reduce_extremum_jvp(reduce_max_p)
reduce_min_p.jvp = _reduce_extremum_jvp(reduce_min_p)
reduce_prod_p.jvp = _reduce_prod_jvp
defzero(reduce_and_p)
defzero(reduce_or_p)


# ----------------------------------------------------------------------------
# argmax, argmin

def _arg_reduce_abstract(name):
    def rule(x, axis, index_dtype):
        check_kinds(name, [x], "fiub")
        if not 0 <= axis < x.ndim:
            raise type_error(f"{name}: axis {axis} is out of range for {x.str_short()}")
        if x.shape[axis] == 0:
            raise type_error(f"{name}: axis {axis} of {x.str_short()} is empty")
        if np.dtype(index_dtype).kind not in "iu":
            raise type_error(f"{name}: index_dtype must be an integer dtype, "
                             f"got {np.dtype(index_dtype)}")
        return ShapedArray(_reduced_shape(x.shape, (axis,)), index_dtype)
    return rule


def _arg_reduce_batch(prim):
    def rule(vals, dims, axis_size, axis, index_dtype):
        d = dims[0]
        return (prim.bind(vals[0], axis=axis + (axis >= d), index_dtype=index_dtype),
                d - (axis < d))
    return rule


def _arg_reducer(name, np_fn):
    # numpy's argmax/argmin pick the first extremum, and the first NaN if any
    prim = standard_primitive(
        name, lambda x, axis, index_dtype: np.asarray(np_fn(x, axis=axis), index_dtype),
        _arg_reduce_abstract(name))
    defzero(prim)
    prim.batch = _arg_reduce_batch(prim)
    return prim


argmax_p = _arg_reducer("argmax", np.argmax)
argmin_p = _arg_reducer("argmin", np.argmin)


def argmax(operand, axis, index_dtype):
    """Index of the first maximum along ``axis`` (the first NaN wins)."""
    axis = normalize_axis(int(axis), get_aval(operand).ndim)
    return argmax_p.bind(operand, axis=axis, index_dtype=dtypes.canonicalize(index_dtype))


def argmin(operand, axis, index_dtype):
    """Index of the first minimum along ``axis`` (the first NaN wins)."""
    axis = normalize_axis(int(axis), get_aval(operand).ndim)
    return argmin_p.bind(operand, axis=axis, index_dtype=dtypes.canonicalize(index_dtype))


# ----------------------------------------------------------------------------
# associative_scan and the cumulative reductions

def _slice_along(x, axis, start, stop, stride=1):
    aval = get_aval(x)
    starts, limits, strides = [0] * aval.ndim, list(aval.shape), [1] * aval.ndim
    starts[axis], limits[axis], strides[axis] = start, stop, stride
    return slice(x, starts, limits, strides)


def _interleave(even, odd, axis):
    """``[even[0], odd[0], even[1], ...]`` along ``axis``; ``even`` may be
    one longer than ``odd``."""
    n_even, n_odd = get_aval(even).shape[axis], get_aval(odd).shape[axis]
    odd = _shift_along(odd, axis, 0, n_even - n_odd, 0)
    pairs = concatenate([expand_dims(even, (axis + 1,)), expand_dims(odd, (axis + 1,))],
                        axis + 1)
    shape = list(get_aval(even).shape)
    shape[axis] *= 2
    return _slice_along(reshape(pairs, shape), axis, 0, n_even + n_odd)


def _prefix_scan(fn, x, axis):
    n = get_aval(x).shape[axis]
    if n < 2:
        return x
    # combine neighbours, scan those pairs (the odd positions), then fill
    # in the even positions
    odd = _prefix_scan(fn, fn(_slice_along(x, axis, 0, n - 1, 2),
                              _slice_along(x, axis, 1, n, 2)), axis)
    even = _slice_along(x, axis, 0, 1)
    if n > 2:
        tail = fn(_slice_along(odd, axis, 0, (n - 1) // 2), _slice_along(x, axis, 2, n, 2))
        even = concatenate([even, tail], axis)
    return _interleave(even, odd, axis)


def associative_scan(fn, elems, reverse=False, axis=0):
    """Inclusive scan of one array ``elems`` along ``axis`` with an
    associative binary ``fn`` of lax ops, in O(log n) parallel steps (so it
    differentiates and batches like the ops it uses)."""
    axis = normalize_axis(axis, get_aval(elems).ndim)
    if reverse:
        return rev(_prefix_scan(fn, rev(elems, (axis,)), axis), (axis,))
    return _prefix_scan(fn, elems, axis)


def _cumulative_impl(ufunc):
    def impl(x, axis, reverse):
        x = np.asarray(x)
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(x, axis), axis=axis, dtype=x.dtype), axis)
        return ufunc.accumulate(x, axis=axis, dtype=x.dtype)
    return impl


def _cumulative_abstract(name, kinds):
    def rule(x, axis, reverse):
        check_kinds(name, [x], kinds)
        if not 0 <= axis < x.ndim:
            raise type_error(f"{name}: axis {axis} is out of range for {x.str_short()}")
        return x
    return rule


def _cumulative_jvp(prim, combine):
    # the tangent of the same scan written with lax ops (exact with zeros
    # and ties, like JAX)
    def jvp(primals, tangents, axis, reverse):
        x, = primals
        out = prim.bind(x, axis=axis, reverse=reverse)
        if not is_float_dtype(x):
            return out, zeros_like(out)
        _, (t_out,) = ad.jvp_flat(
            lambda y: [associative_scan(combine, y, reverse, axis)], [x], list(tangents))
        return out, t_out
    return jvp


def _cumulative(name, ufunc, combine, kinds):
    prim = standard_primitive(name, _cumulative_impl(ufunc), _cumulative_abstract(name, kinds))
    prim.batch = lambda vals, dims, axis_size, axis, reverse: (
        prim.bind(vals[0], axis=axis + (axis >= dims[0]), reverse=reverse), dims[0])
    if combine is not None:
        prim.jvp = _cumulative_jvp(prim, combine)
    return prim


cumsum_p = _cumulative("cumsum", np.add, None, "fiu")
cumprod_p = _cumulative("cumprod", np.multiply, _ew.mul, "fiu")
# the tangent follows the running arg-extremum (the first one on ties)
cummax_p = _cumulative("cummax", np.maximum,
                       lambda a, b: _ew.select_n(_ew.ge(a, b), b, a), "fiub")
cummin_p = _cumulative("cummin", np.minimum,
                       lambda a, b: _ew.select_n(_ew.le(a, b), b, a), "fiub")
deflinear(cumsum_p, lambda ct, x, axis, reverse: [cumsum(ct, axis, not reverse)])


def _cumulative_fn(prim, doc):
    def cumulative(x, axis=0, reverse=False):
        axis = normalize_axis(int(axis), get_aval(x).ndim)
        return prim.bind(x, axis=axis, reverse=bool(reverse))
    cumulative.__name__ = prim.name
    cumulative.__doc__ = doc
    return cumulative


cumsum = _cumulative_fn(cumsum_p, "Running sums of ``x`` along ``axis`` (from the end "
                                  "if ``reverse``).")
cumprod = _cumulative_fn(cumprod_p, "Running products of ``x`` along ``axis``.")
cummax = _cumulative_fn(cummax_p, "Running maxima of ``x`` along ``axis``.")
cummin = _cumulative_fn(cummin_p, "Running minima of ``x`` along ``axis``.")
