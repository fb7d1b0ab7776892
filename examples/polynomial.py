"""Derivatives of a polynomial at a point: d/dx (x**2 + 2x + 1) at 3 is 8."""
import trax


def p(x):
    return x ** 2 + 2 * x + 1


if __name__ == "__main__":
    dp = trax.grad(p)
    print("p(3)    =", p(3.0))
    print("p'(3)   =", dp(3.0))
    print("p''(3)  =", trax.grad(dp)(3.0))
    print("p'''(3) =", trax.grad(trax.grad(dp))(3.0))
    print("\nthe program grad builds:")
    print(trax.make_jaxpr(dp)(3.0))
