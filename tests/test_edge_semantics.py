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


CASES = [*_cast_cases(), *_shift_cases()]


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
