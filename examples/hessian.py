"""The Hessian of a small function, by forward-over-reverse differentiation,
checked against reverse-over-reverse."""
import numpy as np

import trax
import trax.numpy as jnp


def f(x):
    return jnp.sum(jnp.tanh(x) ** 3 - x * jnp.sin(x)) + x[0] * x[1] ** 2


if __name__ == "__main__":
    x = np.array([0.3, -1.2, 0.8])
    h = trax.hessian(f)(x)
    print("Hessian:\n", np.asarray(h))
    h_rr = trax.jacrev(trax.jacrev(f))(x)
    print("symmetric:", np.allclose(h, np.asarray(h).T),
          " agrees with jacrev(jacrev):", np.allclose(h, h_rr))
