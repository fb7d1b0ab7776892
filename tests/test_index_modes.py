"""Out-of-range indices in gather and the scatters (JAX's ``mode``:
clip, fill/drop, promise_in_bounds): eager == jit == an explicit NumPy
reference, derivatives and vmap keep the mode, and trax.numpy's indexing,
``.at[...]`` and ``take`` use JAX's defaults."""
import numpy as np
import pytest

import trax
from trax import lax
from trax.test_util import check_grads

RNG = np.random.default_rng(0)
MODES = ["clip", "fill", "promise_in_bounds"]
SCATTERS = {"scatter": None, "scatter_add": np.add, "scatter_mul": np.multiply,
            "scatter_min": np.minimum, "scatter_max": np.maximum}


def _default_fill(dtype):
    dt = np.dtype(dtype)
    return {"f": np.nan, "i": np.iinfo(dt).min if dt.kind == "i" else 0,
            "u": np.iinfo(dt).max if dt.kind == "u" else 0, "b": True}[dt.kind]


def gather_ref(x, idx, mode, fill_value=None):
    """gather_nd with each out-of-range row clamped (clip, promise) or filled."""
    rows = idx.reshape(-1, idx.shape[-1])
    bounds = np.array(x.shape[:idx.shape[-1]])
    ok = np.all((rows >= 0) & (rows < bounds), axis=1)
    out = x[tuple(np.clip(rows, 0, bounds - 1).T)]
    if mode == "fill":
        out[~ok] = _default_fill(x.dtype) if fill_value is None else fill_value
    return out.reshape(idx.shape[:-1] + x.shape[idx.shape[-1]:])


def scatter_ref(ufunc, x, idx, upd, mode):
    """gather_nd-style scatter: clip clamps the rows, the others drop them."""
    rows = idx.reshape(-1, idx.shape[-1])
    upd = upd.reshape(rows.shape[:1] + x.shape[idx.shape[-1]:])
    bounds = np.array(x.shape[:idx.shape[-1]])
    if mode == "clip":
        rows = np.clip(rows, 0, bounds - 1)
    ok = np.all((rows >= 0) & (rows < bounds), axis=1)
    out = x.copy()
    where = tuple(rows[ok].T)
    if ufunc is None:
        out[where] = upd[ok]
    else:
        ufunc.at(out, where, upd[ok])
    return out


def assert_eager_jit(f, args, expected):
    """f eagerly and under jit both equal ``expected`` (NaNs matching)."""
    np.testing.assert_array_equal(f(*args), expected)
    np.testing.assert_array_equal(trax.jit(f)(*args), expected)


IDX1 = np.array([[1], [5], [-1], [3], [-7], [0]])         # rows of a (4, 3) operand
IDX2 = np.array([[[0, 2], [3, 3]], [[4, 0], [-1, 1]]])    # (2, 2, 2): k = 2


# ----------------------------------------------------------------------------
# lax

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_])
def test_gather_modes(mode, dtype):
    x = (np.abs(RNG.standard_normal((4, 3))) * 5).astype(dtype)
    for idx in (IDX1, IDX2, IDX1.astype(np.int32)):
        assert_eager_jit(lambda x, i: lax.gather(x, i, mode=mode), [x, idx],
                         gather_ref(x, idx, mode))
    if mode == "fill":
        assert_eager_jit(lambda x, i: lax.gather(x, i, mode="fill", fill_value=2), [x, IDX1],
                         gather_ref(x, IDX1, mode, np.array(2).astype(dtype)))


def test_gather_default_is_promise_in_bounds_and_scatter_default_drops():
    x = RNG.standard_normal((4, 3))
    assert_eager_jit(lambda x: lax.gather(x, IDX1), [x], gather_ref(x, IDX1, "clip"))
    u = RNG.standard_normal((6, 3))
    assert_eager_jit(lambda x, u: lax.scatter_add(x, IDX1, u), [x, u],
                     scatter_ref(np.add, x, IDX1, u, "drop"))
    assert "mode='promise_in_bounds'" in str(trax.make_jaxpr(lambda x: lax.gather(x, IDX1))(x))
    assert "mode='fill_or_drop'" in str(trax.make_jaxpr(
        lambda x, u: lax.scatter(x, IDX1, u))(x, u))


