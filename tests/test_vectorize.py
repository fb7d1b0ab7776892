"""Our own vectorizer (trax/compiler/vectorize.py): flat elementwise modules
that call the math library are emitted as vector loops and get LLVM's short
pipeline; anything else keeps LLVM's loop vectorizer. Same results either way."""
import re
import weakref

import numpy as np
import pytest

import trax
from trax import lax
from trax.compiler.runtime import cache
from trax.compiler.driver import compile_jaxpr
from trax.compiler.math import mathlib
from trax.compiler.lower import vectorize


def _chain(rounds):              # 2 * rounds transcendentals: calls the math library
    def f(x):
        for _ in range(rounds):
            x = lax.sin(x) * 0.9 + lax.cos(x) * 0.1
        return x
    return f


def _compiled(f, *args):
    return compile_jaxpr(trax.make_jaxpr(f)(*args))


def _with_llvm_vectorizer(f, args, monkeypatch):
    """f's outputs compiled with vectorize.eligible refusing every module
    (newly: not the code already loaded, nor the disk cache's)."""
    from trax.compiler import driver as tc
    with monkeypatch.context() as m:
        m.setattr(vectorize, "eligible", lambda plan, outvars: False)
        m.setattr(tc, "_loaded", weakref.WeakValueDictionary())
        m.setenv("TRAX_DISABLE_DISK_CACHE", "1")
        cache.clear_memory()
        exe = _compiled(f, *args)
        assert not exe.compiled.vectorized
        outs = [np.asarray(o) for o in exe(*args)]
    cache.clear_memory()
    return outs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (8,), (9,), (1003,), (5, 37)])
def test_vector_loops_compute_what_llvms_do(dtype, shape, monkeypatch):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 4).astype(dtype)
    f = _chain(5)
    exe = _compiled(f, x)
    assert exe.compiled.vectorized and exe.compiled.emit_options()["o3"] is False
    got = np.asarray(exe(x)[0])
    np.testing.assert_allclose(got, f(x), rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)
    want, = _with_llvm_vectorizer(f, (x,), monkeypatch)
    np.testing.assert_array_max_ulp(got, want, maxulp=4)   # FMA contraction may differ


def test_the_200_op_chain_is_one_vector_loop():
    x = np.linspace(-3, 3, 1000, dtype=np.float32)
    exe = _compiled(_chain(40), x)
    text = exe.as_text("llvm")
    assert exe.compiled.vectorized
    assert len(re.findall(r"^\w+\.body(?:\.\d+)?:", text, flags=re.M)) == 1   # one row loop
    lanes = max(mathlib.lanes()[4])
    assert f"<{lanes} x float>" in text
    assert ("masked" in text) == (1000 % lanes != 0)
    np.testing.assert_allclose(np.asarray(exe(x)[0]), _chain(40)(x), rtol=1e-5, atol=1e-6)
    opt = exe.as_text("llvm_optimized")
    assert "trax_lib_sin_f32_v" in opt and "llvm.loop.isvectorized" not in opt


def test_sizes_that_lanes_do_not_divide_are_masked():
    x = np.linspace(-3, 3, 1003, dtype=np.float32)
    text = _compiled(_chain(5), x).as_text("llvm")
    assert "llvm.masked.load" in text and "llvm.masked.store" in text


def test_literals_and_lane_safe_ops(monkeypatch):
    def f(x, y):
        u = lax.max(lax.sin(x), 0.25) / 3.0 + lax.integer_pow(lax.cos(y), 3)
        v = lax.min(lax.neg(lax.abs(lax.tanh(u))), -0.5) * lax.sqrt(lax.exp(y * y))
        w = lax.floor(lax.log1p(lax.abs(v)) * 10.0) + lax.atan2(u, v) - lax.logistic(x)
        return w, lax.pow(lax.abs(w) + 1.0, y), x          # an input as an output
    rng = np.random.default_rng(2)
    x, y = (rng.normal(size=101).astype(np.float32) for _ in range(2))
    exe = _compiled(f, x, y)
    assert exe.compiled.vectorized
    got = [np.asarray(o) for o in exe(x, y)]
    for g, w in zip(got, f(x, y)):
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=2e-5)
    for g, w in zip(got, _with_llvm_vectorizer(f, (x, y), monkeypatch)):
        np.testing.assert_array_max_ulp(g, w, maxulp=4)


@pytest.mark.parametrize("case", ["reduction", "integers", "broadcast", "convert",
                                  "float16", "compare", "few transcendentals"])
def test_other_modules_keep_llvms_vectorizer(case):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(33, 40)).astype(np.float32)
    chain = _chain(5)
    f, args = {
        "reduction": (lambda v: lax.reduce_sum(chain(v), (1,)), (x,)),
        "integers": (lambda v, k: chain(v) + lax.convert_element_type(k * 3, np.float32),
                     (x, np.arange(x.size, dtype=np.int32).reshape(x.shape))),
        "broadcast": (lambda v, r: chain(v) * lax.broadcast_in_dim(r, x.shape, (1,)),
                      (x, x[0])),
        "convert": (lambda v: lax.convert_element_type(chain(v), np.float64), (x,)),
        "float16": (chain, (x.astype(np.float16),)),
        "compare": (lambda v: lax.gt(chain(v), 0.0), (x,)),
        "few transcendentals": (_chain(2), (x,)),
    }[case]
    exe = _compiled(f, *args)
    assert not exe.compiled.vectorized
    tol = 3e-3 if case == "float16" else 1e-5
    np.testing.assert_allclose(np.asarray(exe(*args)[0]).astype(np.float64),
                               np.asarray(f(*args)).astype(np.float64), rtol=tol, atol=tol)


def test_row_groups_of_wide_rows_run_kernel_by_kernel():
    """Two-dimensional kernels (rows of more than one element) are vector
    loops of their own, not a row loop; the results are the same."""
    x = np.random.default_rng(4).normal(size=(9, 301)).astype(np.float64)
    f = _chain(30)                                  # several kernels (fusion cuts it)
    exe = _compiled(f, x)
    assert exe.compiled.vectorized
    loops = re.findall(r"^\w+\.body(?:\.\d+)?:", exe.as_text("llvm"), flags=re.M)
    assert len(loops) == len(exe.as_text("kernels").splitlines()) > 1
    np.testing.assert_allclose(np.asarray(exe(x)[0]), f(x), rtol=1e-12, atol=1e-14)
