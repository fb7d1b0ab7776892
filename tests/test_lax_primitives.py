"""Quick checks of the shape, indexing, reduction and linalg primitives:
eager vs numpy, derivatives vs finite differences (float64, to second
order), reverse vs forward mode, and vmap vs a Python loop."""
import numpy as np
import pytest

import trax
from trax import lax

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape)


def _tree_vdot(a, b):
    return sum(float(np.vdot(np.asarray(x), np.asarray(y))) for x, y in zip(a, b))


def check_jvp_fd(f, args, eps=1e-6, tol=1e-5):
    """jvp of ``f`` (float args) against central finite differences."""
    tangents = [rand(*np.shape(a)) for a in args]
    _, t_out = trax.jvp(f, tuple(args), tuple(tangents))
    plus = f(*[a + eps * t for a, t in zip(args, tangents)])
    minus = f(*[a - eps * t for a, t in zip(args, tangents)])
    np.testing.assert_allclose(t_out, (np.asarray(plus) - np.asarray(minus)) / (2 * eps),
                               rtol=tol, atol=tol)


def check_vjp(f, args, tol=1e-9):
    """<ct, J t> == <J^T ct, t>: reverse mode agrees with forward mode."""
    tangents = [rand(*np.shape(a)) for a in args]
    out, t_out = trax.jvp(f, tuple(args), tuple(tangents))
    ct = rand(*np.shape(out))
    _, f_vjp = trax.vjp(f, *args)
    cts = f_vjp(ct)
    np.testing.assert_allclose(_tree_vdot(cts, tangents), _tree_vdot([ct], [t_out]),
                               rtol=tol, atol=tol)


def check_grads(f, args, order=2):
    """First-order checks on ``f``; then the same on its jvp (second order)."""
    args = [np.asarray(a, np.float64) for a in args]
    check_jvp_fd(f, args)
    check_vjp(f, args)
    if order > 1:
        tangents = [rand(*np.shape(a)) for a in args]

        def f_jvp(*xs):
            return trax.jvp(f, tuple(xs), tuple(tangents))[1]
        check_grads(f_jvp, args, order - 1)


def check_vmap(f, args, in_axes=0):
    """vmap of ``f`` against stacking ``f`` applied in a Python loop."""
    axes = in_axes if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(args)
    size = next(np.shape(a)[d] for a, d in zip(args, axes) if d is not None)
    expected = np.stack([
        np.asarray(f(*[a if d is None else np.take(a, i, d) for a, d in zip(args, axes)]))
        for i in range(size)])
    got = trax.vmap(f, in_axes=tuple(axes))(*args)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def check_all(f, args, np_f=None, diff=True, vmap_axes=None):
    if np_f is not None:
        np.testing.assert_allclose(f(*args), np_f(*args), rtol=1e-12)
    if diff:
        check_grads(f, args)
    if vmap_axes is not None:
        batched = [np.stack([a + i for i in range(3)], d) if d is not None else a
                   for a, d in zip(args, vmap_axes)]
        check_vmap(f, batched, vmap_axes)
    trax.make_jaxpr(f)(*args)   # traces


# ----------------------------------------------------------------------------
# shape ops

def test_squeeze_expand_dims_rev():
    x = rand(2, 1, 3)
    check_all(lambda x: lax.squeeze(x, (1,)), [x], lambda x: np.squeeze(x, 1), vmap_axes=[2])
    check_all(lambda x: lax.expand_dims(x, (0, 3)), [x], lambda x: x[None, :, :, None, :],
              vmap_axes=[1])
    check_all(lambda x: lax.rev(x, (0, 2)), [x], lambda x: x[::-1, :, ::-1], vmap_axes=[1])


def test_concatenate():
    a, b, c = rand(2, 3), rand(2, 1), rand(2, 4)
    check_all(lambda a, b, c: lax.concatenate([a, b, c], 1), [a, b, c],
              lambda a, b, c: np.concatenate([a, b, c], 1), vmap_axes=[0, None, 1])


@pytest.mark.parametrize("config", [[(1, 2, 0), (0, 0, 1)], [(-1, 2, 1), (2, -2, 0)],
                                    [(0, -3, 2), (-1, -1, 0)]])
