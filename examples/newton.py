"""Square roots by Newton's method with ``lax.while_loop``, and their
derivative by forward mode through the loop.

``x <- (x + a / x) / 2`` converges to ``sqrt(a)``; the loop stops when every
element is within a relative tolerance, so the trip count depends on the
values. ``jvp`` carries the tangent through the iterations and gives
``d sqrt(a) / da = 1 / (2 sqrt(a))``. (Reverse mode (``grad``) of a
``while_loop`` is not defined, as in JAX: its trip count is not known
ahead.) The solver runs compiled (``trax.jit``: the loop is a native loop);
``python examples/newton.py --eager`` runs it op by op.
"""
import sys

import numpy as np

import trax
import trax.numpy as jnp
from trax import lax


def newton_sqrt(a, rtol=1e-6):
    """Elementwise square root of the positive array ``a``."""
    def not_done(state):
        x, _ = state
        return jnp.any(jnp.abs(x * x - a) > rtol * a)

    def step(state):
        x, n = state
        return 0.5 * (x + a / x), n + 1

    x, steps = lax.while_loop(not_done, step, (jnp.maximum(a, 1.0), 0))
    return x, steps


def sqrt_and_derivative(a):
    """``(sqrt(a), d sqrt(a)/da)`` elementwise, by forward mode."""
    root, droot = trax.jvp(lambda a: newton_sqrt(a)[0], (a,), (jnp.ones_like(a),))
    return root, droot


def main(use_jit=True):
    a = np.linspace(0.5, 1000.0, 1000, dtype=np.float32)
    root, steps = (trax.jit(newton_sqrt) if use_jit else newton_sqrt)(a)
    _, droot = sqrt_and_derivative(a)
    print(f"newton: {int(steps)} steps for {a.size} square roots, max relative error "
          f"{np.max(np.abs(root - np.sqrt(a)) / np.sqrt(a)):.1e}")
    print(f"jvp: max relative error of d sqrt(a)/da "
          f"{np.max(np.abs(droot * 2 * np.sqrt(a) - 1)):.1e}")
    return a, root, droot


if __name__ == "__main__":
    main(use_jit="--eager" not in sys.argv)
