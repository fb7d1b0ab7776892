"""The jit API: static arguments, the trace cache and its explanations,
pytrees and keyword arguments, disable_jit, ahead-of-time lowering, nested
jit (the pjit primitive), composition with the other transformations, and
the errors, with JAX's semantics as the reference."""
import functools
import importlib
import os

import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax.errors import TracerBoolConversionError

F32 = np.float32
THIS_FILE = os.path.basename(__file__)


# ----------------------------------------------------------------------------
# static arguments

def test_static_argnums_changes_result_and_retraces():
    traces = []

    @functools.partial(trax.jit, static_argnums=(1,))
    def f(x, n):
        traces.append(n)
        return x * n if n > 2 else x + n      # Python control flow on the static

    x = np.ones(3, F32)
    np.testing.assert_array_equal(f(x, 2), [3.0] * 3)
    np.testing.assert_array_equal(f(x, 5), [5.0] * 3)
    np.testing.assert_array_equal(f(x, 2), [3.0] * 3)
    assert traces == [2, 5]                   # the third call hit the cache
    info = f.cache_info()
    assert (info["hits"], info["misses"], info["entries"]) == (1, 2, 2)


def test_static_argnums_negative_index():
    @functools.partial(trax.jit, static_argnums=-1)
    def f(x, n):
        return x * n
    np.testing.assert_array_equal(f(np.ones(2), 3), [3.0, 3.0])
    np.testing.assert_array_equal(f(np.ones(2), 4), [4.0, 4.0])
    assert f.cache_info()["misses"] == 2


def test_static_argnames_changes_result_and_retraces():
    traces = []

    @functools.partial(trax.jit, static_argnames="mode")
    def f(x, mode="add"):
        traces.append(mode)
        return x + 1.0 if mode == "add" else x - 1.0

    assert float(f(1.0, mode="add")) == 2.0
    assert float(f(1.0, mode="sub")) == 0.0
    assert float(f(5.0, mode="sub")) == 4.0
    assert traces == ["add", "sub"]
    reasons = f.cache_info()["miss_reasons"]
    assert len(reasons) == 1 and "static" in reasons[0] and "sub" in reasons[0]


def test_static_argnames_passed_positionally_is_static():
    # JAX maps static_argnames onto positions through the signature
    @functools.partial(trax.jit, static_argnames="mode")
    def f(x, mode="add"):
        return x + 1.0 if mode == "add" else x - 1.0

    assert float(f(1.0, "sub")) == 0.0


def test_static_argnums_passed_by_keyword_is_static():
    @functools.partial(trax.jit, static_argnums=1)
    def f(x, mode):
        return x + 1.0 if mode == "add" else x - 1.0

    assert float(f(1.0, mode="sub")) == 0.0


def test_unhashable_static_value_raises_type_error_naming_it():
    f = trax.jit(lambda x, n: x * len(n), static_argnums=1)
    with pytest.raises(TypeError, match=r"static argument 1 of type list is not hashable"):
        f(1.0, [1, 2])
    assert float(f(1.0, (1, 2))) == 2.0        # a tuple is fine
    g = trax.jit(lambda x, opts=(): x * len(opts), static_argnames="opts")
    with pytest.raises(TypeError, match=r"'opts' of type dict is not hashable"):
        g(1.0, opts={"a": 1})


def test_string_argument_without_static_raises_clear_type_error():
    f = trax.jit(lambda x, s: x)
    with pytest.raises(TypeError, match=r"str .*not an array.*static_argnums"):
        f(1.0, "hello")
    assert float(trax.jit(lambda x, s: x * len(s), static_argnums=1)(2.0, "abc")) == 6.0


# ----------------------------------------------------------------------------
# the cache and its explanations

def test_cache_hits_misses_and_reasons_mention_shape_and_dtype_changes():
    traces = []

    @trax.jit
    def f(x):
        traces.append(x.shape)
        return x * 2

    f(np.ones(3, F32))
    f(np.ones(3, F32))
    f(np.ones(4, F32))
    f(np.ones(4, np.float64))
    f(np.ones(3, F32))
    info = f.cache_info()
    assert (info["hits"], info["misses"], info["entries"]) == (2, 3, 3)
    assert len(traces) == 3
    r = info["miss_reasons"]
    assert len(r) == 2
    assert "f32[3] -> f32[4]" in r[0]
    assert "f32[4] -> f64[4]" in r[1]


