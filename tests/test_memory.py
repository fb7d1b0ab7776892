"""Retracing does not grow memory without bound: a jitted function keeps
its most recently used signatures, the in-memory cache its most recently
used entries, and native code is freed when nothing can call it any more
(never while something can)."""
import gc
import importlib

import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax.compiler.runtime import cache, elfload
from trax.lru import LRU

jit_module = importlib.import_module("trax.jit")

pytestmark = pytest.mark.skipif(not elfload.supported(), reason="x86-64 Linux only")
KEEP = 4


@pytest.fixture
def small_caches(monkeypatch):
    monkeypatch.setattr(jit_module, "MAX_SIGNATURES", KEEP)
    monkeypatch.setattr(cache, "_memory", LRU(KEEP))


def test_retraces_keep_a_bounded_number_of_objects_loaded(small_caches):
    f = trax.jit(lambda x, k: jnp.sin(x) * k + 1.0, static_argnums=1)
    x = np.linspace(0, 1, 8, dtype=np.float32)
    gc.collect()
    before = elfload.live()
    for k in range(jit_module.MISS_REASONS + 8):
        np.testing.assert_allclose(f(x, float(k)), np.sin(x) * k + 1, rtol=1e-5, atol=1e-5)
    gc.collect()
    assert f.cache_info()["entries"] == KEEP
    assert elfload.live() - before <= 2 * KEEP      # jit's cache + the memory cache
    assert len(f.cache_info()["miss_reasons"]) == jit_module.MISS_REASONS


def test_evicted_code_that_is_still_referenced_stays_loaded(small_caches):
    f = trax.jit(lambda x, k: x * k, static_argnums=1)
    g = trax.jit(lambda x: jnp.exp(x) - 1.0)
    x = np.linspace(0, 1, 8, dtype=np.float32)
    kept = f.lower(x, 3.0).compile()
    for _ in range(3):
        g(x)                              # g's native dispatcher for this shape
    for n in range(1, 3 * KEEP):
        f(x, float(n + 10))
        g(np.ones(n, np.float32))         # evicts x's signature from g's caches
    gc.collect()
    np.testing.assert_allclose(kept(x, 3.0), x * 3, rtol=1e-6)
    np.testing.assert_allclose(g(x), np.exp(x) - 1, rtol=1e-5, atol=1e-6)
