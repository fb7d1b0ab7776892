"""Elementwise primitives: unary math, binary arithmetic, comparisons,
logical/bitwise ops, select_n, clamp and convert_element_type.

Operands of an n-ary primitive share one dtype, and one shape except that a
rank-0 operand broadcasts (``mul b 2.0``). trax.numpy does the promotion and
general broadcasting before it binds these.
"""
import math

import numpy as np

from trax import dtypes
from trax.core import ShapedArray, get_aval
from trax.errors import type_error, user_source_line
from trax.interpreters import batching
from trax.interpreters.ad import (defjvp, defjvp_with_output, deflinear, defzero,
                                  is_undefined)
from trax.lax.helpers import (binary_primitive, check_kinds, scalar_like,
                              standard_primitive, unary_primitive, unbroadcast)

_FLOAT, _NUM, _INT, _INT_BOOL = "f", "fiu", "iu", "iub"
_ALL = "fiub"


def _k(x, v):
    return scalar_like(x, v)


def _erf_inv_np(x):
    """erf_inv like the compiled code (trax.compiler.math.functions): Giles'
    approximation, then Newton steps in float64 on erf(y) - |x|, or where
    y >= 0.84375 on log(erfc(y) / (1 - |x|)) (1 - |x| is exact there)."""
    x = np.asarray(x)
    a = np.abs(x.astype(np.float64))
    c = 1.0 - a
    with np.errstate(all="ignore"):
        w = -np.log(c * (1.0 + a))
        p1 = np.polyval(_GILES_SMALL, w - 2.5)
        p2 = np.polyval(_GILES_LARGE, np.sqrt(w) - 3.0)
        y = np.where(w < 5.0, p1, p2) * a
        for _ in range(4 if x.dtype == np.float64 else 1):
            slope = 2.0 / math.sqrt(math.pi) * np.exp(-y * y)
            erfc = _erfc_vec(y)
            y = np.where(y < 0.84375, y - (_erf_vec(y) - a) / slope,
                         y + np.log(erfc / c) * erfc / slope)
        y = np.where(a == 1, np.inf, y)
        y = np.copysign(np.where(a <= 1, y, np.nan), x)
    return y.astype(x.dtype)


# Giles' single-precision erf_inv, highest degree first (the compiled code's
# initial guess, trax.compiler.math.constants)
_GILES_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_LARGE = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_erfc_vec = np.vectorize(math.erfc, otypes=[np.float64])
_erf_vec = np.vectorize(math.erf, otypes=[np.float64])


def _erf_np(x):
    x = np.asarray(x)
    if x.size == 0:
        return x.copy()
    return _erf_vec(x).astype(x.dtype)


def _round_half_even(x):
    return np.round(x)


def _logistic_np(x):
    with np.errstate(over="ignore"):
        return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))).astype(x.dtype)


