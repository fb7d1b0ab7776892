"""Many threads tracing, compiling, calling jitted functions and running
eager code at once: trace state is per thread and the caches are shared
safely, so every thread gets real arrays with the right values."""
import threading

import numpy as np

import trax
import trax.numpy as jnp
from trax.core import Tracer

N_THREADS = 12


def run_threads(work, n=N_THREADS):
    """Run ``work(i)`` in ``n`` threads started together; re-raise the
    first failure."""
    start = threading.Barrier(n)
    errors = []

    def body(i):
        try:
            start.wait()
            work(i)
        except BaseException as e:          # reported in the main thread
            errors.append(e)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def check(out, expected):
    assert isinstance(out, np.ndarray) and not isinstance(out, Tracer), type(out)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_tracing_warm_calls_and_eager_code_at_once():
    @trax.jit
    def warm(x):
        return jnp.sin(x) * 2.0 + 1.0

    x = np.linspace(-1, 1, 7).astype(np.float32)
    warm(x)
    warm(x)                                  # native dispatcher built

    def work(i):
        fresh = trax.jit(lambda y: jnp.tanh(y) + i)     # traced in this thread
        shared = trax.jit(lambda y: y * 3.0)            # ...and a new one per thread
        for k in range(6):
            check(warm(x), np.sin(x) * 2 + 1)
            y = np.arange(k + i + 1, dtype=np.float32)
            check(fresh(y), np.tanh(y) + i)
            check(shared(y), y * 3)
            check(jnp.cos(y) + 1, np.cos(y) + 1)           # eager
            check(trax.grad(lambda v: jnp.sum(v * v))(y), 2 * y)
            assert isinstance(trax.make_jaxpr(lambda v: v + i)(y), trax.core.ClosedJaxpr)
    run_threads(work)


def test_first_calls_of_one_jitted_function_race():
    f = trax.jit(lambda a, b: jnp.exp(a) - b)

    def work(i):
        for k in range(4):
            a = np.full((k + 1, 3), i / 10, np.float64)
            b = np.ones(3)
            check(f(a, b), np.exp(a) - b)
    run_threads(work)
    info = f.cache_info()
    assert info["hits"] + info["misses"] == 4 * N_THREADS


def test_cache_info_counts_every_warm_call_once():
    f = trax.jit(lambda a: a + 1.0)
    x = np.ones(3, np.float32)
    f(x)
    calls = 200

    def work(i):
        for _ in range(calls):
            check(f(x), x + 1)
    run_threads(work)
    info = f.cache_info()
    assert (info["hits"], info["misses"]) == (N_THREADS * calls, 1)


def test_disable_jit_is_per_thread():
    f = trax.jit(lambda a: a * 2.0)
    inside = threading.Event()
    done = threading.Event()
    seen = {}

    def other():
        inside.wait(10)
        seen["out"] = f(np.ones(2))          # jitted: the other thread's setting
        seen["misses"] = f.cache_info()["misses"]
        done.set()
    t = threading.Thread(target=other)
    t.start()
    with trax.disable_jit():
        inside.set()
        done.wait(30)
        check(f(np.ones(2)), np.full(2, 2.0))
    t.join()
    check(seen["out"], np.full(2, 2.0))
    assert seen["misses"] == 1 and f.cache_info()["misses"] == 1
