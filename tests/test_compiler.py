"""The compiler (trax.compiler.compile_jaxpr) against eager evaluation.

Each case builds a jaxpr with trax.make_jaxpr and checks the compiled
executable against trax.core.eval_jaxpr on the same inputs.
"""
import os
import re

import numpy as np
import pytest

import trax
from trax import lax
from trax.core import eval_jaxpr
from trax.compiler.runtime import cache
from trax.compiler.driver import compile_jaxpr

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
RNG = np.random.default_rng(0)
SIZES = (1, 7, 33, 1001)
FLOATS = (np.float32, np.float64)


def rand(shape, dtype=np.float32, lo=-2.0, hi=2.0):
    dt = np.dtype(dtype)
    if dt.kind == "f":
        return RNG.uniform(lo, hi, shape).astype(dt)
    if dt.kind == "b":
        return RNG.random(shape) < 0.5
    return RNG.integers(int(lo) - 3, int(hi) + 5, shape).astype(dt)


def check(f, *args, rtol=None, atol=None, exact=False):
    """Compile ``f``'s jaxpr and compare with eager evaluation; returns the executable."""
    cj = trax.make_jaxpr(f)(*args)
    exe = compile_jaxpr(cj)
    got = exe(*args)
    want = eval_jaxpr(cj.jaxpr, cj.consts, *args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        if exact or w.dtype.kind in "iub":
            np.testing.assert_array_equal(g, w)
        else:
            tol = 2e-5 if w.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, w, rtol=rtol or tol, atol=atol or tol)
    return exe


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "cache"))


# ---------------------------------------------------------------- elementwise

UNARY = {
    "neg": (lax.neg, -3, 3), "sign": (lax.sign, -3, 3), "floor": (lax.floor, -3, 3),
    "ceil": (lax.ceil, -3, 3), "round": (lax.round, -3, 3), "abs": (lax.abs, -3, 3),
    "exp": (lax.exp, -10, 10), "exp2": (lax.exp2, -10, 10), "log": (lax.log, 0.01, 10),
    "log1p": (lax.log1p, -0.9, 10), "expm1": (lax.expm1, -5, 5),
    "sqrt": (lax.sqrt, 0, 10), "rsqrt": (lax.rsqrt, 0.1, 10), "cbrt": (lax.cbrt, -10, 10),
    "sin": (lax.sin, -10, 10), "cos": (lax.cos, -10, 10), "tan": (lax.tan, -1.5, 1.5),
    "asin": (lax.asin, -1, 1), "acos": (lax.acos, -1, 1), "atan": (lax.atan, -10, 10),
    "sinh": (lax.sinh, -5, 5), "cosh": (lax.cosh, -5, 5), "tanh": (lax.tanh, -5, 5),
    "asinh": (lax.asinh, -5, 5), "acosh": (lax.acosh, 1, 10), "atanh": (lax.atanh, -0.9, 0.9),
    "logistic": (lax.logistic, -10, 10), "erf": (lax.erf, -3, 3),
    "erf_inv": (lax.erf_inv, -0.99, 0.99), "is_finite": (lax.is_finite, -3, 3),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, dtype):
    fn, lo, hi = UNARY[name]
    for n in (7, 1001):
        x = rand((n,), dtype, lo, hi)
        check(fn, x, rtol=1e-5 if dtype == np.float32 else 1e-12)


BINARY = {
    "add": lax.add, "sub": lax.sub, "mul": lax.mul, "div": lax.div, "rem": lax.rem,
    "max": lax.max, "min": lax.min, "pow": lax.pow, "atan2": lax.atan2,
    "nextafter": lax.nextafter, "eq": lax.eq, "ne": lax.ne, "lt": lax.lt, "le": lax.le,
    "gt": lax.gt, "ge": lax.ge,
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_float(name, dtype):
    lo = 0.1 if name == "pow" else -3
    for n in SIZES:
        x, y = rand((n,), dtype, lo, 3), rand((n,), dtype, lo, 3)
        y[0] = x[0]
        check(BINARY[name], x, y)
    check(BINARY[name], rand((5,), dtype, lo, 3), dtype(1.5))     # rank-0 operand


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
@pytest.mark.parametrize("name", ["add", "sub", "mul", "rem", "max", "min",
                                  "eq", "lt", "ge", "and", "or", "xor"])
def test_binary_int(name, dtype):
    fn = {"and": lax.bitwise_and, "or": lax.bitwise_or, "xor": lax.bitwise_xor}.get(
        name) or BINARY[name]
    x, y = rand((33,), dtype, -20, 20), rand((33,), dtype, -5, 5)
    y[:3] = 0
    check(fn, x, y)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, np.int8])
def test_int_div_truncates(dtype):
    # like C, JAX and lax.rem (x == div(x, y) * y + rem(x, y)); division by 0 gives 0
    x, y = rand((33,), dtype, -20, 20), rand((33,), dtype, -5, 5)
    y[:3] = 0
    cj = trax.make_jaxpr(lax.div)(x, y)
    got = compile_jaxpr(cj)(x, y)[0]
    with np.errstate(all="ignore"):
        want = np.where(y == 0, 0, np.trunc(x.astype(np.float64) / np.where(y == 0, 1, y)))
    np.testing.assert_array_equal(got, want.astype(dtype))
    rem = compile_jaxpr(trax.make_jaxpr(lax.rem)(x, y))(x, y)[0]
    np.testing.assert_array_equal(np.where(y == 0, x, got * y + rem), x)


