"""Elementwise math: numpy's ufuncs written with lax primitives.

Arguments are promoted (``trax.numpy.promotion``) and broadcast first, so
the primitives always see one dtype and one shape (or rank-0 operands).
"""
import math

import numpy as np

from trax import dtypes, lax
from trax.core import Tracer
from trax.numpy.promotion import (aval, broadcast_to, broadcast_shapes, convert,
                                  operand, promote_args, promote_args_inexact)


def _make(name, fn, doc):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _unary(name, lax_fn, inexact=True):
    """A one-argument ufunc over lax_fn (float ufuncs promote ints first)."""
    promote = promote_args_inexact if inexact else promote_args

    def fn(x):
        x, = promote(name, x)
        return lax_fn(x)
    return _make(name, fn, f"Elementwise {name} of ``x`` (numpy.{name}).")


def _binary(name, lax_fn, inexact=False):
    """A two-argument ufunc over lax_fn with numpy promotion/broadcasting."""
    promote = promote_args_inexact if inexact else promote_args

    def fn(x, y):
        return lax_fn(*promote(name, x, y))
    return _make(name, fn, f"Elementwise {name} of ``x`` and ``y`` (numpy.{name}).")


def _is_int_or_bool(x):
    return aval(x).dtype.kind in "iub"


def _k(x, v):
    """A constant of ``x``'s dtype (a literal in a trace)."""
    return np.array(v, aval(x).dtype)


# ----------------------------------------------------------------------------
# arithmetic

def _add(x, y):
    return lax.bitwise_or(x, y) if aval(x).dtype == np.bool_ else lax.add(x, y)


def _mul(x, y):
    return lax.bitwise_and(x, y) if aval(x).dtype == np.bool_ else lax.mul(x, y)


add = _binary("add", _add)
subtract = _binary("subtract", lax.sub)
multiply = _binary("multiply", _mul)
true_divide = _binary("true_divide", lax.div, inexact=True)
divide = true_divide
arctan2 = _binary("arctan2", lax.atan2, inexact=True)
nextafter = _binary("nextafter", lax.nextafter, inexact=True)
maximum = _binary("maximum", lax.max)
minimum = _binary("minimum", lax.min)
fmod = _binary("fmod", lax.rem)


def _floor_divide(x, y):
    if _is_int_or_bool(x):
        if aval(x).dtype == np.bool_:
            x, y = convert(x, np.int8), convert(y, np.int8)
            return convert(_floor_divide(x, y), np.bool_)
        q, r = lax.div(x, y), lax.rem(x, y)
        # C truncates toward zero; floor differs when the remainder and
        # divisor have opposite signs
        fix = lax.bitwise_and(lax.ne(r, _k(r, 0)),
                              lax.ne(lax.lt(r, _k(r, 0)), lax.lt(y, _k(y, 0))))
        return lax.select_n(fix, q, lax.sub(q, _k(q, 1)))
    # numpy's float algorithm: exact quotient of x - fmod(x, y), then floor
    mod = lax.rem(x, y)
    div = lax.div(lax.sub(x, mod), y)
    fix = lax.bitwise_and(lax.ne(mod, _k(mod, 0)),
                          lax.ne(lax.lt(y, _k(y, 0)), lax.lt(mod, _k(mod, 0))))
    div = lax.select_n(fix, div, lax.sub(div, _k(div, 1)))
    fl = lax.floor(div)
    fl = lax.select_n(lax.gt(lax.sub(div, fl), _k(div, 0.5)), fl, lax.add(fl, _k(fl, 1)))
    # y == 0: the plain quotient (inf or nan); an infinite x gives nan through mod
    return lax.select_n(lax.eq(y, _k(y, 0)), fl, lax.div(x, y))


def _remainder(x, y):
    r = lax.rem(x, y)
    fix = lax.bitwise_and(lax.ne(r, _k(r, 0)),
                          lax.ne(lax.lt(r, _k(r, 0)), lax.lt(y, _k(y, 0))))
    return lax.select_n(fix, r, lax.add(r, y))


floor_divide = _binary("floor_divide", _floor_divide)
remainder = _binary("remainder", _remainder)
mod = remainder


def divmod(x, y):
    """``(floor_divide(x, y), remainder(x, y))``."""
    return floor_divide(x, y), remainder(x, y)