def test_cache_reason_for_static_change():
    f = trax.jit(lambda x, n: x * n, static_argnums=1)
    f(1.0, 2)
    f(1.0, 3)
    (reason,) = f.cache_info()["miss_reasons"]
    assert "static" in reason and "2" in reason and "3" in reason


def test_cache_reason_for_structure_change():
    f = trax.jit(lambda t: t[0])
    f((1.0,))
    f((1.0, 2.0))
    (reason,) = f.cache_info()["miss_reasons"]
    assert "structure" in reason


def test_weak_type_is_a_separate_cache_entry():
    traces = []

    @trax.jit
    def f(x):
        traces.append(1)
        return x * 2

    out_weak = f(1.5)                        # Python float: weak f64[]
    out_strong = f(np.array(1.5))            # f64[] array: same shape and dtype
    assert len(traces) == 2 and f.cache_info()["entries"] == 2
    (reason,) = f.cache_info()["miss_reasons"]
    assert "(weak)" in reason and "f64[]" in reason
    assert float(out_weak) == float(out_strong) == 3.0
    # weak-typed Python scalar keeps a float32 array's dtype, float32 array stays f32
    g = trax.jit(lambda x, y: x * y)
    assert g(np.ones(2, F32), 2.0).dtype == np.float32
    assert g(np.ones(2, F32), np.float64(2.0)).dtype == np.float64
    assert g.cache_info()["entries"] == 2


def test_clear_cache_retraces():
    traces = []

    @trax.jit
    def f(x):
        traces.append(1)
        return x + 1

    f(np.ones(2))
    f(np.ones(2))
    f.clear_cache()
    assert f.cache_info()["entries"] == 0
    np.testing.assert_array_equal(f(np.ones(2)), [2.0, 2.0])
    assert len(traces) == 2


# ----------------------------------------------------------------------------
# pytrees, kwargs, outputs

def test_pytree_args_and_outputs_with_none_leaves():
    @trax.jit
    def f(d, t):
        return {"s": d["a"] + t[0], "none": None, "pair": (t[1] * 2, d["b"])}

    d = {"a": np.ones(2), "b": F32(3.0)}
    out = f(d, (1.0, np.arange(3)))
    assert set(out) == {"s", "none", "pair"} and out["none"] is None
    np.testing.assert_array_equal(out["s"], [2.0, 2.0])
    np.testing.assert_array_equal(out["pair"][0], [0, 2, 4])
    assert isinstance(out["pair"], tuple) and out["pair"][1].dtype == np.float32
    # None inside the input pytree is an empty subtree, not an argument
    g = trax.jit(lambda t: t[0] * 2)
    assert float(g((3.0, None))) == 6.0


def test_pytree_arguments_take_the_quick_path():
    """Repeated calls with tuples, lists and dicts of arrays skip the general
    flattening (jit._quick_key); any change of structure, shape, dtype or
    weak type still retraces, and dict order does not matter."""
    jit_module = importlib.import_module("trax.jit")
    traces = []

    @trax.jit
    def f(params, x):
        traces.append(1)
        return [w * x + b for w, b in params], {"n": params[0][0].sum()}

    p = [(np.ones(3, F32), F32(1.0)), (np.full(3, 2.0, F32), 0.5)]
    x = np.arange(3, dtype=F32)
    outs = [f(p, x) for _ in range(4)]
    assert len(traces) == 1 and f.cache_info()["hits"] == 3
    key, leaves = jit_module._quick_key((p, x))
    assert key in f._fast and len(leaves) == 5
    for out in outs:
        np.testing.assert_array_equal(out[0][0], x + 1.0)
        np.testing.assert_array_equal(out[0][1], 2.0 * x + 0.5)
        assert out[0][1].dtype == np.float32 and float(out[1]["n"]) == 3.0
    f([p[0]], x)                                          # structure
    f([p[0], (np.full(3, 2.0), 0.5)], x)                  # dtype
    f([p[0], (np.full(3, 2.0, F32), F32(0.5))], x)        # weak type
    assert len(traces) == 4
    np.testing.assert_array_equal(f(p, x)[0][1], 2.0 * x + 0.5)
    assert len(traces) == 4

    g = trax.jit(lambda d: d["a"] - d["b"])
    a, b = np.ones(2, F32), np.full(2, 3.0, F32)
    np.testing.assert_array_equal(g({"a": a, "b": b}), [-2.0, -2.0])
    np.testing.assert_array_equal(g({"b": b, "a": a}), [-2.0, -2.0])
    assert g.cache_info()["entries"] == 1 and g.cache_info()["hits"] == 1
    assert jit_module._quick_key(({1: a, "x": b},)) == (None, None)    # unsortable keys


