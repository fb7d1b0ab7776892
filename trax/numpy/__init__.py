"""trax.numpy: the numpy API, written with trax.lax so it can be traced,
differentiated, batched and compiled.

Eager calls (on numpy arrays, Python scalars or trax Arrays) run the
primitives at once and return trax Arrays; under a transformation they
record equations. Where trax differs from numpy it follows JAX:

* Arrays are immutable: instead of ``x[i] = v`` write ``x = x.at[i].set(v)``
  (also ``.add``, ``.mul``, ``.min``, ``.max``, ``.get``).
* Out-of-range indices do not raise; they follow JAX's ``mode`` (after
  negative indices are counted from the end once): ``x[idx]`` clamps them,
  ``.at[idx].set/add/...`` drop their updates (``mode="clip"`` clamps),
  ``.at[idx].get(mode="fill", fill_value=...)`` fills, and ``take`` and
  ``take_along_axis`` fill by default (NaN, the most negative int, ...).
* Boolean-mask indexing needs a concrete mask (the output shape depends on
  it): on a traced mask it raises NonConcreteBooleanIndexError; use
  ``where``. ``nonzero``/``argwhere`` likewise need concrete input.
* Python scalars are weakly typed, as in NumPy 2 and JAX: ``x_f32 * 2.0`` is
  float32, while ``int_array * 2.0`` is float64 and ``int / int`` float64.
* Unlike JAX (and like numpy), 64-bit types are the defaults: ``zeros(3)``
  and ``array([1.0])`` are float64, integer sums accumulate in int64,
  ``mean``/``var`` of integers are float64, and ``nn.one_hot`` is float64.
* ``x ** n`` with a Python int ``n`` is ``lax.integer_pow`` (repeated
  multiplication, exact for ints); other float powers are ``lax.pow``.
* ``arange``, ``eye``, ``tri`` and shape arguments must be concrete.
"""
import functools as _functools

import numpy as _np

from trax.core import Array as ndarray  # noqa: F401
from trax.core import to_array as _to_array
from trax.tree_util import tree_map as _tree_map

from trax.numpy.creation import (arange, array, asarray, empty, empty_like,  # noqa: F401
                                 eye, full, full_like, identity, linspace, meshgrid,
                                 ones, ones_like, tri, tril, triu, zeros, zeros_like)
from trax.numpy.einsum_impl import einsum  # noqa: F401
from trax.numpy.indexing import (argwhere, flatnonzero, nonzero, take,  # noqa: F401
                                 take_along_axis)
from trax.numpy.products import (cross, diag, diagonal, dot, inner, kron,  # noqa: F401
                                 matmul, outer, tensordot, trace, vdot, vecdot)
from trax.numpy.promotion import (broadcast_shapes, broadcast_to,  # noqa: F401
                                  result_type)
from trax.numpy.reductions import (all, amax, amin, any, argmax, argmin,  # noqa: F401
                                   average, count_nonzero, cumprod, cumsum, max,
                                   mean, min, nanmax, nanmean, nanmin, nanprod,
                                   nansum, prod, ptp, std, sum, var)
from trax.numpy.sorting import argsort, median, sort  # noqa: F401
from trax.numpy.manipulation import (array_split, atleast_1d, atleast_2d,  # noqa: F401
                              atleast_3d, broadcast_arrays, column_stack,
                              concatenate, diff, dstack, expand_dims, flip, fliplr,
                              flipud, hsplit, hstack, matrix_transpose, moveaxis,
                              ndim, pad, ravel, repeat, reshape, roll, rot90, row_stack,
                              shape, size, split, squeeze, stack, swapaxes, tile,
                              transpose, vsplit, vstack)
from trax.numpy.ufuncs import (abs, absolute, add, arccos, arccosh,  # noqa: F401
                               arcsin, arcsinh, arctan, arctan2, arctanh, around,
                               astype, bitwise_and, bitwise_not, bitwise_or,
                               bitwise_xor, cbrt, ceil, clip, copysign, cos, cosh,
                               deg2rad,
                               degrees, divide, divmod, equal, exp, exp2, expm1, fix,
                               float_power, floor, floor_divide, fmax, fmin, fmod,
                               greater, greater_equal, hypot, invert, isfinite, isinf,
                               isnan, left_shift, less, less_equal, log, log1p, log2,
                               log10, nan_to_num, right_shift, signbit,
                               logaddexp, logical_and, logical_not, logical_or,
                               logical_xor, maximum, minimum, mod, multiply,
                               negative, nextafter, not_equal, positive, pow, power,
                               rad2deg, radians, reciprocal, remainder, rint, round,
                               sign, sin, sinc, sinh, sqrt, square, subtract, tan,
                               tanh, true_divide, trunc, where)
from trax.numpy import linalg  # noqa: F401
from trax.numpy import operators  # noqa: F401  (installs Tracer operators)



def _as_array(x):
    if isinstance(x, (bool, int, float, _np.ndarray, _np.generic)) and \
            not isinstance(x, ndarray):
        return _to_array(_np.asarray(x))
    return x


def _returns_arrays(fn):
    """``fn`` with concrete results (a Python scalar passed through, say)
    returned as trax Arrays, as every eager trax.numpy call promises."""
    @_functools.wraps(fn)
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        if type(out) is ndarray:
            return out
        return _tree_map(_as_array, out)
    return wrapped


_NOT_ARRAY_VALUED = {"shape", "ndim", "size", "result_type", "broadcast_shapes"}
for _name, _fn in list(globals().items()):
    if callable(_fn) and getattr(_fn, "__module__", "").startswith("trax.numpy.") \
            and not _name.startswith("_") and _name not in _NOT_ARRAY_VALUED:
        globals()[_name] = _returns_arrays(_fn)

# dtypes and constants, as numpy spells them
bool_ = _np.bool_
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
float_, int_ = _np.float64, _np.int64
dtype = _np.dtype
finfo, iinfo = _np.finfo, _np.iinfo
issubdtype, promote_types, can_cast = _np.issubdtype, _np.promote_types, _np.can_cast
integer, floating, inexact, number, signedinteger, unsignedinteger = (
    _np.integer, _np.floating, _np.inexact, _np.number, _np.signedinteger,
    _np.unsignedinteger)
pi, e, inf, nan, euler_gamma = _np.pi, _np.e, _np.inf, _np.nan, _np.euler_gamma
newaxis = None
