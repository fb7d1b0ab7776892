"""A tanh Elman RNN, h_t = tanh(x_t @ W + h_{t-1} @ U + b), run with
``trax.lax.scan`` and trained with ``trax.value_and_grad`` on data the
script generates: read a noisy sequence and predict its mean.

The training step is compiled with ``trax.jit`` (the scan, its gradient and
the update become one native function); ``main(jit=False)`` runs it eagerly
for comparison, with the same numbers.
"""
import numpy as np

import trax
import trax.numpy as jnp
from trax import lax


def init(rng, n_in, n_hidden):
    s = 1 / np.sqrt(n_hidden)
    return {"W": rng.normal(0, s, (n_in, n_hidden)), "U": rng.normal(0, s, (n_hidden, n_hidden)),
            "b": np.zeros(n_hidden), "v": rng.normal(0, s, (n_hidden,))}


def predict(params, xs):
    """xs: (steps, batch, n_in) -> one prediction per sequence, (batch,)."""
    def cell(h, x):
        return jnp.tanh(x @ params["W"] + h @ params["U"] + params["b"]), None
    h0 = jnp.zeros((xs.shape[1], params["U"].shape[0]))
    h, _ = lax.scan(cell, h0, xs)
    return h @ params["v"]


def loss(params, xs, ys):
    return jnp.mean((predict(params, xs) - ys) ** 2)


def sgd_step(params, xs, ys, lr=0.05):
    value, grads = trax.value_and_grad(loss)(params, xs, ys)
    return trax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), value


def data(rng, steps=20, batch=32):
    xs = rng.normal(0.0, 0.5, (steps, batch, 1)) + rng.uniform(-0.5, 0.5, (1, batch, 1))
    return xs, xs[:, :, 0].mean(0)


def main(steps=200, jit=True, log=True):
    rng = np.random.default_rng(0)
    params = init(rng, 1, 16)
    step = trax.jit(sgd_step) if jit else sgd_step
    xs, ys = data(rng)
    for i in range(steps + 1):
        params, value = step(params, xs, ys)
        if log and i % 50 == 0:
            print(f"step {i:4d}  loss {float(value):.5f}")
    test_xs, test_ys = data(rng)
    return float(value), float(loss(params, test_xs, test_ys)), float(np.var(test_ys))


if __name__ == "__main__":
    train, test, var = main()
    print(f"held-out loss {test:.5f} (variance of the targets {var:.5f})")
