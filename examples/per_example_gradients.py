"""Per-example gradient norms of a small model with
vmap(grad(loss), in_axes=(None, 0, 0)), checked against a Python loop."""
import numpy as np

import trax
import trax.numpy as jnp


def loss(params, x, y):
    pred = jnp.tanh(x @ params["w"] + params["b"])
    return jnp.sum((pred - y) ** 2)


def main():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    xs, ys = rng.normal(size=(8, 4)), rng.normal(size=(8, 3))

    per_example = trax.vmap(trax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    norms = np.sqrt(sum(np.sum(np.asarray(g) ** 2, axis=tuple(range(1, g.ndim)))
                        for g in trax.tree_util.tree_leaves(per_example)))

    loop = [trax.grad(loss)(params, x, y) for x, y in zip(xs, ys)]
    loop_norms = np.array([np.sqrt(sum(np.sum(np.asarray(g) ** 2)
                                       for g in trax.tree_util.tree_leaves(g_i)))
                           for g_i in loop])
    print("per-example gradient norms:", np.round(norms, 4))
    print("match a Python loop:", np.allclose(norms, loop_norms))
    return norms, loop_norms


if __name__ == "__main__":
    main()