def test_keyword_arguments():
    @trax.jit
    def f(x, y=1.0, *, z):
        return x * y + z

    assert float(f(2.0, z=3.0)) == 5.0
    assert float(f(2.0, y=4.0, z=1.0)) == 9.0
    assert float(f(x=2.0, y=4.0, z=1.0)) == 9.0
    assert float(f(2.0, y=4.0, z=1.0)) == 9.0
    assert f.cache_info()["hits"] >= 1


def test_outputs_are_arrays_with_the_right_dtype():
    f = trax.jit(lambda x: x * 2)
    for x, dtype in [(F32(3), np.float32), (np.array(2, np.int32), np.int32),
                     (np.array(2, np.int64), np.int64), (np.arange(3, dtype=np.int32), np.int32),
                     (np.ones((2, 2), np.float64), np.float64)]:
        out = f(x)
        assert isinstance(out, (trax.Array, np.ndarray))
        assert out.dtype == dtype and out.shape == np.shape(x)
        np.testing.assert_array_equal(out, np.asarray(x) * 2)
    add = trax.jit(lambda x, y: x + y)
    assert add(np.int32(1), np.int32(2)).dtype == np.int32
    assert add(np.int64(1), np.int32(2)).dtype == np.int64
    assert add(np.arange(3, dtype=np.int32), 1).dtype == np.int32
    assert add(np.arange(3, dtype=np.int64), 1).dtype == np.int64


def test_zero_dim_and_empty_arrays():
    f = trax.jit(lambda x: jnp.sum(x * 2.0))
    out = f(np.zeros((0,), F32))
    assert out.shape == () and out.dtype == np.float32 and float(out) == 0.0
    assert float(f(np.zeros((2, 0)))) == 0.0
    assert float(f(np.array(1.5, F32))) == 3.0
    g = trax.jit(lambda x: x + 1)
    e = g(np.zeros((0, 3), F32))
    assert e.shape == (0, 3) and e.dtype == np.float32
    s = g(np.array(4, np.int32))
    assert s.shape == () and s.dtype == np.int32 and int(s) == 5


def test_output_can_be_fed_back_in():
    f = trax.jit(lambda x: x * 2)
    a = f(np.ones(3))
    np.testing.assert_array_equal(f(a), [4.0] * 3)
    assert f.cache_info()["entries"] == 1


# ----------------------------------------------------------------------------
# disable_jit

def test_disable_jit_runs_the_python_every_call():
    calls = []

    @trax.jit
    def f(x):
        calls.append(x)
        return x + 1

    f(1.0)
    f(2.0)
    assert len(calls) == 1                    # traced once
    with trax.disable_jit():
        assert float(f(F32(3.0))) == 4.0
        assert float(f(F32(4.0))) == 5.0
    assert len(calls) == 3
    assert [float(c) for c in calls[1:]] == [3.0, 4.0]   # concrete values, not tracers
    f(5.0)
    assert len(calls) == 3                    # jit is back on afterwards


def test_disable_jit_allows_python_control_flow_on_values():
    @trax.jit
    def f(x):
        return x if x > 0 else -x

    with trax.disable_jit():
        assert float(f(-2.0)) == 2.0


# ----------------------------------------------------------------------------
# ahead-of-time lowering

def test_lower_as_text_and_compile():
    f = trax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0)
    lowered = f.lower(np.ones(3, F32))
    jaxpr = lowered.as_text("jaxpr")
    assert "sin" in jaxpr and "f32[3]" in jaxpr
    assert "sin" in lowered.as_text("optimized_jaxpr")
    assert "define" in lowered.as_text("llvm")
    assert "define" in lowered.as_text("llvm_optimized")
    assert lowered.as_text("asm").strip()


