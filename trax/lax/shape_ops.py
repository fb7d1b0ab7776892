"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze,
expand_dims, rev, concatenate, pad, slice, dynamic_slice and
dynamic_update_slice, plus array creation (full, zeros_like, iota)."""
import builtins
import math

import numpy as np

from trax import dtypes
from trax.core import ShapedArray, Tracer, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import defzero, deflinear, is_undefined
from trax.lax.helpers import (aval_of, batched_axes, check_axes, check_same_dtypes,
                              deflinear_in, standard_primitive)


# ----------------------------------------------------------------------------
# helpers shared by the rules of this module and its siblings

def _normalize_dims(dims, ndim):
    """Sorted ``dims`` with negative ones counted from the end (out-of-range
    ones are left for abstract_eval to report)."""
    return tuple(sorted(int(d) % ndim if -ndim <= d < ndim else int(d) for d in dims))


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
    if math.prod(new_sizes) != x.size or any(d < 0 for d in new_sizes):
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


def full_like(x, fill_value, dtype=None, shape=None):
    """``full`` with the shape and dtype of ``x`` unless given."""
    aval = get_aval(x)
    return full(aval.shape if shape is None else shape, fill_value,
                aval.dtype if dtype is None else dtype)


def _iota_impl(dtype, shape, dimension):
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return np.broadcast_to(np.arange(shape[dimension], dtype=dtype).reshape(expanded), shape)


def _iota_abstract(dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        raise type_error(f"iota: dimension {dimension} is out of range for shape {shape}")
    if any(d < 0 for d in shape):
        raise type_error(f"iota: negative size in shape {shape}")
    if np.dtype(dtype).kind not in "iuf":
        raise type_error(f"iota: dtype {np.dtype(dtype)} must be numeric")
    return ShapedArray(shape, dtype)


iota_p = standard_primitive("iota", _iota_impl, _iota_abstract)
defzero(iota_p)


def broadcasted_iota(dtype, shape, dimension):
    """An array of ``shape`` whose values count 0, 1, ... along ``dimension``."""
    shape = tuple(int(d) for d in shape)
    dimension = int(dimension) % max(len(shape), 1)
    return iota_p.bind(dtype=dtypes.canonicalize(dtype), shape=shape, dimension=dimension)


def iota(dtype, size):
    """``[0, 1, ..., size - 1]`` of ``dtype``."""
    return broadcasted_iota(dtype, (size,), 0)


# ----------------------------------------------------------------------------
# squeeze, expand_dims

def _squeeze_abstract(x, dimensions):
    check_axes("squeeze", x, dimensions, "dimensions")
    if any(x.shape[d] != 1 for d in dimensions):
        raise type_error(f"squeeze: dimensions {dimensions} of {x.str_short()} "
                         f"must all have size 1")
    return ShapedArray([d for i, d in enumerate(x.shape) if i not in dimensions],
                       x.dtype, x.weak_type)


squeeze_p = standard_primitive("squeeze", lambda x, dimensions: np.squeeze(x, dimensions),
                               _squeeze_abstract)


def squeeze(x, dimensions):
    """Remove the size-1 axes ``dimensions`` of ``x``."""
    dimensions = _normalize_dims(dimensions, get_aval(x).ndim)
    if not dimensions:
        return x
    return squeeze_p.bind(x, dimensions=dimensions)


def _squeeze_batch(vals, dims, axis_size, dimensions):
    d = dims[0]
    return (squeeze(vals[0], batched_axes(dimensions, d)),
            d - sum(a < d for a in dimensions))


deflinear(squeeze_p, lambda ct, x, dimensions: [expand_dims(ct, dimensions)])
squeeze_p.batch = _squeeze_batch


def _expand_dims_shape(shape, dimensions):
    out = list(shape)
    for d in dimensions:
        out.insert(d, 1)
    return tuple(out)


def _expand_dims_abstract(x, dimensions):
    nd = x.ndim + len(dimensions)
    if len(set(dimensions)) != len(dimensions) or any(not 0 <= d < nd for d in dimensions):
        raise type_error(f"expand_dims: dimensions {dimensions} are invalid for an "
                         f"operand {x.str_short()} (distinct, in [0, {nd}))")
    return ShapedArray(_expand_dims_shape(x.shape, dimensions), x.dtype, x.weak_type)


expand_dims_p = standard_primitive(
    "expand_dims", lambda x, dimensions: np.reshape(x, _expand_dims_shape(np.shape(x), dimensions)),
    _expand_dims_abstract)


def expand_dims(x, dimensions):
    """Insert size-1 axes so that they are at ``dimensions`` of the result."""
    dimensions = _normalize_dims(dimensions, get_aval(x).ndim + len(dimensions))
    if not dimensions:
        return x
    return expand_dims_p.bind(x, dimensions=dimensions)


def _expand_dims_batch(vals, dims, axis_size, dimensions):
    x = batching.moveaxis(vals[0], dims[0], 0)
    return expand_dims(x, tuple(d + 1 for d in dimensions)), 0


deflinear(expand_dims_p, lambda ct, x, dimensions: [squeeze(ct, dimensions)])
expand_dims_p.batch = _expand_dims_batch


# ----------------------------------------------------------------------------
# rev

def _rev_abstract(x, dimensions):
    check_axes("rev", x, dimensions, "dimensions")
    return x


rev_p = standard_primitive("rev", lambda x, dimensions: np.flip(x, dimensions), _rev_abstract)


def rev(x, dimensions):
    """Reverse ``x`` along each axis in ``dimensions``."""
    dimensions = _normalize_dims(dimensions, get_aval(x).ndim)
    if not dimensions:
        return x
    return rev_p.bind(x, dimensions=dimensions)


deflinear(rev_p, lambda ct, x, dimensions: [rev(ct, dimensions)])
rev_p.batch = lambda vals, dims, axis_size, dimensions: (
    rev(vals[0], batched_axes(dimensions, dims[0])), dims[0])


# ----------------------------------------------------------------------------
# concatenate

def _concatenate_abstract(*xs, dimension):
    if not xs:
        raise type_error("concatenate needs at least one operand")
    check_same_dtypes("concatenate", xs)
    x0 = xs[0]
    if not 0 <= dimension < x0.ndim:
        raise type_error(f"concatenate: dimension {dimension} is out of range for "
                         f"operands of rank {x0.ndim}")
    for i, x in enumerate(xs):
        if x.ndim != x0.ndim or any(a != b for j, (a, b) in enumerate(zip(x.shape, x0.shape))
                                    if j != dimension):
            raise type_error(f"concatenate: operand {i} {x.str_short()} does not match "
                             f"operand 0 {x0.str_short()} outside dimension {dimension}")
    shape = list(x0.shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return ShapedArray(shape, x0.dtype, all(x.weak_type for x in xs))


concatenate_p = standard_primitive(
    "concatenate", lambda *xs, dimension: np.concatenate(xs, dimension), _concatenate_abstract)


def concatenate(operands, dimension):
    """Join ``operands`` (a sequence of arrays) along axis ``dimension``."""
    operands = tuple(operands)
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension))


def _concatenate_transpose(ct, *xs, dimension):
    out, start = [], 0
    shape = get_aval(ct).shape
    for x in xs:
        size = aval_of(x).shape[dimension]
        if is_undefined(x):
            starts = [0] * len(shape)
            starts[dimension] = start
            limits = list(shape)
            limits[dimension] = start + size
            out.append(slice(ct, starts, limits))
        else:
            out.append(None)
        start += size
    return out


def _concatenate_batch(vals, dims, axis_size, dimension):
    xs = [batching.bdim_at_front(x, d, axis_size) for x, d in zip(vals, dims)]
    return concatenate(xs, dimension + 1), 0


deflinear(concatenate_p, _concatenate_transpose)
concatenate_p.batch = _concatenate_batch


# ----------------------------------------------------------------------------
# pad

def _padded_size(n, lo, hi, interior):
    return lo + hi + n + max(n - 1, 0) * interior


def _pad_impl(x, padding_value, padding_config):
    x = np.asarray(x)
    grown = [(max(lo, 0), max(hi, 0), interior) for lo, hi, interior in padding_config]
    out = np.full([_padded_size(n, lo, hi, i) for n, (lo, hi, i) in zip(x.shape, grown)],
                  padding_value, x.dtype)
    out[tuple(builtins.slice(lo, lo + _padded_size(n, 0, 0, i), i + 1)
              for n, (lo, _, i) in zip(x.shape, grown))] = x
    # negative low/high padding crops
    return out[tuple(builtins.slice(max(-lo, 0), out.shape[k] - max(-hi, 0))
                     for k, (lo, hi, _) in enumerate(padding_config))]


def _pad_abstract(x, padding_value, padding_config):
    if padding_value.shape != () or padding_value.dtype != x.dtype:
        raise type_error(f"pad: padding_value must be a scalar of the operand's dtype "
                         f"{x.dtype}, got {padding_value.str_short()}")
    if len(padding_config) != x.ndim:
        raise type_error(f"pad: padding_config has {len(padding_config)} entries for an "
                         f"operand {x.str_short()} of rank {x.ndim}")
    shape = []
    for k, (n, (lo, hi, interior)) in enumerate(zip(x.shape, padding_config)):
        size = _padded_size(n, lo, hi, interior)
        if interior < 0 or size < 0:
            raise type_error(f"pad: config {(lo, hi, interior)} of axis {k} of "
                             f"{x.str_short()} gives a negative size (interior must be "
                             f">= 0 and negative lo/hi cannot crop more than the axis)")
        shape.append(size)
    return ShapedArray(shape, x.dtype, x.weak_type)


pad_p = standard_primitive("pad", _pad_impl, _pad_abstract)


def pad(x, padding_value, padding_config):
    """Pad ``x`` with the scalar ``padding_value``: per axis ``(lo, hi,
    interior)`` adds lo/hi elements at the ends (negative crops) and
    ``interior`` elements between neighbours."""
    padding_config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    if all(c == (0, 0, 0) for c in padding_config):
        return x
    if not isinstance(padding_value, Tracer):
        padding_value = np.array(padding_value, get_aval(x).dtype)
    return pad_p.bind(x, padding_value, padding_config=padding_config)


def _pad_transpose(ct, x, padding_value, padding_config):
    from trax.lax.elementwise import sub
    from trax.lax.reductions import reduce_sum
    unpad = tuple((-lo, -hi, 0) for lo, hi, _ in padding_config)
    unpadded = pad(ct, 0, unpad)
    ct_x = slice(unpadded, (0,) * len(unpad), get_aval(unpadded).shape,
                 tuple(i + 1 for _, _, i in padding_config))
    ct_pv = None
    if is_undefined(padding_value):
        every = tuple(range(len(padding_config)))
        ct_pv = sub(reduce_sum(ct, every), reduce_sum(ct_x, every))
    return [ct_x if is_undefined(x) else None, ct_pv]


def _pad_batch(vals, dims, axis_size, padding_config):
    from trax.lax.elementwise import select_n
    x, padding_value = vals
    xd, pd = dims
    if pd is None:
        config = list(padding_config)
        config.insert(xd, (0, 0, 0))
        return pad(x, padding_value, config), xd
    # a batched padding value: pad, then select it where the pad went
    x = batching.bdim_at_front(x, xd, axis_size)
    padded = pad(x, np.array(0, get_aval(x).dtype), ((0, 0, 0), *padding_config))
    out_shape = get_aval(padded).shape
    inside = pad(full(get_aval(x).shape[1:], True), False, padding_config)
    inside = broadcast_in_dim(inside, out_shape, tuple(range(1, len(out_shape))))
    pv = broadcast_in_dim(batching.moveaxis(padding_value, pd, 0), out_shape, (0,))
    return select_n(inside, pv, padded), 0


deflinear(pad_p, _pad_transpose)
pad_p.batch = _pad_batch


# ----------------------------------------------------------------------------
# slice

def _slice_impl(x, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    return np.asarray(x)[tuple(builtins.slice(s, l, st) for s, l, st
                               in zip(start_indices, limit_indices, strides))]


def _slice_abstract(x, start_indices, limit_indices, strides):
    strides = strides or (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise type_error(f"slice: start_indices {start_indices}, limit_indices "
                         f"{limit_indices} and strides {strides} need one entry per "
                         f"axis of {x.str_short()}")
    for k, (n, s, l, st) in enumerate(zip(x.shape, start_indices, limit_indices, strides)):
        if not 0 <= s <= l <= n or st < 1:
            raise type_error(f"slice: axis {k} of {x.str_short()} cannot be sliced "
                             f"[{s}:{l}:{st}] (need 0 <= start <= limit <= {n}, "
                             f"stride >= 1)")
    return ShapedArray([-(-(l - s) // st) for s, l, st in
                        zip(start_indices, limit_indices, strides)], x.dtype, x.weak_type)


slice_p = standard_primitive("slice", _slice_impl, _slice_abstract)


def slice(x, start_indices, limit_indices, strides=None):
    """``x[start:limit:stride]`` on every axis (static bounds)."""
    start_indices = tuple(int(i) for i in start_indices)
    limit_indices = tuple(int(i) for i in limit_indices)
    strides = None if strides is None or all(s == 1 for s in strides) else \
        tuple(int(s) for s in strides)
    if start_indices == (0,) * len(start_indices) and \
            limit_indices == get_aval(x).shape and strides is None:
        return x
    return slice_p.bind(x, start_indices=start_indices, limit_indices=limit_indices,
                        strides=strides)


def _slice_transpose(ct, x, start_indices, limit_indices, strides):
    strides = strides or (1,) * len(start_indices)
    config = []
    for n, m, s, st in zip(x.aval.shape, get_aval(ct).shape, start_indices, strides):
        end = s + (m - 1) * st + 1 if m else s
        config.append((s, n - end, st - 1))
    return [pad(ct, 0, config)]


def _slice_batch(vals, dims, axis_size, start_indices, limit_indices, strides):
    x, d = vals[0], dims[0]

    def put(seq, v):
        seq = list(seq)
        seq.insert(d, v)
        return seq
    strides = strides and put(strides, 1)
    return slice(x, put(start_indices, 0), put(limit_indices, axis_size), strides), d


deflinear(slice_p, _slice_transpose)
slice_p.batch = _slice_batch


# ----------------------------------------------------------------------------
# dynamic_slice, dynamic_update_slice
#
# Start indices are scalar integer operands, clamped (as in JAX) so that the
# slice fits: start_j -> min(max(start_j, 0), shape_j - size_j).

def _clamped_starts_np(starts, shape, sizes):
    return [min(max(int(s), 0), n - m) for s, n, m in zip(starts, shape, sizes)]


def _check_starts(name, x, starts):
    if len(starts) != x.ndim:
        raise type_error(f"{name}: got {len(starts)} start indices for an operand "
                         f"{x.str_short()} of rank {x.ndim}")
    for i, s in enumerate(starts):
        if s.shape != () or s.dtype.kind not in "iu":
            raise type_error(f"{name}: start index {i} must be an integer scalar, "
                             f"got {s.str_short()}")


def _dynamic_slice_impl(x, *starts, slice_sizes):
    x = np.asarray(x)
    starts = _clamped_starts_np(starts, x.shape, slice_sizes)
    return x[tuple(builtins.slice(s, s + m) for s, m in zip(starts, slice_sizes))]


def _dynamic_slice_abstract(x, *starts, slice_sizes):
    _check_starts("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= m <= n for m, n in zip(slice_sizes, x.shape)):
        raise type_error(f"dynamic_slice: slice_sizes {slice_sizes} must have one entry "
                         f"per axis of {x.str_short()}, each between 0 and its size")
    return ShapedArray(slice_sizes, x.dtype, x.weak_type)


dynamic_slice_p = standard_primitive("dynamic_slice", _dynamic_slice_impl,
                                     _dynamic_slice_abstract)


def _start_list(start_indices):
    """Scalar start indices from a sequence or a rank-1 array."""
    if isinstance(start_indices, (list, tuple)):
        return list(start_indices)
    n = get_aval(start_indices).shape[0]
    return [reshape(slice(start_indices, (i,), (i + 1,)), ()) for i in range(n)]


def dynamic_slice(operand, start_indices, slice_sizes):
    """The block of ``slice_sizes`` at the (traced, clamped) ``start_indices``."""
    slice_sizes = tuple(int(m) for m in slice_sizes)
    return dynamic_slice_p.bind(operand, *_start_list(start_indices), slice_sizes=slice_sizes)


def _dynamic_slice_transpose(ct, x, *starts, slice_sizes):
    zeros = full(x.aval.shape, 0, x.aval.dtype)
    return [dynamic_update_slice(zeros, ct, starts)] + [None] * len(starts)


def _block_indices(starts, start_dims, shape, sizes, axis_size):
    """gather/scatter indices of shape ``(axis_size, *sizes, len(sizes))``
    addressing, for each batch member, the block at its clamped starts."""
    from trax.lax.elementwise import add, clamp, convert_element_type
    block = (axis_size, *sizes)
    cols = []
    for j, (s, d, n, m) in enumerate(zip(starts, start_dims, shape, sizes)):
        s = convert_element_type(s, np.int64)
        s = clamp(np.array(0, np.int64), s, np.array(n - m, np.int64))
        s = batching.bdim_at_front(s, d, axis_size)
        cols.append(add(broadcast_in_dim(s, block, (0,)),
                        broadcasted_iota(np.int64, block, j + 1)))
    return concatenate([expand_dims(c, (len(block),)) for c in cols], len(block))


def _dynamic_slice_batch(vals, dims, axis_size, slice_sizes):
    from trax.lax.helpers import with_batch_coordinate
    from trax.lax.indexing import gather
    x, starts = vals[0], list(vals[1:])
    xd, start_dims = dims[0], dims[1:]
    if all(d is None for d in start_dims):
        starts.insert(xd, np.array(0, np.int64))
        sizes = list(slice_sizes)
        sizes.insert(xd, axis_size)
        return dynamic_slice(x, starts, sizes), xd
    shape = batching._unbatched_shape(x, xd)
    indices = _block_indices(starts, start_dims, shape, slice_sizes, axis_size)
    if xd is None:
        return gather(x, indices), 0
    return gather(batching.moveaxis(x, xd, 0), with_batch_coordinate(indices)), 0


deflinear_in(dynamic_slice_p, (0,), _dynamic_slice_transpose)
dynamic_slice_p.batch = _dynamic_slice_batch


def _dynamic_update_slice_impl(x, update, *starts):
    out = np.array(x, copy=True)
    update = np.asarray(update)
    starts = _clamped_starts_np(starts, out.shape, update.shape)
    out[tuple(builtins.slice(s, s + m) for s, m in zip(starts, update.shape))] = update
    return out


def _dynamic_update_slice_abstract(x, update, *starts):
    _check_starts("dynamic_update_slice", x, starts)
    if update.dtype != x.dtype or update.ndim != x.ndim or \
            any(m > n for m, n in zip(update.shape, x.shape)):
        raise type_error(f"dynamic_update_slice: update {update.str_short()} must have "
                         f"the dtype and rank of the operand {x.str_short()} and fit "
                         f"inside it")
    return x


dynamic_update_slice_p = standard_primitive("dynamic_update_slice",
                                            _dynamic_update_slice_impl,
                                            _dynamic_update_slice_abstract)


def dynamic_update_slice(operand, update, start_indices):
    """``operand`` with the block at the (clamped) ``start_indices``
    replaced by ``update``."""
    return dynamic_update_slice_p.bind(operand, update, *_start_list(start_indices))


def _dynamic_update_slice_transpose(ct, x, update, *starts):
    u_aval = aval_of(update)
    ct_x = dynamic_update_slice(ct, full(u_aval.shape, 0, u_aval.dtype), starts) \
        if is_undefined(x) else None
    ct_update = dynamic_slice(ct, starts, u_aval.shape) if is_undefined(update) else None
    return [ct_x, ct_update] + [None] * len(starts)


def _dynamic_update_slice_batch(vals, dims, axis_size):
    from trax.lax.indexing import scatter, with_batch_coordinate
    x, update, starts = vals[0], vals[1], list(vals[2:])
    xd, ud, start_dims = dims[0], dims[1], dims[2:]
    x = batching.bdim_at_front(x, xd, axis_size)
    update = batching.bdim_at_front(update, ud, axis_size)
    if all(d is None for d in start_dims):
        return dynamic_update_slice(x, update, [np.array(0, np.int64), *starts]), 0
    shape, sizes = get_aval(x).shape[1:], get_aval(update).shape[1:]
    indices = _block_indices(starts, start_dims, shape, sizes, axis_size)
    return scatter(x, with_batch_coordinate(indices), update), 0


deflinear_in(dynamic_update_slice_p, (0, 1), _dynamic_update_slice_transpose)
dynamic_update_slice_p.batch = _dynamic_update_slice_batch


# ----------------------------------------------------------------------------
# one-axis conveniences (as in jax.lax)

def _on_axis(ndim, axis, value, default):
    out = [default] * ndim
    out[axis] = value
    return out


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """``operand[start:limit:stride]`` along ``axis`` (negative or None
    bounds count from the end, as in Python)."""
    shape = get_aval(operand).shape
    axis = axis % len(shape)
    start, limit, _ = builtins.slice(start_index, limit_index).indices(shape[axis])
    starts = _on_axis(len(shape), axis, start, 0)
    limits = list(shape)
    limits[axis] = max(limit, start)
    return slice(operand, starts, limits, _on_axis(len(shape), axis, stride, 1))


def index_in_dim(operand, index, axis=0, keepdims=True):
    """Element ``index`` (static) along ``axis``."""
    axis = axis % get_aval(operand).ndim
    index = index % get_aval(operand).shape[axis]
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0):
    """A block of ``slice_size`` at the traced ``start_index`` along ``axis``."""
    aval = get_aval(operand)
    axis = axis % aval.ndim
    starts = _on_axis(aval.ndim, axis, start_index, np.array(0, np.int64))
    sizes = list(aval.shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True):
    """Element ``index`` (traced) along ``axis``."""
    out = dynamic_slice_in_dim(operand, index, 1, axis)
    return out if keepdims else squeeze(out, (axis % get_aval(operand).ndim,))


def dynamic_update_slice_in_dim(operand, update, start_index, axis):
    """``operand`` with ``update`` written at ``start_index`` along ``axis``."""
    ndim = get_aval(operand).ndim
    starts = _on_axis(ndim, axis % ndim, start_index, np.array(0, np.int64))
    return dynamic_update_slice(operand, update, starts)


def dynamic_update_index_in_dim(operand, update, index, axis):
    """``operand`` with the slice ``index`` along ``axis`` set to ``update``
    (given with or without that axis)."""
    ndim = get_aval(operand).ndim
    axis = axis % ndim
    if get_aval(update).ndim == ndim - 1:
        update = expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis)
