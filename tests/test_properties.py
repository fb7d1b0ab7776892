"""Property-based tests: jit == eager on random shapes and values."""
import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import trax
import trax.numpy as jnp

DTYPES = st.sampled_from([np.float32, np.float64])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=9)


def arrays(dtype, shape, lo=-5.0, hi=5.0):
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=np.dtype(dtype).itemsize * 8))


def close(a, b, dtype):
    rtol = 2e-5 if dtype == np.float32 else 1e-11
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=rtol)


@settings(max_examples=40, deadline=None)
@given(st.data(), DTYPES, SHAPES)
def test_elementwise_chain(data, dtype, shape):
    x = data.draw(arrays(dtype, shape))
    f = lambda x: jnp.tanh(x) * jnp.exp(-x * x) + jnp.sin(x) * 0.5 - jnp.log1p(x * x)
    close(trax.jit(f)(x), f(x), dtype)


@settings(max_examples=40, deadline=None)
@given(st.data(), DTYPES, hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=9))
def test_reductions_over_each_axis(data, dtype, shape):
    x = data.draw(arrays(dtype, shape))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    f = lambda x: (jnp.sum(jnp.cos(x), axis=axis), jnp.max(x, axis=axis),
                   jnp.argmin(x, axis=axis), jnp.mean(x * x, axis=axis, keepdims=True))
    for a, b in zip(trax.jit(f)(x), f(x)):
        close(a, b, dtype)


@settings(max_examples=30, deadline=None)
@given(st.data(), DTYPES, st.integers(1, 6), st.integers(1, 6), st.integers(1, 6))
def test_matmul_and_its_gradient(data, dtype, m, k, n):
    a = data.draw(arrays(dtype, (m, k), -2, 2))
    b = data.draw(arrays(dtype, (k, n), -2, 2))
    f = lambda a, b: jnp.sum(jnp.tanh(a @ b))
    close(trax.jit(f)(a, b), f(a, b), dtype)
    g = trax.grad(f, argnums=(0, 1))
    for x, y in zip(trax.jit(g)(a, b), g(a, b)):
        close(x, y, dtype)


@settings(max_examples=30, deadline=None)
@given(st.data(), DTYPES, hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=8))
def test_broadcasting_and_indexing(data, dtype, shape):
    x = data.draw(arrays(dtype, shape))
    row = data.draw(arrays(dtype, shape[-1:]))
    i = data.draw(st.integers(0, shape[0] - 1))
    f = lambda x, r: (x + r)[i] * 2.0 + jnp.flip(x, 0)[0]
    close(trax.jit(f)(x, row), f(x, row), dtype)


@settings(max_examples=25, deadline=None)
@given(st.data(), hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
def test_vmap_of_grad_matches_a_loop(data, shape):
    xs = data.draw(arrays(np.float64, (3, *shape), -2, 2))
    f = lambda x: jnp.sum(jnp.sin(x) * x ** 2)
    batched = trax.vmap(trax.grad(f))(xs)
    for b, x in zip(batched, xs):
        close(b, trax.grad(f)(x), np.float64)
