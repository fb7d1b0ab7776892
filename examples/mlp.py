"""A tiny MLP trained by gradient descent on data the script generates:
fit y = sin(3x) on [-1, 1] with one hidden layer."""
import numpy as np

import trax
import trax.numpy as jnp


def init(rng, sizes):
    return [{"w": rng.normal(0, 1 / np.sqrt(m), (m, n)), "b": np.zeros(n)}
            for m, n in zip(sizes[:-1], sizes[1:])]


def predict(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss(params, x, y):
    return jnp.mean((predict(params, x) - y) ** 2)


@trax.jit
def step(params, x, y, lr=0.1):
    value, grads = trax.value_and_grad(loss)(params, x, y)
    params = trax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, value


def main(steps=500):
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, 128).reshape(-1, 1)
    y = np.sin(3 * x)
    params = init(rng, [1, 32, 1])
    for i in range(steps + 1):
        params, value = step(params, x, y)
        if i % 100 == 0:
            print(f"step {i:4d}  loss {float(value):.5f}")
    return float(value)


if __name__ == "__main__":
    main()
