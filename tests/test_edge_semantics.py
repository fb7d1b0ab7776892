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


CASES = [*_cast_cases()]


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
