"""Which OpenBLAS kernels compiled products use (trax/compiler/runtime/blas.py).

``OPENBLAS_CORETYPE`` set: numpy's instance as it is (the kernel set someone
pinned, no private copy). Unset: on an AVX-512 host whose numpy OpenBLAS chose
other kernels, a private SkylakeX copy kept in the cache directory.
``TRAX_BLAS_CORETYPE`` asks for a kernel set explicitly.
"""
import os
import platform

import pytest
from child import run_python_output

pytestmark = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                                reason="the kernel sets named here are x86-64 ones")

_CHILD = """
import ctypes, numpy as np, trax
from trax.compiler.runtime import blas, host
a = np.arange(128 * 128, dtype=np.float32).reshape(128, 128) / 16384
np.testing.assert_allclose(trax.jit(lambda x, y: x @ y)(a, a), a @ a, rtol=1e-5)
(path, lib), = blas._libs.items()
used, numpys = (blas._symbol(x, "gotoblas_corename", ctypes.c_char_p)
                for x in (lib, ctypes.CDLL(path)))
avx512 = all(f in host.features() for f in blas._AVX512)
print(lib._name != path, used().decode().lower() if used else "-",
      numpys().decode().lower() if numpys else "-", avx512)
"""
_UNSET = ("TRAX_DISABLE_DISK_CACHE", "TRAX_DISABLE_BLAS", "TRAX_BLAS_CORETYPE",
          "OPENBLAS_CORETYPE")


def _child(d, **env):
    """``(whether a private copy is used, its kernel set, numpy's kernel set,
    whether the host has AVX-512)``."""
    out, _ = run_python_output(_CHILD, d, _UNSET, **env)
    copy, used, numpys, avx512 = out.split()
    if used == "-":
        pytest.skip("numpy's BLAS does not name its kernels (not a DYNAMIC_ARCH OpenBLAS)")
    return copy == "True", used, numpys, avx512 == "True"


def _kept(d):
    """How many files the cache directory ``d`` keeps for the BLAS."""
    return len(os.listdir(d / "blas")) if os.path.isdir(d / "blas") else 0


def test_pinned_kernels_are_used_as_they_are(tmp_path):
    assert _child(tmp_path / "cache", OPENBLAS_CORETYPE="Haswell")[:3] == (
        False, "haswell", "haswell")
    assert _kept(tmp_path / "cache") == 0      # no 25 MB copy either


def test_unpinned_kernels_are_avx512_ones_on_avx512_hosts(tmp_path):
    """Today's behaviour: a copy only where numpy's instance chose others."""
    copy, used, numpys, avx512 = _child(tmp_path / "cache")
    if not avx512:
        pytest.skip("the host has no AVX-512")
    assert used == "skylakex" and copy == (numpys != "skylakex")
    assert _kept(tmp_path / "cache") == (2 if copy else 0)


def test_trax_blas_coretype_asks_for_a_kernel_set_even_when_pinned(tmp_path):
    copy, used, numpys, _ = _child(tmp_path / "cache", OPENBLAS_CORETYPE="Haswell",
                                   TRAX_BLAS_CORETYPE="Sandybridge")
    assert (copy, used, numpys) == (True, "sandybridge", "haswell")
    assert _kept(tmp_path / "cache") == 2      # the copy and its checksum
