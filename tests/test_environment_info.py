"""trax.print_environment_info(): versions, CPU, BLAS, disk cache, threads."""
import os

import llvmlite
import numpy as np
import pytest
from child import run_python_output

import trax
from trax.compiler.runtime import cache


def _rows(text):
    return dict(line.split(": ", 1) for line in text.splitlines())


@pytest.fixture
def use(monkeypatch):
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    return lambda path: monkeypatch.setenv("TRAX_CACHE_DIR", str(path))


def test_names_versions_and_a_trusted_cache(use, tmp_path, capsys):
    use(tmp_path / "cache")
    assert cache.write_entry(cache.entry_path("host", "x"), b"12345")
    trax.print_environment_info()
    rows = {k.strip(): v.strip() for k, v in _rows(capsys.readouterr().out).items()}
    assert (rows["trax"], rows["numpy"], rows["llvmlite"]) == (
        trax.__version__, np.__version__, llvmlite.__version__)
    for key in ("LLVM", "python", "CPU", "CPU features", "BLAS", "threads"):
        assert rows[key]
    assert rows["disk cache"] == str(tmp_path / "cache")
    files = sum(len(names) for _, _, names in os.walk(tmp_path / "cache"))
    assert files >= 1       # ours (and the host description, unless this process had it)
    assert rows["disk cache size"].endswith(f" MiB in {files} files")
    assert rows["disk cache trust"] == "trusted, in use"


def test_says_why_a_cache_is_not_used(use, tmp_path):
    (tmp_path / "cache").mkdir()
    os.chmod(tmp_path / "cache", 0o777)
    use(tmp_path / "cache")
    with pytest.warns(cache.UntrustedCacheWarning):
        text = trax.print_environment_info(return_string=True)
    assert (f"disk cache trust:   NOT used: {tmp_path / 'cache'} is writable by group or "
            "others (mode 777)") in text


_PRINT = "import trax; trax.print_environment_info()"
_UNSET = ("TRAX_DISABLE_DISK_CACHE", "TRAX_DISABLE_BLAS", "TRAX_BLAS_CORETYPE",
          "OPENBLAS_CORETYPE")


@pytest.mark.parametrize("env, kernels, copy", [
    ({"OPENBLAS_CORETYPE": "Haswell"}, "Haswell", False),
    ({"OPENBLAS_CORETYPE": "Haswell", "TRAX_BLAS_CORETYPE": "Sandybridge"}, "Sandybridge", True)])
def test_names_the_blas_kernels_in_use(tmp_path, env, kernels, copy):
    out, _ = run_python_output(_PRINT, tmp_path / "cache", _UNSET, **env)
    rows = {k.strip(): v.strip() for k, v in _rows(out).items()}
    if rows.get("BLAS kernels") in (None, "unknown"):
        pytest.skip("numpy's BLAS does not name its kernels")
    assert rows["BLAS kernels"] == kernels
    assert rows["BLAS"].endswith("(trax's private copy)") is copy
    assert rows["OPENBLAS_CORETYPE"] == "Haswell"