def negative(x):
    """Elementwise ``-x``."""
    x = operand(x)
    return lax.neg(x)


def positive(x):
    """Elementwise ``+x`` (a copy of ``x``)."""
    return operand(x)


def absolute(x):
    """Elementwise absolute value (unsigned and bool inputs are returned)."""
    x = operand(x)
    return x if aval(x).dtype.kind in "ub" else lax.abs(x)


abs = absolute


def sign(x):
    """-1, 0 or 1 by the sign of ``x`` (nan stays nan)."""
    x = operand(x)
    return lax.sign(x)


def reciprocal(x):
    """Elementwise ``1 / x`` in the dtype of ``x`` (numpy.reciprocal)."""
    x = operand(x)
    return lax.div(_k(x, 1), x)


def square(x):
    """Elementwise ``x * x``."""
    x = operand(x)
    if aval(x).dtype == np.bool_:
        x = convert(x, np.int8)      # as numpy does
    return lax.integer_pow(x, 2)


def _int_power(x, y):
    """``x ** y`` for integer arrays by repeated squaring over y's bits
    (wrapping around as the products do). A negative y gives the truncated
    ``1 / x ** -y``: 1 or -1 for x == 1 or -1, else 0 (NumPy raises there)."""
    dt = aval(y).dtype
    yc = None if isinstance(y, Tracer) else np.asarray(y)
    bits = 8 * dt.itemsize - (dt.kind == "i") if yc is None else \
        max(int(np.max(yc, initial=0)).bit_length(), 1)
    acc, base = lax.full(aval(x).shape, 1, aval(x).dtype), x
    for i in range(bits):
        bit = lax.ne(lax.bitwise_and(y, _k(y, 1 << i)), _k(y, 0))
        acc = lax.select_n(bit, acc, lax.mul(acc, base))
        base = lax.mul(base, base)
    if dt.kind == "i" and (yc is None or (yc < 0).any()):
        odd = lax.ne(lax.bitwise_and(y, _k(y, 1)), _k(y, 0))
        unit = where(lax.eq(x, _k(x, -1)), where(odd, _k(x, -1), _k(x, 1)), _k(x, 0))
        acc = where(lax.lt(y, _k(y, 0)), where(lax.eq(x, _k(x, 1)), _k(x, 1), unit), acc)
    return acc


def power(x, y):
    """``x ** y`` elementwise: Python int exponents use lax.integer_pow,
    integer arrays repeated squaring, floats lax.pow."""
    if isinstance(y, int) and not isinstance(y, bool) and aval(x).dtype.kind in "iuf":
        x = operand(x)
        return lax.integer_pow(x, y)
    x, y = promote_args("power", x, y)
    if _is_int_or_bool(x):
        if aval(x).dtype == np.bool_:
            x, y = convert(x, np.int8), convert(y, np.int8)
            return convert(_int_power(x, y), np.bool_)
        return _int_power(x, y)
    return lax.pow(x, y)


pow = power


def float_power(x, y):
    """``x ** y`` computed in float64."""
    x, y = promote_args("float_power", convert(x, np.float64), convert(y, np.float64))
    return lax.pow(x, y)


# ----------------------------------------------------------------------------
# rounding

def _round_like(name, lax_fn):
    def fn(x):
        x = operand(x)
        return x if _is_int_or_bool(x) else lax_fn(x)
    return _make(name, fn, f"Elementwise {name} (integers are returned unchanged).")


def _trunc(x):
    return lax.select_n(lax.lt(x, _k(x, 0)), lax.floor(x), lax.ceil(x))


floor = _round_like("floor", lax.floor)
ceil = _round_like("ceil", lax.ceil)
trunc = _round_like("trunc", _trunc)
fix = trunc
rint = _unary("rint", lax.round)


def round(a, decimals=0):
    """Round half to even, to ``decimals`` places (numpy.round)."""
    a = operand(a)
    if _is_int_or_bool(a):
        if decimals >= 0:
            return a
        return convert(round(convert(a, np.float64), decimals), aval(a).dtype)
    if decimals == 0:
        return lax.round(a)
    f = _k(a, 10.0 ** decimals)
    return lax.div(lax.round(lax.mul(a, f)), f)


around = round


# ----------------------------------------------------------------------------
# transcendental

