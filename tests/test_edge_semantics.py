"""Edge cases of the elementwise primitives (nan, infinities, signed zeros,
integer overflow, out-of-range casts and shifts), each run eagerly and
under jit against a reference that states the expected semantics: JAX's on
CPU (checked with jax 0.10.2), which are NumPy's wherever NumPy defines them.
"""
import math
from dataclasses import dataclass

import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax

NAN, INF = np.nan, np.inf
EDGE_FLOATS = [NAN, INF, -INF, 1e10, -1e10, 3e38, -3e38, 300.7, -300.7, 255.9, 256.0,
               -0.9, -0.0, 0.0, 2.5, -3.7, 2.0 ** 31, -2.0 ** 31, 2.0 ** 63, -2.0 ** 63,
               2.0 ** 64]


@dataclass
class Edge:
    name: str
    fn: object          # the trax function
    args: tuple         # numpy arrays
    ref: object         # numpy/Python reference of the expected semantics

    def __str__(self):
        return self.name


def _ints(values, dt):
    return np.array(values, dt)


# ----------------------------------------------------------------------------
# float -> integer casts: truncation toward zero, saturating, nan -> 0

def _saturating_cast(x, dt):
    info = np.iinfo(dt)
    out = [0 if math.isnan(v) else info.max if v == INF else info.min if v == -INF
           else min(max(int(v), int(info.min)), int(info.max)) for v in x.flat]
    return np.array(out, dt).reshape(x.shape)


def _cast_cases():
    for src in (np.float64, np.float32, np.float16):
        with np.errstate(over="ignore"):
            x = np.array(EDGE_FLOATS, src)
        for dst in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64):
            yield Edge(f"convert-{np.dtype(src).name}-{np.dtype(dst).name}",
                       lambda x, dst=dst: lax.convert_element_type(x, dst), (x,),
                       lambda x, dst=dst: _saturating_cast(x, dst))
            # jnp.astype of a concrete array was numpy's cast (undefined out of range)
            yield Edge(f"astype-{np.dtype(src).name}-{np.dtype(dst).name}",
                       lambda x, dst=dst: jnp.astype(x, dst), (x,),
                       lambda x, dst=dst: _saturating_cast(x, dst))
            # and the astype method of an eager Array was ndarray's
            yield Edge(f"astype-method-{np.dtype(src).name}-{np.dtype(dst).name}",
                       lambda x, dst=dst: jnp.asarray(x).astype(dst), (x,),
                       lambda x, dst=dst: _saturating_cast(x, dst))
        yield Edge(f"convert-{np.dtype(src).name}-bool",
                   lambda x: lax.convert_element_type(x, np.bool_), (x,),
                   lambda x: np.array([v != 0 for v in x.flat]))   # nan is true


# ----------------------------------------------------------------------------
# shifts: amounts below 0 or at least the bit width shift every bit out

def _wrap(v, dt):
    bits = 8 * np.dtype(dt).itemsize
    v &= (1 << bits) - 1
    if np.dtype(dt).kind == "i" and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def _shift_ref(kind):
    def ref(x, y):
        dt = x.dtype
        bits = 8 * dt.itemsize
        out = []
        for a, s in zip(x.tolist(), y.tolist()):
            inside = 0 <= s < bits
            if kind == "left":
                out.append(_wrap(a << s, dt) if inside else 0)
            elif kind == "arithmetic":
                signed = _wrap(a, np.dtype(f"i{dt.itemsize}"))
                out.append(_wrap(signed >> (s if inside else bits - 1), dt))
            else:
                out.append(_wrap(_wrap(a, np.dtype(f"u{dt.itemsize}")) >> s, dt) if inside else 0)
        return np.array(out, dt)
    return ref


def _shift_args(dt):
    info, bits = np.iinfo(dt), 8 * np.dtype(dt).itemsize
    values = [-8, 1, -1, 5, info.min, info.max, 3]
    amounts = [-1, 0, 1, bits - 1, bits, bits + 1, 100]
    if np.dtype(dt).kind == "u":
        values, amounts = [v % (info.max + 1) for v in values], [a for a in amounts if a >= 0]
    pairs = [(v, a) for v in values for a in amounts if a <= info.max]
    return _ints([v for v, _ in pairs], dt), _ints([a for _, a in pairs], dt)