def test_pad(config):
    x = rand(3, 4)

    def np_pad(x, v):
        out = x
        for ax, (lo, hi, interior) in enumerate(config):
            n = out.shape[ax]
            shape = list(out.shape)
            shape[ax] = n + max(n - 1, 0) * interior
            dil = np.full(shape, v)
            idx = [slice(None)] * out.ndim
            idx[ax] = slice(None, None, interior + 1)
            dil[tuple(idx)] = out
            pad_width = [(0, 0)] * out.ndim
            pad_width[ax] = (max(lo, 0), max(hi, 0))
            dil = np.pad(dil, pad_width, constant_values=v)
            idx[ax] = slice(max(-lo, 0), dil.shape[ax] - max(-hi, 0))
            out = dil[tuple(idx)]
        return out
    f = lambda x, v: lax.pad(x, v, config)
    check_all(f, [x, np.float64(1.5)], np_pad, vmap_axes=[1, None])
    check_vmap(f, [rand(2, 3, 4), rand(2)], (0, 0))


def test_slice():
    x = rand(5, 7)
    check_all(lambda x: lax.slice(x, (1, 0), (4, 7), (2, 3)), [x],
              lambda x: x[1:4:2, 0:7:3], vmap_axes=[1])
    check_all(lambda x: lax.slice(x, (1, 2), (1, 5)), [x], lambda x: x[1:1, 2:5],
              vmap_axes=[0])


def test_iota():
    np.testing.assert_array_equal(lax.iota(np.int32, 4), np.arange(4))
    np.testing.assert_array_equal(lax.broadcasted_iota(np.float32, (2, 3), 0),
                                  [[0, 0, 0], [1, 1, 1]])
    assert lax.iota(np.int32, 4).dtype == np.int32
    f = lambda x: lax.mul(x, lax.iota(np.float64, 3))
    check_all(f, [rand(3)], vmap_axes=[0])


@pytest.mark.parametrize("starts", [(1, 2), (-3, 9), (3, 0)])
def test_dynamic_slice(starts):
    x = rand(5, 6)

    def np_ds(x, i, j):
        i, j = min(max(i, 0), 5 - 3), min(max(j, 0), 6 - 2)
        return x[i:i + 3, j:j + 2]
    f = lambda x, i, j: lax.dynamic_slice(x, (i, j), (3, 2))
    i, j = np.int64(starts[0]), np.int64(starts[1])
    np.testing.assert_allclose(f(x, i, j), np_ds(x, i, j))
    check_grads(lambda x: f(x, i, j), [x])
    ib, jb = np.array([0, 4, -1]), np.array([3, 1, 7])
    xb = rand(3, 5, 6)
    for axes, args in [((0, None, None), (xb, i, j)), ((None, 0, 0), (x, ib, jb)),
                       ((2, 0, None), (np.moveaxis(xb, 0, 2), ib, j))]:
        check_vmap(f, list(args), axes)
    check_vmap(trax.grad(lambda x, i, j: lax.reduce_sum(lax.integer_pow(f(x, i, j), 2), (0, 1))),
               [xb, ib, jb])


@pytest.mark.parametrize("starts", [(1, 2), (-3, 9)])
def test_dynamic_update_slice(starts):
    x, u = rand(5, 6), rand(3, 2)

    def np_dus(x, u, i, j):
        i, j = min(max(i, 0), 5 - 3), min(max(j, 0), 6 - 2)
        out = x.copy()
        out[i:i + 3, j:j + 2] = u
        return out
    f = lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j))
    i, j = np.int64(starts[0]), np.int64(starts[1])
    np.testing.assert_allclose(f(x, u, i, j), np_dus(x, u, i, j))
    check_grads(lambda x, u: lax.integer_pow(f(x, u, i, j), 2), [x, u])
    ib, jb = np.array([0, 4, -1]), np.array([3, 1, 7])
    xb, ub = rand(3, 5, 6), rand(3, 3, 2)
    for axes, args in [((0, None, None, None), (xb, u, i, j)),
                       ((None, 0, None, None), (x, ub, i, j)),
                       ((None, None, 0, 0), (x, u, ib, jb)),
                       ((0, 0, 0, None), (xb, ub, ib, j))]:
        check_vmap(f, list(args), axes)


# ----------------------------------------------------------------------------
# indexing

