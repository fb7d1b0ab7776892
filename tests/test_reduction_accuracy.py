"""Compiled float sums are blocked and combined pairwise: their error grows
with log2(n), not n, for every reduction path (one flat loop, a strided loop
nest, a walk in memory order along kept axes, a row group), and the result
is deterministic."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp


def _bound(dtype, n):
    """ulp * log2(n), relative (the serial sums these tests replace were off
    by 2x to 50x that on the same data)."""
    return np.finfo(dtype).eps * np.log2(n)


def _values(seed, shape, dtype=np.float32):
    """Positive values of one magnitude: each rounding of a long serial sum
    of them errs the same way."""
    return np.random.default_rng(seed).uniform(0.1, 0.11, shape).astype(dtype)


def _rel_err(got, ref):
    got = np.asarray(got, np.float64)
    return np.max(np.abs(got - ref) / np.abs(ref))


def _check(f, x, ref, n):
    got = f(x)
    assert got.dtype == x.dtype
    err = _rel_err(got, ref)
    assert err <= _bound(x.dtype, n), (err, _bound(x.dtype, n))
    return got


def test_sum_of_squares_1e7_float32():
    x = np.random.default_rng(0).uniform(0, 1, 10**7).astype(np.float32)
    f = trax.jit(lambda x: jnp.sum(x * x))
    ref = np.sum(x.astype(np.float64) ** 2)
    got = _check(f, x, ref, x.size)
    # as close to the exact sum as numpy's own float32 (pairwise) sum is, give or take the bound
    np_err = _rel_err(np.sum(x * x), ref)
    assert _rel_err(got, ref) <= np_err + _bound(np.float32, x.size)
    # deterministic: the same bits on every call
    assert all(np.asarray(f(x)).tobytes() == np.asarray(got).tobytes() for _ in range(3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_sum_with_remainder_block(dtype):
    # a size no block size divides: full blocks plus a partial one
    x = _values(1, 10_000_019, dtype)
    ref = np.sum(x.astype(np.float64))
    _check(trax.jit(jnp.sum), x, ref, x.size)


def test_sum_over_leading_axis_walks_in_blocks():
    # axis 0 with a kept last axis: the memory-order walk
    x = _values(2, (1_000_003, 8))
    ref = np.sum(x.astype(np.float64), axis=0)
    _check(trax.jit(lambda x: jnp.sum(x, axis=0)), x, ref, x.shape[0])


def test_multi_axis_sum_with_kept_middle_axis():
    x = _values(3, (5000, 3, 400))
    ref = np.sum(x.astype(np.float64), axis=(0, 2))
    _check(trax.jit(lambda x: jnp.sum(x, axis=(0, 2))), x, ref, 5000 * 400)


def test_strided_trailing_sum_long_last_axis():
    # the transpose makes the reduction a loop nest of strided reads
    x = _values(4, (3000, 1000))
    ref = np.sum(x.astype(np.float64).T * 2.0)
    _check(trax.jit(lambda x: jnp.sum(x.T * 2.0)), x, ref, x.size)


def test_strided_trailing_sum_short_last_axis():
    # trailing axes (1, 2) of a transpose, a short last axis: blocks of rows
    x = _values(5, (1, 3, 3_000_001))
    f = trax.jit(lambda x: jnp.sum(jnp.transpose(x, (0, 2, 1)), axis=(1, 2)))
    ref = np.sum(x.astype(np.float64), axis=(1, 2))
    _check(f, x, ref, x[0].size)


def test_row_group_mean_and_var():
    # mean and var over long rows run in one row group (rows.py)
    x = (np.random.default_rng(6).standard_normal((2, 2_000_000)) + 3).astype(np.float32)
    f = trax.jit(lambda x: (jnp.mean(x, axis=-1), jnp.var(x, axis=-1)))
    mean, var = f(x)
    x64 = x.astype(np.float64)
    n = x.shape[1]
    assert _rel_err(mean, x64.mean(-1)) <= _bound(np.float32, n)
    assert _rel_err(var, x64.var(-1)) <= 4 * _bound(np.float32, n)


def test_result_does_not_depend_on_alignment():
    x = np.random.default_rng(7).uniform(0, 1, 1_000_000).astype(np.float32)
    raw = np.zeros(x.nbytes + 64, np.uint8)
    f = trax.jit(lambda x: jnp.sum(x * x))
    results = set()
    for offset in (0, 4, 8, 12, 32):
        moved = np.frombuffer(raw.data, np.float32, x.size, offset)
        moved[:] = x
        results.add(np.asarray(f(moved)).tobytes())
    assert len(results) == 1
