"""What a new process reuses from the disk cache directory.

* A disk-cache hit loads object code without importing the fusion planner
  or the kernel rules.
"""
import os
import subprocess
import sys

_HIT = """
import sys, numpy as np, trax
from trax.compiler import cache
x = np.arange(6.0).reshape(2, 3)
np.testing.assert_allclose(trax.jit(lambda a: (a * 2.0).sum(0))(x), (x * 2.0).sum(0))
gen = ("fusion", "reductions", "linalg", "structural")
print(cache.stats["disk_hits"], cache.stats["misses"],
      [m for m in gen if "trax.compiler." + m in sys.modules] == list(gen),
      any("trax.compiler." + m in sys.modules for m in gen))
"""


def test_disk_hit_does_not_import_the_code_generator(tmp_path):
    env = dict(os.environ, TRAX_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("TRAX_DISABLE_DISK_CACHE", None)
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _HIT], env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        runs.append(out.stdout.split())
    assert runs == [["0", "1", "True", "True"], ["1", "0", "False", "False"]]
