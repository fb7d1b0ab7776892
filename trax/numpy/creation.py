"""Array creation: array, asarray, zeros/ones/full (and *_like), arange,
linspace, eye, identity, tri/tril/triu, meshgrid.

Default dtypes are numpy's (float64, int64), not JAX's 32-bit ones.
"""
import operator

import numpy as np

from trax import dtypes, lax
from trax.core import Tracer, to_array
from trax.numpy.promotion import aval, broadcast_to, convert, operand


def _contains_tracer(obj):
    if isinstance(obj, Tracer):
        return True
    return isinstance(obj, (list, tuple)) and any(map(_contains_tracer, obj))


def array(object, dtype=None, copy=True, ndmin=0):
    """An array from an array, scalar or nested lists (which may hold
    tracers: they are stacked)."""
    if isinstance(object, (list, tuple)) and _contains_tracer(object):
        from trax.numpy.manipulation import stack
        out = stack([array(o) for o in object])
    elif isinstance(object, Tracer):
        out = object
    else:
        out = to_array(np.array(object, dtype=dtype))
        dtypes.canonicalize(out.dtype)
    if dtype is not None:
        out = convert(out, dtype)
    elif isinstance(out, Tracer) and aval(out).weak_type:
        out = convert(out, aval(out).dtype)
    if ndmin > aval(out).ndim:
        out = lax.reshape(out, (1,) * (ndmin - aval(out).ndim) + aval(out).shape)
    return out


def asarray(a, dtype=None):
    """``a`` as an array (no copy when it already is one of ``dtype``)."""
    if isinstance(a, Tracer):
        return a if dtype is None else convert(a, dtype)
    if isinstance(a, np.ndarray) and dtype is None:
        return to_array(a)
    return array(a, dtype)


def _shape_tuple(shape):
    # operator.index: a traced size raises the error that explains shapes
    # must be concrete
    if isinstance(shape, (int, np.integer)) or getattr(shape, "ndim", None) == 0:
        return (operator.index(shape),)
    return tuple(operator.index(d) for d in shape)


def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (which may be an
    array broadcastable to ``shape``)."""
    shape = _shape_tuple(shape)
    fill_value = operand(fill_value)
    if dtype is None:
        dtype = aval(fill_value).dtype
    fill_value = convert(fill_value, dtype)
    if aval(fill_value).shape == ():
        return lax.full(shape, fill_value, dtype)
    return broadcast_to(fill_value, shape, "full")


def zeros(shape, dtype=None):
    """An array of zeros (float64 unless ``dtype`` says otherwise)."""
    return full(shape, 0, dtypes.float64 if dtype is None else dtype)


def ones(shape, dtype=None):
    """An array of ones (float64 unless ``dtype`` says otherwise)."""
    return full(shape, 1, dtypes.float64 if dtype is None else dtype)


empty = zeros


def full_like(a, fill_value, dtype=None, shape=None):
    """``full`` with the shape and dtype of ``a`` unless given."""
    av = aval(a)
    return full(av.shape if shape is None else shape, fill_value,
                av.dtype if dtype is None else dtype)


def zeros_like(a, dtype=None, shape=None):
    """Zeros with the shape and dtype of ``a`` unless given."""
    return full_like(a, 0, dtype, shape)


def ones_like(a, dtype=None, shape=None):
    """Ones with the shape and dtype of ``a`` unless given."""
    return full_like(a, 1, dtype, shape)


empty_like = zeros_like


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (arguments must be concrete)."""
    args = [a for a in (start, stop, step) if a is not None]
    if any(isinstance(a, Tracer) and a.concrete_value() is None for a in args):
        raise TypeError("arange: start, stop and step must be concrete (the output "
                        "shape depends on them); use trax.lax.iota for traced offsets")
    args = [np.asarray(a).item() if isinstance(a, (Tracer, np.ndarray)) else a
            for a in (start, stop, step)]
    return to_array(np.arange(*[a for a in args if a is not None],
                              dtype=None if dtype is None else dtypes.canonicalize(dtype)))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """``num`` evenly spaced values from ``start`` to ``stop``; start and
    stop may be (traced) arrays, which add trailing axes."""
    from trax.numpy import ufuncs
    from trax.numpy.manipulation import moveaxis
    num = int(num)
    start, stop = operand(start), operand(stop)
    if not isinstance(start, Tracer) and not isinstance(stop, Tracer):
        out = np.linspace(start, stop, num, endpoint, retstep, dtype, axis)
        return (to_array(out[0]), out[1]) if retstep else to_array(out)
    dt = np.result_type(aval(start).dtype, aval(stop).dtype, np.float16) \
        if dtype is None else dtypes.canonicalize(dtype)
    dt = dt if dt.kind == "f" else dtypes.float64
    start, stop = convert(start, dt), convert(stop, dt)
    div = (num - 1) if endpoint else num
    step = ufuncs.true_divide(ufuncs.subtract(stop, start), max(div, 1))
    t = np.arange(num).reshape((num,) + (1,) * len(aval(step).shape))
    out = ufuncs.add(start, ufuncs.multiply(t.astype(dt), step))
    if endpoint and num > 1:
        out = ufuncs.where(t == num - 1, stop, out)
    out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = convert(out, dtype)
    return (out, step) if retstep else out


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the ``k``-th diagonal."""
    return to_array(np.eye(N, M, k, dtype=dtypes.float64 if dtype is None
                           else dtypes.canonicalize(dtype)))


def identity(n, dtype=None):
    """The ``n`` x ``n`` identity matrix."""
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the ``k``-th diagonal."""
    return to_array(np.tri(N, M, k, dtype=dtypes.float64 if dtype is None
                           else dtypes.canonicalize(dtype)))


def _triangle(m, k, lower):
    from trax.numpy.ufuncs import where
    m = operand(m)
    n_rows, n_cols = aval(m).shape[-2:]
    mask = np.tri(n_rows, n_cols, k if lower else k - 1, dtype=bool)
    return where(mask if lower else ~mask, m, np.zeros((), aval(m).dtype))


def tril(m, k=0):
    """``m`` with the entries above the ``k``-th diagonal zeroed."""
    return _triangle(m, k, True)


def triu(m, k=0):
    """``m`` with the entries below the ``k``-th diagonal zeroed."""
    return _triangle(m, k, False)


def meshgrid(*xi, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors."""
    from trax.numpy.manipulation import broadcast_arrays
    xi = [operand(x) for x in xi]
    n = len(xi)
    shaped = []
    for i, x in enumerate(xi):
        pos = i
        if indexing == "xy" and n >= 2 and i < 2:
            pos = 1 - i
        shape = [1] * n
        shape[pos] = aval(x).size
        shaped.append(lax.reshape(x, shape))
    return broadcast_arrays(*shaped)