def test_gather():
    x = rand(4, 3, 2)
    idx = np.array([[0, 2], [3, 1], [3, 1], [9, -2]])

    def np_gather(x, idx):
        c = np.clip(idx, 0, np.array(x.shape[:2]) - 1)
        return x[c[:, 0], c[:, 1]]
    f = lambda x: lax.gather(x, idx)
    check_all(f, [x], lambda x: np_gather(x, idx), vmap_axes=[2])
    g = lambda x, idx: lax.gather(x, idx)
    idxb = np.stack([idx, idx[::-1], np.zeros_like(idx)])
    check_vmap(g, [x, idxb], (None, 0))
    check_vmap(g, [rand(3, 4, 3, 2), idxb], (0, 0))
    check_vmap(g, [rand(4, 3, 3, 2), np.moveaxis(idxb, 0, 2)], (1, 2))


@pytest.mark.parametrize("name", ["scatter", "scatter_add", "scatter_mul",
                                  "scatter_min", "scatter_max"])
def test_scatter(name):
    prim = getattr(lax, name)
    ufunc = {"scatter_add": np.add, "scatter_mul": np.multiply,
             "scatter_min": np.minimum, "scatter_max": np.maximum}.get(name)
    x = rand(4, 3)
    idx = np.array([[0], [2], [0], [7], [3]])
    if name == "scatter":
        idx = np.array([[0], [2], [9], [3]])
    u = rand(idx.shape[0], 3)

    def np_scatter(x, u):
        out = x.copy()
        ok = idx[:, 0] < 4
        if ufunc is None:
            out[idx[ok, 0]] = u[ok]
        else:
            ufunc.at(out, idx[ok, 0], u[ok])
        return out
    f = lambda x, u: prim(x, idx, u)
    check_all(f, [x, u], np_scatter, vmap_axes=[0, None])
    check_vmap(f, [rand(3, 4, 3), rand(idx.shape[0], 3, 3)], (0, 2))
    g = lambda x, idx, u: prim(x, idx, u)
    idxb = np.stack([idx, idx[::-1], np.ones_like(idx)])
    check_vmap(g, [x, idxb, u], (None, 0, None))
    check_vmap(g, [rand(3, 4, 3), idxb, rand(3, idx.shape[0], 3)], (0, 0, 0))


def test_scatter_ties_and_zeros():
    x = np.array([1.0, 2.0, 0.0])
    idx = np.array([[0], [0], [2], [2]])
    u = np.array([0.0, 3.0, 0.0, 5.0])
    # exact to first order with zero updates sharing an index; to all
    # orders when the updates are nonzero or the indices unique
    check_grads(lambda x, u: lax.scatter_mul(x, idx, u), [x, u], order=1)
    check_grads(lambda x, u: lax.scatter_mul(x, idx, u), [x, np.array([2.0, 3.0, -1.0, 5.0])])
    check_grads(lambda x, u: lax.scatter_mul(x, np.array([[2], [0]]), u), [x, u[:2]])
    check_grads(lambda x, u: lax.scatter_max(x, idx, u), [x, np.array([4.0, 1.0, -1.0, 2.0])])
    _, t = trax.jvp(lambda x, u: lax.scatter_max(x, idx, u),
                    (x, np.array([1.0, 1.0, 0.0, -1.0])),
                    (np.array([1.0, 2.0, 4.0]), np.array([8.0, 16.0, 32.0, 64.0])))
    np.testing.assert_allclose(t, [25 / 3, 2.0, 18.0])   # ties share evenly


def test_repeated_set_gradient():
    x = rand(3)
    idx = np.array([[1], [1]])
    u = rand(2)
    g = trax.grad(lambda x, u: lax.reduce_sum(lax.mul(lax.scatter(x, idx, u),
                                                      np.arange(1.0, 4.0)), (0,)),
                  argnums=(0, 1))(x, u)
    won = lax.scatter(np.zeros(3), idx, np.array([1.0, 2.0]))[1]
    np.testing.assert_allclose(g[0], [1.0, 0.0, 3.0])
    np.testing.assert_allclose(g[1], [2.0, 0.0] if won == 1.0 else [0.0, 2.0])


# ----------------------------------------------------------------------------
# reductions

