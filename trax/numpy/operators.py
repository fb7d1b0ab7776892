"""Python operators and ndarray methods on tracers, so that traced values
behave like arrays (``x + 1``, ``x @ w``, ``x[i]``, ``x.sum(0)``, ``x.T``).

Installed on ``core.Tracer`` when trax.numpy is imported. Eager values are
trax Arrays (ndarray subclasses), which already have all of these but JAX's
``x.at[idx]`` updates, installed on ``core.Array`` here too, as is an
``astype`` whose float to int casts saturate as under jit.
"""
import numpy as np

from trax import core
from trax.numpy import (indexing, manipulation, products, reductions, sorting,
                        ufuncs)


def _swap(fn):
    def reflected(x, y):
        return fn(y, x)
    return reflected


def _reshape_method(self, *shape_args, order="C"):
    new = shape_args[0] if len(shape_args) == 1 else shape_args
    return manipulation.reshape(self, new, order)


def _transpose_method(self, *axes):
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
        axes = axes[0]
    return manipulation.transpose(self, axes or None)


def _pow(x, y):
    return ufuncs.power(x, y)


_BINARY = {
    "add": ufuncs.add, "sub": ufuncs.subtract, "mul": ufuncs.multiply,
    "truediv": ufuncs.true_divide, "floordiv": ufuncs.floor_divide,
    "mod": ufuncs.remainder, "pow": _pow, "matmul": products.matmul,
    "and": ufuncs.bitwise_and, "or": ufuncs.bitwise_or, "xor": ufuncs.bitwise_xor,
    "divmod": ufuncs.divmod, "lshift": ufuncs.left_shift, "rshift": ufuncs.right_shift,
}

_COMPARISONS = {
    "eq": ufuncs.equal, "ne": ufuncs.not_equal, "lt": ufuncs.less,
    "le": ufuncs.less_equal, "gt": ufuncs.greater, "ge": ufuncs.greater_equal,
}

_UNARY = {
    "neg": ufuncs.negative, "pos": ufuncs.positive, "abs": ufuncs.absolute,
    "invert": ufuncs.invert,
}

_METHODS = {
    "reshape": _reshape_method, "transpose": _transpose_method,
    "sum": reductions.sum, "mean": reductions.mean, "max": reductions.max,
    "min": reductions.min, "prod": reductions.prod, "any": reductions.any,
    "all": reductions.all, "argmax": reductions.argmax, "argmin": reductions.argmin,
    "cumsum": reductions.cumsum, "cumprod": reductions.cumprod,
    "std": reductions.std, "var": reductions.var, "ptp": reductions.ptp,
    "astype": ufuncs.astype, "dot": products.dot, "ravel": manipulation.ravel,
    "flatten": manipulation.ravel, "squeeze": manipulation.squeeze, "clip": ufuncs.clip,
    "round": ufuncs.round, "swapaxes": manipulation.swapaxes, "repeat": manipulation.repeat,
    "take": indexing.take, "diagonal": products.diagonal, "trace": products.trace,
    "sort": sorting.sort, "argsort": sorting.argsort, "nonzero": indexing.nonzero,
    "conj": ufuncs.positive, "conjugate": ufuncs.positive,
    "__getitem__": indexing.getitem,
}

_PROPERTIES = {
    "T": manipulation.transpose, "mT": manipulation.matrix_transpose,
    "real": ufuncs.positive, "at": indexing._IndexUpdateHelper,
}


def install(cls=core.Tracer):
    """Put the operators, methods and properties on ``cls``."""
    for name, fn in _BINARY.items():
        setattr(cls, f"__{name}__", fn)
        setattr(cls, f"__r{name}__", _swap(fn))
    for name, fn in _COMPARISONS.items():
        setattr(cls, f"__{name}__", fn)
    for name, fn in _UNARY.items():
        setattr(cls, f"__{name}__", fn)
    for name, fn in _METHODS.items():
        setattr(cls, name, fn)
    for name, fn in _PROPERTIES.items():
        setattr(cls, name, property(fn))
    cls.__round__ = lambda self, ndigits=None: ufuncs.round(self, ndigits or 0)


def _array_getitem(self, idx):
    parts = idx if isinstance(idx, tuple) else (idx,)
    if not any(isinstance(i, core.Tracer) for i in parts):
        try:
            return super(core.Array, self).__getitem__(idx)
        except IndexError:
            pass        # out-of-range indices: trax's indexing clamps them, as under jit
    return indexing.getitem(self, idx)


def _array_astype(self, dtype, *args, **kwargs):
    """ndarray.astype, except that float to int saturates (nan to 0) as
    trax's cast does under jit (NumPy's cast is undefined there)."""
    if self.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        return ufuncs.astype(self, dtype)
    return np.ndarray.astype(self, dtype, *args, **kwargs)


install()
core.Array.at = property(indexing._IndexUpdateHelper)
core.Array.__getitem__ = _array_getitem
core.Array.astype = _array_astype