exp = _unary("exp", lax.exp)
exp2 = _unary("exp2", lax.exp2)
expm1 = _unary("expm1", lax.expm1)
log = _unary("log", lax.log)
log1p = _unary("log1p", lax.log1p)
sqrt = _unary("sqrt", lax.sqrt)
cbrt = _unary("cbrt", lax.cbrt)
sin = _unary("sin", lax.sin)
cos = _unary("cos", lax.cos)
tan = _unary("tan", lax.tan)
arcsin = _unary("arcsin", lax.asin)
arccos = _unary("arccos", lax.acos)
arctan = _unary("arctan", lax.atan)
sinh = _unary("sinh", lax.sinh)
cosh = _unary("cosh", lax.cosh)
tanh = _unary("tanh", lax.tanh)
arcsinh = _unary("arcsinh", lax.asinh)
arccosh = _unary("arccosh", lax.acosh)
arctanh = _unary("arctanh", lax.atanh)
log2 = _unary("log2", lambda x: lax.div(lax.log(x), _k(x, math.log(2))))
log10 = _unary("log10", lambda x: lax.div(lax.log(x), _k(x, math.log(10))))
deg2rad = _unary("deg2rad", lambda x: lax.mul(x, _k(x, math.pi / 180)))
rad2deg = _unary("rad2deg", lambda x: lax.mul(x, _k(x, 180 / math.pi)))
radians, degrees = deg2rad, rad2deg


def _sinc(x):
    pix = lax.mul(x, _k(x, math.pi))
    zero = lax.eq(x, _k(x, 0))
    safe = where(zero, _k(x, 1), pix)
    return where(zero, _k(x, 1), lax.div(lax.sin(safe), safe))


sinc = _unary("sinc", _sinc)


def _hypot(x, y):
    # scale by the larger magnitude so that squaring cannot overflow
    x, y = lax.abs(x), lax.abs(y)
    big, small = lax.max(x, y), lax.min(x, y)
    safe = where(lax.eq(big, _k(big, 0)), _k(big, 1), big)
    ratio = lax.div(small, safe)
    out = lax.mul(big, lax.sqrt(lax.add(_k(x, 1), lax.mul(ratio, ratio))))
    # an infinite side wins even over nan
    inf = _k(x, np.inf)
    return where(lax.bitwise_or(lax.eq(x, inf), lax.eq(y, inf)), inf, out)


hypot = _binary("hypot", _hypot, inexact=True)


def _logaddexp(x, y):
    big = lax.max(x, y)
    diff = lax.neg(lax.abs(lax.sub(x, y)))
    # equal infinities make diff nan: their sum is the infinity itself
    diff = where(lax.eq(x, y), _k(diff, 0), diff)
    return lax.add(big, lax.log1p(lax.exp(diff)))


logaddexp = _binary("logaddexp", _logaddexp, inexact=True)


def signbit(x):
    """True where the sign bit of ``x`` is set (including -0.0 and -nan)."""
    x = operand(x)
    if aval(x).dtype.kind != "f":
        return lax.lt(x, _k(x, 0))
    # -0.0 == 0.0, so look at the sign of 1/x for zeros
    neg = lax.lt(x, _k(x, 0))
    zero = lax.eq(x, _k(x, 0))
    neg_zero = lax.bitwise_and(zero, lax.lt(lax.div(_k(x, 1), x), _k(x, 0)))
    return lax.bitwise_or(neg, neg_zero)


def _copysign(x, y):
    magnitude = lax.abs(x)
    return where(signbit(y), lax.neg(magnitude), magnitude)


copysign = _binary("copysign", _copysign, inexact=True)


def _shift(name, signed_fn, unsigned_fn):
    def fn(x, y):
        x, y = promote_args(name, x, y)
        kind = aval(x).dtype.kind
        if kind not in "iu":
            raise TypeError(f"{name} needs integer arrays, got {aval(x).dtype}")
        return (signed_fn if kind == "i" else unsigned_fn)(x, y)
    return _make(name, fn, f"Elementwise {name} of the bits of ``x`` by ``y`` "
                           f"(shifts by y < 0 or y >= the bit width shift out every bit).")