@pytest.mark.parametrize("mode", ["clip", "drop", "fill", "promise_in_bounds"])
@pytest.mark.parametrize("name", list(SCATTERS))
def test_scatter_modes(name, mode):
    x = RNG.standard_normal((4, 3))
    idx = np.array([[1], [5], [-1], [2], [-7]])
    if name == "scatter":     # one write per element, whichever mode
        idx = np.array([[1], [5], [-1]]) if mode == "clip" else np.array([[1], [5], [-1], [2]])
    u = RNG.standard_normal((len(idx), 3))
    ref_mode = "clip" if mode == "clip" else "drop"
    f = lambda x, i, u: getattr(lax, name)(x, i, u, mode=mode)
    assert_eager_jit(f, [x, idx, u], scatter_ref(SCATTERS[name], x, idx, u, ref_mode))
    u2 = RNG.standard_normal((2, 2))
    assert_eager_jit(f, [x, IDX2, u2], scatter_ref(SCATTERS[name], x, IDX2, u2, ref_mode))


def test_bad_mode_and_fill_value():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="unknown gather/scatter mode 'wrap'"):
        lax.gather(x, IDX1, mode="wrap")
    with pytest.raises(ValueError, match="unknown gather/scatter mode"):
        lax.scatter_add(x, IDX1, np.zeros(6), mode="bogus")
    with pytest.raises(TypeError, match="fill_value must be a concrete scalar"):
        lax.gather(x, IDX1, mode="fill", fill_value=np.zeros(2))
    with pytest.raises(TypeError, match="fill_value must be a concrete scalar"):
        trax.jit(lambda x, v: lax.gather(x, IDX1, mode="fill", fill_value=v))(x, 1.0)


@pytest.mark.parametrize("mode", MODES)
def test_gather_grads(mode):
    x = RNG.standard_normal((4, 3))
    # fill rows are constants: finite differences need a finite fill value
    check_grads(lambda x: lax.gather(x, IDX1, mode=mode, fill_value=0.5), [x], order=2)
    check_grads(lambda x: lax.gather(x, IDX2, mode=mode, fill_value=0.5), [x], order=2)


def test_fill_gather_tangent_and_transpose():
    x = RNG.standard_normal((4, 3))
    f = lambda x: lax.gather(x, IDX1, mode="fill")
    _, t = trax.jvp(f, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, gather_ref(np.ones_like(x), IDX1, "fill", 0.0))
    g = trax.grad(lambda x: lax.reduce_sum(lax.gather(x, IDX1, mode="fill", fill_value=0.0),
                                           (0, 1)))(x)
    np.testing.assert_array_equal(g, scatter_ref(np.add, np.zeros_like(x), IDX1,
                                                 np.ones((6, 3)), "drop"))
    jaxpr = str(trax.make_jaxpr(trax.grad(lambda x: lax.reduce_sum(f(x), (0, 1))))(x))
    assert "scatter_add[mode='fill_or_drop']" in jaxpr


@pytest.mark.parametrize("mode", ["clip", "drop", "promise_in_bounds"])
@pytest.mark.parametrize("name", list(SCATTERS))
def test_scatter_grads(name, mode):
    x = RNG.standard_normal((4, 3))
    idx = np.array([[1], [5], [-1], [2], [-7]])
    if name == "scatter":
        idx = np.array([[1], [5], [2]]) if mode == "clip" else np.array([[1], [5], [-1], [2]])
    u = RNG.standard_normal((len(idx), 3))
    if name == "scatter_mul":
        u = u + np.sign(u)    # well away from 0
    f = lambda x, u: getattr(lax, name)(x, idx, u, mode=mode)
    check_grads(f, [x, u], order=1 if name in ("scatter_min", "scatter_max") else 2)
    check_grads(trax.jit(f), [x, u], order=1)


