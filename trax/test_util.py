"""Numerical checks of trax's derivatives, usable on your own functions.

``check_grads`` compares forward mode (``trax.jvp``) with central finite
differences and reverse mode (``trax.vjp``) with forward mode through the
dot-product identity ``<vjp(u), v> == <u, jvp(v)>``, then does the same for
the derivative functions themselves, up to the requested order (as
``jax.test_util.check_grads`` does).
"""
import numpy as np

from trax import api
from trax.tree_util import tree_flatten, tree_map

# default tolerance (atol and rtol) and finite-difference step per dtype
_TOL = {np.dtype("float16"): 1e-1, np.dtype("float32"): 2e-2,
        np.dtype("float64"): 1e-5}
_EPS = {np.dtype("float16"): 1e-2, np.dtype("float32"): 1e-3,
        np.dtype("float64"): 1e-6}
_MODES = ("fwd", "rev")


def check_grads(f, args, order, modes=_MODES, atol=None, rtol=None, eps=None):
    """Check the derivatives of ``f`` at ``args`` up to ``order``.

    ``args`` is a tuple of positional arguments, each a pytree of float
    arrays (or Python floats); ``f`` must return a pytree of float arrays.
    ``modes`` picks forward (``"fwd"``: jvp against central finite
    differences along random directions) and/or reverse (``"rev"``: vjp
    against jvp via ``<vjp(u), v> == <u, jvp(v)>``) mode. With ``order=2``
    the same checks run on the jvp and vjp functions of ``f`` (JVP of JVP,
    VJP of JVP, JVP of VJP, VJP of VJP), and so on. Tolerances and the
    finite-difference step default by dtype (tight for float64, loose for
    float32). Raises AssertionError naming the order, mode and max error.

    Example::

        >>> import numpy as np
        >>> from trax import lax
        >>> from trax.test_util import check_grads
        >>> check_grads(lambda x: lax.mul(lax.sin(x), x), (np.arange(3.0),), order=2)
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"check_grads: order must be an int >= 1, got {order!r}")
    bad = set(modes) - set(_MODES)
    if bad or not modes:
        raise ValueError(f"check_grads: modes must be a non-empty subset of {_MODES}, "
                         f"got {modes!r}")
    args = tuple(tree_map(_float_leaf, tuple(args)))
    if eps is None:     # the step suits the least precise input or output
        leaves = tree_flatten((args, _float_outputs(f(*args))))[0]
        eps = max((_EPS.get(np.asarray(x).dtype, 1e-6) for x in leaves), default=1e-6)
    checker = _Checker(tuple(modes), atol, rtol, eps, np.random.default_rng(0))
    checker.check(f, args, order, level=1, path="")


def _float_leaf(x):
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        raise TypeError(f"check_grads differentiates with respect to every argument, "
                        f"so every leaf must be floating point; got {arr.dtype} "
                        f"(close over integer arguments instead)")
    return arr


class _Checker:
    """The options of one check_grads call and its recursive checks."""

    def __init__(self, modes, atol, rtol, eps, rng):
        self.modes, self.atol, self.rtol, self.eps, self.rng = modes, atol, rtol, eps, rng

    def check(self, f, args, order, level, path):
        if "fwd" in self.modes:
            fwd_path = _join("JVP", path)
            self.check_jvp(f, args, level, fwd_path)
            if level < order:
                def f_jvp(primals, tangents):
                    return api.jvp(f, primals, tangents)
                self.check(f_jvp, (args, self.rand_like(args)), order, level + 1, fwd_path)
        if "rev" in self.modes:
            rev_path = _join("VJP", path)
            self.check_vjp(f, args, level, rev_path)
            if level < order:
                def f_vjp(primals, cotangent):
                    return api.vjp(f, *primals)[1](cotangent)
                ct = self.rand_like(_float_outputs(f(*args)))
                self.check(f_vjp, (args, ct), order, level + 1, rev_path)

    def check_jvp(self, f, args, level, path):
        where = f"order {level} fwd check ({path})"
        tangents = self.rand_like(args)
        out, t_out = api.jvp(f, args, tangents)
        expected = _float_outputs(f(*args))
        tol = self.tolerances(args, expected)
        _assert_close(out, expected, tol, f"{where}: primal output of jvp != f(*args)")
        _assert_same_dtypes(t_out, expected, f"{where}: tangent output dtypes")
        _assert_close(t_out, self.numerical_jvp(f, args, tangents), tol,
                      f"{where}: jvp != central finite differences (eps={self.eps})")

    def check_vjp(self, f, args, level, path):
        where = f"order {level} rev check ({path})"
        out, pullback = api.vjp(f, *args)
        expected = _float_outputs(f(*args))
        tol = self.tolerances(args, expected)
        _assert_close(out, expected, tol, f"{where}: primal output of vjp != f(*args)")
        tangents, cotangent = self.rand_like(args), self.rand_like(expected)
        ct_args = pullback(cotangent)
        _assert_same_dtypes(ct_args, args, f"{where}: cotangent dtypes")
        if "fwd" in self.modes:     # forward mode is itself checked against numerics
            t_out = api.jvp(f, args, tangents)[1]
        else:
            t_out = self.numerical_jvp(f, args, tangents)
        _assert_close(_inner(ct_args, tangents), _inner(cotangent, t_out), tol,
                      f"{where}: <vjp(u), v> != <u, jvp(v)>")

    def numerical_jvp(self, f, args, tangents):
        def shifted(sign):
            return f(*tree_map(lambda x, t: x + sign * self.eps * t, args, tangents))
        return tree_map(lambda hi, lo: (_f64(hi) - _f64(lo)) / (2 * self.eps),
                        shifted(1), shifted(-1))

    def rand_like(self, tree):
        return tree_map(lambda x: self.rng.standard_normal(np.shape(x)).astype(
            np.asarray(x).dtype), tree)

    def tolerances(self, *trees):
        default = max((_TOL.get(np.asarray(x).dtype, 1e-5)
                       for t in trees for x in tree_flatten(t)[0]), default=1e-5)
        return (default if self.atol is None else self.atol,
                default if self.rtol is None else self.rtol)


def _join(mode, path):
    return f"{mode} of {path}" if path else mode


def _f64(x):
    return np.asarray(x, np.float64)


def _float_outputs(out):
    for x in tree_flatten(out)[0]:
        if np.asarray(x).dtype.kind != "f":
            raise TypeError(f"check_grads needs a function with floating-point "
                            f"outputs, got a {np.asarray(x).dtype} output leaf")
    return out


def _inner(xs, ys):
    xl, yl = tree_flatten(xs)[0], tree_flatten(ys)[0]
    return np.float64(sum(np.sum(_f64(x) * _f64(y)) for x, y in zip(xl, yl)))


def _assert_same_dtypes(actual, expected, what):
    a_dts = [np.asarray(x).dtype for x in tree_flatten(actual)[0]]
    e_dts = [np.asarray(x).dtype for x in tree_flatten(expected)[0]]
    if a_dts != e_dts:
        raise AssertionError(f"check_grads: {what}: got {a_dts}, expected {e_dts}")


def _assert_close(actual, expected, tol, what):
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"check_grads: {what}: structure {a_tree} != {e_tree}")
    atol, rtol = tol
    max_abs = max_rel = 0.0
    failed = False
    for a, e in zip(a_leaves, e_leaves):
        a, e = _f64(a), _f64(e)
        if a.shape != e.shape:
            raise AssertionError(f"check_grads: {what}: shape {a.shape} != {e.shape}")
        same = (a == e) | (np.isnan(a) & np.isnan(e))
        with np.errstate(invalid="ignore"):
            err = np.where(same, 0.0, np.abs(a - e))
        err = np.where(np.isnan(err), np.inf, err)
        scale = np.abs(np.where(np.isfinite(e), e, 0.0))
        if err.size:
            max_abs = max(max_abs, float(err.max()))
            max_rel = max(max_rel, float((err / np.maximum(scale, 1e-300)).max()))
            failed = failed or bool(np.any(err > atol + rtol * scale))
    if failed:
        raise AssertionError(f"check_grads: {what}: max abs error {max_abs:.3g}, "
                             f"max rel error {max_rel:.3g} (atol={atol:g}, rtol={rtol:g})")