left_shift = _shift("left_shift", lax.shift_left, lax.shift_left)
right_shift = _shift("right_shift", lax.shift_right_arithmetic, lax.shift_right_logical)


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``x`` with nan, +inf and -inf replaced (by default with 0 and the
    largest finite values)."""
    x = operand(x)
    if aval(x).dtype.kind != "f":
        return x
    info = np.finfo(aval(x).dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    x = where(lax.ne(x, x), _k(x, nan), x)
    x = where(lax.eq(x, _k(x, np.inf)), _k(x, posinf), x)
    return where(lax.eq(x, _k(x, -np.inf)), _k(x, neginf), x)


def _fmax_fmin(name, lax_fn):
    def fn(x, y):
        x, y = promote_args(name, x, y)
        out = lax_fn(x, y)
        if aval(out).dtype.kind != "f":
            return out
        out = lax.select_n(lax.ne(y, y), out, x)
        return lax.select_n(lax.ne(x, x), out, y)
    return _make(name, fn, f"Elementwise {name[1:]}imum ignoring nans (numpy.{name}).")


fmax = _fmax_fmin("fmax", lax.max)
fmin = _fmax_fmin("fmin", lax.min)


# ----------------------------------------------------------------------------
# predicates and comparisons

def isfinite(x):
    """True where ``x`` is neither inf nor nan."""
    x = operand(x)
    return lax.is_finite(x) if aval(x).dtype.kind == "f" else _true_like(x)


def isnan(x):
    """True where ``x`` is nan."""
    x = operand(x)
    return lax.ne(x, x)


def isinf(x):
    """True where ``x`` is +inf or -inf."""
    x = operand(x)
    if aval(x).dtype.kind != "f":
        return lax.ne(x, x)
    return lax.eq(lax.abs(x), _k(x, np.inf))


def _true_like(x):
    return lax.eq(x, x)


equal = _binary("equal", lax.eq)
not_equal = _binary("not_equal", lax.ne)
less = _binary("less", lax.lt)
less_equal = _binary("less_equal", lax.le)
greater = _binary("greater", lax.gt)
greater_equal = _binary("greater_equal", lax.ge)

bitwise_and = _binary("bitwise_and", lax.bitwise_and)
bitwise_or = _binary("bitwise_or", lax.bitwise_or)
bitwise_xor = _binary("bitwise_xor", lax.bitwise_xor)


def bitwise_not(x):
    """Elementwise ``~x`` (logical not for bools)."""
    x = operand(x)
    return lax.bitwise_not(x)


invert = bitwise_not


def _to_bool(x):
    x = operand(x)
    return x if aval(x).dtype == np.bool_ else lax.ne(x, _k(x, 0))


def _logical(name, lax_fn):
    def fn(x, y):
        return lax_fn(*promote_args(name, _to_bool(x), _to_bool(y)))
    return _make(name, fn, f"Elementwise {name} of the truth values of ``x`` and ``y``.")


logical_and = _logical("logical_and", lax.bitwise_and)
logical_or = _logical("logical_or", lax.bitwise_or)
logical_xor = _logical("logical_xor", lax.bitwise_xor)


def logical_not(x):
    """Elementwise ``not x``."""
    return lax.bitwise_not(_to_bool(x))


# ----------------------------------------------------------------------------
# selection

def where(condition, x=None, y=None):
    """``x`` where ``condition`` else ``y``, broadcast together. With one
    argument, ``nonzero(condition)`` (concrete arrays only)."""
    if x is None and y is None:
        from trax.numpy.indexing import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise TypeError("where takes 1 or 3 arguments")
    condition = _to_bool(condition)
    x, y = promote_args("where", x, y)
    shape = broadcast_shapes(aval(condition).shape, aval(x).shape, aval(y).shape,
                             fname="where")
    x, y = broadcast_to(x, shape, "where"), broadcast_to(y, shape, "where")
    if aval(condition).shape != ():
        condition = broadcast_to(condition, shape, "where")
    return lax.select_n(condition, y, x)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):
    """Limit ``a`` to [a_min, a_max] (either bound may be None)."""
    a_min = min if a_min is None else a_min
    a_max = max if a_max is None else a_max
    a = operand(a)
    if a_min is not None:
        a = maximum(a, a_min)
    if a_max is not None:
        a = minimum(a, a_max)
    return a


def astype(x, dtype):
    """``x`` converted to ``dtype``."""
    return convert(x, dtypes.canonicalize(dtype))
