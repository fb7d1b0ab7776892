"""The native dispatcher (trax/compiler/dispatch.py): a repeated jit call is
served by generated code that checks the arguments exactly; everything it
does not match must take the Python path and give the same answer. Each test
runs with both ways of loading the dispatcher."""
import sys
import threading

import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax.compiler.runtime import dispatch
from trax.core import Array

pytestmark = pytest.mark.skipif(not dispatch.supported(),
                                reason="object layouts differ from the expected ones")


@pytest.fixture(autouse=True, params=["object code", "LLVM engine"])
def loader(request, monkeypatch):
    """Dispatchers as object code placed by trax's own loader (where it
    works), and compiled into the LLVM engine with inlined addresses."""
    if request.param == "LLVM engine":
        monkeypatch.setattr(dispatch.elfload, "supported", lambda: False)
    elif not dispatch.elfload.supported():
        pytest.skip("trax's object loader is for x86-64 Linux")
    return request.param


def warm(f, *args):
    """Call twice: the second (repeated) call builds the dispatcher."""
    f(*args)
    return f(*args)


def served_natively(f, *args):
    """Did the native dispatcher (not the Python path) serve this call?"""
    before = f._dispatcher.calls if f._dispatcher else 0
    out = f(*args)
    return (f._dispatcher.calls if f._dispatcher else 0) == before + 1, out


@pytest.mark.parametrize("x", [
    np.arange(10, dtype=np.float32),
    np.arange(6, dtype=np.float64).reshape(2, 3),
    np.float32(3.0), np.float64(-2.5), 2.0, 7, np.int32(4), np.int64(-9),
    np.zeros((0, 3), np.float32), np.ones((), np.float32),
])
def test_native_matches_python_path(x):
    f = trax.jit(lambda x: x * 2 + 1)
    expected = f(x)
    assert f._native is None                  # one-off calls build nothing
    out = f(x)
    native, out = served_natively(f, x)
    assert native
    assert type(out) is Array and type(expected) is Array
    assert out.dtype == expected.dtype and out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


def test_bools_and_their_types():
    f = trax.jit(lambda b: jnp.logical_not(b))
    for b in (True, np.bool_(False), np.array([True, False])):
        warm(f, b)
        native, out = served_natively(f, b)
        assert native
        np.testing.assert_array_equal(out, np.logical_not(b))
    assert served_natively(f, False)[1] == np.True_


def test_each_mismatch_takes_the_python_path_with_the_right_answer():
    f = trax.jit(lambda x: x * 2.0)
    x = np.arange(8, dtype=np.float32)
    warm(f, x)
    misses = [x[::2], x.reshape(2, 4), x.astype(np.float64),
              np.arange(8, dtype=np.float32).view(np.matrix),
              x.astype(">f4")]                    # big-endian: converted, not read natively
    for y in misses:
        native, out = served_natively(f, y)
        assert not native
        np.testing.assert_array_equal(out, np.asarray(y, np.float64) * 2)
    with pytest.raises(TypeError):
        f(x, x)
    with pytest.raises(TypeError):
        f()


def test_out_of_range_python_int_is_left_to_the_python_path():
    f = trax.jit(lambda n: n + 1)
    warm(f, 5)
    assert served_natively(f, 5)[0]
    assert served_natively(f, -2 ** 40)[1] == 1 - 2 ** 40
    calls = f._dispatcher.calls
    with pytest.raises(OverflowError):
        f(2 ** 70)
    assert f._dispatcher.calls == calls


def test_tuple_outputs_and_pytrees():
    f = trax.jit(lambda x: (x + 1, jnp.sum(x)))
    x = np.arange(5, dtype=np.float32)
    warm(f, x)
    native, out = served_natively(f, x)
    assert native and isinstance(out, tuple) and len(out) == 2
    np.testing.assert_array_equal(out[0], x + 1)
    assert out[1] == 10.0
    g = trax.jit(lambda x: {"a": x, "b": x * 2})
    warm(g, x)
    assert g._native is None                   # dicts take the Python path
    assert g(x)["b"][1] == 2.0


def test_several_signatures_chain_and_all_hits_are_counted():
    f = trax.jit(lambda x: x * 2.0 + 1.0)
    s, v = np.float32(3.0), np.ones(10, np.float32)
    for _ in range(5):
        assert f(s) == 7.0
        np.testing.assert_array_equal(f(v), np.full(10, 3.0))
    assert served_natively(f, s)[0] and served_natively(f, v)[0]
    info = f.cache_info()
    assert (info["hits"], info["misses"]) == (10, 2)
    f.clear_cache()
    assert f._native is None and f.cache_info()["hits"] == 10


def test_constants_tracers_and_disable_jit():
    c = np.linspace(0, 1, 4).astype(np.float32)
    f = trax.jit(lambda x: jnp.sum(jnp.sin(x) * c))
    x = np.ones(4, np.float32)
    warm(f, x)
    assert served_natively(f, x)[0]
    np.testing.assert_allclose(trax.grad(f)(x), np.cos(x) * c, rtol=1e-6)
    np.testing.assert_allclose(trax.vmap(f)(np.ones((3, 4), np.float32)),
                               [np.sum(np.sin(1.0) * c)] * 3, rtol=1e-6)
    with trax.disable_jit():
        native, out = served_natively(f, x)
    assert not native
    np.testing.assert_allclose(out, np.sum(np.sin(x) * c), rtol=1e-6)
    with pytest.raises(TypeError):
        f(x, extra=1)


def test_no_reference_leaks():
    f = trax.jit(lambda x, y: (x + y, x * y))
    x, y = np.ones(3, np.float32), 2.0
    warm(f, x, y)
    out = f(x, y)
    refs = sys.getrefcount(x), sys.getrefcount(y), sys.getrefcount(np.dtype(np.float32))
    for _ in range(1000):
        out = f(x, y)
    assert (sys.getrefcount(x), sys.getrefcount(y),
            sys.getrefcount(np.dtype(np.float32))) == refs
    a, _ = out
    del out
    assert sys.getrefcount(a) == 2                # only `a` holds it
    f(x[::2], y)                                 # a miss returns the sentinel
    assert sys.getrefcount(f._native[1]) < 10


def test_outputs_are_fresh_arrays():
    f = trax.jit(lambda x: x + 1)
    x = np.zeros(4, np.float32)
    a, b = f(x), f(x)
    c = f(x)
    assert a is not b and b is not c and not np.shares_memory(b, c)


def test_large_calls_release_the_gil_and_run_concurrently():
    f = trax.jit(lambda x: jnp.tanh(x) * 2.0)
    xs = [np.full(1 << 16, i, np.float32) for i in range(4)]
    warm(f, xs[0])
    results = [None] * 4

    def work(i):
        for _ in range(20):
            results[i] = f(xs[i])
    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, r in enumerate(results):
        np.testing.assert_allclose(r, np.tanh(np.float32(i)) * 2, rtol=1e-6)


def test_layout_probe_finds_the_offsets_on_this_build():
    from trax.compiler.runtime import layout
    assert layout.ARRAYS_OK and dispatch.supported()
    assert {float, int, bool, np.float32, np.float64} <= set(layout.SCALAR_TYPES)
