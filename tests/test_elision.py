"""Eager operators reuse big temporaries (trax.elision) without changing
any result or any array the program can still see."""
import operator

import numpy as np
import pytest

import trax
import trax.numpy as tnp
from trax import elision

pytestmark = pytest.mark.skipif(elision._TEMPORARY is None,
                                reason="no reference counts to tell temporaries by")

N = elision.MIN_BYTES // 4 * 2            # float32 elements: above the threshold


@pytest.fixture
def a():
    return tnp.asarray(np.random.default_rng(0).normal(size=N).astype(np.float32))


def _reuses(fn):
    """(result, how many buffers ``fn()`` reused)."""
    before = elision.reused
    out = fn()
    return out, elision.reused - before


@pytest.mark.parametrize("expr, ref", [
    (lambda a: (a - 1) ** 2, lambda x: (x - 1) ** 2),
    (lambda a: (a + 1) * 2, lambda x: (x + 1) * 2),
    (lambda a: 2 * (a + 1), lambda x: 2 * (x + 1)),
    (lambda a: 1 - (a * 3), lambda x: 1 - (x * 3)),
    (lambda a: 1 / (a * a + 1), lambda x: 1 / (x * x + 1)),
    (lambda a: (a - a.mean()) / (a * a + 1), lambda x: (x - x.mean()) / (x * x + 1)),
])
def test_temporaries_are_reused_with_the_same_bits(a, expr, ref):
    x = np.asarray(a).copy()
    out, n = _reuses(lambda: expr(a))
    assert n >= 1
    assert type(out) is trax.core.Array
    np.testing.assert_array_equal(np.asarray(out), ref(x))
    np.testing.assert_array_equal(np.asarray(a), x)          # the input is untouched


def test_named_arrays_are_never_written(a):
    t = a - 1
    keep = t.copy()
    u, n = _reuses(lambda: t * 2)
    assert n == 0
    np.testing.assert_array_equal(t, keep)
    np.testing.assert_array_equal(u, keep * 2)
    v = a + 0
    w, n = _reuses(lambda: 3 - v)
    assert n == 0 and np.array_equal(v, np.asarray(a))


@pytest.mark.parametrize("expr", [
    lambda a: (a[:8] + 1) * 2,                      # small
    lambda a: (a.astype(np.int32) + 1) / 2,         # int / int promotes
    lambda a: (a.reshape(-1, 2)[:, :1] + 0) * a.reshape(-1, 2),   # broadcast grows
    lambda a: (a - 1)[::2] * 2,                     # a view of the temporary
    lambda a: (a - 1).T * 2,
    lambda a: (a - 1) * np.float64(2.5),            # numpy float64 scalar: still float32
    lambda a: (a - 1) ** 3,
])
def test_results_match_numpy_where_nothing_is_reused(a, expr):
    x = np.asarray(a).copy()
    np.testing.assert_array_equal(np.asarray(expr(a)), expr(x))
    np.testing.assert_array_equal(np.asarray(a), x)


def test_no_reuse_when_c_code_calls_the_operator(a):
    """C callers (operator.*, map) may hold references the count does not
    see: only a BINARY_OP of the calling frame qualifies."""
    out, n = _reuses(lambda: operator.mul(a + 1, 2))
    assert n == 0
    out, n = _reuses(lambda: list(map(operator.mul, [a + 1], [2]))[0])
    assert n == 0
    np.testing.assert_array_equal(out, (np.asarray(a) + 1) * 2)


def test_shared_base_is_not_reused(a):
    base = np.asarray(a).copy()
    view = base.view(trax.core.Array)
    _, n = _reuses(lambda: view.view(trax.core.Array) * 2)
    assert n == 0
    np.testing.assert_array_equal(base, np.asarray(a))


def test_tracers_and_jit(a):
    c = a * 1.0
    f = trax.jit(lambda y: (c + 1) * y)
    y = np.full(N, 2.0, np.float32)
    np.testing.assert_allclose(np.asarray(f(y)), (np.asarray(a) + 1) * 2, rtol=1e-6)
    g = trax.grad(lambda y: tnp.sum(((a + 1) * y) ** 2))
    np.testing.assert_allclose(np.asarray(g(y)), 2 * (np.asarray(a) + 1) ** 2 * 2, rtol=1e-5)
