"""Shape primitives: broadcast_in_dim, reshape, transpose and friends,
plus array creation (full, zeros_like, iota)."""
import numpy as np

from trax import dtypes
from trax.core import ShapedArray, Tracer, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import deflinear
from trax.lax.helpers import standard_primitive


# ----------------------------------------------------------------------------
# broadcast_in_dim

def _broadcast_in_dim_impl(x, shape, broadcast_dimensions):
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


def _broadcast_in_dim_abstract(x, shape, broadcast_dimensions):
    if len(broadcast_dimensions) != x.ndim:
        raise type_error(f"broadcast_in_dim: operand {x.str_short()} needs "
                         f"{x.ndim} broadcast_dimensions, got {broadcast_dimensions}")
    if any(not 0 <= d < len(shape) for d in broadcast_dimensions) or \
            list(broadcast_dimensions) != sorted(set(broadcast_dimensions)):
        raise type_error(f"broadcast_in_dim: broadcast_dimensions {broadcast_dimensions} "
                         f"must be strictly increasing and inside rank {len(shape)}")
    for i, d in enumerate(broadcast_dimensions):
        if x.shape[i] not in (1, shape[d]):
            raise type_error(f"broadcast_in_dim: cannot broadcast {x.str_short()} to "
                             f"shape {tuple(shape)} (operand axis {i} of size "
                             f"{x.shape[i]} vs target axis {d} of size {shape[d]})")
    return ShapedArray(shape, x.dtype, x.weak_type)


broadcast_in_dim_p = standard_primitive("broadcast_in_dim", _broadcast_in_dim_impl,
                                        _broadcast_in_dim_abstract)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    """Broadcast ``x`` to ``shape``; operand axis i becomes output axis
    ``broadcast_dimensions[i]`` (size 1 axes stretch)."""
    shape = tuple(int(d) for d in shape)
    broadcast_dimensions = tuple(int(d) for d in broadcast_dimensions)
    aval = get_aval(x)
    if aval.shape == shape and broadcast_dimensions == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=broadcast_dimensions)


def _broadcast_in_dim_transpose(ct, x, shape, broadcast_dimensions):
    from trax.lax.reductions import reduce_sum
    in_shape = x.aval.shape
    summed = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    stretched = tuple(d for i, d in enumerate(broadcast_dimensions)
                      if in_shape[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, tuple(sorted(summed + stretched)))
    return [reshape(out, in_shape)]


def _broadcast_in_dim_batch(vals, dims, axis_size, shape, broadcast_dimensions):
    x, = vals
    x = batching.moveaxis(x, dims[0], 0)
    new_shape = (axis_size, *shape)
    new_dims = (0, *(d + 1 for d in broadcast_dimensions))
    return broadcast_in_dim(x, new_shape, new_dims), 0


deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
broadcast_in_dim_p.batch = _broadcast_in_dim_batch


# ----------------------------------------------------------------------------
# reshape

def _reshape_abstract(x, new_sizes):
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size or any(d < 0 for d in new_sizes):
        raise type_error(f"reshape: cannot reshape {x.str_short()} ({x.size} elements) "
                         f"to shape {tuple(new_sizes)}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


reshape_p = standard_primitive("reshape", lambda x, new_sizes: np.reshape(x, new_sizes),
                               _reshape_abstract)


def reshape(x, new_sizes):
    """``x`` with the same elements (row-major) in shape ``new_sizes``."""
    new_sizes = tuple(int(d) for d in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


def _reshape_batch(vals, dims, axis_size, new_sizes):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return reshape(x, (axis_size, *new_sizes)), 0


deflinear(reshape_p, lambda ct, x, new_sizes: [reshape(ct, x.aval.shape)])
reshape_p.batch = _reshape_batch


# ----------------------------------------------------------------------------
# transpose

def _transpose_abstract(x, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise type_error(f"transpose: permutation {permutation} is not a "
                         f"permutation of the axes of {x.str_short()}")
    return ShapedArray([x.shape[p] for p in permutation], x.dtype, x.weak_type)


transpose_p = standard_primitive("transpose",
                                 lambda x, permutation: np.transpose(x, permutation),
                                 _transpose_abstract)


def transpose(x, permutation):
    """Permute the axes of ``x``: output axis i is input axis permutation[i]."""
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return transpose_p.bind(x, permutation=permutation)


def _transpose_transpose(ct, x, permutation):
    return [transpose(ct, tuple(np.argsort(permutation)))]


def _transpose_batch(vals, dims, axis_size, permutation):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return transpose(x, (0, *(p + 1 for p in permutation))), 0


deflinear(transpose_p, _transpose_transpose)
transpose_p.batch = _transpose_batch


# ----------------------------------------------------------------------------
# creation

def full(shape, fill_value, dtype=None):
    """An array of ``shape`` filled with ``fill_value`` (may be traced)."""
    from trax.lax.elementwise import convert_element_type
    shape = tuple(int(d) for d in shape)
    dtype = dtypes.canonicalize(get_aval(fill_value).dtype if dtype is None else dtype)
    if isinstance(fill_value, Tracer):
        fill_value = convert_element_type(fill_value, dtype)
    else:
        fill_value = np.array(fill_value, dtype)
    if get_aval(fill_value).shape != ():
        raise type_error(f"full: fill_value must be a scalar, got "
                         f"{get_aval(fill_value).str_short()}")
    return broadcast_in_dim(fill_value, shape, ())


def zeros_like(x):
    """Zeros of the shape and dtype of ``x``."""
    aval = get_aval(x)
    return full(aval.shape, np.array(0, aval.dtype), aval.dtype)
