"""trax.numpy against numpy (eager), through make_jaxpr, and under grad."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import nn
from trax.errors import NonConcreteBooleanIndexError, TraxTypeError
from trax.numpy.indexing import getitem

rng = np.random.default_rng(0)


def randn(*shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


def check(actual, expected, rtol=None, dtype=True):
    """Same value and dtype, and a trax Array."""
    assert isinstance(actual, trax.Array), type(actual)
    expected = np.asarray(expected)
    if dtype:
        assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if rtol is None:
        rtol = 1e-5 if expected.dtype in (np.float32, np.float16) else 1e-12
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=rtol,
                               equal_nan=True)


def check_traced(f, *args):
    """f traced by make_jaxpr gives the eager avals and values."""
    closed = trax.make_jaxpr(f)(*args)
    out = closed(*args)[0]
    eager = f(*args)
    assert closed.out_avals[0].shape == np.shape(eager)
    assert closed.out_avals[0].dtype == np.asarray(eager).dtype
    np.testing.assert_allclose(np.asarray(out), np.asarray(eager), rtol=1e-6)
    return str(closed)


def numeric_grad(f, x, eps=1e-6):
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (float(f(x + d)) - float(f(x - d))) / (2 * eps)
    return g


# ----------------------------------------------------------------------------
# creation

def test_creation():
    check(jnp.zeros((2, 3)), np.zeros((2, 3)))
    check(jnp.ones(3, jnp.int32), np.ones(3, np.int32))
    check(jnp.full((2,), 7), np.full((2,), 7))
    check(jnp.full((2, 2), 1.5, np.float32), np.full((2, 2), 1.5, np.float32))
    check(jnp.empty((0, 2)), np.zeros((0, 2)))
    x = randn(2, 3, dtype=np.float32)
    check(jnp.zeros_like(x), np.zeros_like(x))
    check(jnp.ones_like(x, dtype=np.int64), np.ones_like(x, dtype=np.int64))
    check(jnp.full_like(x, 3), np.full_like(x, 3))
    check(jnp.arange(5), np.arange(5))
    check(jnp.arange(1, 2, 0.25), np.arange(1, 2, 0.25))
    check(jnp.linspace(0, 1, 7), np.linspace(0, 1, 7))
    check(jnp.linspace(0, 1, 4, endpoint=False), np.linspace(0, 1, 4, endpoint=False))
    check(jnp.eye(3, 4, 1), np.eye(3, 4, 1))
    check(jnp.identity(2, jnp.int32), np.identity(2, np.int32))
    check(jnp.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 4]]))
    check(jnp.array([1.0, 2.0], dtype=jnp.float32), np.array([1, 2], np.float32))
    check(jnp.asarray(3.0), np.asarray(3.0))
    check(jnp.tril(np.ones((3, 3))), np.tril(np.ones((3, 3))))
    check(jnp.triu(np.ones((3, 4)), 1), np.triu(np.ones((3, 4)), 1))
    for a, b in zip(jnp.meshgrid(np.arange(3), np.arange(2)),
                    np.meshgrid(np.arange(3), np.arange(2))):
        check(a, b)
    assert jnp.float32 is np.float32 and jnp.newaxis is None and jnp.pi == np.pi
    assert jnp.ndarray is trax.Array


def test_array_of_tracers_and_traced_linspace():
    def f(x):
        return jnp.array([x[0], x[1] * 2.0, 1.0]) + jnp.linspace(x[0], x[1], 3)
    x = np.array([1.0, 3.0])
    check(f(x), np.array([1.0, 6.0, 1.0]) + np.linspace(1.0, 3.0, 3))
    check_traced(f, x)


# ----------------------------------------------------------------------------
# ufuncs

UNARY_FLOAT = ["exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
               "cbrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh",
               "cosh", "tanh", "arcsinh", "arctanh", "deg2rad", "rad2deg", "sinc",
               "negative", "positive", "abs", "absolute", "sign", "floor", "ceil",
               "rint", "trunc", "square", "reciprocal", "isfinite", "isnan", "isinf",
               "round", "around", "fix"]


@pytest.mark.parametrize("name", UNARY_FLOAT)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_float(name, dtype):
    x = rng.uniform(0.1, 0.9, (3, 4)).astype(dtype)
    x[0, 0] = 0.5
    x[1, 1] = -0.5 if name not in ("log", "log2", "log10", "sqrt") else 0.5
    check(getattr(jnp, name)(x), getattr(np, name)(x))


def test_arccosh_and_special_values():
    x = np.array([1.0, 2.0, 10.0])
    check(jnp.arccosh(x), np.arccosh(x))
    y = np.array([np.inf, -np.inf, np.nan, 1.0])
    check(jnp.isfinite(y), np.isfinite(y))
    check(jnp.isinf(y), np.isinf(y))
    check(jnp.isnan(y), np.isnan(y))


@pytest.mark.parametrize("name", ["exp", "sqrt", "sin", "negative", "abs", "sign",
                                  "floor", "ceil", "square", "trunc", "isfinite",
                                  "isnan", "rint", "log1p"])
def test_unary_int(name):
    x = np.array([[1, 2, 3], [4, 0, 7]], dtype=np.int32)
    if name in ("negative", "abs", "sign"):
        x = x - 3
    check(getattr(jnp, name)(x), getattr(np, name)(x))


BINARY = ["add", "subtract", "multiply", "divide", "true_divide", "floor_divide",
          "remainder", "mod", "fmod", "power", "maximum", "minimum", "fmax", "fmin",
          "arctan2", "hypot", "nextafter", "logaddexp", "equal", "not_equal", "less",
          "less_equal", "greater", "greater_equal", "float_power"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_float(name, dtype):
    x = randn(3, 4, dtype=dtype)
    y = randn(4, dtype=dtype)
    if name in ("power", "float_power"):
        x = np.abs(x) + 0.1
    if name in ("fmax", "fmin"):
        x[0, 0] = np.nan
    check(getattr(jnp, name)(x, y), getattr(np, name)(x, y))


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "floor_divide",
                                  "remainder", "power", "maximum", "minimum",
                                  "bitwise_and", "bitwise_or", "bitwise_xor", "equal",
                                  "less", "logical_and", "logical_or", "logical_xor"])
def test_binary_int(name):
    x = np.array([[-7, -3, 0, 3, 7, 9]], dtype=np.int64)
    y = np.array([[2], [-2], [3]], dtype=np.int64)
    if name == "power":
        x, y = np.abs(x), np.abs(y)
    check(getattr(jnp, name)(x, y), getattr(np, name)(x, y))


def test_floor_divide_remainder_floats_match_numpy():
    x = np.array([-7.5, -3.0, 0.0, 3.0, 7.5, 1.0, -1.0])
    for y in (2.0, -2.0, 0.1, -0.3):
        check(jnp.floor_divide(x, y), np.floor_divide(x, y))
        check(jnp.remainder(x, y), np.remainder(x, y))


def test_weak_type_promotion():
    x32 = randn(3, dtype=np.float32)
    i32 = np.arange(3, dtype=np.int32)
    assert jnp.multiply(x32, 2.0).dtype == np.float32
    assert jnp.add(i32, 2).dtype == np.int32
    assert jnp.add(i32, 2.0).dtype == np.float64
    assert jnp.true_divide(i32, i32).dtype == np.float64
    assert jnp.add(x32, np.float64(1.0)).dtype == np.float64
    assert jnp.add(1, 2).dtype == np.int64
    assert jnp.sin(np.int8(1)).dtype == np.float16
    assert jnp.power(i32, 3).dtype == np.int32


def test_integer_pow_and_pow_in_trace():
    x = randn(3)
    assert "integer_pow[y=3]" in check_traced(lambda x: x ** 3, x)
    assert "pow" in check_traced(lambda x: jnp.abs(x) ** 2.5, x)
    i = np.arange(4)
    check(jnp.power(i, 2.5), np.power(i, 2.5))
    check(jnp.power(i, np.array([0, 1, 2, 3])), i ** np.array([0, 1, 2, 3]))


def test_where_clip():
    x = randn(3, 4)
    check(jnp.where(x > 0, x, 0.0), np.where(x > 0, x, 0.0))
    check(jnp.where(x > 0, 1, np.arange(4)), np.where(x > 0, 1, np.arange(4)))
    check(jnp.clip(x, -0.5, 0.5), np.clip(x, -0.5, 0.5))
    check(jnp.clip(x, a_max=0.1), np.clip(x, None, 0.1))
    check(jnp.logical_not(x > 0), np.logical_not(x > 0))
    check(jnp.invert(np.arange(3)), np.invert(np.arange(3)))
    check(jnp.round(x, 2), np.round(x, 2))


def test_broadcast_error_names_function_and_shapes():
    with pytest.raises(TraxTypeError, match=r"add.*\(2, 3\).*\(4,\)"):
        jnp.add(np.ones((2, 3)), np.ones(4))


def test_ufunc_trace_readable():
    x = randn(2, 3, dtype=np.float32)
    text = check_traced(lambda x: jnp.maximum(x, 0.0) + x * 2, x)
    assert "max a 0.0:f32[]" in text and "mul a 2.0:f32[]" in text
    text = check_traced(lambda x: jnp.add(x, np.ones(3, np.float32)), x)
    assert "broadcast_in_dim" in text


# ----------------------------------------------------------------------------
# operators

def test_operators_on_tracers():
    x = randn(3, 3)
    y = randn(3, 3)

    def f(a, b):
        return (a + b, a - 1, 2 * a, a / b, 1.0 / a, a // 0.5, a % 0.7, a ** 2,
                2.0 ** a, a @ b, -a, +a, abs(a), a == b, a != b, a < b, a <= b,
                a > b, a >= b, (a > 0) & (b > 0), (a > 0) | (b > 0), (a > 0) ^ (b > 0),
                ~(a > 0), a.T, a.reshape(9), a.reshape(1, 9), a.sum(0), a.mean(),
                a.max(1), a.min(), a.prod(), a.astype(np.float32), a.transpose(1, 0),
                a.dot(b), a.ravel(), a.flatten(), a[None].squeeze(0), a.any(), a.all(),
                a.argmax(), a.argmin(1), a.cumsum(0), a.std(), a.var(0), a.clip(0, 1),
                a.round(), a.swapaxes(0, 1), a[1:, ::2], a.mT)
    eager = f(x, y)
    closed = trax.make_jaxpr(f)(x, y)
    traced = closed(x, y)
    assert len(traced) == len(eager)
    for t, e in zip(traced, eager):
        np.testing.assert_allclose(np.asarray(t), np.asarray(e), rtol=1e-12)
        assert np.asarray(t).dtype == np.asarray(e).dtype


# ----------------------------------------------------------------------------
# reductions

REDUCTIONS = ["sum", "mean", "var", "std", "max", "min", "amax", "amin", "prod",
              "all", "any"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions(name, axis, keepdims):
    x = randn(2, 3, 4, dtype=np.float32)
    check(getattr(jnp, name)(x, axis=axis, keepdims=keepdims),
          getattr(np, name)(x, axis=axis, keepdims=keepdims), rtol=1e-4)


@pytest.mark.parametrize("name", ["sum", "mean", "var", "max", "prod", "any"])
def test_reductions_int(name):
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    check(getattr(jnp, name)(x, axis=1), getattr(np, name)(x, axis=1))
    check(getattr(jnp, name)(x), getattr(np, name)(x))


def test_arg_and_cumulative_reductions():
    x = randn(3, 4)
    for name in ("argmax", "argmin"):
        check(getattr(jnp, name)(x), getattr(np, name)(x))
        check(getattr(jnp, name)(x, axis=1), getattr(np, name)(x, axis=1))
        check(getattr(jnp, name)(x, axis=0, keepdims=True),
              getattr(np, name)(x, axis=0, keepdims=True))
    for name in ("cumsum", "cumprod"):
        check(getattr(jnp, name)(x), getattr(np, name)(x))
        check(getattr(jnp, name)(x, axis=1), getattr(np, name)(x, axis=1))
    i = np.arange(6, dtype=np.int32)
    check(jnp.cumsum(i), np.cumsum(i))
    check(jnp.std(x, ddof=1), np.std(x, ddof=1))
    check(jnp.var(x, 0, ddof=1), np.var(x, 0, ddof=1))
    check(jnp.count_nonzero(x > 0, 1), np.count_nonzero(x > 0, 1))
    check(jnp.ptp(x, 0), np.ptp(x, 0))
    check(jnp.average(x, 1, weights=np.arange(4.0)),
          np.average(x, 1, weights=np.arange(4.0)))


def test_reduction_trace():
    x = randn(2, 3)
    text = check_traced(lambda x: jnp.mean(x, axis=-1, keepdims=True), x)
    assert "reduce_sum[axes=(1,)]" in text and "reshape" in text


# ----------------------------------------------------------------------------
# shape ops

def test_shape_ops():
    x = randn(2, 3, 4)
    check(jnp.reshape(x, (4, -1)), np.reshape(x, (4, -1)))
    check(jnp.ravel(x), np.ravel(x))
    check(jnp.transpose(x), np.transpose(x))
    check(jnp.transpose(x, (1, 0, 2)), np.transpose(x, (1, 0, 2)))
    check(jnp.swapaxes(x, 0, -1), np.swapaxes(x, 0, -1))
    check(jnp.moveaxis(x, 0, -1), np.moveaxis(x, 0, -1))
    check(jnp.moveaxis(x, (0, 1), (-1, 0)), np.moveaxis(x, (0, 1), (-1, 0)))
    check(jnp.expand_dims(x, (0, -1)), np.expand_dims(x, (0, -1)))
    check(jnp.squeeze(x[:, :1]), np.squeeze(x[:, :1]))
    check(jnp.broadcast_to(np.arange(3), (2, 3)), np.broadcast_to(np.arange(3), (2, 3)))
    for a, b in zip(jnp.broadcast_arrays(np.ones((2, 1)), np.ones(3)),
                    np.broadcast_arrays(np.ones((2, 1)), np.ones(3))):
        check(a, b)
    check(jnp.concatenate([x, x], axis=1), np.concatenate([x, x], axis=1))
    check(jnp.concatenate([x, x], axis=None), np.concatenate([x, x], axis=None))
    check(jnp.concatenate([np.ones(2, np.int32), np.ones(1)]),
          np.concatenate([np.ones(2, np.int32), np.ones(1)]))
    check(jnp.stack([x, x], axis=-1), np.stack([x, x], axis=-1))
    check(jnp.hstack([np.ones(2), np.zeros(3)]), np.hstack([np.ones(2), np.zeros(3)]))
    check(jnp.vstack([np.ones(2), np.zeros(2)]), np.vstack([np.ones(2), np.zeros(2)]))
    for a, b in zip(jnp.split(x, 2), np.split(x, 2)):
        check(a, b)
    for a, b in zip(jnp.split(x, [1, 3], axis=2), np.split(x, [1, 3], axis=2)):
        check(a, b)
    for a, b in zip(jnp.array_split(np.arange(7), 3), np.array_split(np.arange(7), 3)):
        check(a, b)
    check(jnp.tile(np.arange(3), (2, 2)), np.tile(np.arange(3), (2, 2)))
    check(jnp.tile(x, 2), np.tile(x, 2))
    check(jnp.repeat(x, 2, axis=1), np.repeat(x, 2, axis=1))
    check(jnp.repeat(np.arange(3), 2), np.repeat(np.arange(3), 2))
    check(jnp.repeat(np.arange(3), [1, 0, 2]), np.repeat(np.arange(3), [1, 0, 2]))
    check(jnp.flip(x), np.flip(x))
    check(jnp.flip(x, 1), np.flip(x, 1))
    check(jnp.pad(x, 1), np.pad(x, 1))
    check(jnp.pad(x, ((0, 1), (2, 0), (1, 1)), constant_values=3.0),
          np.pad(x, ((0, 1), (2, 0), (1, 1)), constant_values=3.0))
    for mode in ("edge", "reflect", "symmetric", "wrap"):
        check(jnp.pad(np.arange(4.0), (2, 3), mode=mode),
              np.pad(np.arange(4.0), (2, 3), mode=mode))
    check(jnp.roll(np.arange(5), 2), np.roll(np.arange(5), 2))
    check(jnp.atleast_1d(3.0), np.atleast_1d(3.0))
    check(jnp.atleast_2d(np.ones(3)), np.atleast_2d(np.ones(3)))


def test_shape_errors():
    with pytest.raises(TraxTypeError, match="reshape.*\\(2, 3\\).*\\(4, -1\\)"):
        jnp.reshape(np.ones((2, 3)), (4, -1))
    with pytest.raises(TraxTypeError, match="concatenate.*rank"):
        jnp.concatenate([np.ones((2, 3)), np.ones(3)])
    with pytest.raises(TraxTypeError, match="concatenate"):
        jnp.concatenate([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(TraxTypeError, match="stack"):
        jnp.stack([np.ones(2), np.ones(3)])
    with pytest.raises(TraxTypeError, match="split"):
        jnp.split(np.ones(5), 2)


def test_shape_trace():
    x = randn(2, 3)
    text = check_traced(lambda x: jnp.concatenate([x, jnp.flip(x, 0)], 1).reshape(-1), x)
    assert "concatenate" in text and "rev" in text


def test_sorting_and_misc():
    x = randn(3, 5)
    check(jnp.sort(x), np.sort(x))
    check(jnp.sort(x, axis=None), np.sort(x, axis=None))
    check(jnp.argsort(x, 0), np.argsort(x, 0, kind="stable"))
    check(jnp.median(x, 1), np.median(x, 1))
    check(jnp.median(x[:, :4], 1), np.median(x[:, :4], 1))
    check(jnp.median(x), np.median(x))
    check(jnp.diff(x, 2), np.diff(x, 2))
    for k in range(4):
        check(jnp.rot90(x, k), np.rot90(x, k))
    check(jnp.cross(x[:, :3], x[:, 2:]), np.cross(x[:, :3], x[:, 2:]))
    i = np.arange(6, dtype=np.int32)
    check(jnp.left_shift(i, 2), np.left_shift(i, 2))
    check(jnp.right_shift(i - 3, 1), np.right_shift(i - 3, 1))
    z = np.array([-0.0, 0.0, -1.0, 2.0, np.inf, np.nan])
    check(jnp.signbit(z), np.signbit(z))
    check(jnp.copysign(np.ones(6), z), np.copysign(np.ones(6), z))
    check(jnp.nan_to_num(z), np.nan_to_num(z))
    for name in ("nansum", "nanmax", "nanmin", "nanmean", "nanprod"):
        check(getattr(jnp, name)(z[1:4]), getattr(np, name)(z[1:4]))
        check(getattr(jnp, name)(np.append(z[1:4], np.nan)),
              getattr(np, name)(np.append(z[1:4], np.nan)))


# ----------------------------------------------------------------------------
# indexing

INDICES = [
    0, -1, (1, 2), (slice(None), 1), slice(1, None), slice(None, None, -1),
    slice(4, 0, -2), (Ellipsis, 1), (None, 0), (0, None, slice(1, 3)),
    (slice(None), None, Ellipsis, None), np.array([0, 2, -1]), [1, 0],
    (np.array([0, 1]), np.array([1, 2])), (slice(None), [0, 2]),
    (0, slice(None), [1, 2]), ([0, 1], slice(None), [1, 2]),
    (slice(None), [[0], [1]], [1, 2]), (Ellipsis, [0, 3]), (np.array([[0, 1]]),),
    (slice(1, 2), Ellipsis, np.array(2)), (1, [0, 1], None),
]


@pytest.mark.parametrize("idx", INDICES, ids=str)
def test_getitem(idx):
    x = np.arange(3 * 3 * 5, dtype=np.float32).reshape(3, 3, 5)
    expected = x[idx]
    check(getitem(x, idx), expected)
    traced = trax.make_jaxpr(lambda a: a[idx])(x)
    np.testing.assert_array_equal(np.asarray(traced(x)[0]), expected)


def test_boolean_mask():
    x = randn(3, 4)
    m = x > 0
    check(getitem(x, m), x[m])
    check(getitem(x, (m[:, 0], 1)), x[m[:, 0], 1])
    with pytest.raises(NonConcreteBooleanIndexError, match="test_numpy_api.py.*where"):
        trax.make_jaxpr(lambda a: a[a > 0])(x)


def test_traced_indices():
    x = randn(4, 5)

    def f(a, i):
        return a[i], a[i, 1:3], a[-1 - i]
    for i in (0, 2, 3):
        out = trax.make_jaxpr(f)(x, np.int64(i))(x, np.int64(i))
        check(out[0], x[i])
        check(out[1], x[i, 1:3])
        check(out[2], x[-1 - i])
    assert "dynamic_slice" in str(trax.make_jaxpr(f)(x, np.int64(0)))

    def g(a, idx):
        return a[idx, 1]
    idx = np.array([3, -1, 0])
    check(trax.make_jaxpr(g)(x, idx)(x, idx)[0], x[idx, 1])


def test_at_updates():
    x = np.arange(12.0).reshape(3, 4)
    y = x.copy()
    y[1] = 5.0
    check(jnp.asarray(x).at[1].set(5.0), y)
    y = x.copy()
    y[:, ::2] += 1
    check(jnp.asarray(x).at[:, ::2].add(1), y)
    y = x.copy()
    np.add.at(y, ([0, 0, 2], [1, 1, 3]), 10.0)
    check(jnp.asarray(x).at[[0, 0, 2], [1, 1, 3]].add(10.0), y)
    y = x.copy()
    y[x > 5] = 0
    check(jnp.asarray(x).at[x > 5].set(0), y)
    check(jnp.asarray(x).at[0].mul(2.0), np.concatenate([x[:1] * 2, x[1:]]))
    check(jnp.asarray(x).at[0, 1].get(), x[0, 1])
    check(jnp.asarray(x).at[1].min(0.0)[1], np.zeros(4))
    check(jnp.asarray(x).at[1].max(100.0)[1], np.full(4, 100.0))

    def f(a, i):
        return a.at[i].set(-1.0).at[0, 1:3].add(a[0, :2])
    i = np.int64(2)
    y = x.copy()
    y[2] = -1.0
    y[0, 1:3] += x[0, :2]
    check(trax.make_jaxpr(f)(x, i)(x, i)[0], y)
    check(f(jnp.asarray(x), i), y)


def test_take():
    x = randn(3, 4)
    check(jnp.take(x, np.array([0, 2, 2])), np.take(x, [0, 2, 2]))
    check(jnp.take(x, np.array([[0], [3]]), axis=1), np.take(x, [[0], [3]], axis=1))
    check(jnp.take(x, 1, axis=0), np.take(x, 1, axis=0))
    idx = np.argsort(x, axis=1)
    check(jnp.take_along_axis(x, idx, axis=1), np.take_along_axis(x, idx, axis=1))
    check(jnp.take_along_axis(x, idx[:1] % 3, axis=0), np.take_along_axis(x, idx[:1] % 3, 0))


# ----------------------------------------------------------------------------
# linear algebra

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_products(dtype):
    a, b = randn(3, 4, dtype=dtype), randn(4, 5, dtype=dtype)
    v, w = randn(4, dtype=dtype), randn(4, dtype=dtype)
    t = randn(2, 3, 4, dtype=dtype)
    check(jnp.dot(a, b), np.dot(a, b))
    check(jnp.dot(v, w), np.dot(v, w))
    check(jnp.dot(a, v), np.dot(a, v))
    check(jnp.dot(t, b), np.dot(t, b))
    check(jnp.dot(2.0, v), 2.0 * v)  # weak scalar: numpy.dot would give float64
    check(jnp.matmul(a, b), a @ b)
    check(jnp.matmul(v, b), v @ b)
    check(jnp.matmul(a, v), a @ v)
    check(jnp.matmul(t, b), t @ b)
    p, q = randn(5, 1, 2, 3, dtype=dtype), randn(4, 3, 2, dtype=dtype)
    check(jnp.matmul(p, q), p @ q)
    check(jnp.vdot(a, a), np.vdot(a, a))
    check(jnp.inner(a, v), np.inner(a, v))
    check(jnp.outer(v, w), np.outer(v, w))
    check(jnp.tensordot(t, a, axes=([1, 2], [0, 1])), np.tensordot(t, a, ([1, 2], [0, 1])))
    check(jnp.tensordot(t, b, 1), np.tensordot(t, b, 1))
    check(jnp.kron(a, b[:2, :2]), np.kron(a, b[:2, :2]))
    check(jnp.trace(a), np.trace(a))
    check(jnp.trace(t, 1, 1, 2), np.trace(t, 1, 1, 2))
    check(jnp.diagonal(t, -1, 0, 2), np.diagonal(t, -1, 0, 2))
    check(jnp.diag(a, 1), np.diag(a, 1))
    check(jnp.diag(v), np.diag(v))
    check(jnp.diag(v, -2), np.diag(v, -2))
    check(jnp.diag(v, 1), np.diag(v, 1))


def test_matmul_mismatch_error():
    with pytest.raises(TraxTypeError, match="matmul.*\\(3, 4\\).*\\(3, 4\\)"):
        jnp.matmul(np.ones((3, 4)), np.ones((3, 4)))


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
    ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]), ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]), ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]), ("i...->...", [(3, 4, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
]


@pytest.mark.parametrize("spec,shapes", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum(spec, shapes):
    ops = [randn(*s) for s in shapes]
    check(jnp.einsum(spec, *ops), np.einsum(spec, *ops))


def test_norm():
    x = randn(3, 4)
    v = randn(5)
    for ord in (None, 1, 2, np.inf, -np.inf, 0, 3):
        check(jnp.linalg.norm(v, ord), np.linalg.norm(v, ord))
    for ord in (None, "fro", 1, -1, np.inf, -np.inf):
        check(jnp.linalg.norm(x, ord), np.linalg.norm(x, ord))
    check(jnp.linalg.norm(x, axis=1), np.linalg.norm(x, axis=1))
    check(jnp.linalg.norm(x, 1, axis=0, keepdims=True),
          np.linalg.norm(x, 1, axis=0, keepdims=True))
    t = randn(2, 3, 4)
    check(jnp.linalg.norm(t, axis=(1, 2)), np.linalg.norm(t, axis=(1, 2)))
    check(jnp.linalg.norm(t, np.inf, axis=(2, 0)), np.linalg.norm(t, np.inf, axis=(2, 0)))


def test_linalg_trace():
    a, b = randn(3, 4), randn(4, 5)
    assert "dot_general" in check_traced(lambda a, b: a @ b, a, b)
    check_traced(lambda a, b: jnp.einsum("ij,jk->ki", a, b), a, b)


# ----------------------------------------------------------------------------
# nn

def _np_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def test_nn():
    x = randn(3, 4) * 3
    check(nn.relu(x), np.maximum(x, 0))
    check(nn.relu6(x * 4), np.clip(x * 4, 0, 6))
    check(nn.sigmoid(x), 1 / (1 + np.exp(-x)))
    check(nn.softplus(x), np.log1p(np.exp(x)))
    check(nn.softplus(np.array([1000.0, -1000.0])), np.array([1000.0, 0.0]))
    check(nn.silu(x), x / (1 + np.exp(-x)))
    check(nn.swish(x), x / (1 + np.exp(-x)))
    check(nn.gelu(x, approximate=False),
          0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2))))
    c = np.sqrt(2 / np.pi)
    check(nn.gelu(x), 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x ** 3))))
    check(nn.elu(x), np.where(x > 0, x, np.expm1(x)))
    check(nn.leaky_relu(x), np.where(x >= 0, x, 0.01 * x))
    check(nn.softmax(x), _np_softmax(x))
    check(nn.softmax(x, axis=0), _np_softmax(x, 0))
    check(nn.log_softmax(x), np.log(_np_softmax(x)))
    big = np.array([1000.0, 1000.0])
    check(nn.logsumexp(big), 1000.0 + np.log(2.0))
    check(nn.logsumexp(x, axis=1), np.log(np.exp(x).sum(1)))
    check(nn.logsumexp(x, axis=0, keepdims=True), np.log(np.exp(x).sum(0, keepdims=True)))
    check(nn.one_hot(np.array([0, 2, 5]), 3), np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0.]]))
    check(nn.one_hot(np.array([0, 1]), 2, dtype=np.int32), np.eye(2, dtype=np.int32))
    s = nn.standardize(x)
    np.testing.assert_allclose(np.asarray(s).mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(s).var(-1), 1, atol=1e-4)
    x32 = x.astype(np.float32)
    for fn in (nn.relu, nn.sigmoid, nn.softplus, nn.gelu, nn.softmax, nn.log_softmax,
               nn.standardize, nn.elu, nn.silu, nn.leaky_relu):
        assert fn(x32).dtype == np.float32, fn
        check_traced(fn, x32)


# ----------------------------------------------------------------------------
# grads

GRADS = [
    ("sum", lambda x: jnp.sum(x * x)),
    ("mean", lambda x: jnp.mean(jnp.sin(x), axis=0).sum()),
    ("var", lambda x: jnp.var(x, axis=1).sum()),
    ("where", lambda x: jnp.where(x > 0, x ** 2, -x).sum()),
    ("softmax", lambda x: (nn.softmax(x) * np.arange(4.0)).sum()),
    ("log_softmax", lambda x: nn.log_softmax(x)[:, 1].sum()),
    ("logsumexp", lambda x: nn.logsumexp(x)),
    ("matmul", lambda x: (x @ x.T).sum()),
    ("einsum", lambda x: jnp.einsum("ij,kj->", x, x * 2)),
    ("indexing", lambda x: (x[1:, ::-1] * x[0, 1] + x[[0, 2], 1:3].sum()).sum()),
    ("at_set", lambda x: (jnp.asarray(x).at[0].set(0.0) ** 2).sum()),
    ("max", lambda x: jnp.max(x, axis=1).sum()),
    ("norm", lambda x: jnp.linalg.norm(x)),
    ("concat", lambda x: (jnp.concatenate([x, 2 * x], 1) ** 2).sum()),
    ("divide", lambda x: (x / (1.0 + x * x)).sum()),
    ("gelu", lambda x: nn.gelu(x).sum()),
    ("pad", lambda x: (jnp.pad(x, 1) * np.arange(30.0).reshape(5, 6)).sum()),
    ("sort", lambda x: (jnp.sort(x, 1) * np.arange(4.0)).sum()),
    ("take_along_axis", lambda x: (jnp.take_along_axis(x, np.array([[3, 0]]), 1) ** 2).sum()),
    ("cumsum", lambda x: (jnp.cumsum(x, 1) ** 2).sum()),
]


@pytest.mark.parametrize("name,f", GRADS, ids=[g[0] for g in GRADS])
def test_grad(name, f):
    x = randn(3, 4)
    g = trax.grad(f)(x)
    np.testing.assert_allclose(np.asarray(g), numeric_grad(f, x), rtol=1e-5, atol=1e-6)
