"""Reductions (sum, max, min, prod, and, or), arg reductions and
cumulative ops."""
import numpy as np

from trax.core import ShapedArray, get_aval
from trax.errors import type_error
from trax.interpreters import batching
from trax.interpreters.ad import deflinear
from trax.lax.helpers import standard_primitive


def _check_axes(name, x, axes):
    if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
        raise type_error(f"{name}: axes {axes} are invalid for an operand "
                         f"{x.str_short()} (they must be distinct, in [0, {x.ndim}))")


def _reduced_shape(shape, axes):
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduce_abstract(name):
    def rule(x, axes):
        _check_axes(name, x, axes)
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
    from trax.lax.shape_ops import broadcast_in_dim
    shape = x.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


deflinear(reduce_sum_p, _reduce_sum_transpose)
reduce_sum_p.batch = _reducer_batch(reduce_sum_p)