@pytest.mark.parametrize("name,np_f", [("reduce_max", np.max), ("reduce_min", np.min),
                                       ("reduce_prod", np.prod)])
def test_reduce(name, np_f):
    x = rand(3, 4, 2)
    f = lambda x: getattr(lax, name)(x, (0, 2))
    check_all(f, [x], lambda x: np_f(x, axis=(0, 2)), vmap_axes=[1])


def test_reduce_ties_and_zeros():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    _, t = trax.jvp(lambda x: lax.reduce_max(x, (0,)), (x,), (np.array([1.0, 2.0, 4.0, 8.0]),))
    assert float(t) == 3.0
    for x in (np.array([2.0, 0.0, 3.0, 4.0]), np.array([0.0, 1.5, 0.0, 2.0])):
        check_grads(lambda x: lax.reduce_prod(x, (0,)), [x], order=2)
    np.testing.assert_allclose(trax.grad(lambda x: lax.reduce_prod(x, (0,)))(
        np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])


def test_reduce_bool_and_empty():
    b = np.array([[True, False], [True, True]])
    np.testing.assert_array_equal(lax.reduce_and(b, (1,)), [False, True])
    np.testing.assert_array_equal(lax.reduce_or(b, (0,)), [True, True])
    np.testing.assert_array_equal(lax.reduce_and(np.array([6, 3]), (0,)), 2)
    assert lax.reduce_max(np.zeros((0,)), (0,)) == -np.inf


def test_argmax_argmin():
    x = np.array([[1.0, 3.0, 3.0], [np.nan, 0.0, np.nan], [2.0, -1.0, -1.0]])
    for name in ("argmax", "argmin"):
        f = getattr(lax, name)
        for axis in (0, 1):
            got = f(x, axis, np.int32)
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got, getattr(np, name)(x, axis=axis))
        check_vmap(lambda x: f(x, 0, np.int64), [rand(3, 4, 2)], 1)


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin"])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumulative(name, reverse):
    np_f = {"cumsum": np.cumsum, "cumprod": np.cumprod,
            "cummax": np.maximum.accumulate, "cummin": np.minimum.accumulate}[name]
    f = lambda x: getattr(lax, name)(x, 1, reverse)

    def np_cum(x):
        if reverse:
            return np.flip(np_f(np.flip(x, 1), axis=1), 1)
        return np_f(x, axis=1)
    for n in (1, 5, 8):
        check_all(f, [rand(3, n)], np_cum, vmap_axes=[1])


def test_cumprod_with_zeros():
    check_grads(lambda x: lax.cumprod(x, 0), [np.array([2.0, 0.0, 3.0, 0.0, 1.5])])


# ----------------------------------------------------------------------------
# dot_general

DOT_CASES = [
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),
    ((4,), (4,), (((0,), (0,)), ((), ()))),
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    ((4, 2, 3, 5), (3, 6, 2, 4), (((0, 2), (3, 0)), ((1,), (2,)))),
    ((3, 2), (5,), (((), ()), ((), ()))),
]


@pytest.mark.parametrize("ls,rs,dn", DOT_CASES)
def test_dot_general(ls, rs, dn):
    (lc, rc), (lb, rb) = dn
    letters = iter("abcdefghijklmnop")
    lsub, rsub = [None] * len(ls), [None] * len(rs)
    for a, b in zip(lb, rb):
        lsub[a] = rsub[b] = next(letters)
    for a, b in zip(lc, rc):
        lsub[a] = rsub[b] = next(letters)
    for s in (lsub, rsub):
        for i, v in enumerate(s):
            s[i] = v or next(letters)
    out = ([lsub[a] for a in lb] + [c for i, c in enumerate(lsub) if i not in lc + lb]
           + [c for i, c in enumerate(rsub) if i not in rc + rb])
    spec = f"{''.join(lsub)},{''.join(rsub)}->{''.join(out)}"
    f = lambda a, b: lax.dot_general(a, b, dn)
    a, b = rand(*ls), rand(*rs)
    check_all(f, [a, b], lambda a, b: np.einsum(spec, a, b))
    check_vmap(f, [rand(3, *ls), b], (0, None))
    check_vmap(f, [a, np.moveaxis(rand(3, *rs), 0, -1)], (None, len(rs)))
    check_vmap(f, [rand(*ls, 3), rand(3, *rs)], (len(ls), 0))


