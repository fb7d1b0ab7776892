"""Tests driven by tests/op_table.py: every row is checked eagerly against
NumPy, and then under each transformation in TRANSFORM_CHECKS (jaxpr
tracing, vmap) and, when differentiable, with check_grads, jacfwd/jacrev
and vmap-of-grad.

To check a new transformation on every row (e.g. jit vs eager), add an
entry to TRANSFORM_CHECKS: ``name: (applies(case) -> bool, check(case, dtype))``.
"""
import functools

import numpy as np
import pytest

import trax
from trax import lax as trax_lax
from trax.test_util import check_grads
from trax.tree_util import tree_flatten, tree_map

from op_table import CASES, F64

BATCH = 3
JAC_MAX_INPUT_SIZE = 24

# (rtol, atol) of eager-vs-numpy and transform-vs-eager comparisons
_TOL = {np.dtype("float32"): (1e-5, 1e-6), np.dtype("float64"): (1e-11, 1e-12)}


def tolerance(dtype, mult=1.0):
    rtol, atol = _TOL.get(np.dtype(dtype), (0.0, 0.0))
    return rtol * mult, atol * mult


def assert_trees_close(actual, expected, mult=1.0, check_dtype=True, signed_zeros=False):
    """Same structure, shapes and (optionally) dtypes; values equal within
    the tolerance of the expected dtype, NaNs in the same places."""
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    assert a_tree == e_tree, f"output structure {a_tree} != expected {e_tree}"
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        a, e = np.asarray(a), np.asarray(e)
        where = f"output leaf {i}"
        assert a.shape == e.shape, f"{where}: shape {a.shape} != expected {e.shape}"
        if check_dtype:
            assert a.dtype == e.dtype, f"{where}: dtype {a.dtype} != expected {e.dtype}"
        if e.dtype.kind in "biu" and a.dtype.kind in "biu":
            np.testing.assert_array_equal(a, e, err_msg=where)
            continue
        rtol, atol = tolerance(e.dtype if e.dtype.kind == "f" else a.dtype, mult)
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True, err_msg=where)
        if signed_zeros:
            zeros = e == 0
            np.testing.assert_array_equal(np.signbit(a[zeros]), np.signbit(e[zeros]),
                                          err_msg=f"{where}: signs of zeros")


def params(applies=lambda case: True, dtypes=None):
    """pytest params (case, dtype) for the rows ``applies`` accepts."""
    return [pytest.param(c, dt, id=f"{c.name}-{dt.name}") for c in CASES
            for dt in c.dtypes if (dtypes is None or dt in dtypes) and applies(c)]


# ----------------------------------------------------------------------------
# (a) eager vs NumPy

@pytest.mark.parametrize("case,dtype", params())
def test_eager_matches_numpy(case, dtype):
    args = case.make_args(dtype)
    with np.errstate(all="ignore"):
        expected = case.ref(*args)
    out = case.fn(*args)
    assert_trees_close(out, expected, case.tol, case.check_dtype, case.signed_zeros)


# ----------------------------------------------------------------------------
# (b), (d): transformations vs eager

def check_jaxpr(case, dtype):
    """make_jaxpr traces; its avals and its evaluation agree with eager."""
    args = case.make_args(dtype)
    eager = tree_flatten(case.fn(*args))[0]
    closed = trax.make_jaxpr(case.fn)(*args)
    assert [(a.shape, a.dtype) for a in closed.out_avals] == \
        [(np.shape(x), np.asarray(x).dtype) for x in eager], str(closed)
    out = trax.core.eval_jaxpr(closed.jaxpr, closed.consts, *args)
    assert_trees_close(out, eager, case.tol)


def _batched_args(case, dtype, in_axes):
    """Per-example args (list per batch member) and the stacked arguments."""
    draws = [case.make_args(dtype, draw=b) for b in range(BATCH)]
    examples = [[d[i] if ax is not None else draws[0][i] for i, ax in enumerate(in_axes)]
                for d in draws]
    stacked = [np.stack([d[i] for d in draws], axis=ax) if ax is not None else draws[0][i]
               for i, ax in enumerate(in_axes)]
    return examples, stacked


def _check_vmap(case, dtype, in_axes, out_axes=0):
    examples, stacked = _batched_args(case, dtype, in_axes)
    expected = tree_map(lambda *xs: np.stack(xs, axis=out_axes),
                        *[case.fn(*ex) for ex in examples])
    out = trax.vmap(case.fn, in_axes=tuple(in_axes), out_axes=out_axes)(*stacked)
    assert_trees_close(out, expected, case.tol)


def check_vmap_axis0(case, dtype):
    """vmap over axis 0 of every argument == a loop."""
    _check_vmap(case, dtype, [0] * len(case.args))


def check_vmap_last_axis(case, dtype):
    """vmap with each batch axis last and the output batch axis last."""
    _check_vmap(case, dtype, [len(a.shape) for a in case.args], out_axes=-1)


def check_vmap_first_arg_only(case, dtype):
    """vmap over the first argument, the others broadcast (in_axes None)."""
    _check_vmap(case, dtype, [0] + [None] * (len(case.args) - 1))


def _vmappable(case):
    return case.vmap and len(case.args) > 0


# compiled code uses its own vectorized math (a few ulp) and reassociated
# float reductions, so it is compared with a looser tolerance than eager
_JIT_TOL_MULT = 30.0


def check_jit(case, dtype):
    """jit (LLVM-compiled) == eager."""
    args = case.make_args(dtype)
    with np.errstate(all="ignore"):
        eager = case.fn(*args)
        out = trax.jit(case.fn)(*args)
    assert_trees_close(out, eager, case.tol * _JIT_TOL_MULT, signed_zeros=False)