def _rsqrt_np(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return (1 / np.sqrt(x)).astype(np.asarray(x).dtype)


def _with_errstate(fn):
    def wrapped(*xs):
        with np.errstate(all="ignore"):
            return fn(*xs)
    return wrapped


# ----------------------------------------------------------------------------
# unary

neg_p = unary_primitive("neg", np.negative, _NUM)
sign_p = unary_primitive("sign", lambda x: np.where(x == 0, x, np.sign(x)), _NUM)
floor_p = unary_primitive("floor", np.floor)
ceil_p = unary_primitive("ceil", np.ceil)
round_p = unary_primitive("round", _round_half_even)
abs_p = unary_primitive("abs", np.abs, _NUM)
exp_p = unary_primitive("exp", _with_errstate(np.exp))
exp2_p = unary_primitive("exp2", _with_errstate(np.exp2))
log_p = unary_primitive("log", _with_errstate(np.log))
log1p_p = unary_primitive("log1p", _with_errstate(np.log1p))
expm1_p = unary_primitive("expm1", _with_errstate(np.expm1))
sqrt_p = unary_primitive("sqrt", _with_errstate(np.sqrt))
rsqrt_p = unary_primitive("rsqrt", _rsqrt_np)
cbrt_p = unary_primitive("cbrt", np.cbrt)
sin_p = unary_primitive("sin", _with_errstate(np.sin))
cos_p = unary_primitive("cos", _with_errstate(np.cos))
tan_p = unary_primitive("tan", _with_errstate(np.tan))
asin_p = unary_primitive("asin", _with_errstate(np.arcsin))
acos_p = unary_primitive("acos", _with_errstate(np.arccos))
atan_p = unary_primitive("atan", np.arctan)
sinh_p = unary_primitive("sinh", _with_errstate(np.sinh))
cosh_p = unary_primitive("cosh", _with_errstate(np.cosh))
tanh_p = unary_primitive("tanh", np.tanh)
asinh_p = unary_primitive("asinh", np.arcsinh)
acosh_p = unary_primitive("acosh", _with_errstate(np.arccosh))
atanh_p = unary_primitive("atanh", _with_errstate(np.arctanh))
logistic_p = unary_primitive("logistic", _logistic_np)
erf_p = unary_primitive("erf", _erf_np)
erf_inv_p = unary_primitive("erf_inv", _erf_inv_np)
not_p = unary_primitive("not", np.invert, _INT_BOOL)


def _is_finite_abstract(x):
    check_kinds("is_finite", [x], _FLOAT)
    return ShapedArray(x.shape, np.bool_)


is_finite_p = standard_primitive("is_finite", np.isfinite, _is_finite_abstract)
is_finite_p.batch = batching.vectorized_batcher(is_finite_p)


def neg(x): return neg_p.bind(x)
def sign(x): return sign_p.bind(x)
def floor(x): return floor_p.bind(x)
def ceil(x): return ceil_p.bind(x)
def round(x): return round_p.bind(x)
def abs(x): return abs_p.bind(x)
def exp(x): return exp_p.bind(x)
def exp2(x): return exp2_p.bind(x)
def log(x): return log_p.bind(x)
def log1p(x): return log1p_p.bind(x)
def expm1(x): return expm1_p.bind(x)
def sqrt(x): return sqrt_p.bind(x)
def rsqrt(x): return rsqrt_p.bind(x)
def cbrt(x): return cbrt_p.bind(x)
def sin(x): return sin_p.bind(x)
def cos(x): return cos_p.bind(x)
def tan(x): return tan_p.bind(x)
def asin(x): return asin_p.bind(x)
def acos(x): return acos_p.bind(x)
def atan(x): return atan_p.bind(x)
def sinh(x): return sinh_p.bind(x)
def cosh(x): return cosh_p.bind(x)
def tanh(x): return tanh_p.bind(x)
def asinh(x): return asinh_p.bind(x)
def acosh(x): return acosh_p.bind(x)
def atanh(x): return atanh_p.bind(x)
def logistic(x): return logistic_p.bind(x)
def erf(x): return erf_p.bind(x)
def erf_inv(x): return erf_inv_p.bind(x)
def is_finite(x): return is_finite_p.bind(x)
def bitwise_not(x): return not_p.bind(x)


deflinear(neg_p, lambda ct, x: [neg(ct)])
for _p in (sign_p, floor_p, ceil_p, round_p, is_finite_p, not_p):
    defzero(_p)
defjvp(abs_p, lambda g, x: mul(g, sign(x)))
defjvp_with_output(exp_p, lambda ts, out, x: mul(ts[0], out))
defjvp_with_output(exp2_p, lambda ts, out, x: mul(ts[0], mul(out, _k(x, math.log(2)))))
defjvp(log_p, lambda g, x: div(g, x))
defjvp(log1p_p, lambda g, x: div(g, add(x, _k(x, 1))))
defjvp_with_output(expm1_p, lambda ts, out, x: mul(ts[0], add(out, _k(x, 1))))
defjvp_with_output(sqrt_p, lambda ts, out, x: div(ts[0], mul(out, _k(x, 2))))
defjvp_with_output(rsqrt_p, lambda ts, out, x: mul(ts[0], mul(div(out, x), _k(x, -0.5))))
defjvp_with_output(cbrt_p, lambda ts, out, x:
                   mul(ts[0], mul(integer_pow(out, -2), _k(x, 1 / 3))))
defjvp(sin_p, lambda g, x: mul(g, cos(x)))
defjvp(cos_p, lambda g, x: neg(mul(g, sin(x))))
defjvp_with_output(tan_p, lambda ts, out, x: mul(ts[0], add(_k(x, 1), mul(out, out))))
defjvp(asin_p, lambda g, x: mul(g, rsqrt(sub(_k(x, 1), mul(x, x)))))
defjvp(acos_p, lambda g, x: neg(mul(g, rsqrt(sub(_k(x, 1), mul(x, x))))))
defjvp(atan_p, lambda g, x: div(g, add(_k(x, 1), mul(x, x))))
defjvp(sinh_p, lambda g, x: mul(g, cosh(x)))
defjvp(cosh_p, lambda g, x: mul(g, sinh(x)))
defjvp_with_output(tanh_p, lambda ts, out, x: mul(ts[0], sub(_k(x, 1), mul(out, out))))
defjvp(asinh_p, lambda g, x: mul(g, rsqrt(add(mul(x, x), _k(x, 1)))))
defjvp(acosh_p, lambda g, x: mul(g, rsqrt(mul(sub(x, _k(x, 1)), add(x, _k(x, 1))))))
defjvp(atanh_p, lambda g, x: div(g, sub(_k(x, 1), mul(x, x))))
defjvp_with_output(logistic_p, lambda ts, out, x:
                   mul(ts[0], mul(out, sub(_k(x, 1), out))))
defjvp(erf_p, lambda g, x: mul(g, mul(_k(x, 2 / math.sqrt(math.pi)), exp(neg(mul(x, x))))))
defjvp_with_output(erf_inv_p, lambda ts, out, x:
                   mul(ts[0], mul(_k(x, math.sqrt(math.pi) / 2), exp(mul(out, out)))))


# ----------------------------------------------------------------------------
# binary

def _int_div(x, y):
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype.kind == "f":
        with np.errstate(all="ignore"):
            return np.divide(x, y)
    with np.errstate(all="ignore"):
        q = np.floor_divide(x, np.where(y == 0, 1, y))
        r = x - q * y
        fix = (r != 0) & ((x < 0) != (y < 0))     # floor -> truncation
        return np.where(y == 0, 0, q + fix).astype(x.dtype)


def _rem(x, y):
    x, y = np.asarray(x), np.asarray(y)
    with np.errstate(all="ignore"):
        if x.dtype.kind == "f":
            return np.fmod(x, y)
        return np.where(y == 0, 0, np.fmod(x, np.where(y == 0, 1, y))).astype(x.dtype)


def _scalars_like(*args):
    """Python scalars take the dtype of the array operands, as in jax.lax
    (a scalar meeting a weakly typed operand of its own dtype stays weak, so
    the result is weak too); arrays must already agree."""
    arrays = [a for a in args if not isinstance(a, (int, float, bool))]
    if not arrays or len(arrays) == len(args):
        return args
    aval = get_aval(arrays[0])
    return [np.array(a, aval.dtype) if isinstance(a, (int, float, bool))
            and not (aval.weak_type and get_aval(a).dtype == aval.dtype) else a
            for a in args]


def _unsigned(x):
    return x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _shift_impl(kind):
    """Shifts of the bits of ``x`` by ``y`` as JAX defines them for every
    ``y``: an amount below 0 or at least the bit width shifts everything
    out (leaving the sign bits for an arithmetic right shift)."""
    def impl(x, y):
        x, y = np.asarray(x), np.asarray(y)
        bits = 8 * x.dtype.itemsize
        inside = _unsigned(y) < bits            # y < 0 is a huge unsigned amount
        if kind == "arithmetic":
            signed = x.view(np.dtype(f"i{x.dtype.itemsize}"))
            amount = np.where(inside, y, bits - 1).astype(signed.dtype)
            return np.right_shift(signed, amount).view(x.dtype)
        amount = np.where(inside, y, 0).astype(x.dtype)
        shifted = (np.left_shift(x, amount) if kind == "left" else
                   np.right_shift(_unsigned(x), _unsigned(amount)).view(x.dtype))
        return np.where(inside, shifted, 0).astype(x.dtype)
    return impl


add_p = binary_primitive("add", np.add, _NUM)
sub_p = binary_primitive("sub", np.subtract, _NUM)
mul_p = binary_primitive("mul", np.multiply, _NUM)
div_p = binary_primitive("div", _int_div, _NUM)
rem_p = binary_primitive("rem", _rem, _NUM)
pow_p = binary_primitive("pow", _with_errstate(np.power), _FLOAT)
def _maximum(x, y):
    """np.maximum, except that +0 is above -0 (as in JAX and IEEE 754-2019)."""
    out = np.maximum(x, y)
    if out.dtype.kind == "f":
        # of two zeros the sum is -0 only when both are -0
        out = np.where((x == 0) & (y == 0), x + y, out)
    return out


def _minimum(x, y):
    """np.minimum, except that -0 is below +0 (as in JAX and IEEE 754-2019)."""
    return -_maximum(-x, -y) if np.result_type(x, y).kind == "f" else np.minimum(x, y)


max_p = binary_primitive("max", _maximum, _ALL)
min_p = binary_primitive("min", _minimum, _ALL)
atan2_p = binary_primitive("atan2", np.arctan2, _FLOAT)
nextafter_p = binary_primitive("nextafter", np.nextafter, _FLOAT)
and_p = binary_primitive("and", np.bitwise_and, _INT_BOOL)
or_p = binary_primitive("or", np.bitwise_or, _INT_BOOL)
xor_p = binary_primitive("xor", np.bitwise_xor, _INT_BOOL)
shift_left_p = binary_primitive("shift_left", _shift_impl("left"), _INT)
shift_right_arithmetic_p = binary_primitive("shift_right_arithmetic",
                                            _shift_impl("arithmetic"), _INT)
shift_right_logical_p = binary_primitive("shift_right_logical", _shift_impl("logical"), _INT)
eq_p = binary_primitive("eq", np.equal, _ALL, out_dtype=np.bool_)
ne_p = binary_primitive("ne", np.not_equal, _ALL, out_dtype=np.bool_)
lt_p = binary_primitive("lt", np.less, _ALL, out_dtype=np.bool_)
le_p = binary_primitive("le", np.less_equal, _ALL, out_dtype=np.bool_)
gt_p = binary_primitive("gt", np.greater, _ALL, out_dtype=np.bool_)
ge_p = binary_primitive("ge", np.greater_equal, _ALL, out_dtype=np.bool_)


def add(x, y): return add_p.bind(*_scalars_like(x, y))
def sub(x, y): return sub_p.bind(*_scalars_like(x, y))
def mul(x, y): return mul_p.bind(*_scalars_like(x, y))
def div(x, y): return div_p.bind(*_scalars_like(x, y))
def rem(x, y): return rem_p.bind(*_scalars_like(x, y))
def pow(x, y): return pow_p.bind(*_scalars_like(x, y))
def max(x, y): return max_p.bind(*_scalars_like(x, y))
def min(x, y): return min_p.bind(*_scalars_like(x, y))
def atan2(x, y): return atan2_p.bind(*_scalars_like(x, y))
def nextafter(x, y): return nextafter_p.bind(*_scalars_like(x, y))
def bitwise_and(x, y): return and_p.bind(*_scalars_like(x, y))
def bitwise_or(x, y): return or_p.bind(*_scalars_like(x, y))
def bitwise_xor(x, y): return xor_p.bind(*_scalars_like(x, y))


def shift_left(x, y):
    """``x << y`` (0 where ``y`` is negative or at least the bit width)."""
    return shift_left_p.bind(*_scalars_like(x, y))


def shift_right_arithmetic(x, y):
    """``x >> y`` filling with the sign bit (the sign bits alone where ``y``
    is negative or at least the bit width)."""
    return shift_right_arithmetic_p.bind(*_scalars_like(x, y))


def shift_right_logical(x, y):
    """``x >> y`` filling with zeros (0 where ``y`` is negative or at least
    the bit width)."""
    return shift_right_logical_p.bind(*_scalars_like(x, y))

def eq(x, y): return eq_p.bind(*_scalars_like(x, y))
def ne(x, y): return ne_p.bind(*_scalars_like(x, y))
def lt(x, y): return lt_p.bind(*_scalars_like(x, y))
def le(x, y): return le_p.bind(*_scalars_like(x, y))
def gt(x, y): return gt_p.bind(*_scalars_like(x, y))
def ge(x, y): return ge_p.bind(*_scalars_like(x, y))


def _add_transpose(ct, x, y):
    return [unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(ct, y.aval) if is_undefined(y) else None]


def _sub_transpose(ct, x, y):
    return [unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(neg(ct), y.aval) if is_undefined(y) else None]


def _mul_transpose(ct, x, y):
    if is_undefined(x) and is_undefined(y):
        raise TypeError("mul is not linear in both operands at once")
    if is_undefined(x):
        return [unbroadcast(mul(ct, y), x.aval), None]
    return [None, unbroadcast(mul(x, ct), y.aval)]


def _div_transpose(ct, x, y):
    if is_undefined(y):
        raise TypeError("div is not linear in its divisor")
    return [unbroadcast(div(ct, y), x.aval), None]


deflinear(add_p, _add_transpose)
deflinear(sub_p, _sub_transpose)
defjvp(mul_p, lambda g, x, y: mul(g, y), lambda g, x, y: mul(x, g))
mul_p.transpose = _mul_transpose
defjvp(div_p, lambda g, x, y: div(g, y),
       lambda g, x, y: neg(mul(g, div(div(x, y), y))))
div_p.transpose = _div_transpose
defjvp(rem_p, lambda g, x, y: g,
       lambda g, x, y: neg(mul(g, _trunc(div(x, y)))))


def _trunc(x):
    return mul(sign(x), floor(abs(x)))


def _pow_jvp_base(g, x, y):
    # d/dx x**y = y * x**(y-1); written so that y == 0 gives 0 everywhere
    ym1 = sub(y, _k(y, 1))
    safe = select_n(eq(y, _k(y, 0)), mul(y, pow(x, ym1)), _k(y, 0))
    return mul(g, safe)


def _pow_jvp_exponent(g, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0
    zero = eq(x, _k(x, 0))
    logx = log(select_n(zero, x, _k(x, 1)))
    return mul(g, mul(logx, pow(x, y)))


defjvp(pow_p, _pow_jvp_base, _pow_jvp_exponent)


def _minmax_jvp(pick):
    # the chosen operand gets the tangent; ties split it evenly (as JAX does)
    def rule_x(g, x, y):
        return mul(g, _tie_weights(pick(x, y), eq(x, y), x))

    def rule_y(g, x, y):
        return mul(g, _tie_weights(pick(y, x), eq(x, y), y))
    return rule_x, rule_y


def _tie_weights(chosen, tie, like):
    dt = get_aval(like).dtype
    return add(convert_element_type(chosen, dt), mul(convert_element_type(tie, dt), 0.5))


defjvp(max_p, *_minmax_jvp(gt))
defjvp(min_p, *_minmax_jvp(lt))
defjvp(atan2_p,
       lambda g, x, y: mul(g, div(y, add(mul(x, x), mul(y, y)))),
       lambda g, x, y: neg(mul(g, div(x, add(mul(x, x), mul(y, y))))))
for _p in (nextafter_p, and_p, or_p, xor_p, shift_left_p, shift_right_arithmetic_p,
           shift_right_logical_p, eq_p, ne_p, lt_p, le_p, gt_p, ge_p):
    defzero(_p)


# ----------------------------------------------------------------------------
# integer_pow

def _integer_pow_impl(x, y):
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        out = np.power(x, y) if y >= 0 or x.dtype.kind != "f" else 1 / np.power(x, -y)
    return np.asarray(out, x.dtype)


def _integer_pow_abstract(x, y):
    check_kinds("integer_pow", [x], _NUM)
    if not isinstance(y, (int, np.integer)):
        raise type_error(f"integer_pow needs a Python int exponent, got {y!r}")
    if y < 0 and x.dtype.kind != "f":
        # a ValueError, as NumPy raises for ``x ** -1`` on concrete arrays
        raise ValueError(f"Integers to negative integer powers are not allowed: "
                         f"integer_pow of {x.str_short()} with exponent {y} (at "
                         f"{user_source_line() or 'unknown line'}); convert to float first")
    return x


integer_pow_p = standard_primitive("integer_pow", _integer_pow_impl, _integer_pow_abstract)
integer_pow_p.batch = lambda vals, dims, axis_size, y: (integer_pow(vals[0], y), dims[0])


def integer_pow(x, y):
    return integer_pow_p.bind(x, y=int(y))


def _integer_pow_jvp(g, x, y):
    if y == 0:
        return mul(g, _k(x, 0))
    if y == 1:
        return g
    return mul(g, mul(_k(x, y), x if y == 2 else integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)


# ----------------------------------------------------------------------------
# select_n, clamp

def _select_n_impl(which, *cases):
    which = np.asarray(which)
    if which.dtype == np.bool_:
        return np.where(which, cases[1], cases[0]) if len(cases) == 2 else \
            np.asarray(cases[0]).copy()
    return np.choose(which.astype(np.int64), np.broadcast_arrays(*cases)) \
        if which.shape else np.asarray(cases[int(which)])


def _select_n_abstract(which, *cases):
    if not cases:
        raise type_error("select_n needs at least one case")
    if which.dtype != np.bool_ and which.dtype.kind not in "iu":
        raise type_error(f"select_n predicate must be bool or int, got {which.dtype}")
    if which.dtype == np.bool_ and len(cases) > 2:
        raise type_error("a bool select_n predicate selects between at most 2 cases")
    shapes = {c.shape for c in cases}
    dts = {c.dtype for c in cases}
    if len(shapes) > 1 or len(dts) > 1:
        raise type_error("select_n cases must have one shape and dtype, got "
                         + ", ".join(c.str_short() for c in cases))
    if which.shape not in ((), cases[0].shape):
        raise type_error(f"select_n predicate shape {which.shape} must be () or "
                         f"the cases' shape {cases[0].shape}")
    return ShapedArray(cases[0].shape, cases[0].dtype,
                       all(c.weak_type for c in cases))


select_n_p = standard_primitive("select_n", _select_n_impl, _select_n_abstract)


def select_n(which, *cases):
    """``cases[which]`` elementwise (bool ``which``: False picks cases[0]).
    Rank-0 cases broadcast to the shape of the others (or of ``which``)."""
    shapes = [get_aval(c).shape for c in (which, *cases)]
    full = next((s for s in shapes if s != ()), ())
    if full != ():
        cases = [_broadcast_in_dim(c, full, ()) if get_aval(c).shape == () else c
                 for c in cases]
    return select_n_p.bind(which, *cases)


def _select_n_batch(vals, dims, axis_size):
    which, wd = vals[0], dims[0]
    cases, cds = vals[1:], dims[1:]
    case_shape = batching._unbatched_shape(cases[0], cds[0])
    if batching._unbatched_shape(which, wd) == () and case_shape != () and wd is not None:
        # a batched scalar predicate: give it the cases' full shape
        which = batching.moveaxis(which, wd, 0)
        which = _broadcast_in_dim(which, (axis_size, *case_shape), (0,))
        wd = 0
    cases = [batching.bdim_at_front(c, d, axis_size) for c, d in zip(cases, cds)]
    if wd is None and get_aval(which).shape != ():
        which = batching.bdim_at_front(which, None, axis_size)
    elif wd is not None:
        which = batching.moveaxis(which, wd, 0)
    return select_n(which, *cases), 0


def _broadcast_in_dim(x, shape, dims):
    from trax.lax.shape_ops import broadcast_in_dim
    return broadcast_in_dim(x, shape, dims)


def _select_n_jvp(primals, tangents):
    which, cases = primals[0], primals[1:]
    return select_n(which, *cases), select_n(which, *tangents[1:])


def _select_n_transpose(ct, which, *cases):
    if is_undefined(which):
        raise TypeError("select_n is not linear in its predicate")
    zero = _k_aval(get_aval(ct), 0)
    out = [None]
    for i, c in enumerate(cases):
        if not is_undefined(c):
            out.append(None)
            continue
        picks = [zero] * len(cases)
        picks[i] = ct
        out.append(select_n(which, *[_full_like(p, ct) for p in picks]))
    return out


def _k_aval(aval, v):
    return np.array(v, aval.dtype)


def _full_like(p, like):
    from trax.lax.shape_ops import full
    a = get_aval(like)
    if get_aval(p).shape == a.shape:
        return p
    return full(a.shape, p, a.dtype)


select_n_p.batch = _select_n_batch
select_n_p.jvp = _select_n_jvp
select_n_p.transpose = _select_n_transpose


def clamp(lo, x, hi):
    """``min(max(x, lo), hi)`` elementwise; lo and hi may be scalars."""
    return clamp_p.bind(lo, x, hi)


def _clamp_abstract(lo, x, hi):
    check_kinds("clamp", [lo, x, hi], _ALL)
    for name, a in (("min", lo), ("max", hi)):
        if a.dtype != x.dtype:
            raise type_error(f"clamp {name} dtype {a.dtype} differs from operand {x.dtype}")
        if a.shape not in ((), x.shape):
            raise type_error(f"clamp {name} shape {a.shape} must be () or {x.shape}")
    return x


clamp_p = standard_primitive("clamp", lambda lo, x, hi: np.asarray(np.clip(x, lo, hi)),
                             _clamp_abstract)
clamp_p.batch = batching.vectorized_batcher(clamp_p)


def _pick_weight(cond, like):
    return convert_element_type(cond, get_aval(like).dtype)


# a rank-0 bound's tangent broadcasts against the weight in mul
defjvp(clamp_p,
       lambda g, lo, x, hi: mul(g, _pick_weight(lt(x, lo), x)),
       lambda g, lo, x, hi: mul(g, _pick_weight(bitwise_and(ge(x, lo), le(x, hi)), x)),
       lambda g, lo, x, hi: mul(g, _pick_weight(gt(x, hi), x)))


# ----------------------------------------------------------------------------
# convert_element_type

def _convert_impl(x, new_dtype, weak_type):
    x, new_dtype = np.asarray(x), np.dtype(new_dtype)
    if x.dtype.kind == "f" and new_dtype.kind in "iu":
        return _float_to_int(x, new_dtype)
    return x.astype(new_dtype)


def _float_to_int(x, dtype):
    """Float to integer as JAX does it: truncation toward zero, saturating
    at the integer type's bounds, nan to 0 (NumPy's cast is undefined there)."""
    info = np.iinfo(dtype)
    # the bounds are powers of two (or 0), exact in float64 as are all x
    lo, hi = float(info.min), float(info.max) + 1.0
    with np.errstate(invalid="ignore"):
        t = np.trunc(x.astype(np.float64))
        ok = (t >= lo) & (t < hi)
        out = np.where(ok, t, 0).astype(dtype)
    out = np.where(t >= hi, info.max, out)
    return np.where(t < lo, info.min, out).astype(dtype)


def _convert_abstract(x, new_dtype, weak_type):
    return ShapedArray(x.shape, dtypes.canonicalize(new_dtype), weak_type)


convert_element_type_p = standard_primitive("convert_element_type", _convert_impl,
                                            _convert_abstract)


def convert_element_type(x, new_dtype, weak_type=False):
    """Cast ``x`` to ``new_dtype``. Float to int truncates toward zero and
    saturates: values beyond the integer range give its bounds, nan gives 0."""
    new_dtype = dtypes.canonicalize(new_dtype)
    aval = get_aval(x)
    if aval.dtype == new_dtype and aval.weak_type == weak_type:
        return x
    return convert_element_type_p.bind(x, new_dtype=new_dtype, weak_type=weak_type)


def _convert_jvp(primals, tangents, new_dtype, weak_type):
    x, = primals
    out = convert_element_type(x, new_dtype, weak_type)
    if dtypes.is_float(get_aval(x).dtype) and dtypes.is_float(new_dtype):
        return out, convert_element_type(tangents[0], new_dtype, weak_type)
    from trax.lax.shape_ops import zeros_like
    return out, zeros_like(out)


def _convert_transpose(ct, x, new_dtype, weak_type):
    return [convert_element_type(ct, x.aval.dtype, x.aval.weak_type)]


convert_element_type_p.jvp = _convert_jvp
convert_element_type_p.transpose = _convert_transpose
convert_element_type_p.batch = lambda vals, dims, axis_size, **p: (
    convert_element_type_p.bind(vals[0], **p), dims[0])


# ----------------------------------------------------------------------------
# stop_gradient

stop_gradient_p = standard_primitive("stop_gradient", lambda x: np.asarray(x), lambda x: x)
defzero(stop_gradient_p)
stop_gradient_p.batch = lambda vals, dims, axis_size: (stop_gradient_p.bind(vals[0]), dims[0])


def stop_gradient(x):
    """``x`` unchanged, but with zero derivative (over a pytree of arrays)."""
    from trax.tree_util import tree_map
    return tree_map(lambda v: stop_gradient_p.bind(v), x)
