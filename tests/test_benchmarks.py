"""The benchmark runner's measurement helpers and a smoke run of its table."""
import argparse
import re

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


def test_quick_run_of_the_control_flow_workloads(capsys):
    args = argparse.Namespace(quick=True, single_thread=False, only="8,9,10", no_jax=True)
    assert runner.run(args) == 0
    out = capsys.readouterr().out
    assert "numba" in out
    for row in ("8 rnn scan", "value_and_grad first call (cold)", "9 fori logistic",
                "10 while newton"):
        assert row in out
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()
            if line.startswith(("8 ", "9 ", "10 "))]
    assert len(rows) == 5 and all(r[2].endswith((" ms", " us")) for r in rows)   # trax jit measured


def test_control_flow_workloads_agree_with_their_numpy_versions():
    import numpy as np
    import trax
    import trax.numpy as tnp
    from benchmarks import workloads as W
    params, xs = runner._rnn_setup(quick=True)
    value, grads = trax.jit(trax.value_and_grad(W.rnn_loss_fn(tnp, trax.lax)))(params, xs)
    value_np, grads_np = W.rnn_value_and_grad_numpy(params, xs)
    np.testing.assert_allclose(value, value_np, rtol=1e-5)
    np.testing.assert_allclose(W.rnn_loss_numpy(params, xs), value_np, rtol=1e-6)
    for k in params:
        np.testing.assert_allclose(grads[k], grads_np[k], rtol=1e-4, atol=1e-6)
    x = np.random.default_rng(1).uniform(0.1, 0.9, 64).astype(np.float32)
    np.testing.assert_allclose(trax.jit(W.logistic_fn(trax.lax, 50))(x),
                               W.logistic_numpy(x, 50), rtol=1e-4)
    numba_loop = W.logistic_numba()
    if numba_loop is not None:
        np.testing.assert_allclose(numba_loop(x, 50), W.logistic_numpy(x, 50), rtol=1e-4)
    a = np.random.default_rng(2).uniform(0.01, 100, 100).astype(np.float32)
    y = trax.jit(W.newton_sqrt_fn(tnp, trax.lax))(a)
    np.testing.assert_allclose(y, W.newton_sqrt_numpy(a), rtol=1e-6)
    assert np.all(np.abs(y * y - a) <= W.NEWTON_TOL * a)