def _shift_cases():
    lax_fns = {"left": lax.shift_left, "arithmetic": lax.shift_right_arithmetic,
               "logical": lax.shift_right_logical}
    for dt in (np.int8, np.int32, np.int64, np.uint8, np.uint32):
        args = _shift_args(dt)
        for kind, fn in lax_fns.items():
            yield Edge(f"shift_{kind}-{np.dtype(dt).name}", fn, args, _shift_ref(kind))
        signed = np.dtype(dt).kind == "i"
        yield Edge(f"numpy.left_shift-{np.dtype(dt).name}", jnp.left_shift, args,
                   _shift_ref("left"))
        yield Edge(f"numpy.right_shift-{np.dtype(dt).name}", jnp.right_shift, args,
                   _shift_ref("arithmetic" if signed else "logical"))


# ----------------------------------------------------------------------------
# float arithmetic: infinities, nan and signed zeros

def _fl(values):
    return np.array(values, np.float64)


def _zero_ordered(pick):
    """max/min where -0 < +0 and nan propagates."""
    def ref(x, y):
        out = []
        for a, b in zip(x.tolist(), y.tolist()):
            if math.isnan(a) or math.isnan(b):
                out.append(NAN)
            elif a == b == 0:
                out.append(pick(math.copysign(1, a), math.copysign(1, b)) * 0.0)
            else:
                out.append(pick(a, b))
        return _fl(out)
    return ref


def _reduced(ref):
    def reduce(x):
        out = x[0]
        for v in x[1:]:
            out = ref(_fl([out]), _fl([v]))[0]
        return np.float64(out)
    return reduce


def _numpy_quiet(fn):
    def ref(*args):
        with np.errstate(all="ignore"):
            return fn(*args)
    return ref


def _sign_ref(x):
    return _fl([v if v == 0 or math.isnan(v) else math.copysign(1, v) for v in x.tolist()])


_FX = _fl([INF, -INF, 1, 1, -1, 0, 5, NAN, 5, 7, -7, 7.5, 1e308, -INF, INF])
_FY = _fl([1, 1, 0, INF, INF, 0, -0.0, 1, INF, 2, 2, -2, 1e-10, INF, -3])
_ZX = _fl([0.0, -0.0, 0.0, -0.0, NAN, 1, -0.0, 0.0])
_ZY = _fl([-0.0, 0.0, 0.0, -0.0, 1, NAN, -1, 2])

FLOAT_CASES = [
    Edge("numpy.floor_divide-float", jnp.floor_divide, (_FX, _FY),
         _numpy_quiet(np.floor_divide)),
    Edge("numpy.remainder-float", jnp.remainder, (_FX, _FY), _numpy_quiet(np.remainder)),
    Edge("numpy.fmod-float", jnp.fmod, (_FX, _FY), _numpy_quiet(np.fmod)),
    Edge("max-zeros", lax.max, (_ZX, _ZY), _zero_ordered(max)),
    Edge("min-zeros", lax.min, (_ZX, _ZY), _zero_ordered(min)),
    Edge("numpy.maximum-zeros", jnp.maximum, (_ZX, _ZY), _zero_ordered(max)),
    Edge("numpy.minimum-zeros", jnp.minimum, (_ZX, _ZY), _zero_ordered(min)),
    Edge("sign-zeros", lax.sign, (_fl([-0.0, 0.0, NAN, -INF, INF, -2, 3]),), _sign_ref),
    Edge("clamp-nan", lax.clamp, (_fl(0), _fl([NAN, -1, 2, 0.5]), _fl(1)), np.clip),
    Edge("clamp-nan-bounds", lax.clamp, (_fl(NAN), _fl([-1, 2, 0.5]), _fl(NAN)),
         lambda lo, x, hi: np.full(3, NAN)),
]
for _z in ([0.0, -0.0], [-0.0, 0.0], [-0.0, -0.0], [0.0, 0.0], [-0.0, NAN, 0.0]):
    for _name, _fn, _pick in (("max", jnp.max, max), ("min", jnp.min, min)):
        FLOAT_CASES.append(Edge(f"numpy.{_name}-of-{_z}", _fn, (_fl(_z),),
                                _reduced(_zero_ordered(_pick))))


# ----------------------------------------------------------------------------
# integer arithmetic: division by zero and MIN / -1 (NumPy's results: 0 and MIN)

def _trunc_div(a, b):
    return 0 if b == 0 else abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)


