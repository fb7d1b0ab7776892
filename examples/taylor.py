"""Higher-order derivatives by nesting grad, and the Taylor series they give."""
import math

import trax
import trax.numpy as jnp


def taylor_coefficients(f, x0, order):
    """[f(x0), f'(x0), f''(x0)/2!, ...] by repeated differentiation."""
    coeffs, d = [], f
    for k in range(order + 1):
        coeffs.append(float(d(x0)) / math.factorial(k))
        d = trax.grad(d)
    return coeffs


def evaluate(coeffs, x0, x):
    return sum(c * (x - x0) ** k for k, c in enumerate(coeffs))


if __name__ == "__main__":
    f = lambda x: jnp.sin(x) * jnp.exp(-x / 4)
    x0 = 0.5
    coeffs = taylor_coefficients(f, x0, 8)
    print("Taylor coefficients at", x0, ":", [round(c, 6) for c in coeffs])
    for x in (0.5, 1.0, 1.5):
        print(f"x={x}: f(x)={float(f(x)):.8f}  series={evaluate(coeffs, x0, x):.8f}")
