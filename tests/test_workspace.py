"""Temporaries of compiled code live in a reused workspace (trax/compiler/workspace.py)."""
import threading

import numpy as np

import trax
import trax.numpy as tnp
from trax.compiler.plan.workspace import ALIGN, Workspace


def test_offsets_are_aligned_and_ranges_never_overlap_while_live():
    rng = np.random.default_rng(0)
    ws, live = Workspace(), {}
    for step in range(400):
        if live and rng.random() < 0.45:
            off = list(live)[rng.integers(len(live))]
            ws.give(off, live.pop(off))
            continue
        n = int(rng.integers(1, 5000))
        off = ws.take(n)
        assert off % ALIGN == 0 and off + n <= ws.size
        for o, m in live.items():
            assert off + n <= o or o + m <= off, (off, n, o, m)
        live[off] = n


def test_freed_space_is_reused_and_size_is_the_peak():
    ws = Workspace()
    a = ws.take(1000)
    b = ws.take(64)
    ws.give(a, 1000)
    assert ws.take(500) == a             # first fit in the freed range
    ws.give(b, 64)
    assert ws.size == 1024 + 64
    c = ws.take(2000)                    # grows the trailing gap
    assert c == 512 and ws.size == 2560


_W = np.random.default_rng(9).normal(size=(700, 150)).astype(np.float32) / 30


def _norm_grad():
    """A gradient whose products are temporaries (too big for the stack)."""
    def loss(x):
        h = tnp.tanh(x @ _W)
        return tnp.sum(h * h) + tnp.sum(tnp.max(x @ _W, axis=1))
    return trax.grad(loss)


def test_compiled_temporaries_use_the_workspace_not_malloc():
    x = np.random.default_rng(1).normal(size=(300, 700)).astype(np.float32)
    lowered = trax.jit(_norm_grad()).lower(x)
    assert "aligned_alloc" not in lowered.as_text("llvm")
    assert lowered._executable().compiled.workspace_bytes > 0


def test_repeated_and_concurrent_calls_agree_with_eager():
    rng = np.random.default_rng(2)
    xs = [rng.normal(size=(300, 700)).astype(np.float32) for _ in range(4)]
    g = _norm_grad()
    want = [np.asarray(g(x)) for x in xs]
    jg = trax.jit(g)
    for _ in range(3):                   # the native dispatcher's path, after the first call
        for x, w in zip(xs, want):
            np.testing.assert_allclose(np.asarray(jg(x)), w, rtol=2e-4, atol=1e-5)
    errors = []

    def work(k):
        try:
            for _ in range(20):
                np.testing.assert_allclose(np.asarray(jg(xs[k])), want[k], rtol=2e-4, atol=1e-5)
        except AssertionError as e:      # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_concurrent_calls_of_the_python_path_take_separate_workspaces():
    workers = 3
    x = np.random.default_rng(3).normal(size=(200, 700)).astype(np.float32)
    exe = trax.jit(_norm_grad()).lower(x)._executable()
    want = np.asarray(exe(x)[0])
    barrier = threading.Barrier(workers)
    seen = []

    def work():
        barrier.wait()
        for _ in range(10):
            seen.append(np.array_equal(np.asarray(exe(x)[0]), want))
    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(seen) and len(seen) == 10 * workers
    assert 1 <= len(exe.compiled._pool) <= workers
