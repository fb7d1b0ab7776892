"""The benchmark runner's measurement helpers and a smoke run of its table."""
import argparse

from benchmarks import runner


def _recorder(log, name):
    def call():
        log.append(name)
    return call


def test_compare_interleaves_contenders_and_skips_absent_ones():
    log = []
    out = runner.compare({"a": _recorder(log, "a"), "b": _recorder(log, "b"), "c": None},
                         rounds=3, budget=0.003, min_repeats=3)
    assert set(out) == {"a", "b", "c"} and out["c"] is None
    assert out["a"] >= 0 and out["b"] >= 0
    assert log[:2] == ["a", "b"]                     # one warm-up call each
    turns = [name for k, name in enumerate(log[2:]) if k == 0 or log[2:][k - 1] != name]
    assert turns == ["a", "b"] * 3                   # three rounds, in turn
    assert log.count("a") >= 1 + 3 and log.count("b") >= 1 + 3


def test_compare_per_call_alternates_batches():
    log = []
    out = runner.compare_per_call({"a": _recorder(log, "a"), "b": _recorder(log, "b"),
                                   "none": None}, calls=4, batches=2)
    assert out["none"] is None and out["a"] >= 0
    assert log == ["a", "b"] + ["a"] * 4 + ["b"] * 4 + ["a"] * 4 + ["b"] * 4


def test_quick_run_prints_the_table(capsys):
    args = argparse.Namespace(quick=True, single_thread=False, only="1,3", no_jax=True)
    assert runner.run(args) == 0
    out = capsys.readouterr().out
    assert "JAX not installed" in out and "contenders interleaved" in out
    for row in ("fwd n=1e+04", "grad n=1e+05", "scalar", "10-vector"):
        assert row in out