def test_compiled_matches_the_jitted_function():
    f = trax.jit(lambda x: jnp.sin(x) * 2.0)
    x = np.linspace(0, 1, 3).astype(F32)
    compiled = f.lower(x).compile()
    out = compiled(x)
    # like JAX: the compiled function returns the function's output pytree
    np.testing.assert_allclose(np.asarray(out), np.sin(x) * 2.0, rtol=1e-6)
    assert np.shape(out) == (3,)


# ----------------------------------------------------------------------------
# nested jit and composition

def test_jit_inside_jit_is_a_pjit_equation():
    inner = trax.jit(lambda x: x * 3.0)
    outer = lambda x: inner(x) + 1.0
    text = str(trax.make_jaxpr(outer)(np.ones(2, F32)))
    assert "pjit" in text and "mul c 3.0" in text   # the sub-jaxpr, named on
    np.testing.assert_array_equal(trax.jit(outer)(np.ones(2, F32)), [4.0, 4.0])
    nested = str(trax.make_jaxpr(trax.jit(outer))(np.ones(2, F32)))
    assert nested.count("pjit") == 2


def _f(x):
    return jnp.sum(jnp.sin(x) * x)


def _df(x):
    return np.cos(x) * x + np.sin(x)


X = np.linspace(-1, 1, 5)


def test_jit_of_grad_and_grad_of_jit():
    np.testing.assert_allclose(trax.jit(trax.grad(_f))(X), _df(X), rtol=1e-12)
    np.testing.assert_allclose(trax.grad(trax.jit(_f))(X), _df(X), rtol=1e-12)


def test_vmap_of_jit_and_jit_of_vmap():
    g = lambda x: jnp.sin(x) * x
    M = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(trax.vmap(trax.jit(g))(M), np.sin(M) * M, rtol=1e-12)
    np.testing.assert_allclose(trax.jit(trax.vmap(g))(M), np.sin(M) * M, rtol=1e-12)
    np.testing.assert_allclose(trax.vmap(trax.jit(g), in_axes=1)(M), (np.sin(M) * M).T,
                               rtol=1e-12)


def test_jvp_of_jit():
    g = lambda x: jnp.sin(x) * x
    p, t = trax.jvp(trax.jit(g), (X,), (np.ones_like(X),))
    np.testing.assert_allclose(p, np.sin(X) * X, rtol=1e-12)
    np.testing.assert_allclose(t, _df(X), rtol=1e-12)


def test_jit_inside_grad_inside_jit():
    h = trax.jit(lambda x: trax.grad(lambda y: trax.jit(_f)(y) * 2.0)(x))
    np.testing.assert_allclose(h(X), 2 * _df(X), rtol=1e-12)
    np.testing.assert_allclose(trax.grad(trax.grad(trax.jit(lambda x: x ** 3)))(2.0), 12.0)


# ----------------------------------------------------------------------------
# errors

def test_python_if_on_traced_value_raises_with_location_and_hint():
    @trax.jit
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(TracerBoolConversionError) as info:
        f(1.0)
    msg = str(info.value)
    assert THIS_FILE in msg
    assert f"{THIS_FILE}:{f.__wrapped__.__code__.co_firstlineno + 2}" in msg
    assert "static_argnums" in msg
    assert isinstance(info.value, TypeError)


# ----------------------------------------------------------------------------
# closed-over arrays are constants, copied when traced (as in JAX)

@pytest.mark.parametrize("layout", ["contiguous", "strided", "0-d"])
def test_closed_over_arrays_are_snapshotted_at_trace_time(layout):
    base = np.arange(12, dtype=np.float32)
    c = {"contiguous": base, "strided": base[::2], "0-d": np.array(3.0, np.float32)}[layout]
    f = trax.jit(lambda x: x * c)
    x = np.ones(c.shape, np.float32)
    before = x * c
    np.testing.assert_array_equal(f(x), before)
    c[...] = -7.0                          # the caller changes its array
    for _ in range(3):                     # Python path, fast path, native dispatcher
        np.testing.assert_array_equal(f(x), before)
    np.testing.assert_array_equal(trax.make_jaxpr(lambda x: x * c)(x)(x)[0], x * c)