def test_int_unary_and_bool():
    x = rand((33,), np.int32, -9, 9)
    check(lambda x: lax.neg(lax.abs(lax.sign(x))), x)
    check(lax.bitwise_not, x)
    b = rand((33,), np.bool_)
    check(lambda a, c: lax.bitwise_xor(lax.bitwise_not(a), c), b, ~b)


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 3.0], np.float32)
    for fn in (lax.exp, lax.log, lax.tanh, lax.sqrt, lax.sign, lax.abs, lax.is_finite,
               lax.floor, lax.round):
        check(fn, x, exact=False, rtol=1e-6, atol=1e-6)
    check(lambda a, b: lax.max(a, b), x, x[::-1].copy())
    check(lambda a: lax.nextafter(a, np.float32(1.0)), x)


@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.float32),
                                     (np.float32, np.int32), (np.int32, np.float32),
                                     (np.int64, np.int8), (np.uint8, np.int32),
                                     (np.float32, np.bool_), (np.bool_, np.float64),
                                     (np.int32, np.bool_), (np.float32, np.float16),
                                     (np.float16, np.float32), (np.int8, np.uint64)])
def test_convert(src, dst):
    x = rand((33,), src, -100, 100)
    check(lambda x: lax.convert_element_type(x, dst), x)


def test_integer_pow_select_clamp():
    x = rand((33,), np.float64)
    for y in (0, 1, 2, 3, 5, -1, -2):
        check(lambda x: lax.integer_pow(x, y), x)
    check(lambda x: lax.integer_pow(x, 3), rand((9,), np.int32, -4, 4))
    p = rand((33,), np.bool_)
    check(lambda p, a, b: lax.select_n(p, a, b), p, x, -x)
    check(lambda p, a, b: lax.select_n(p, a, b), True, x, -x)
    i = rand((33,), np.int32, 0, 0) % 3
    check(lambda i, a: lax.select_n(i, a, -a, a * 2), i, x)
    check(lambda x: lax.clamp(-0.5, x, 0.7), x)


# ---------------------------------------------------------------- shapes and layouts

def test_zero_d_and_empty():
    check(lambda x, y: lax.add(lax.sin(x), y), np.float32(0.5), np.float32(2.0))
    e = np.zeros((0, 3), np.float32)
    check(lambda x: lax.exp(x), e)
    check(lambda x: lax.reduce_sum(x, (0,)), e)
    check(lambda x: lax.reduce_max(x, (1,)), e)
    check(lambda x: lax.reduce_sum(x, (0, 1)), e)


def test_noncontiguous_and_broadcast_inputs():
    base = rand((8, 10), np.float32)
    x = base[::2, 1::3]                              # strided
    y = np.broadcast_to(rand((3,), np.float32), (4, 3))   # zero strides
    exe = check(lambda a, b: lax.mul(lax.exp(a), b), x, y)
    got = exe(x, y)[0]
    np.testing.assert_allclose(got, np.exp(x) * y, rtol=1e-6)
    check(lambda a: lax.transpose(a, (1, 0)), base.T)


def test_outputs_that_are_inputs_or_constants():
    c = np.arange(6.0).reshape(2, 3)
    x = rand((2, 3), np.float64)
    exe = check(lambda x: (x, c, x, lax.add(x, 1.0)), x)
    outs = exe(x)
    assert not np.shares_memory(outs[0], x)
    outs[0][...] = 0
    assert exe(x)[1][0, 1] == 1.0
    check(lambda x: (lax.sin(x), lax.sin(x)), x)


@pytest.mark.parametrize("dtype", FLOATS)
def test_shape_ops(dtype):
    x = rand((3, 4, 5), dtype)
    check(lambda x: lax.transpose(lax.exp(x), (2, 0, 1)), x)
    check(lambda x: lax.reshape(lax.sin(x), (5, 12)), x)
    check(lambda x: lax.broadcast_in_dim(lax.reshape(x, (60,)), (2, 60), (1,)), x)
    check(lambda x: lax.broadcast_in_dim(x[0] if False else lax.squeeze(
        lax.slice(x, (0, 0, 0), (1, 4, 5)), (0,)), (3, 4, 5), (1, 2)), x)
    check(lambda x: lax.expand_dims(x, (0, 2)), x)
    check(lambda x: lax.rev(x, (0, 2)), x)
    check(lambda x: lax.slice(x, (1, 0, 1), (3, 4, 5), (1, 2, 3)), x)
    check(lambda x: lax.pad(x, dtype(-1), ((1, 2, 0), (0, 0, 1), (-1, 1, 2))), x)
    check(lambda x: lax.concatenate([x, lax.neg(x), x[:, :1] if False else
                                     lax.slice(x, (0, 0, 0), (3, 1, 5))], 1), x)
    check(lambda: lax.broadcasted_iota(np.int32, (3, 4), 1))
    check(lambda x: lax.add(x, lax.convert_element_type(
        lax.broadcasted_iota(np.int32, (3, 4, 5), 2), dtype)), x)


