"""trax: trace Python functions into a jaxpr IR, transform them (grad, vmap,
...) and compile them to native code with LLVM."""
from trax import lax  # noqa: F401  (registers the primitives)
from trax import numpy  # noqa: F401  (installs the array operators on tracers)
from trax import tree_util  # noqa: F401
from trax.api import (grad, hessian, jacfwd, jacrev, jvp, linearize,  # noqa: F401
                      make_jaxpr, value_and_grad, vjp, vmap)
from trax.checkpoint import checkpoint, checkpoint_policies, remat  # noqa: F401
from trax.core import Array  # noqa: F401
from trax.custom_derivatives import custom_jvp, custom_vjp  # noqa: F401
from trax.environment import print_environment_info  # noqa: F401
from trax.jit import disable_jit, jit  # noqa: F401
from trax.lax import stop_gradient  # noqa: F401


def __getattr__(name):
    # submodules that are heavier or optional load on first use
    import importlib
    if name in ("nn", "test_util", "compiler"):
        return importlib.import_module(f"trax.{name}")
    raise AttributeError(f"module 'trax' has no attribute {name!r}")


__version__ = "0.1.0"