@pytest.mark.parametrize("mode", MODES)
def test_gather_vmap_keeps_mode(mode):
    xs = RNG.standard_normal((2, 4, 3))
    idxs = np.stack([IDX1, IDX1[::-1]])
    f = lambda x, i: lax.gather(x, i, mode=mode)
    for in_axes, args in [((0, 0), (xs, idxs)), ((None, 0), (xs[0], idxs)),
                          ((0, None), (xs, IDX1))]:
        expected = np.stack([f(*[a if ax is None else a[b] for a, ax in zip(args, in_axes)])
                             for b in range(2)])
        np.testing.assert_array_equal(trax.vmap(f, in_axes)(*args), expected)
        np.testing.assert_array_equal(trax.jit(trax.vmap(f, in_axes))(*args), expected)


@pytest.mark.parametrize("mode", ["clip", "drop"])
def test_scatter_vmap_keeps_mode(mode):
    xs = RNG.standard_normal((2, 4, 3))
    idxs = np.stack([IDX1, IDX1[::-1]])
    us = RNG.standard_normal((2, 6, 3))
    f = lambda x, i, u: lax.scatter_add(x, i, u, mode=mode)
    expected = np.stack([f(xs[b], idxs[b], us[b]) for b in range(2)])
    np.testing.assert_array_equal(trax.vmap(f)(xs, idxs, us), expected)
    expected = np.stack([f(xs[b], IDX1, us[b]) for b in range(2)])
    np.testing.assert_array_equal(trax.vmap(f, (0, None, 0))(xs, IDX1, us), expected)


# ----------------------------------------------------------------------------
# trax.numpy: x[idx], x.at[idx], take

import trax.numpy as jnp  # noqa: E402

I = np.array([1, 7, -1, -4, 0])     # on 3 elements: in range, past the end, -1, -4


def np_get(x, i, mode="clip", fill_value=None):
    """``x[i]`` along axis 0 with negative indices counted from the end
    once, then the rest clamped or filled."""
    n = x.shape[0]
    i = np.where(i < 0, i + n, i)
    ok = (i >= 0) & (i < n)
    out = x[np.clip(i, 0, n - 1)]
    if mode == "fill":
        out[~ok] = _default_fill(x.dtype) if fill_value is None else fill_value
    return out


def np_update(ufunc, x, i, v, mode="drop"):
    """``x.at[i]`` updated with ``v``: out-of-range indices (after counting
    negatives from the end once) dropped or clamped."""
    n = x.shape[0]
    i = np.where(i < 0, i + n, i)
    if mode == "clip":
        i = np.clip(i, 0, n - 1)
    ok = (i >= 0) & (i < n)
    out = x.copy()
    v = np.broadcast_to(v, i.shape + x.shape[1:])
    if ufunc is None:
        out[i[ok]] = v[ok]
    else:
        ufunc.at(out, i[ok], v[ok])
    return out


UPDATES = {"set": None, "add": np.add, "mul": np.multiply, "min": np.minimum,
           "max": np.maximum}


@pytest.mark.parametrize("method", list(UPDATES))
def test_at_updates_drop_out_of_range(method):
    # issue 15: x.at[[1, 7]].add(5.) on 3 elements changed element 2 under jit
    x = np.arange(1.0, 4.0)
    for i in (np.array([1, 7]), np.array([-1, -4, 3]), np.array([7, -4])):
        f = lambda x, i: getattr(x.at[i], method)(5.0)
        assert_eager_jit(f, [jnp.asarray(x), i], np_update(UPDATES[method], x, i, 5.0))
    f = lambda x: getattr(jnp.asarray(x).at[5], method)(5.0)     # a static int
    assert_eager_jit(f, [x], x)
    f = lambda x, j: getattr(x.at[j], method)(5.0)              # a traced scalar
    for j in (np.int64(2), np.int64(3), np.int64(-4)):
        assert_eager_jit(f, [jnp.asarray(x), j], np_update(UPDATES[method], x, np.array([j]), 5.0))


@pytest.mark.parametrize("method", list(UPDATES))
def test_at_updates_clip(method):
    x = np.arange(1.0, 4.0)
    i = np.array([7, -4])     # -4 counts from the end to -1, then clamps to 0
    f = lambda x, i: getattr(x.at[i], method)(np.array([5.0, 6.0]), mode="clip")
    assert_eager_jit(f, [jnp.asarray(x), i], np_update(UPDATES[method], x, i, [5.0, 6.0], "clip"))
    f = lambda x: getattr(jnp.asarray(x).at[5], method)(5.0, mode="clip")
    assert_eager_jit(f, [x], np_update(UPDATES[method], x, np.array([2]), 5.0))


