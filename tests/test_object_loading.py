"""Disk-cache hits without LLVM: trax/compiler/elfload.py places the cached
object code itself and trax/compiler/host.py remembers LLVM's name for the
host, so a hit never loads llvmlite's library. Objects the loader does not
handle go to LLVM's loader instead."""
import os

import numpy as np
import pytest
from child import run_python

import trax
import trax.numpy as tnp
from trax import lax
from trax.compiler.runtime import cache, elfload, engine, host
from trax.compiler.driver import compile_jaxpr

pytestmark = pytest.mark.skipif(not elfload.supported(), reason="x86-64 Linux only")


@pytest.fixture
def disk(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    return tmp_path / "cache"


def _outlined_math(x):       # >= 8 transcendentals: internal vector functions
    y = x
    for f in (lax.sin, lax.cos, lax.tanh, lax.exp, lax.log1p, lax.sin, lax.cos, lax.tanh):
        y = f(y) + 0.5
    return y


_FUNCTIONS = {
    "elementwise": (lambda x: tnp.sin(x) * 2.0 + tnp.exp(-x * x), [(1003,)], np.float32),
    "reduction": (lambda x: tnp.sum(tnp.tanh(x), axis=1), [(37, 129)], np.float64),
    "matmul": (lambda a, b: tnp.tanh(a @ b), [(70, 65), (65, 90)], np.float32),
    "outlined math": (_outlined_math, [(515,)], np.float32),
    "softmax": (lambda x: trax.nn.softmax(x, axis=-1), [(33, 300)], np.float32),
    "integers": (lambda x: (x * 7) // 3 - x % 5, [(101,)], np.int32),
    "constant": (lambda x: x + np.arange(4096.0), [(4096,)], np.float64),
}


def _compiled_twice(fn, args, monkeypatch):
    """Executables for fn compiled (then loaded by LLVM) and loaded from the
    disk cache in a state as fresh as a new process's."""
    from trax.compiler import driver as tc
    cj = trax.make_jaxpr(fn)(*args)

    def refuse(*a):
        raise elfload.UnsupportedObject("refused by the test")
    with monkeypatch.context() as m:
        m.setattr(elfload, "load", refuse)
        first = compile_jaxpr(cj)
    monkeypatch.setattr(tc, "_loaded", {})
    monkeypatch.setattr(tc, "_llvm_loaded", {})
    cache.clear_memory()

    def no_llvm(*a):
        raise AssertionError("a disk hit went to LLVM")
    monkeypatch.setattr(engine, "load_object", no_llvm)
    hits = cache.stats["disk_hits"]
    second = compile_jaxpr(cj)
    assert cache.stats["disk_hits"] == hits + 1
    assert second.compiled.address != first.compiled.address
    return first, second


@pytest.mark.parametrize("name", sorted(_FUNCTIONS))
def test_loaded_objects_compute_what_llvm_loaded_ones_do(name, disk, monkeypatch):
    fn, shapes, dtype = _FUNCTIONS[name]
    rng = np.random.default_rng(0)
    args = [(rng.normal(size=s) * 3).astype(dtype) for s in shapes]
    first, second = _compiled_twice(fn, args, monkeypatch)
    for a, b in zip(first(*args), second(*args)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_unsupported_objects_are_refused():
    with pytest.raises(elfload.UnsupportedObject, match="not a 64-bit"):
        elfload.load(b"\0" * 64, [], {})
    obj = engine.emit_object('define void @f() {\n  ret void\n}\n')
    assert set(elfload.load(obj, ["f"], {})[0]) == {"f"}
    with pytest.raises(elfload.UnsupportedObject, match="does not define"):
        elfload.load(obj, ["g"], {})
    arm = obj[:18] + (183).to_bytes(2, "little") + obj[20:]     # e_machine: aarch64
    with pytest.raises(elfload.UnsupportedObject, match="machine 183"):
        elfload.load(arm, ["f"], {})
    calls = engine.emit_object('declare void @trax_no_such_symbol()\n'
                               'define void @f() {\n  call void @trax_no_such_symbol()\n'
                               '  ret void\n}\n')
    with pytest.raises(elfload.UnsupportedObject, match="trax_no_such_symbol"):
        elfload.load(calls, ["f"], {})
    assert set(elfload.load(calls, ["f"], {"trax_no_such_symbol": 4096})[0]) == {"f"}


def test_host_signature_is_llvms():
    assert host.signature() == engine.cpu_signature()
    assert ("+avx2" in host.features()) == ("+avx2" in engine.host_info()["features"].split(","))


_CHILD = """
import sys, numpy as np, trax, trax.numpy as tnp
from trax.compiler.runtime import cache, elfload
if {refuse}:
    def refuse(*args):
        raise elfload.UnsupportedObject("refused by the test")
    elfload.load = refuse
a = np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
np.testing.assert_allclose(trax.jit(lambda x, y: tnp.tanh(x @ y) + 1.0)(a, a),
                           np.tanh(a @ a) + 1.0, rtol=1e-5, atol=1e-6)
print(cache.stats["disk_hits"], cache.stats["misses"], cache.stats["disk_errors"],
      "llvmlite.binding" in sys.modules)
"""


def _child(cache_dir, refuse=False):
    return run_python(_CHILD.format(refuse=refuse), cache_dir).split()


def test_a_new_process_hits_without_loading_llvm(tmp_path):
    d = tmp_path / "cache"
    assert _child(d) == ["0", "1", "0", "True"]        # compiled; host described
    assert _child(d) == ["1", "0", "0", "False"]       # no LLVM at all
    (kept,) = os.listdir(d / "host")
    path = d / "host" / kept
    good = path.read_bytes()
    path.write_bytes(good[:-3] + b"xyz")               # a damaged description
    assert _child(d) == ["1", "0", "1", "True"]        # LLVM asked again ...
    assert path.read_bytes() == good                   # ... and the entry rewritten
    assert _child(d) == ["1", "0", "0", "False"]


def test_refused_objects_are_loaded_by_llvm(tmp_path):
    d = tmp_path / "cache"
    assert _child(d) == ["0", "1", "0", "True"]
    assert _child(d, refuse=True) == ["1", "0", "0", "True"]     # a hit all the same


_DISPATCH = """
import sys, numpy as np, trax
x = np.linspace(-1, 1, 10, dtype=np.float32)
f = trax.jit(lambda a, s: a * s + 1.0)
outs = [f(x, 3.0) for _ in range(3)]           # the second call builds the dispatcher
for out in outs:
    np.testing.assert_allclose(out, x * np.float32(3.0) + 1.0, rtol=1e-6, atol=1e-6)
before = f._dispatcher.calls
np.testing.assert_allclose(f(x, 0.5), x * np.float32(0.5) + 1.0, rtol=1e-6, atol=1e-6)
print(f._dispatcher.calls - before, "llvmlite.binding" in sys.modules)
"""


def _dispatch_child(cache_dir):
    return run_python(_DISPATCH, cache_dir).split()


def test_a_new_process_reuses_dispatchers_without_llvm(tmp_path):
    d = tmp_path / "cache"
    assert _dispatch_child(d) == ["1", "True"]          # compiled
    (kept,) = os.listdir(d / "dispatch")
    assert _dispatch_child(d) == ["1", "False"]         # served from the disk cache
    path = d / "dispatch" / kept
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])            # truncated: rebuilt, rewritten
    assert _dispatch_child(d) == ["1", "True"]
    assert path.read_bytes() == good