def test_dynamic_slice_and_update():
    x = rand((6, 7), np.float32)
    u = rand((2, 3), np.float32)
    for i, j in ((1, 2), (5, 6), (-1, 0)):
        check(lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)), x, np.int32(i), np.int32(j))
        check(lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)), x, u,
              np.int32(i), np.int32(j))


def test_gather_and_scatter():
    x = rand((5, 4), np.float32)
    idx = np.array([[0], [4], [2], [7], [-1]], np.int32)
    check(lambda x, i: lax.gather(x, i), x, idx)
    idx2 = np.array([[1, 2], [3, 0], [4, 3]], np.int64)
    check(lambda x, i: lax.gather(lax.exp(x), i), x, idx2)
    upd = rand((5, 4), np.float32)
    for fn in (lax.scatter, lax.scatter_add, lax.scatter_mul, lax.scatter_min,
               lax.scatter_max):
        check(fn, x, np.array([[0], [3], [0], [9], [2]], np.int32), upd)
    check(lax.scatter_add, x, idx2, rand((3,), np.float32))


# ---------------------------------------------------------------- reductions

@pytest.mark.parametrize("dtype", FLOATS)
def test_reductions(dtype):
    for n in SIZES:
        x = rand((n,), dtype)
        check(lambda x: lax.reduce_sum(lax.mul(x, x), (0,)), x, rtol=1e-4)
        check(lambda x: lax.reduce_max(x, (0,)), x)
        check(lambda x: lax.reduce_min(lax.exp(x), (0,)), x)
    x = rand((3, 5, 7), dtype, 0.5, 1.5)
    for axes in ((0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)):
        check(lambda x: lax.reduce_sum(x, axes), x, rtol=1e-5)
        check(lambda x: lax.reduce_prod(x, axes), x, rtol=1e-5)
        check(lambda x: lax.reduce_max(lax.transpose(x, (2, 1, 0)), axes), x)
        check(lambda x: lax.reduce_min(x, axes), x)
    b = rand((4, 6), np.bool_)
    check(lambda b: (lax.reduce_and(b, (1,)), lax.reduce_or(b, (0,))), b)
    i = rand((4, 6), np.int32, -9, 9)
    check(lambda i: (lax.reduce_sum(i, (0,)), lax.reduce_max(i, (1,)),
                     lax.reduce_and(i, (1,))), i)


def test_argmax_argmin():
    x = rand((4, 33), np.float32)
    x[1, 5] = np.nan
    x[2, 3] = x[2, 7] = 10.0
    for axis in (0, 1):
        check(lambda x: lax.argmax(x, axis, np.int32), x)
        check(lambda x: lax.argmin(x, axis, np.int64), x)
    check(lambda x: lax.argmax(x, 0, np.int32), rand((7,), np.int8, -5, 5))


@pytest.mark.parametrize("name", ["cumsum", "cumprod", "cummax", "cummin"])
def test_cumulative(name):
    fn = getattr(lax, name)
    x = rand((4, 5, 6), np.float64, 0.5, 1.5)
    for axis in (0, 1, 2):
        for reverse in (False, True):
            check(lambda x: fn(x, axis, reverse), x)
    check(lambda x: fn(x, 0), rand((9,), np.int32, -4, 4))


def test_sort():
    x = rand((5, 33), np.float32)
    x[0, 3] = np.nan
    x[1, :10] = 1.0
    check(lambda x: lax.sort(x, 1), x)
    check(lambda x: lax.sort(x, 0), x)
    k = rand((40,), np.int32, 0, 3)
    v = np.arange(40, dtype=np.float64)
    check(lambda k, v: lax.sort((k, v), 0, num_keys=1), k, v)
    check(lambda k, v: lax.sort((k, -v), 0, num_keys=2), k, v)
    check(lambda x: lax.sort(x, 0), rand((1,), np.float32))


# ---------------------------------------------------------------- dot_general