def test_at_updates_of_rows_and_modes():
    x = RNG.standard_normal((3, 2))
    i = np.array([2, 3, -1])
    for mode in ("drop", "fill", "promise_in_bounds", "clip"):
        f = lambda x, i: x.at[i].add(np.ones(2), mode=mode)
        ref_mode = "clip" if mode == "clip" else "drop"
        assert_eager_jit(f, [jnp.asarray(x), i], np_update(np.add, x, i, np.ones(2), ref_mode))
    f = lambda x, i: x.at[1:, i].set(0.0)           # a slice and an out-of-range column
    expected = x.copy()
    expected[1:, 1] = 0.0
    assert_eager_jit(f, [jnp.asarray(x), np.array([1, 2])], expected)


def test_getitem_clamps_eagerly_and_compiled():
    x = np.arange(1.0, 4.0)
    for wrap in (jnp.asarray, lambda v: v):     # a trax Array and a numpy array
        assert_eager_jit(lambda x, i: jnp.asarray(x)[i], [wrap(x), I], np_get(x, I))
    assert_eager_jit(lambda x: jnp.asarray(x)[5], [x], x[2])
    assert_eager_jit(lambda x: jnp.asarray(x)[-4], [x], x[0])
    assert_eager_jit(lambda x: jnp.asarray(x).at[I].get(), [x], np_get(x, I))
    assert_eager_jit(lambda x: jnp.asarray(x).at[I].get(mode="clip"), [x], np_get(x, I))
    x2 = RNG.standard_normal((3, 4))
    assert_eager_jit(lambda x: jnp.asarray(x)[5, 1:], [x2], x2[2, 1:])
    assert_eager_jit(lambda x, i: x[i, -9], [jnp.asarray(x2), I], np_get(x2, I)[:, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8, np.bool_])
def test_get_fill(dtype):
    x = np.array([1, 2, 3]).astype(dtype)
    f = lambda x, i: x.at[i].get(mode="fill")
    assert_eager_jit(f, [jnp.asarray(x), I], np_get(x, I, "fill"))
    f = lambda x, i: x.at[i].get(mode="fill", fill_value=0)
    assert_eager_jit(f, [jnp.asarray(x), I], np_get(x, I, "fill", 0))
    for j in (np.int64(7), np.int64(-1), np.int64(-4)):      # a traced scalar index
        assert_eager_jit(lambda x, j: x.at[j].get(mode="fill"), [jnp.asarray(x), j],
                         np_get(x, np.array([j]), "fill")[0])
    assert_eager_jit(lambda x: jnp.asarray(x).at[7].get(mode="fill"), [x],
                     np_get(x, np.array([7]), "fill")[0])


def test_get_fill_rows_and_columns():
    x = RNG.standard_normal((2, 3))
    i = np.array([0, 5, -1])
    assert_eager_jit(lambda x, i: x.at[:, i].get(mode="fill"), [jnp.asarray(x), i],
                     np_get(x.T, i, "fill").T)
    assert_eager_jit(lambda x, i: x.at[i].get(mode="fill"), [jnp.asarray(x), i],
                     np_get(x, i, "fill"))
    assert_eager_jit(lambda x: jnp.asarray(x).at[1, 7].get(mode="fill"), [x], np.nan)
    with pytest.raises(ValueError, match="unknown gather/scatter mode 'wrap'"):
        jnp.asarray(x).at[i].get(mode="wrap")


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.uint8, np.bool_])
def test_take_modes(dtype):
    x = np.array([1, 2, 3]).astype(dtype)
    n = len(x)
    assert_eager_jit(lambda x, i: jnp.take(x, i), [x, I], np_get(x, I, "fill"))
    assert_eager_jit(lambda x, i: jnp.take(x, i, mode="fill", fill_value=1), [x, I],
                     np_get(x, I, "fill", 1))
    assert_eager_jit(lambda x, i: jnp.take(x, i, mode="clip"), [x, I],
                     x[np.clip(I, 0, n - 1)])                     # numpy: -1 clips to 0
    np.testing.assert_array_equal(jnp.take(x, I, mode="clip"), np.take(x, I, mode="clip"))
    assert_eager_jit(lambda x, i: jnp.take(x, i, mode="wrap"), [x, I], np.take(x, I, mode="wrap"))
    with pytest.raises(NotImplementedError, match="mode='raise'"):
        jnp.take(x, I, mode="raise")
    with pytest.raises(ValueError, match="unknown mode 'bogus'"):
        jnp.take(x, I, mode="bogus")