def _grad_of_sum(case):
    def total(*a):
        outs = tree_flatten(case.fn(*a))[0]
        return sum(trax.numpy.sum(o) for o in outs if np.dtype(o.dtype).kind == "f")
    return total


def check_jit_grad(case, dtype):
    """jit(grad) == grad (eager) for the sum of the row's outputs."""
    args = case.make_args(dtype)
    argnums = case.diff_argnums(args)
    g = trax.grad(_grad_of_sum(case), argnums=argnums)
    assert_trees_close(trax.jit(g)(*args), g(*args), case.tol * _JIT_TOL_MULT)


def _jit_grad_applies(case):
    return case.order >= 1 and F64 in case.dtypes


TRANSFORM_CHECKS = {
    "jaxpr": (lambda case: True, check_jaxpr),
    "vmap_axis0": (_vmappable, check_vmap_axis0),
    "vmap_last_axis": (_vmappable, check_vmap_last_axis),
    "vmap_first_arg": (lambda case: _vmappable(case) and len(case.args) > 1,
                       check_vmap_first_arg_only),
    "jit": (lambda case: True, check_jit),
    "jit_grad": (_jit_grad_applies, check_jit_grad),
}


def transform_params():
    return [pytest.param(c, dt, name, id=f"{c.name}-{dt.name}-{name}")
            for name, (applies, _) in TRANSFORM_CHECKS.items()
            for c in CASES if applies(c) for dt in c.dtypes]


@pytest.mark.parametrize("case,dtype,check", transform_params())
def test_transform(case, dtype, check):
    TRANSFORM_CHECKS[check][1](case, dtype)


# ----------------------------------------------------------------------------
# (c) derivatives (float64)

def _differentiable(case):
    return case.order > 0


def _small(case):
    return _differentiable(case) and case.jac and \
        sum(int(np.prod(a.shape)) for a in case.args) <= JAC_MAX_INPUT_SIZE


def float_fn(case, args):
    """``case.fn`` as a function of its differentiable args only."""
    nums = case.diff_argnums(args)
    assert nums, f"row {case.name} has order {case.order} but no float arguments"

    def f(*xs):
        full = list(args)
        for i, x in zip(nums, xs):
            full[i] = x
        return case.fn(*full)
    return f, [args[i] for i in nums]


@pytest.mark.parametrize("case,dtype", params(_differentiable, dtypes=(F64,)))
def test_check_grads(case, dtype):
    f, xs = float_fn(case, case.make_args(dtype))
    atol, rtol = case.grad_tol or (None, None)
    check_grads(f, xs, order=case.order, modes=("fwd", "rev"), atol=atol, rtol=rtol)


@pytest.mark.parametrize("case,dtype", params(_small, dtypes=(F64,)))
def test_jacfwd_equals_jacrev(case, dtype):
    f, xs = float_fn(case, case.make_args(dtype))
    nums = tuple(range(len(xs)))
    jf = trax.jacfwd(f, argnums=nums)(*xs)
    jr = trax.jacrev(f, argnums=nums)(*xs)
    # dtypes may differ on mixed-precision rows (jacfwd: the output's, jacrev:
    # the input's, as in JAX)
    assert_trees_close(jf, jr, mult=100, check_dtype=False)
    out_shapes = [np.shape(o) for o in tree_flatten(f(*xs))[0]]
    jac_shapes = [np.shape(j) for j in tree_flatten(jf)[0]]
    assert jac_shapes == [o + np.shape(x) for o in out_shapes for x in xs]


def _weighted_sum(f, weights):
    """``sum_i <f(*xs)_i, w_i>``: a scalar function of f's outputs."""
    def g(*xs):
        outs = tree_flatten(f(*xs))[0]
        terms = [trax_lax.reduce_sum(trax_lax.mul(o, w), tuple(range(np.ndim(w))))
                 for o, w in zip(outs, weights)]
        return functools.reduce(trax_lax.add, terms)
    return g


@pytest.mark.parametrize("case,dtype", params(lambda c: _differentiable(c) and c.vmap,
                                              dtypes=(F64,)))
def test_vmap_of_grad(case, dtype):
    draws = [float_fn(case, case.make_args(dtype, draw=b)) for b in range(BATCH)]
    f0, xs0 = draws[0]
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype)
               for o in tree_flatten(f0(*xs0))[0]]
    nums = tuple(range(len(xs0)))
    # the non-differentiable args of draw 0 are shared by the whole batch
    g = trax.grad(_weighted_sum(f0, weights), argnums=nums)
    examples = [[x for x in xs] for _, xs in draws]
    expected = tree_map(lambda *gs: np.stack(gs), *[g(*ex) for ex in examples])
    stacked = [np.stack(col) for col in zip(*examples)]
    assert_trees_close(trax.vmap(g)(*stacked), expected, mult=100)


# ----------------------------------------------------------------------------
# coverage of the table itself

def test_every_lax_primitive_is_traced_by_some_row():
    """Each primitive trax.lax exports appears in the jaxpr of some row."""
    from trax.core import Primitive
    seen = set()
    for case in CASES:
        closed = trax.make_jaxpr(case.fn)(*case.make_args(case.dtypes[-1]))
        seen.update(eqn.primitive.name for eqn in closed.eqns)
    prims = {p.name for p in vars(trax_lax).values() if isinstance(p, Primitive)}
    assert prims - seen == set(), "primitives with no op_table row"
