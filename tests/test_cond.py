"""lax.cond and lax.switch: eager, make_jaxpr, jvp, grad, vmap, closures,
JAX's operand forms and the bad-input errors (the op_table rows
``lax.cond(...)`` / ``lax.switch(...)`` cover the per-row checks)."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax
from trax.test_util import check_grads

F32 = np.float32


def f_cond(p, x):
    return lax.cond(p, lambda x: jnp.sin(x) * x, lambda x: x ** 3, x)


def count(closed, name):
    """Equations named ``name`` at the top level of a jaxpr."""
    return sum(e.primitive.name == name for e in closed.eqns)


# ----------------------------------------------------------------------------
# eager

def test_cond_picks_the_branch():
    x = np.arange(3.0)
    np.testing.assert_allclose(f_cond(True, x), np.sin(x) * x)
    np.testing.assert_allclose(f_cond(False, x), x ** 3)
    np.testing.assert_allclose(f_cond(np.bool_(True), x), np.sin(x) * x)


@pytest.mark.parametrize("pred,expected", [(2, "t"), (0, "f"), (-1, "t"), (0.5, "t"),
                                           (0.0, "f"), (np.int32(3), "t")])
def test_cond_numeric_predicate_is_nonzero(pred, expected):
    out = lax.cond(pred, lambda: np.float64(1.0), lambda: np.float64(0.0))
    assert float(out) == (1.0 if expected == "t" else 0.0)


@pytest.mark.parametrize("index,branch", [(0, 0), (1, 1), (2, 2), (-1, 0), (7, 2),
                                          (np.int64(2) ** 40, 2), (np.uint8(1), 1)])
def test_switch_clamps_the_index(index, branch):
    branches = [lambda x, k=k: x + k for k in range(3)]
    assert float(lax.switch(index, branches, 10.0)) == 10.0 + branch


def test_switch_with_one_branch_calls_it():
    assert float(lax.switch(5, [lambda x: x * 2], 3.0)) == 6.0


def test_pytrees_of_operands_and_outputs():
    ops = {"a": np.arange(3.0), "b": (np.float64(2.0), np.ones((2, 2)))}

    def t(d):
        return {"s": d["a"] * d["b"][0], "m": d["b"][1] + 1}

    def f(d):
        return {"s": d["a"] - 1, "m": d["b"][1] * 3}
    out = lax.cond(True, t, f, ops)
    np.testing.assert_allclose(out["s"], np.arange(3.0) * 2)
    np.testing.assert_allclose(out["m"], np.full((2, 2), 2.0))
    out = lax.cond(False, t, f, ops)
    np.testing.assert_allclose(out["m"], np.full((2, 2), 3.0))


def test_several_and_no_operands():
    assert float(lax.cond(True, lambda a, b: a * b, lambda a, b: a + b, 3.0, 4.0)) == 12.0
    assert float(lax.cond(False, lambda: 1.0, lambda: 2.0)) == 2.0


def test_operand_keyword_and_the_former_five_argument_form():
    assert float(lax.cond(True, lambda x: x + 1, lambda x: x - 1, operand=2.0)) == 3.0
    assert float(lax.switch(1, [lambda x: x + 1, lambda x: x - 1], operand=2.0)) == 1.0
    # cond(pred, true_operand, true_fun, false_operand, false_fun)
    assert float(lax.cond(True, 1.0, lambda x: x + 1, 2.0, lambda x: x - 1)) == 2.0
    assert float(lax.cond(False, 1.0, lambda x: x + 1, 2.0, lambda x: x - 1)) == 1.0


def test_disable_jit_gives_the_same_results():
    x = np.array([0.5, -1.0])
    g = trax.grad(lambda x: f_cond(x > 0, x))
    with trax.disable_jit():
        in_disabled = (f_cond(True, x), lax.switch(4, [jnp.sin, jnp.cos], x), g(0.5))
    np.testing.assert_allclose(in_disabled[0], f_cond(True, x))
    np.testing.assert_allclose(in_disabled[1], np.cos(x))
    np.testing.assert_allclose(in_disabled[2], g(0.5))


def test_integer_and_bool_outputs_pass_through():
    out = lax.cond(True, lambda i, x: (i + 1, x > 0), lambda i, x: (i * 2, x < 0),
                   np.int32(3), np.arange(-1.0, 2.0))
    assert out[0].dtype == np.int32 and int(out[0]) == 4
    np.testing.assert_array_equal(out[1], [False, False, True])


# ----------------------------------------------------------------------------
# make_jaxpr

def test_make_jaxpr_prints_the_branches_as_jax_does():
    text = str(trax.make_jaxpr(f_cond)(True, F32(1.0)))
    assert text == """\
{ lambda ; a:bool[] b:f32[]. let
    c:i32[] = convert_element_type[new_dtype=int32 weak_type=False] a
    d:f32[] = cond[
      branches=(
        { lambda ; e:f32[]. let f:f32[] = integer_pow[y=3] e in (f,) }
        { lambda ; g:f32[]. let h:f32[] = sin g i:f32[] = mul h g in (i,) }
      )
    ] c b
  in (d,) }"""


def test_make_jaxpr_of_switch_clamps_then_converts():
    closed = trax.make_jaxpr(lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], x))(
        np.int64(1), F32(1.0))
    assert [e.primitive.name for e in closed.eqns] == ["clamp", "convert_element_type",
                                                       "cond"]
    assert len(closed.eqns[-1].params["branches"]) == 3


def test_closed_over_tracers_become_operands():
    closed = trax.make_jaxpr(lambda p, x: lax.cond(p, lambda: x * 2.0, lambda: x))(
        True, F32(1.0))
    eqn = closed.eqns[-1]
    assert eqn.invars[1] is closed.jaxpr.invars[1]      # x enters the cond as operand
    for b in eqn.params["branches"]:
        assert b.consts == [] and len(b.jaxpr.invars) == 1


def test_concrete_consts_stay_in_the_branches():
    w = np.arange(3.0)
    closed = trax.make_jaxpr(lambda p, x: lax.cond(p, lambda x: x * w, lambda x: x, x))(
        True, np.ones(3))
    true_branch = closed.eqns[-1].params["branches"][1]
    assert any(c is not None and np.shape(c) == (3,) for c in true_branch.consts)
    assert len(closed.eqns[-1].invars) == 2


# ----------------------------------------------------------------------------
# derivatives

@pytest.mark.parametrize("pred", [True, False])
def test_check_grads_order_2(pred):
    check_grads(lambda x: f_cond(pred, x), (np.array([0.3, -1.2, 2.0]),), order=2)


def test_grad_of_a_function_closing_over_its_argument_in_a_branch():
    def f(x):
        return lax.cond(x > 0, lambda: jnp.sin(x) * x, lambda: x ** 3)
    for x in (1.3, -0.7):
        expected = np.cos(x) * x + np.sin(x) if x > 0 else 3 * x ** 2
        assert float(trax.grad(f)(x)) == pytest.approx(expected)
        second = 2 * np.cos(x) - x * np.sin(x) if x > 0 else 6 * x
        assert float(trax.grad(trax.grad(f))(x)) == pytest.approx(second)
    check_grads(f, (1.3,), order=2)


def test_branches_with_different_residuals():
    # one branch keeps cos(x) f64[3], the other y and x*y: residual slots are merged
    def f(x, y):
        return lax.cond(y > 0, lambda x, y: jnp.sin(x) * 2, lambda x, y: x * y * x, x, y)
    x = np.array([0.1, 0.2, -0.3])
    for y in (1.5, -1.5):
        check_grads(f, (x, y), order=2)


def test_output_known_in_one_branch_unknown_in_the_other():
    def f(p, x):
        return lax.cond(p, lambda x: x * 2.0, lambda x: np.ones(3), x)
    x = np.arange(3.0)
    np.testing.assert_allclose(trax.jacrev(lambda x: f(True, x))(x), 2 * np.eye(3))
    np.testing.assert_allclose(trax.jacrev(lambda x: f(False, x))(x), np.zeros((3, 3)))
    check_grads(lambda x: f(True, x), (x,), order=2)


def test_switch_derivatives_any_order():
    def f(x):
        return lax.switch(jnp.argmax(x), [lambda x: jnp.sum(jnp.sin(x)),
                                          lambda x: jnp.sum(x * x),
                                          lambda x: jnp.prod(x)], x)
    for x in ([2.0, 0.5, 0.1], [0.1, 2.0, 0.5], [0.1, 0.5, 2.0]):
        x = np.array(x)
        check_grads(f, (x,), order=2)
        np.testing.assert_allclose(trax.hessian(f)(x), trax.jacfwd(trax.jacrev(f))(x))


def test_jvp_with_an_unused_operand_tangent():
    out, t = trax.jvp(lambda x, y: lax.cond(True, lambda x, y: x * 3, lambda x, y: y, x, y),
                      (2.0, 5.0), (1.0, 7.0))
    assert (float(out), float(t)) == (6.0, 3.0)


def test_vjp_jaxpr_has_one_forward_and_one_backward_cond():
    closed = trax.make_jaxpr(trax.grad(lambda x: f_cond(x > 0, x)))(1.0)
    assert count(closed, "cond") == 2


def test_nested_cond_in_a_branch():
    def f(x):
        return lax.cond(x > 0, lambda x: lax.cond(x > 1, jnp.sin, jnp.cos, x),
                        lambda x: -x * x, x)
    for x in (1.5, 0.5, -0.5):
        check_grads(f, (x,), order=2)


# ----------------------------------------------------------------------------
# vmap

def test_vmap_batched_predicate_becomes_a_select():
    xs = np.array([1.0, -2.0, 0.5, -0.1])
    g = trax.vmap(lambda x: f_cond(x > 0, x))
    np.testing.assert_allclose(g(xs), np.where(xs > 0, np.sin(xs) * xs, xs ** 3))
    closed = trax.make_jaxpr(g)(xs)
    assert count(closed, "cond") == 0 and count(closed, "select_n") >= 1


def test_vmap_unbatched_predicate_keeps_the_cond():
    xs = np.array([1.0, -2.0, 0.5])
    g = trax.vmap(f_cond, in_axes=(None, 0))
    np.testing.assert_allclose(g(True, xs), np.sin(xs) * xs)
    np.testing.assert_allclose(g(False, xs), xs ** 3)
    assert count(trax.make_jaxpr(g)(True, xs), "cond") == 1


def test_vmap_of_switch_with_batched_index_and_unbatched_operand():
    idx = np.array([-3, 0, 1, 2, 9])
    out = trax.vmap(lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, jnp.exp], x),
                    in_axes=(0, None))(idx, 0.5)
    np.testing.assert_allclose(out, [np.sin(.5), np.sin(.5), np.cos(.5), np.exp(.5),
                                     np.exp(.5)])


def test_vmap_closure_over_the_batched_argument():
    xs = np.array([1.0, 2.0, 3.0])
    out = trax.vmap(lambda x: lax.cond(True, lambda: x * 2, lambda: x))(xs)
    np.testing.assert_allclose(out, xs * 2)
    grads = trax.vmap(trax.grad(lambda x: lax.cond(x > 1.5, lambda: x * x, lambda: -x)))(xs)
    np.testing.assert_allclose(grads, [-1.0, 4.0, 6.0])


def test_grad_through_a_batched_select_ignores_the_untaken_branch():
    # sqrt of a negative runs (nan) for the members that take the other branch
    def f(x):
        return lax.cond(x > 0, jnp.sqrt, lambda x: x * 0.0, x)
    xs = np.array([4.0, -1.0, 1.0])
    g = trax.grad(lambda xs: jnp.sum(trax.vmap(f)(xs)))(xs)
    np.testing.assert_allclose(g, [0.25, 0.0, 0.5])


def test_vmap_of_grad_and_grad_of_vmap_agree():
    xs = np.array([1.0, -2.0, 0.5])
    per = trax.vmap(trax.grad(lambda x: f_cond(x > 0, x)))(xs)
    whole = trax.grad(lambda xs: jnp.sum(trax.vmap(lambda x: f_cond(x > 0, x))(xs)))(xs)
    np.testing.assert_allclose(per, whole)
    np.testing.assert_allclose(per, np.where(xs > 0, np.cos(xs) * xs + np.sin(xs),
                                             3 * xs ** 2))


# ----------------------------------------------------------------------------
# bad input

def test_branch_outputs_of_different_structure():
    with pytest.raises(TypeError, match=r"false_fun and true_fun must return the same "
                                        r"pytree structure.*test_cond.py"):
        lax.cond(True, lambda x: (x, x), lambda x: x, 1.0)


def test_branch_outputs_of_different_shape_name_both():
    with pytest.raises(TypeError, match=r"output leaf 0 is f64\[3\] in false_fun and "
                                        r"f64\[\] in true_fun.*test_cond.py"):
        lax.cond(True, lambda x: x, lambda x: jnp.ones(3), 1.0)


def test_branch_outputs_of_different_dtype_name_both():
    with pytest.raises(TypeError, match=r"output leaf 0 is i32\[\] in branch 0 and "
                                        r"f32\[\] in branch 1"):
        lax.switch(0, [lambda: np.int32(1), lambda: F32(1.0)])


@pytest.mark.parametrize("pred", [np.array([True, False]), [True], (1,), None, "yes"])
def test_predicate_must_be_a_scalar_bool_or_number(pred):
    with pytest.raises(TypeError, match=r"lax.cond: the predicate must be.*test_cond.py"):
        lax.cond(pred, lambda: 1.0, lambda: 2.0)


@pytest.mark.parametrize("index", [1.0, True, np.array([0, 1]), None])
def test_switch_index_must_be_an_integer_scalar(index):
    with pytest.raises(TypeError, match=r"lax.switch: the index must be"):
        lax.switch(index, [lambda: 1.0, lambda: 2.0])


def test_traced_predicate_that_is_not_a_scalar():
    with pytest.raises(TypeError, match=r"must be a scalar, got an array bool\[2\]"):
        trax.jit(lambda x: lax.cond(x > 0, lambda: x, lambda: -x))(np.ones(2))


def test_bad_branches():
    with pytest.raises(ValueError, match="empty"):
        lax.switch(0, [], 1.0)
    with pytest.raises(TypeError, match="callable"):
        lax.switch(0, [lambda x: x, 3], 1.0)
    with pytest.raises(TypeError, match="callable"):
        lax.cond(True, 1.0, lambda x: x)
    with pytest.raises(TypeError, match="'operand' keyword"):
        lax.cond(True, lambda x: x, lambda x: x, 1.0, operand=2.0)


def test_cond_primitive_checks_its_operands():
    closed = trax.make_jaxpr(f_cond)(True, F32(1.0))
    branches = closed.eqns[-1].params["branches"]
    with pytest.raises(TypeError, match=r"index must be an int32 scalar, got f32\[\]"):
        lax.cond_p.bind(F32(0), F32(1.0), branches=branches)
    with pytest.raises(TypeError, match=r"take \(f32\[\]\) but the operands are "
                                        r"\(f32\[2\]\)"):
        lax.cond_p.bind(np.int32(0), np.ones(2, F32), branches=branches)


# ----------------------------------------------------------------------------
# jit (compiled by trax/compiler/lower/control.py)

def test_jit_matches_eager():
    xs = np.array([1.0, -2.0])
    for p in (True, False):
        np.testing.assert_allclose(trax.jit(f_cond)(p, xs), f_cond(p, xs))
    g = trax.grad(lambda x: f_cond(x > 0, x))
    for x in (1.3, -0.4):
        assert float(trax.jit(g)(x)) == pytest.approx(float(g(x)))


def test_jit_switch_matches_eager():
    f = lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, jnp.exp], x)  # noqa: E731
    for i in (-1, 0, 1, 2, 5):
        np.testing.assert_allclose(trax.jit(f)(i, 0.3), f(i, 0.3))


def test_python_if_on_a_traced_value_suggests_cond():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(TypeError, match=r"trax.lax.cond"):
        trax.make_jaxpr(f)(1.0)
