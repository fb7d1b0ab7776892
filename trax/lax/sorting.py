"""Sorting: the multi-operand sort primitive.

``sort`` orders several arrays of one shape along ``dimension`` by their
first ``num_keys`` operands (lexicographically, stable, NaNs last), moving
the other operands along: sorting ``(keys, iota)`` gives an argsort.
"""
import numpy as np

from trax.core import get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.lax.helpers import check_kinds, normalize_axis, standard_primitive
from trax.lax.indexing import gather
from trax.lax.shape_ops import broadcasted_iota, concatenate, expand_dims, zeros_like


def _sort_impl(*operands, dimension, num_keys):
    keys = [np.asarray(k) for k in operands[:num_keys]]
    perm = np.lexsort(keys[::-1], axis=dimension)
    return [np.take_along_axis(np.asarray(o), perm, dimension) for o in operands]


def _sort_abstract(*operands, dimension, num_keys):
    if not operands:
        raise type_error("sort needs at least one operand")
    check_kinds("sort", operands, "fiub")
    shapes = {o.shape for o in operands}
    if len(shapes) > 1:
        raise type_error("sort: operands must have one shape, got "
                         + ", ".join(o.str_short() for o in operands))
    if not 0 <= dimension < operands[0].ndim:
        raise type_error(f"sort: dimension {dimension} is out of range for "
                         f"{operands[0].str_short()}")
    if not 1 <= num_keys <= len(operands):
        raise type_error(f"sort: num_keys {num_keys} must be between 1 and the number "
                         f"of operands {len(operands)}")
    return list(operands)


sort_p = standard_primitive("sort", _sort_impl, _sort_abstract, multiple_results=True)


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort ``operand`` (an array, or a sequence of arrays of one shape
    sorted by the first ``num_keys``) along ``dimension``. The sort is
    always stable; NaNs go last."""
    single = not isinstance(operand, (tuple, list))
    operands = [operand] if single else list(operand)
    dimension = normalize_axis(int(dimension), get_aval(operands[0]).ndim)
    out = sort_p.bind(*operands, dimension=dimension, num_keys=int(num_keys))
    return out[0] if single else tuple(out)


def _take_along_axis(x, perm, axis):
    """``x`` reordered along ``axis`` by the integer array ``perm`` (same shape)."""
    aval = get_aval(perm)
    cols = [perm if j == axis else broadcasted_iota(aval.dtype, aval.shape, j)
            for j in range(aval.ndim)]
    return gather(x, concatenate([expand_dims(c, (aval.ndim,)) for c in cols], aval.ndim))


def _sort_jvp(primals, tangents, dimension, num_keys):
    # sort an iota along to learn the permutation, then apply it to tangents
    shape = get_aval(primals[0]).shape
    iota = broadcasted_iota(np.int64, shape, dimension)
    *out, perm = sort_p.bind(*primals, iota, dimension=dimension, num_keys=num_keys)
    t_out = [_take_along_axis(t, perm, dimension) if get_aval(t).dtype.kind == "f"
             else zeros_like(o) for t, o in zip(tangents, out)]
    return out, t_out


def _sort_batch(vals, dims, axis_size, dimension, num_keys):
    operands = [batching.bdim_at_front(v, d, axis_size) for v, d in zip(vals, dims)]
    out = sort_p.bind(*operands, dimension=dimension + 1, num_keys=num_keys)
    return out, [0] * len(out)


sort_p.jvp = _sort_jvp
sort_p.batch = _sort_batch
