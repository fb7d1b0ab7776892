"""Native code is loaded only from a disk cache nobody else can write.

An entry with a valid checksum but someone else's code (planted: the object
code of another function, renamed to the victim's symbols) runs when the
cache is trusted; with a world-writable cache root, a folder owned by another
user or a symlinked entry, it is not loaded, the result is right and a
warning names the path and the reason. Folders are made with mode 0700;
ancestors above the root only must not be world-writable without the sticky
bit.
"""
import glob
import os
import stat
import warnings

import pytest
from child import run_python_output

from trax.compiler.runtime import cache

_CHILD = """
import sys, numpy as np, trax
x = np.arange(8, dtype=np.float32)
f = {{"f": lambda a: a * 2.0 + 1.0, "g": lambda a: a * 3.0 - 1.0}}["{which}"]
print(trax.jit(f)(x).tolist(), trax.compiler.cache_stats()["disk_hits"])
"""
_F = [2.0 * i + 1.0 for i in range(8)]
_G = [3.0 * i - 1.0 for i in range(8)]


def _run(d, which="f"):
    out, err = run_python_output(_CHILD.format(which=which), d)
    values, hits = out.rsplit(" ", 1)
    return eval(values), int(hits), err


def _objects(d):
    return set(glob.glob(str(d / "??" / "*.o")))


@pytest.fixture
def planted(tmp_path):
    """A cache directory whose entry for f holds g's code (checksum valid):
    ``(cache dir, f's entry path)``."""
    d = tmp_path / "cache"
    assert _run(d, "f")[0] == _F
    (f_path,) = _objects(d)
    assert _run(d, "g")[0] == _G
    (g_path,) = _objects(d) - {f_path}
    f_key, g_key = (os.path.basename(p)[:-2] for p in (f_path, g_path))
    body = cache.read_entry(g_path).replace(f"trax_{g_key[:32]}".encode(),
                                            f"trax_{f_key[:32]}".encode())
    os.unlink(f_path)
    assert cache.write_entry(f_path, body)
    return d, f_path


def _assert_refused(d, path, reason):
    values, hits, err = _run(d)
    assert values == _F and hits == 0
    assert "UntrustedCacheWarning" in err and f"{path} {reason}" in err, err


def test_planted_entry_runs_from_a_trusted_cache(planted):
    """The premise: the checksum does not tell whose code an entry is."""
    d, _ = planted
    values, hits, err = _run(d)
    assert (values, hits) == (_G, 1) and "Warning" not in err


def test_world_writable_root_is_not_used(planted):
    d, _ = planted
    os.chmod(d, 0o777)
    _assert_refused(d, d, "is writable by group or others (mode 777)")


def test_folder_owned_by_another_user_is_not_used(planted):
    d, f_path = planted
    folder = os.path.dirname(f_path)
    try:
        os.chown(folder, 65534, -1)
    except PermissionError:
        pytest.skip("only root can give a folder to another user")
    _assert_refused(d, folder, "is owned by uid 65534")


def test_symlinked_entry_is_not_used(planted):
    d, f_path = planted
    elsewhere = d / "elsewhere.o"
    os.replace(f_path, elsewhere)
    os.symlink(elsewhere, f_path)
    _assert_refused(d, f_path, "is a symbolic link")


def test_entry_writable_by_others_is_not_used(planted):
    d, f_path = planted
    os.chmod(f_path, 0o666)
    _assert_refused(d, f_path, "is writable by group or others (mode 666)")


@pytest.fixture
def use(monkeypatch):
    """Point TRAX_CACHE_DIR at a path."""
    monkeypatch.delenv("TRAX_DISABLE_DISK_CACHE", raising=False)
    return lambda path: monkeypatch.setenv("TRAX_CACHE_DIR", str(path))


def test_root_and_folders_are_made_with_mode_0700(use, tmp_path):
    old = os.umask(0)
    try:
        use(tmp_path / "a" / "cache")
        path = cache.entry_path("host", "x")
        assert cache.write_entry(path, b"payload")
    finally:
        os.umask(old)
    for folder in (tmp_path / "a" / "cache", tmp_path / "a" / "cache" / "host"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert cache.read_entry(path) == b"payload"


def test_world_writable_ancestor_without_sticky_bit_is_refused_once(use, tmp_path):
    (tmp_path / "open").mkdir()
    os.chmod(tmp_path / "open", 0o777)
    use(tmp_path / "open" / "cache")
    with pytest.warns(cache.UntrustedCacheWarning,
                      match="open is writable by everyone without the sticky bit"):
        assert cache.cache_dir() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.entry_path("host", "x") is None      # no second warning
    assert cache.distrust()[1] == "is writable by everyone without the sticky bit"


def test_sticky_world_writable_ancestor_is_fine(use, tmp_path):
    """Like /tmp: others may write there but not replace our folder."""
    (tmp_path / "shared").mkdir()
    os.chmod(tmp_path / "shared", 0o1777)
    use(tmp_path / "shared" / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.cache_dir() == str(tmp_path / "shared" / "cache")
    assert cache.distrust() is None


def test_symlinked_root_is_checked_and_used_by_its_real_path(use, tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    os.symlink(tmp_path / "real", tmp_path / "link")
    use(tmp_path / "link")
    assert cache.cache_dir() == str(tmp_path / "real")
    os.chmod(tmp_path / "real", 0o777)
    use(str(tmp_path / "link") + "/")           # another setting: checked anew
    with pytest.warns(cache.UntrustedCacheWarning, match="real is writable by group"):
        assert cache.cache_dir() is None


def test_non_directory_root_is_refused(use, tmp_path):
    (tmp_path / "file").write_text("")
    use(tmp_path / "file")
    with pytest.warns(cache.UntrustedCacheWarning, match="file is not a directory"):
        assert cache.cache_dir() is None
