"""The examples run and print what they promise."""
import os
import runpy
import numpy as np

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def run_example(name):
    return runpy.run_path(os.path.join(EXAMPLES, name), run_name="not_main")


def test_polynomial_derivative_is_8(capsys):
    runpy.run_path(os.path.join(EXAMPLES, "polynomial.py"), run_name="__main__")
    assert "p'(3)   = 8.0" in capsys.readouterr().out


def test_taylor_series_converges_near_the_point():
    ns = run_example("taylor.py")
    f = lambda x: np.sin(x) * np.exp(-x / 4)
    jnp = ns["jnp"]
    coeffs = ns["taylor_coefficients"](lambda x: jnp.sin(x) * jnp.exp(-x / 4), 0.5, 8)
    assert abs(ns["evaluate"](coeffs, 0.5, 1.0) - f(1.0)) < 1e-6


def test_hessian_example_is_symmetric():
    ns = run_example("hessian.py")
    h = np.asarray(ns["trax"].hessian(ns["f"])(np.array([0.3, -1.2, 0.8])))
    np.testing.assert_allclose(h, h.T)


def test_mlp_example_trains():
    ns = run_example("mlp.py")
    assert ns["main"](steps=300) < 0.05


def test_per_example_gradients_example_matches_its_loop():
    norms, loop_norms = run_example("per_example_gradients.py")["main"]()
    np.testing.assert_allclose(norms, loop_norms)
