"""The math library (trax/compiler/mathlib.py): outlined math functions are
compiled once per machine, kept in the disk cache and loaded into each
process before the code that calls them."""
import os

import numpy as np
import pytest
from child import run_python

from trax.compiler.runtime import elfload, engine, host
from trax.compiler.math import functions, mathlib

_CHILD = """
import sys, hashlib, numpy as np, trax
from trax import lax
from trax.compiler.runtime import cache
def f(x):
    for _ in range(5):
        x = lax.sin(x) * 0.9 + lax.cos(x) * 0.1 + lax.tanh(x)
    return x
x = np.linspace(-40, 40, 1001, dtype=np.{dtype})
got = np.asarray(trax.jit(f)(x))
np.testing.assert_allclose(got, f(x), rtol=2e-4, atol=2e-5)
print(hashlib.sha256(got.tobytes()).hexdigest()[:16], cache.stats["disk_hits"],
      cache.stats["misses"], cache.stats["disk_errors"], "llvmlite.binding" in sys.modules)
"""


def _pieces(d):
    return sorted(os.listdir(d / "mathlib")) if (d / "mathlib").exists() else []


def _child(d, dtype="float32", unset=("TRAX_DISABLE_DISK_CACHE",)):
    return run_python(_CHILD.format(dtype=dtype), d, unset).split()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_pieces_are_built_once_and_loaded_by_later_processes(tmp_path, dtype):
    d = tmp_path / "cache"
    bits, hits, misses, errors, llvm = _child(d, dtype)
    assert (hits, misses, errors, llvm) == ("0", "1", "0", "True")
    pieces = _pieces(d)
    assert len(pieces) == 2                               # sin and cos, tanh
    again = _child(d, dtype)
    assert again[0] == bits                               # the same bits
    if elfload.supported():
        assert again[1:] == ["1", "0", "0", "False"]      # no LLVM at all
    assert _pieces(d) == pieces


def test_a_damaged_piece_is_rebuilt(tmp_path):
    d = tmp_path / "cache"
    bits = _child(d)[0]
    path = d / "mathlib" / _pieces(d)[0]
    good = path.read_bytes()
    path.write_bytes(good[:-5] + b"xxxxx")
    bits2, hits, misses, errors, _ = _child(d)
    assert (bits2, hits, misses, errors) == (bits, "1", "0", "1")
    assert path.read_bytes() == good                      # rewritten


def test_pieces_load_through_llvm_where_our_loader_refuses(tmp_path):
    d = tmp_path / "cache"
    bits = _child(d)[0]                                   # builds and stores the pieces
    refuse = ("from trax.compiler.runtime import elfload\n"
              "def refuse(*args):\n"
              "    raise elfload.UnsupportedObject('refused by the test')\n"
              "elfload.load = refuse\n")
    out = run_python(refuse + _CHILD.format(dtype="float32"), d).split()
    assert out[0] == bits and out[1:4] == ["1", "0", "0"]  # a disk hit, by LLVM


def test_without_a_disk_cache_pieces_are_compiled_in_the_process(tmp_path):
    bits = _child(tmp_path / "cache")[0]
    out = run_python("import os; os.environ['TRAX_DISABLE_DISK_CACHE'] = '1'\n"
                     + _CHILD.format(dtype="float32"), tmp_path / "other", ())
    assert out.split()[0] == bits
    assert not (tmp_path / "other").exists()


def test_lanes_are_the_hosts_vectors():
    bits = engine.vector_bits()
    assert bits == host.vector_bits()
    assert mathlib.lanes()[4][0] == bits // 32 and mathlib.lanes()[8][0] == bits // 64


def test_build_all_builds_every_function(tmp_path):
    d = tmp_path / "cache"
    out = run_python("from trax.compiler.math import mathlib; print(mathlib.build_all())", d)
    assert int(out) == 2 * (len(functions.CANONICAL) - 1) == len(_pieces(d))   # sin+cos: one
    _child(d)
    assert len(_pieces(d)) == int(out)                    # nothing new to build
