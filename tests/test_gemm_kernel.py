"""The register-blocked loop nest of products (lower/linalg.py ``_loop_matmul``)
and the choice between it and the BLAS (runtime/blas.py ``gemm_for``)."""
import re

import numpy as np
import pytest

import trax
from trax import lax
from trax.compiler.driver import compile_jaxpr
from trax.compiler.lower import linalg
from trax.compiler.runtime import blas, host
from trax.core import eval_jaxpr


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "cache"))


def _compiled(f, *args):
    """The executable of ``f`` and its results, checked against eager's."""
    cj = trax.make_jaxpr(f)(*args)
    exe = compile_jaxpr(cj)
    got = exe(*args)
    want = eval_jaxpr(cj.jaxpr, cj.consts, *args)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype
        if w.dtype.kind in "iub":
            np.testing.assert_array_equal(g, w)
        else:
            tol = {2: 1e-2, 4: 2e-5, 8: 1e-12}[w.dtype.itemsize]
            scale = max(1.0, float(np.abs(w.astype(np.float64)).max(initial=0.0)))
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale)
    return exe, got


def _operands(shape_a, shape_b, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape_a) < 0.3, rng.random(shape_b) < 0.3
    if np.dtype(dtype).kind in "iu":
        return (rng.integers(-5, 6, shape_a).astype(dtype),
                rng.integers(-5, 6, shape_b).astype(dtype))
    return rng.normal(size=shape_a).astype(dtype), rng.normal(size=shape_b).astype(dtype)


def _tile_shape(dtype):
    """(rows, columns) of the host's tiles for ``dtype``."""
    bits = host.vector_bits()
    rows, vectors = linalg.TILES.get(bits, linalg.TILES[128])
    return rows, vectors * max(bits // (8 * np.dtype(dtype).itemsize), 1)


def _edge_sizes(tile):
    """Sizes around a tile's: under it, one, the tile, just over, and two and a bit."""
    return sorted({1, tile - 1, tile, tile + 1, 2 * tile + 3} - {0})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tile_edges_match_eager(dtype):
    """Row and column counts at and around the tile's (the last tiles overlap
    the ones before), each depth case: one step and many."""
    rows, cols = _tile_shape(dtype)
    for m in _edge_sizes(rows):
        for n in _edge_sizes(cols):
            for k in (1, 37):
                a, b = _operands((m, k), (k, n), dtype, seed=m * 1000 + n + k)
                exe, _ = _compiled(lambda a, b: a @ b, a, b)
                assert "gemm" not in exe.as_text("llvm")


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8, np.bool_, np.float16])
def test_other_dtypes_match_eager(dtype):
    rows, cols = _tile_shape(dtype)
    m, k, n = rows + 3, 19, cols + 5
    a, b = _operands((m, k), (k, n), dtype)
    _compiled(lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))), a, b)


def test_batched_and_transposed_operands():
    """Batch axes, and operands that are packed first (contracting axis of
    the lhs first, of the rhs last)."""
    a, b = _operands((3, 11, 20), (3, 20, 29), np.float32)
    _compiled(lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))), a, b)
    at, bt = np.ascontiguousarray(a.transpose(0, 2, 1)), np.ascontiguousarray(b.transpose(0, 2, 1))
    _compiled(lambda a, b: lax.dot_general(a, b, (((1,), (2,)), ((0,), (0,)))), at, bt)


def test_no_stray_writes_around_the_output():
    """Overlapping last tiles store only inside C: the values of a larger
    array around a product's output stay as computed."""
    rows, cols = _tile_shape(np.float32)
    m, k, n = 2 * rows + 1, 5, 2 * cols + 1
    a, b = _operands((m, k), (k, n), np.float32)

    def f(a, b):
        c = a @ b
        return c, c + 1.0, lax.reduce_sum(c, (0, 1))
    _, (c, c1, total) = _compiled(f, a, b)
    np.testing.assert_allclose(np.asarray(c1), np.asarray(c) + 1.0, rtol=1e-6)
    np.testing.assert_allclose(float(total), float((a.astype(np.float64) @ b).sum()),
                               rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("m,k,n,loop", [
    (16, 128, 128, True), (64, 512, 128, True), (1, 512, 4096, True),
    (65, 128, 128, False), (16, 513, 128, False), (64, 512, 512, False),
    (20, 20, 20, True), (64, 512, 1, False), (64, 128, 1, True)])
def test_products_with_few_rows_run_as_the_loop_nest(m, k, n, loop):
    """The BLAS is called for products beyond ``LOOP_ROWS``, ``LOOP_DEPTH``
    or ``LOOP_FLOPS``, and matrix-vector ones of at least ``MIN_FLOPS``, only
    (when there is a BLAS)."""
    if blas.gemm(np.float32) is None:
        pytest.skip("no BLAS")
    a, b = _operands((m, k), (k, n), np.float32)
    exe, _ = _compiled(lambda a, b: a @ b, a, b)
    calls = re.findall(r"call void @\"?\w*gemm", exe.as_text("llvm"))
    assert bool(calls) != loop