def _int_ref(op):
    def ref(x, y):
        return np.array([_wrap(op(a, b), x.dtype) for a, b in zip(x.tolist(), y.tolist())],
                        x.dtype)
    return ref


def _int_cases():
    for dt in (np.int8, np.int32, np.int64, np.uint8, np.uint32):
        info = np.iinfo(dt)
        x = [7, -7, 0, info.min, info.min, info.max, info.max, -1, 5, -9]
        y = [0, 0, 0, -1, 1, -1, 0, -1, 2, 4]
        if info.min == 0:
            x, y = [v % (info.max + 1) for v in x], [v % (info.max + 1) for v in y]
        args = (_ints(x, dt), _ints(y, dt))
        name = np.dtype(dt).name
        yield Edge(f"div-{name}", lax.div, args, _int_ref(_trunc_div))
        yield Edge(f"rem-{name}", lax.rem, args,
                   _int_ref(lambda a, b: 0 if b == 0 else a - b * _trunc_div(a, b)))
        yield Edge(f"numpy.floor_divide-{name}", jnp.floor_divide, args,
                   _numpy_quiet(np.floor_divide))
        yield Edge(f"numpy.remainder-{name}", jnp.remainder, args, _numpy_quiet(np.remainder))
        yield Edge(f"numpy.fmod-{name}", jnp.fmod, args, _numpy_quiet(np.fmod))
        if info.min < 0:
            y = _ints([info.min, info.min + 1, -1, 0, 1, info.max], dt)
            yield Edge(f"abs-{name}", lax.abs, (y,), np.abs)
            yield Edge(f"neg-{name}", lax.neg, (y,), np.negative)
            yield Edge(f"sign-{name}", lax.sign, (y,), np.sign)


def _int_power_ref(x, y):
    out = []
    for a, b in zip(x.tolist(), y.tolist()):
        if b >= 0:
            out.append(_wrap(a ** b, x.dtype))
        else:       # the truncated 1 / a**-b
            out.append(1 if a == 1 else (-1) ** b if a == -1 else 0)
    return np.array(out, x.dtype)


def _power_cases():
    for dt in (np.int8, np.int32, np.int64, np.uint8, np.uint32):
        signed = np.dtype(dt).kind == "i"
        xs = [3, 3, -3, 0, 0, 1, 1, -1, -1, 2, 5, 3, 0, -2, 7, 255]
        ys = [-1, -2, -1, -1, -2, -5, -4, -3, -4, -31, 31, 200, 0, 7, 2, 3]
        if not signed:
            pairs = [(a, b) for a, b in zip(xs, ys) if a >= 0 and b >= 0]
        else:
            pairs = [(a, b) for a, b in zip(xs, ys) if a <= 127 and b <= 127]
        args = (_ints([a for a, _ in pairs], dt), _ints([b for _, b in pairs], dt))
        yield Edge(f"numpy.power-{np.dtype(dt).name}", jnp.power, args, _int_power_ref)


CASES = [*_cast_cases(), *_shift_cases(), *FLOAT_CASES, *_int_cases(), *_power_cases()]


def _assert_same(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    np.testing.assert_array_equal(actual, expected)
    if expected.dtype.kind == "f":     # the signs of zeros too
        np.testing.assert_array_equal(np.signbit(actual), np.signbit(expected))


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_edge_case(case, mode):
    fn = case.fn if mode == "eager" else trax.jit(case.fn)
    _assert_same(fn(*case.args), case.ref(*case.args))


@pytest.mark.parametrize("mode", ["eager", "jit"])
@pytest.mark.parametrize("power", [lambda x: x ** -1, lambda x: jnp.power(x, -2),
                                   lambda x: lax.integer_pow(x, -1)])
def test_integer_to_negative_power_is_a_clear_error(power, mode):
    x = jnp.asarray(np.array([2, -2, 1], np.int32))
    fn = power if mode == "eager" else trax.jit(power)
    with pytest.raises(ValueError, match=r"negative integer powers"):
        fn(x)


def test_astype_of_python_float_saturates():
    """jnp.astype of an out-of-range Python float saturates (numpy raised)."""
    info = np.iinfo(np.int32)
    assert jnp.astype(3e9, jnp.int32) == info.max
    assert jnp.astype(-math.inf, jnp.int32) == info.min
    assert jnp.astype(math.nan, jnp.int32) == 0
