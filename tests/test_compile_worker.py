"""Past a number of modules optimized in-process, object code comes from a
worker process replaced every few modules (LLVM's optimizer keeps memory of
every module it optimizes): same results, and a worker that dies is no
failure."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax.compiler.runtime import cache, compile_worker, engine


@pytest.fixture
def worker(monkeypatch):
    monkeypatch.setattr(compile_worker, "IN_PROCESS_LIMIT", 0)
    monkeypatch.setattr(compile_worker, "WORKER_TASKS", 2)
    monkeypatch.setenv("TRAX_DISABLE_DISK_CACHE", "1")
    monkeypatch.setattr(compile_worker, "stats", dict.fromkeys(compile_worker.stats, 0))
    cache.clear_memory()
    yield compile_worker.stats
    compile_worker._stop()


def _check_fresh(k):
    f = trax.jit(lambda x: jnp.tanh(x) * (k + 0.5) + jnp.sum(x))
    x = np.linspace(-1, 1, 50, dtype=np.float32)
    np.testing.assert_allclose(f(x), np.tanh(x) * (k + 0.5) + x.sum(), rtol=1e-5, atol=1e-5)


def test_worker_compiles_the_same_code_and_is_replaced(worker):
    text = "define i64 @\"twice\"(i64 %x) {\n  %y = shl i64 %x, 1\n  ret i64 %y\n}\n"
    assert engine.emit_object(text) == engine.emit_object_here(text)
    for k in range(4):
        _check_fresh(k)
    assert worker["in_worker"] == 5 and worker["in_process"] == 0
    assert worker["workers_started"] == 3                  # 2 modules each


def test_a_dead_worker_falls_back_to_this_process(worker):
    _check_fresh(10)
    compile_worker._worker.kill()
    compile_worker._worker.wait()
    _check_fresh(11)                                        # a new worker
    compile_worker._worker.stdin.close()                    # breaks the pipe mid-use
    _check_fresh(12)
    assert worker["worker_failures"] == 1 and worker["in_process"] == 1


def test_modules_llvm_refuses_fail_here_with_llvms_error(worker):
    with pytest.raises(RuntimeError):
        engine.emit_object("define i64 @\"bad\"(i64 %x) {\n  ret i32 %x\n}\n")
