"""trax: trace Python functions into a jaxpr IR, transform them (grad, vmap,
...) and compile them to native code with LLVM."""
from trax import lax  # noqa: F401  (registers the primitives)
from trax import tree_util  # noqa: F401
from trax.api import (grad, hessian, jacfwd, jacrev, jvp, linearize,  # noqa: F401
                      make_jaxpr, value_and_grad, vjp, vmap)
from trax.core import Array  # noqa: F401

__version__ = "0.1.0"