def test_take_along_axis_and_axis_fill():
    x = RNG.standard_normal((2, 3))
    i = np.array([[0, 4], [-1, -5]])
    expected = np.stack([np_get(x[r], i[r], "fill") for r in range(2)])
    assert_eager_jit(lambda x, i: jnp.take_along_axis(x, i, axis=1), [x, i], expected)
    expected = np.stack([np_get(x[r], i[r], "clip") for r in range(2)])
    assert_eager_jit(lambda x, i: jnp.take_along_axis(x, i, axis=1, mode="clip"), [x, i],
                     expected)
    assert_eager_jit(lambda x, i: jnp.take(x, i, axis=1), [x, I], np_get(x.T, I, "fill").T)


def test_grads_through_modes():
    x = RNG.standard_normal(3)
    i = np.array([1, 7, -1, -4])
    for mode in ("clip", "fill", "promise_in_bounds"):
        check_grads(lambda x: jnp.asarray(x).at[i].get(mode=mode, fill_value=0.5) ** 2, [x],
                    order=2)
    for mode in ("clip", "drop"):
        check_grads(lambda x, u: jnp.asarray(x).at[i].add(u, mode=mode), [x, np.ones(4)],
                    order=2)
        check_grads(lambda x, u: jnp.asarray(x).at[i].mul(u, mode=mode),
                    [x, np.array([1.5, 2.0, -1.0, 3.0])], order=2)
    # the filled elements (NaN by default) have zero derivative
    g = trax.grad(lambda x: jnp.sum(jnp.where(jnp.isnan(y := jnp.take(x, i)), 0.0, y)))(x)
    np.testing.assert_array_equal(g, np_update(np.add, np.zeros(3), i, 1.0))
    g = trax.grad(lambda x: jnp.sum(jnp.asarray(x)[i]))(x)          # clamped: summed at 0, 2
    np.testing.assert_array_equal(g, np_update(np.add, np.zeros(3), i, 1.0, "clip"))


def test_vmap_of_fill_get():
    xs = RNG.standard_normal((2, 3))
    js = np.array([1, 5])
    f = lambda x, j: x.at[j].get(mode="fill")
    expected = np.array([np_get(xs[b], js[b:b + 1], "fill")[0] for b in range(2)])
    np.testing.assert_array_equal(trax.vmap(f)(xs, js), expected)
    np.testing.assert_array_equal(trax.jit(trax.vmap(f))(xs, js), expected)


def test_mismatched_boolean_mask_raises():
    # a mask longer than its axis used to be read as clamped indices
    x = np.arange(3.0)
    for f in (lambda x: jnp.asarray(x)[np.array([True, False, True, True])],
              trax.jit(lambda x: x[np.array([True, False, True, True])]),
              lambda x: jnp.asarray(x).at[np.array([True, True])].get()):
        with pytest.raises(IndexError, match="boolean index did not match .* axis 0"):
            f(x)
    y = np.arange(6.0).reshape(2, 3)
    with pytest.raises(IndexError, match="along axis 1; size of axis is 3"):
        jnp.asarray(y)[:, np.array([True, False])]
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(trax.jit(lambda y: y[..., mask])(y), y[..., mask])


def test_concrete_array_indexed_by_a_traced_index():
    table = jnp.arange(5.0)
    f = lambda i: table[i] + table[1:][i] + table[i, None][0]
    assert trax.jit(f)(2) == f(2) == 2.0 + 3.0 + 2.0
    assert trax.jit(lambda i: table[i])(7) == 4.0          # clamped, as eagerly