@pytest.mark.parametrize("dtype", FLOATS + (np.int32,))
@pytest.mark.parametrize("m,k,n", [(3, 4, 5), (1, 7, 1), (64, 48, 40), (2, 0, 3)])
def test_matmul(dtype, m, k, n):
    a, b = rand((m, k), dtype), rand((k, n), dtype)
    check(lambda a, b: lax.dot(a, b), a, b, rtol=1e-4 if dtype == np.float32 else None)
    check(lambda a, b: lax.dot_general(b, a, (((0,), (1,)), ((), ()))), a, b, rtol=1e-4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_dot_general_batched_and_fused(dtype):
    a, b = rand((3, 40, 5, 36), dtype), rand((36, 3, 40), dtype)
    dims = (((3,), (0,)), ((0,), (1,)))
    check(lambda a, b: lax.dot_general(lax.tanh(a), b, dims), a, b, rtol=1e-4)
    check(lambda a, b: lax.dot_general(a, b, (((1, 3), (2, 0)), ((0,), (1,)))), a, b,
          rtol=1e-4)
    v = rand((36,), dtype)
    check(lambda a, v: lax.dot_general(a, v, (((3,), (0,)), ((), ()))), a, v, rtol=1e-4)
    check(lambda a, b: lax.dot_general(a, b, dims, preferred_element_type=np.float64),
          a, b, rtol=1e-4)


# ---------------------------------------------------------------- passes and fusion

def test_elementwise_chain_fuses_into_one_loop():
    def f(x, y):
        for _ in range(5):
            x = lax.add(lax.mul(lax.tanh(x), y), x)
        return lax.exp(lax.neg(x))
    x, y = rand((1001,), np.float32), rand((1001,), np.float32)
    exe = check(f, x, y, rtol=1e-4)
    kernels = exe.as_text("kernels").splitlines()
    assert len(kernels) == 1 and kernels[0].startswith("exp <-"), kernels
    ir_text = exe.as_text("llvm")
    assert ir_text.count(".body:") == 1          # one loop
    assert "llvm.exp" not in ir_text and "@tanh" not in ir_text
    assert re.search(r"<(8|16) x float>", exe.as_text("llvm_optimized"))   # vectorized


def test_reduction_of_fused_expression_is_one_vectorized_loop():
    f = lambda x: lax.reduce_sum(lax.add(lax.mul(lax.tanh(x), lax.exp(lax.neg(lax.mul(x, x)))),
                                         lax.mul(lax.sin(x), 0.5)), (0,))
    exe = check(f, rand((1001,), np.float32), rtol=1e-4)
    assert exe.as_text("kernels").splitlines()[0].startswith("reduce_sum <-")
    assert exe.as_text("llvm").count(".body:") == 1
    assert re.search(r"<(8|16) x float>", exe.as_text("llvm_optimized"))


def test_shared_value_is_materialized_once():
    def f(x):
        y = lax.exp(x)
        return lax.add(lax.reduce_sum(y, (0,)), lax.reduce_max(y, (0,)))
    exe = check(f, rand((33,), np.float32))
    assert len(exe.as_text("kernels").splitlines()) == 4   # exp, sum, max, add


def test_cheap_shared_value_is_recomputed():
    """One cheap op with one big operand, read by several kernels, is
    recomputed in each (no pass that writes it) on arrays of at least
    fusion.RECOMPUTE_MIN elements; a smaller one, a transcendental, a
    division by a full array or an op of two big arrays is materialized."""
    from trax.compiler.plan import fusion
    def f(x, y):
        c = lax.sub(x, 1.5)                   # recomputed in both reductions
        return lax.reduce_sum(c, (0,)), lax.reduce_max(lax.mul(c, c), (0,))
    x, y = rand((fusion.RECOMPUTE_MIN,)), rand((fusion.RECOMPUTE_MIN,))
    assert len(check(f, x, y, rtol=1e-4).as_text("kernels").splitlines()) == 2
    assert len(check(f, x[:-1], y[:-1], rtol=1e-4).as_text("kernels").splitlines()) == 3
    for shared in (lambda x, y: lax.exp(x), lambda x, y: lax.div(1.0, x), lax.add):
        def g(x, y, shared=shared):
            c = shared(x, y)
            return lax.reduce_sum(c, (0,)), lax.reduce_max(c, (0,))
        assert len(check(g, x, y, rtol=1e-4).as_text("kernels").splitlines()) == 3


def test_recomputation_chains_are_bounded():
    """Chains of recomputed ops stop at fusion.MAX_RECOMPUTED: the op below
    is materialized once instead of being recomputed ever deeper."""
    from trax.compiler.plan import fusion
    def f(x):
        c = x
        for k in range(fusion.MAX_RECOMPUTED + 2):
            c = lax.add(c, float(k))
        return lax.reduce_sum(c, (0,)), lax.reduce_max(c, (0,))
    kernels = check(f, rand((fusion.RECOMPUTE_MIN,)), rtol=1e-4).as_text("kernels").splitlines()
    assert len(kernels) == 3 and kernels[0].startswith("add <-"), kernels


def test_division_by_row_value_is_a_multiplication():
    """x / (a value per row) multiplies by a reciprocal hoisted out of the
    row's loop, also under a negation (which LLVM folds into the division,
    dropping an ``arcp`` flag) and inside a reduction."""
    def f(a):
        m = lax.sqrt(lax.reduce_sum(lax.mul(a, a), (1,)))
        m = lax.broadcast_in_dim(m, a.shape, (0,))
        return lax.reduce_sum(lax.neg(lax.div(a, m)), (1,)), lax.div(a, m)
    exe = check(f, rand((16, 256)), rtol=1e-5)
    assert not re.search(r"fdiv [^\n]*<\d+ x float>", exe.as_text("llvm_optimized"))


def test_long_chain_is_split():
    def f(x):
        for _ in range(300):
            x = lax.add(lax.mul(x, 0.999), 0.001)
        return x
    exe = check(f, rand((10,), np.float32), rtol=1e-4)
    assert 1 < len(exe.as_text("kernels").splitlines()) < 20


def test_large_closed_over_constant():
    w = rand((100, 30), np.float32)
    exe = check(lambda x: lax.add(lax.dot(x, w), 1.0), rand((5, 100), np.float32), rtol=1e-4)
    assert len(exe.compiled.kernels) == 2


def test_simplify():
    c = np.float32(3.0)

    def f(x):
        y = lax.mul(x, 1.0)
        y = lax.sub(y, 0.0)
        y = lax.neg(lax.neg(y))
        z = lax.add(lax.sin(y), lax.sin(y))           # CSE
        w = lax.mul(c, 2.0)                            # folded
        return lax.add(z, w), lax.convert_element_type(x, np.float32)
    exe = check(f, rand((7,), np.float32))
    text = exe.as_text("jaxpr")
    assert text.count("sin") == 1 and "neg" not in text and "convert" not in text
    assert "6.0" in text


def test_pjit_inlined():
    inner = trax.make_jaxpr(lambda x: lax.sin(x))(np.float32(1.0))
    from trax.jit import pjit_p
    f = lambda x: lax.mul(pjit_p.bind(x, jaxpr=inner, name="inner")[0], 2.0)
    exe = check(f, np.float32(0.3))
    assert "pjit" not in exe.as_text("jaxpr")


def test_unknown_primitive_raises():
    from trax.core import Primitive, ShapedArray
    p = Primitive("mystery_op")
    p.impl = lambda x: x
    p.abstract_eval = lambda x: ShapedArray(x.shape, x.dtype)
    cj = trax.make_jaxpr(lambda x: p.bind(lax.sin(x)))(np.ones(3, np.float32))
    with pytest.raises(NotImplementedError, match="mystery_op"):
        compile_jaxpr(cj)


# ---------------------------------------------------------------- caches

def _fresh_fn(k):
    return lambda x: lax.add(lax.mul(x, float(k)), 0.123456789 * k)


def test_memory_cache_hit():
    x = rand((5,), np.float64)
    cj = trax.make_jaxpr(_fresh_fn(11))(x)
    compile_jaxpr(cj)
    hits = cache.stats["memory_hits"]
    compile_jaxpr(trax.make_jaxpr(_fresh_fn(11))(x))
    assert cache.stats["memory_hits"] == hits + 1


_CHILD = """
import numpy as np, trax
from trax import lax
from trax.compiler.runtime import cache
from trax.compiler.driver import compile_jaxpr
x = np.arange(5.0)
exe = compile_jaxpr(trax.make_jaxpr(lambda x: lax.add(lax.mul(x, 7.0), lax.sin(x)))(x))
np.testing.assert_allclose(exe(x)[0], x * 7.0 + np.sin(x), rtol=1e-12)
print(cache.stats["misses"], cache.stats["disk_hits"], cache.stats["disk_errors"])
"""


def _child_stats(cache_dir):
    from child import run_python
    return tuple(int(t) for t in run_python(_CHILD, cache_dir).split())


def test_disk_cache_hit_and_corruption(tmp_path):
    d = tmp_path / "disk"
    assert _child_stats(d) == (1, 0, 0)               # miss, written
    files = [os.path.join(r, f) for r, _, fs in os.walk(d) for f in fs if f.endswith(".o")]
    assert len(files) == 1
    data = open(files[0], "rb").read()
    assert _child_stats(d) == (0, 1, 0)               # a fresh process hits
    open(files[0], "wb").write(data[: len(data) // 2])      # truncated
    assert _child_stats(d) == (1, 0, 1)               # detected, recompiled
    assert open(files[0], "rb").read() == data        # and replaced
    open(files[0], "wb").write(data[:-100] + b"\0" * 100)   # corrupted, same length
    assert _child_stats(d) == (1, 0, 1)
    assert _child_stats(d) == (0, 1, 0)


def test_disk_cache_disabled(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAX_CACHE_DIR", "")
    assert cache.cache_dir() is None
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TRAX_DISABLE_DISK_CACHE", "1")
    assert cache.cache_dir() is None


# The op table's rows are compiled and compared with eager (and their
# gradients) by the 'jit' and 'jit_grad' checks in tests/test_op_table.py.


# ---------------------------------------------------------------- row groups (rows.py)

def _row_fns():
    import trax.numpy as tnp

    def softmax(x):
        e = tnp.exp(x - tnp.max(x, axis=-1, keepdims=True))
        return e / tnp.sum(e, axis=-1, keepdims=True)

    def layer_norm(x):
        mu = tnp.mean(x, axis=-1, keepdims=True)
        var = tnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
        return (x - mu) / tnp.sqrt(var + 1e-5)

    def crossed(x):         # a transposed read of a row result must not join the group
        s = tnp.sum(x, axis=-1, keepdims=True) * x
        return s + tnp.transpose(s) + tnp.max(s, axis=0)

    return [softmax, layer_norm, crossed]


@pytest.mark.parametrize("shape", [(5, 7), (64, 1024), (3, 4, 6)])
@pytest.mark.parametrize("k", range(3))
def test_jit_row_groups_match_eager(shape, k):
    import trax.numpy as tnp
    f = _row_fns()[k]
    if k == 2 and (len(shape) != 2 or shape[0] != shape[1]):
        shape = (shape[0], shape[0])
    x = np.random.default_rng(k).normal(size=shape).astype(np.float32)
    g = trax.grad(lambda a: tnp.sum(f(a) * a))
    for fn in (f, g):
        want = np.asarray(fn(x))
        np.testing.assert_allclose(np.asarray(trax.jit(fn)(x)), want, rtol=2e-5,
                                   atol=2e-6 * max(1.0, float(np.max(np.abs(want)))))


def test_jit_row_group_plan():
    from trax.compiler.plan import fusion, rows
    from trax.compiler.passes.simplify import simplify
    import trax.numpy as tnp
    f = _row_fns()[0]
    x = np.ones((8, 32), np.float32)
    jaxpr = simplify(trax.make_jaxpr(trax.grad(lambda a: tnp.sum(f(a) * a)))(x)).jaxpr
    groups = rows.groups(fusion.plan(jaxpr))
    assert len(groups) == 1 and groups[0].rows == 8


# ---------------------------------------------------------------- outlined math

def assert_math_inline(exe):
    """Math functions are inline IR in ``exe``'s loops, or (float32 sin/cos, see
    functions.branchy) vector calls inlined after vectorization."""
    assert not re.search(r'call [^\n]*@"trax_vm_\w+_v\d+"', exe.as_text("llvm_optimized"))


def _math_chain(rounds):
    def f(x):
        for _ in range(rounds):
            x = lax.sin(x) * 0.9 + lax.cos(x) * 0.1
        return x
    return f


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("size", SIZES)
def test_outlined_math_matches_inline(dtype, size, monkeypatch):
    """Many transcendentals on small arrays: calls of the math library's
    function per (function, dtype), declared with its vector variants and
    defined elsewhere (see mathlib); same bits as inline IR."""
    from trax.compiler.lower import codegen
    f = _math_chain(6)                       # 12 sin/cos
    x = rand((size,), dtype, -30, 30)
    exe = check(f, x)
    text = exe.as_text("llvm")
    name = f"trax_lib_sin_{'f32' if dtype == np.float32 else 'f64'}"
    assert text.count(f'declare {"float" if dtype == np.float32 else "double"} @"{name}"') == 1
    assert "trax_vm_" not in text                  # no body of a math function
    assert "vector-function-abi-variant" in text
    got = exe(x)[0]
    cache.clear_memory()
    monkeypatch.setattr(codegen, "_OUTLINE_MATH", 10 ** 9)
    exe2 = compile_jaxpr(trax.make_jaxpr(f)(x))
    assert_math_inline(exe2)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(exe2(x)[0]))


def test_outlined_math_vectorized():
    exe = check(_math_chain(6), rand((1000,), np.float32, -3, 3))
    opt = exe.as_text("llvm_optimized")
    assert re.search(r"call [^\n]*<(4|8|16) x float> @\"?trax_lib_sin_f32_v", opt)


@pytest.mark.parametrize("fn", [lax.sin, lax.cos, lax.exp])
def test_branchy_math_is_inlined_after_vectorizing(fn):
    """float32 sin/cos/exp (functions.branchy) in a jaxpr with few
    transcendentals: the loop vectorizer's vector call is inlined, so the
    loop branches around the general path instead of calling a function
    (arguments that need it mixed with ones that do not). One vector body
    is left besides, for the scalar remainder loop."""
    x = rand((1003,), np.float32, -30, 30)
    x[::7] *= 1e5 if fn is not lax.exp else 4
    exe = check(lambda v: fn(v) * 2.0, x)
    assert '"trax_vm_' + fn.__name__ in exe.as_text("llvm")
    assert_math_inline(exe)
    opt = exe.as_text("llvm_optimized")
    assert re.search(r"fcmp [^\n]*<(4|8|16) x float>", opt)
    assert len(re.findall(r'define internal <\d+ x float> @"?trax_vm_', opt)) <= 1


def test_outlined_math_non_flat_and_reduction():
    """Loop nests, fused reductions, float16 and several functions."""
    def f(x, y):
        t = lax.transpose(lax.tanh(x), (1, 0)) + lax.exp(y) * lax.sin(y)
        u = lax.log1p(lax.abs(t)) + lax.atan2(t, y) + lax.pow(lax.abs(t) + 1.0, y)
        return lax.reduce_sum(lax.cos(u) * lax.logistic(u), (1,)), lax.erf(u)
    x, y = rand((9, 13)), rand((13, 9))
    exe = check(f, x, y, rtol=1e-4, atol=1e-5)
    assert "trax_lib_" in exe.as_text("llvm")
    h = rand((33,), np.float16)
    check(_math_chain(5), h, rtol=2e-3, atol=2e-3)


def _math_sum(rounds):
    """A math chain that LLVM vectorizes (a reduction: not vectorize.eligible)."""
    return lambda x: lax.reduce_sum(_math_chain(rounds)(x), (0,))


def test_outlined_math_folds_the_tail():
    """Loops around outlined math ask LLVM for a masked last iteration, so
    the vector body is the only copy of the loop."""
    exe = check(_math_sum(6), rand((1000,), np.float32, -3, 3), rtol=1e-5)
    assert not exe.compiled.vectorized
    assert "llvm.loop.vectorize.predicate.enable" in exe.as_text("llvm")


def test_outlined_math_loops_name_their_width():
    """A loop whose library calls all have one lane count is vectorized by
    that many lanes without interleaving; with float32 and float64 calls
    (two lane counts) LLVM chooses."""
    from trax.compiler.math import mathlib
    exe = check(_math_sum(6), rand((1001,), np.float32, -3, 3), rtol=1e-5)
    text = exe.as_text("llvm")
    (hints,) = _loop_hints(text)
    assert {"llvm.loop.vectorize.width", "llvm.loop.interleave.count"} <= hints
    assert f'!{{ !"llvm.loop.vectorize.width", i32 {mathlib.lanes()[4][0]} }}' in text
    assert re.search(rf'x float> @"?trax_lib_sin_f32_v{mathlib.lanes()[4][0]}\b',
                     exe.as_text("llvm_optimized"))

    def mixed(x, y):      # one loop calling float32 and float64 functions
        both = _math_chain(3)(x) + lax.convert_element_type(_math_chain(3)(y), np.float32)
        return lax.reduce_sum(both, (0,))
    exe = check(mixed, rand((101,), np.float32), rand((101,), np.float64), rtol=1e-5)
    assert all("llvm.loop.vectorize.width" not in h for h in _loop_hints(exe.as_text("llvm")))


def _loop_hints(text):
    """Loop metadata of each loop in ``text``: a list of sets of hint names."""
    nodes = dict(re.findall(r"^(!\d+) = !\{ (.*) \}$", text, flags=re.M))
    out = []
    for ref in re.findall(r"!llvm\.loop (!\d+)", text):
        ops = nodes[ref].split(", ")
        assert ops[0] == ref                      # a loop ID refers to itself
        out.append({re.search(r'"([\w.]+)"', nodes[o]).group(1) for o in ops[1:]})
    return out


def test_loop_hints_cold_and_tiny_loops():
    """Loops that run little in all are not unrolled, tiny ones not
    vectorized; big ones get no hints (LLVM decides)."""
    from trax.compiler.lower import loops
    small = compile_jaxpr(trax.make_jaxpr(lambda x: lax.reduce_sum(x * 2.0, (1,)))(
        rand((128, 10)))).as_text("llvm")
    hints = _loop_hints(small)
    assert hints and all("llvm.loop.unroll.disable" in h for h in hints)
    assert any("llvm.loop.vectorize.enable" in h for h in hints)     # the 10-trip loops
    n = loops.COLD_WORK * 2
    big = check(lambda x: x * 2.0 + 1.0, rand((n,)))
    assert _loop_hints(big.as_text("llvm")) == []
    x = rand((n // 8, 8))
    exe = check(lambda x: lax.reduce_sum(x * 2.0, (1,)), x, rtol=1e-5)
    assert all("llvm.loop.vectorize.enable" not in h for h in _loop_hints(exe.as_text("llvm")))


def test_loop_hint_rules():
    from trax.compiler.lower import loops
    lp = loops._Loop
    assert loops._hints(lp(1000), []) == {"llvm.loop.unroll.disable": None}
    assert loops._hints(lp(10), [lp(128)]) == {"llvm.loop.unroll.disable": None,
                                                "llvm.loop.vectorize.enable": False}
    assert loops._hints(lp(10), [lp(1 << 16)]) == {}
    assert loops._hints(lp(10), [lp(None)]) == {}
    me = lp(10)
    me.hints["llvm.loop.vectorize.predicate.enable"] = True
    assert loops._hints(me, [lp(8)]) == {"llvm.loop.vectorize.predicate.enable": True,
                                          "llvm.loop.unroll.disable": None}


def test_large_arrays_keep_inline_math():
    from trax.compiler.lower import codegen
    x = np.ones(codegen._OUTLINE_WORK // 8 + 1, np.float32)
    cj = trax.make_jaxpr(_math_chain(4))(x)
    assert_math_inline(compile_jaxpr(cj))


def test_many_loop_modules_skip_loop_strength_reduction(monkeypatch):
    """A module with more than LSR_MAX_LOOPS loops is emitted without LLVM's
    loop strength reduction; fewer loops keep it. Results are the same."""
    from trax.compiler.runtime import engine
    seen = []
    emit = engine.emit_object
    monkeypatch.setattr(engine, "emit_object",
                        lambda text, **kw: seen.append(kw["strength_reduce"]) or emit(text, **kw))

    def rows(x, n):       # n row-wise reductions: a loop nest each
        return [lax.reduce_sum(lax.mul(x, float(k + 2)), (1,)) for k in range(n)]
    x = rand((7, 13), np.float32)
    for n, reduce in ((2, True), (engine.LSR_MAX_LOOPS + 1, False)):
        exe = check(lambda v: rows(v, n), x, rtol=1e-5)
        assert exe.compiled.loops > engine.LSR_MAX_LOOPS or reduce
        assert seen[-1] is reduce


@pytest.mark.parametrize("choice", ["strength_reduce", "schedule"])
def test_emit_without_a_step_leaves_llvm_as_it_was(choice):
    from trax.compiler.runtime import engine
    x = rand((64, 33), np.float32)
    text = trax.jit(lambda a, b: lax.tanh(a[:, :32] * b[:, 1:]) + a[:, 1:]).lower(x, x).as_text("llvm")
    before = engine.emit_object(text)
    without = engine.emit_object(text, **{choice: False})
    assert engine.emit_object(text) == before
    assert without != before


def test_library_calling_modules_are_emitted_lean():
    """A module calling the math library is emitted without loop strength
    reduction and machine scheduling, and with the short pipeline when trax
    vectorized it (see trax.compiler.runtime.engine.emit_options)."""
    from trax.compiler.runtime import engine
    c = check(_math_chain(6), rand((1000,), np.float32, -3, 3)).compiled
    assert c.calls_library
    assert c.emit_options() == {"o3": False, "strength_reduce": False, "schedule": False}
    c = check(_math_sum(6), rand((1000,), np.float32, -3, 3), rtol=1e-5).compiled
    assert c.calls_library and not c.vectorized
    assert c.emit_options() == {"o3": True, "strength_reduce": False, "schedule": False}
    c = check(lambda v: lax.sin(v) * 2.0, rand((1000,), np.float32)).compiled
    assert not c.calls_library
    assert c.emit_options() == {"o3": True, "strength_reduce": True, "schedule": True}
    assert engine.emit_options(engine.LSR_MAX_LOOPS + 1, False, False)["strength_reduce"] is False


@pytest.mark.parametrize("form", ["sgd", "bias", "q_plus", "plus_q", "q_minus", "batched"])
def test_products_fold_into_updates(form):
    """``q + alpha * (a @ b)`` runs as one BLAS product accumulating into a
    copy of q (gemm_update.py): no separate pass, results as eager's."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(80, 40)).astype(np.float32), rng.normal(size=(40, 36)).astype(np.float32)
    q = rng.normal(size=(80, 36)).astype(np.float32)
    bias = rng.normal(size=(36,)).astype(np.float32)
    fns = {"sgd": (lambda a, b, q: q - 0.01 * (a @ b), -0.01),
           "bias": (lambda a, b, q: a @ b + bias, 1.0),
           "q_plus": (lambda a, b, q: q + a @ b * 3.0, 3.0),
           "plus_q": (lambda a, b, q: a @ b + q, 1.0),
           "q_minus": (lambda a, b, q: q - a @ b, -1.0)}
    if form == "batched":
        a, b, q = np.stack([a, 2 * a]), np.stack([b, -b]), np.stack([q, q])
        f, alpha = (lambda a, b, q: q - lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
                    -1.0)
    else:
        f, alpha = fns[form]
    exe = check(f, a, b, q, rtol=2e-5, atol=2e-5)
    text = exe.as_text("jaxpr")
    assert "dot_general_update" in text and "dot_general[" not in text
    assert f"alpha={np.float32(alpha).item()!r}" in text or f"alpha={alpha!r}" in text
    assert exe.as_text("kernels").splitlines()[-1].startswith("dot_general_update")
    calls = re.findall(r'call void @"?\w*gemm\w*"?\((.*)\)', exe.as_text("llvm"))
    assert calls and all(c.split(", ")[11].split()[-1] == "0x3ff0000000000000"   # beta = 1
                         for c in calls)


def test_products_not_folded_when_reused_small_or_integer():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(48, 40)).astype(np.float32), rng.normal(size=(40, 36)).astype(np.float32)
    q = rng.normal(size=(48, 36)).astype(np.float32)
    reused = check(lambda a, b, q: [q - a @ b, a @ b], a, b, q, rtol=1e-5, atol=1e-5)
    small = check(lambda a, b, q: q - a @ b, a[:4, :4], b[:4, :4], q[:4, :4], rtol=1e-5)
    literal = check(lambda a, b: a @ b + 1.0, a, b, rtol=1e-5)
    ai, bi = a.astype(np.int32), b.astype(np.int32)
    integer = check(lambda a, b, q: q + a @ b, ai, bi, q.astype(np.int32), exact=True)
    for exe in (reused, small, literal, integer):
        assert "dot_general_update" not in exe.as_text("jaxpr")


@pytest.mark.parametrize("shape", [(4, 3, 5), (13, 9, 30), (80, 40, 40)])  # loop nest x2, BLAS
def test_dot_general_update_lowering(shape):
    """The lowering of dot_general_update as a loop nest and through the BLAS."""
    from trax.compiler.passes.gemm_update import dot_general_update_p
    m, k, n = shape
    rng = np.random.default_rng(9)
    a, b, q = (rng.normal(size=s) for s in ((m, k), (k, n), (m, n)))
    params = dict(dimension_numbers=(((1,), (0,)), ((), ())), preferred_element_type=None,
                  alpha=-0.25)
    cj = trax.make_jaxpr(lambda a, b, q: dot_general_update_p.bind(a, b, q, **params))(a, b, q)
    got = compile_jaxpr(cj)(a, b, q)[0]
    np.testing.assert_allclose(np.asarray(got), q - 0.25 * (a @ b), rtol=1e-12, atol=1e-12)