def test_dot_preferred_and_errors():
    a = np.arange(6, dtype=np.int8).reshape(2, 3)
    out = lax.dot_general(a, a, (((1,), (1,)), ((), ())), preferred_element_type=np.int32)
    assert out.dtype == np.int32
    with pytest.raises(TypeError, match="contracting"):
        lax.dot_general(rand(2, 3), rand(4, 2), (((1,), (0,)), ((), ())))
    with pytest.raises(TypeError, match="one dtype"):
        lax.dot(rand(2, 3), rand(3).astype(np.float32))


def test_nested_transforms():
    x = rand(4, 3)
    w = rand(3, 5)

    def loss(x):
        h = lax.dot(x, w)
        h = lax.pad(h, 0.0, [(1, 0, 0), (0, 1, 1)])
        return lax.add(lax.reduce_max(lax.cumsum(lax.mul(h, h), 1), (0, 1)),
                       lax.reduce_prod(lax.slice(h, (1, 0), (3, 3)), (0, 1)))
    check_grads(loss, [x])
    hess = trax.hessian(loss)(x)
    assert hess.shape == (4, 3, 4, 3)
    check_vmap(trax.grad(loss), [rand(2, 4, 3)])
    jf = trax.jacfwd(loss)(x)
    np.testing.assert_allclose(jf, trax.grad(loss)(x), rtol=1e-10)


def test_error_messages():
    with pytest.raises(TypeError, match="squeeze"):
        lax.squeeze(rand(2, 3), (0,))
    with pytest.raises(TypeError, match="concatenate"):
        lax.concatenate([rand(2, 3), rand(3, 3)], 1)
    with pytest.raises(TypeError, match="slice"):
        lax.slice(rand(4), (2,), (5,))
    with pytest.raises(TypeError, match="gather"):
        lax.gather(rand(4), np.zeros((2, 2), np.int64))
    with pytest.raises(TypeError, match="updates"):
        lax.scatter_add(rand(4), np.zeros((2, 1), np.int64), rand(3))
    with pytest.raises(TypeError, match="pad"):
        lax.pad(rand(2), 0.0, [(-2, -1, 0)])


# ----------------------------------------------------------------------------
# sort

def test_sort():
    x = rand(4, 5)
    check_all(lambda x: lax.sort(x, 1), [x], lambda x: np.sort(x, 1), vmap_axes=[0])
    check_all(lambda x: lax.sort(x, 0), [x], lambda x: np.sort(x, 0), vmap_axes=[1])
    keys = np.array([2, 1, 2, 1, 0])
    vals = np.array([0.5, 1.5, 2.5, 3.5, 4.5])
    k, v = lax.sort((keys, vals), 0, num_keys=1)
    np.testing.assert_array_equal(k, [0, 1, 1, 2, 2])
    np.testing.assert_array_equal(v, [4.5, 1.5, 3.5, 0.5, 2.5])   # stable
    check_grads(lambda v: lax.sort((keys, v), 0)[1], [vals])
    nan = np.array([3.0, np.nan, -1.0])
    np.testing.assert_array_equal(lax.sort(nan), [-1.0, 3.0, np.nan])
    check_vmap(lambda k, v: lax.sort((k, v), 0)[1], [np.stack([keys, keys[::-1]]), vals],
               (0, None))


def test_in_dim_helpers():
    x = rand(4, 5)
    np.testing.assert_array_equal(lax.slice_in_dim(x, 1, -1, 2, axis=1), x[:, 1:-1:2])
    np.testing.assert_array_equal(lax.index_in_dim(x, -1, 0, keepdims=False), x[-1])
    np.testing.assert_array_equal(lax.dynamic_slice_in_dim(x, np.int32(3), 2, 0), x[2:4])
    np.testing.assert_array_equal(lax.dynamic_index_in_dim(x, 1, 1, False), x[:, 1])
    y = lax.dynamic_update_index_in_dim(x, np.zeros(5), np.int64(2), 0)
    np.testing.assert_array_equal(y[2], 0)
    np.testing.assert_array_equal(lax.dynamic_update_slice_in_dim(x, np.ones((4, 2)), 9, 1)[:, 3:],
                                  1)
