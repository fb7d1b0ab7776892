"""Core behaviour: jaxpr printing, weak types, pytrees, nested and composed
transformations, Python control flow under grad, check_grads itself, and
the errors trax raises."""
import collections
import math

import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax
from trax.core import Primitive
from trax.errors import (ConcretizationTypeError, NonConcreteBooleanIndexError,
                         TracerBoolConversionError, TracerIntegerConversionError,
                         TraxTypeError, UnexpectedTracerError)
from trax.interpreters.ad import defjvp
from trax.test_util import check_grads
from trax.tree_util import (register_pytree_node, tree_flatten, tree_leaves, tree_map,
                            tree_structure, tree_unflatten)

F32 = np.float32
Point = collections.namedtuple("Point", ["x", "y"])


def _line_of(fn, offset):
    """``test_core.py:<line>`` of the line ``offset`` lines into ``fn``."""
    return f"test_core.py:{fn.__code__.co_firstlineno + offset}"


# ----------------------------------------------------------------------------
# jaxpr printing

def test_print_unary_and_literal():
    jaxpr = trax.make_jaxpr(lambda x: lax.mul(lax.sin(x), 2.0))(np.ones(3, F32))
    assert str(jaxpr) == ("{ lambda ; a:f32[3]. let\n"
                          "    b:f32[3] = sin a\n"
                          "    c:f32[3] = mul b 2.0:f32[]\n"
                          "  in (c,) }")


def test_print_consts_params_and_several_outputs():
    jaxpr = trax.make_jaxpr(lambda x: (lax.add(x, np.arange(3.0)),
                                       lax.reduce_sum(x, (0,))))(np.ones(3))
    assert str(jaxpr) == ("{ lambda a:f64[3]; b:f64[3]. let\n"
                          "    c:f64[3] = add b a\n"
                          "    d:f64[] = reduce_sum[axes=(0,)] b\n"
                          "  in (c, d) }")
    assert len(jaxpr.consts) == 1 and np.array_equal(jaxpr.consts[0], np.arange(3.0))


def test_print_pytree_inputs_and_int_literal():
    jaxpr = trax.make_jaxpr(lambda p: lax.mul(p["w"], lax.add(p["b"], 1)))(
        {"w": np.ones((2,), np.int32), "b": np.ones((2,), np.int32)})
    # dict leaves are ordered by sorted key: b before w
    assert str(jaxpr) == ("{ lambda ; a:i32[2] b:i32[2]. let\n"
                          "    c:i32[2] = add a 1:i32[]\n"
                          "    d:i32[2] = mul b c\n"
                          "  in (d,) }")


def test_jaxpr_evaluates_like_the_function():
    def f(x, y):
        return jnp.sum(jnp.tanh(x) * y), x[1:] * 3.0

    x, y = np.linspace(-1, 1, 4), np.arange(4.0)
    closed = trax.make_jaxpr(f)(x, y)
    got = trax.core.eval_jaxpr(closed.jaxpr, closed.consts, x, y)
    want = f(x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-14)


# ----------------------------------------------------------------------------
# weak types and literals

@pytest.mark.parametrize("fn", [lambda x: x * 2.0, lambda x: 2.0 * x, lambda x: x + 1,
                                lambda x: x / 3, lambda x: jnp.maximum(x, 0.5)])
def test_python_scalars_keep_the_array_dtype(fn):
    x = np.ones(3, F32)
    assert trax.make_jaxpr(fn)(x).out_avals[0].dtype == F32
    assert fn(jnp.asarray(x)).dtype == F32


def test_int_array_times_python_float_promotes_like_numpy():
    x = np.ones(3, np.int32)
    assert trax.make_jaxpr(lambda x: x * 2)(x).out_avals[0].dtype == np.int32
    assert trax.make_jaxpr(lambda x: x * 2.0)(x).out_avals[0].dtype == \
        (np.ones(3, np.int32) * 2.0).dtype


def test_python_scalar_inputs_are_weakly_typed():
    closed = trax.make_jaxpr(lambda x: x * 2.0)(3.0)
    assert closed.in_avals[0].weak_type and closed.in_avals[0].dtype == np.float64
    # a weak input meeting a float32 array becomes float32
    out = trax.make_jaxpr(lambda x, y: x * y)(3.0, np.ones(2, F32))
    assert out.out_avals[0].dtype == F32


def test_grad_of_float32_function_is_float32():
    g = trax.grad(lambda x: jnp.sum(jnp.sin(x) * 2.0))(np.ones(3, F32))
    assert g.dtype == F32
    np.testing.assert_allclose(g, 2 * np.cos(1.0), rtol=1e-6)


# ----------------------------------------------------------------------------
# pytrees

def test_flatten_unflatten_roundtrip_with_sorted_dict_keys_and_none():
    tree = {"b": [1, (2, None)], "a": Point(3, {"z": 4, "y": 5})}
    leaves, treedef = tree_flatten(tree)
    assert leaves == [3, 5, 4, 1, 2]
    assert treedef.num_leaves == 5
    rebuilt = tree_unflatten(treedef, leaves)
    assert rebuilt == tree and isinstance(rebuilt["a"], Point)
    assert tree_leaves([None, (None,)]) == []


def test_tree_map_over_several_trees():
    a = {"x": 1.0, "y": [2.0, 3.0]}
    b = {"x": 10.0, "y": [20.0, 30.0]}
    assert tree_map(lambda u, v: u + v, a, b) == {"x": 11.0, "y": [22.0, 33.0]}
    with pytest.raises(ValueError, match="structure"):
        tree_map(lambda u, v: u + v, a, {"x": 1.0, "y": [2.0]})


def test_tree_structure_compares_structures():
    assert tree_structure((1, [2])) == tree_structure((5, [6]))
    assert tree_structure((1, [2])) != tree_structure((1, (2,)))
    assert tree_structure(Point(1, 2)) != tree_structure((1, 2))
    assert tree_structure({"a": 1}) != tree_structure({"b": 1})


class Pair:
    def __init__(self, first, second):
        self.first, self.second = first, second


register_pytree_node(Pair, lambda p: ((p.first, p.second), None),
                     lambda _, children: Pair(*children))


def test_registered_node_type_flattens_and_goes_through_transforms():
    leaves, treedef = tree_flatten(Pair(1.0, [2.0]))
    assert leaves == [1.0, 2.0]
    rebuilt = tree_unflatten(treedef, [5.0, 6.0])
    assert isinstance(rebuilt, Pair) and rebuilt.first == 5.0 and rebuilt.second == [6.0]
    g = trax.grad(lambda p: p.first * p.second[0])(Pair(3.0, [4.0]))
    assert isinstance(g, Pair) and float(g.first) == 4.0 and float(g.second[0]) == 3.0


PARAMS = {"layers": [{"w": np.array([[1.0, 2.0], [3.0, 4.0]]), "b": np.array([0.5, -0.5])},
                     {"w": np.array([[1.0], [-1.0]]), "b": np.array([0.1])}],
          "scale": (np.array(2.0), None)}


def _mlp(params, x):
    for layer in params["layers"]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return jnp.sum(x) * params["scale"][0]


def test_grad_over_nested_params_matches_structure_and_finite_differences():
    x = np.array([0.3, -0.2])
    g = trax.grad(_mlp)(PARAMS, x)
    assert tree_structure(g) == tree_structure(PARAMS)
    leaves, treedef = tree_flatten(PARAMS)
    for i, (leaf, g_leaf) in enumerate(zip(leaves, tree_leaves(g))):
        assert g_leaf.shape == leaf.shape
        for j in np.ndindex(leaf.shape):
            def shifted(h):
                new = [lf.copy() for lf in leaves]
                new[i][j] += h
                return float(_mlp(tree_unflatten(treedef, new), x))
            fd = (shifted(1e-6) - shifted(-1e-6)) / 2e-6
            np.testing.assert_allclose(g_leaf[j], fd, rtol=1e-6, atol=1e-8)


def test_jvp_vjp_vmap_over_pytrees():
    p = {"a": np.array([1.0, 2.0]), "b": (np.array(3.0),)}
    t = {"a": np.array([1.0, 0.0]), "b": (np.array(1.0),)}

    def f(p):
        return {"s": jnp.sum(p["a"] ** 2) * p["b"][0], "v": p["a"] * 2.0}

    out, tan = trax.jvp(f, (p,), (t,))
    assert float(out["s"]) == 15.0 and float(tan["s"]) == 2 * 3 * 1 + 5 * 1
    np.testing.assert_array_equal(tan["v"], [2.0, 0.0])
    out, pullback = trax.vjp(f, p)
    (ct,) = pullback({"s": np.array(1.0), "v": np.array([1.0, 1.0])})
    np.testing.assert_allclose(ct["a"], [2 * 1 * 3 + 2, 2 * 2 * 3 + 2])
    np.testing.assert_allclose(ct["b"][0], 5.0)
    batched = {"a": np.arange(6.0).reshape(3, 2), "b": (np.array(1.0),)}
    res = trax.vmap(f, in_axes=({"a": 0, "b": None},))(batched)
    np.testing.assert_allclose(res["s"], [1.0, 13.0, 41.0])
    assert res["v"].shape == (3, 2)


def test_grad_with_argnums_tuple_and_has_aux():
    def f(x, y, z):
        return x * y + z, {"aux": x}
    (gx, gz), aux = trax.grad(f, argnums=(0, 2), has_aux=True)(2.0, 3.0, 4.0)
    assert (float(gx), float(gz), float(aux["aux"])) == (3.0, 1.0, 2.0)
    value, gy = trax.value_and_grad(lambda x, y: x * y, argnums=1)(2.0, 3.0)
    assert (float(value), float(gy)) == (6.0, 2.0)


# ----------------------------------------------------------------------------
# nested differentiation

def test_no_perturbation_confusion():
    assert trax.grad(lambda x: x * trax.grad(lambda y: x * y)(3.0))(2.0) == 4.0


def test_third_derivative_of_sin():
    for x in (0.0, 0.7, -2.0):
        assert math.isclose(trax.grad(trax.grad(trax.grad(lax.sin)))(x), -math.cos(x),
                            rel_tol=1e-12, abs_tol=1e-15)


def _f(x):
    return jnp.sin(x) * x ** 2


def _f_second(x):
    return -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)


def test_forward_over_reverse():
    x = 0.8
    _, hvp = trax.jvp(trax.grad(_f), (x,), (1.0,))
    assert math.isclose(hvp, _f_second(x), rel_tol=1e-12)


def test_reverse_over_forward():
    x = 0.8
    g = trax.grad(lambda x: trax.jvp(_f, (x,), (1.0,))[1])(x)
    assert math.isclose(g, _f_second(x), rel_tol=1e-12)


def test_hessian_and_jacobians_agree():
    def f(x):
        return jnp.sum(jnp.exp(x[:2]) * x[1:] ** 2)
    x = np.array([0.1, -0.3, 0.5])
    h = trax.hessian(f)(x)
    np.testing.assert_allclose(h, trax.jacrev(trax.jacfwd(f))(x), rtol=1e-12)
    np.testing.assert_allclose(h, h.T, rtol=1e-12)
    np.testing.assert_allclose(trax.jacfwd(trax.grad(f))(x), h, rtol=1e-12)


def test_vmap_of_grad_gives_per_example_gradients():
    w = np.array([1.0, -2.0])
    xs = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 1.0]])
    per_example = trax.vmap(trax.grad(lambda w, x: jnp.sum(w * x) ** 2), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(per_example, 2 * (xs @ w)[:, None] * xs)


def test_stop_gradient_blocks_derivatives():
    g = trax.grad(lambda x: x * lax.stop_gradient(x))(3.0)
    assert float(g) == 3.0


# ----------------------------------------------------------------------------
# Python control flow on concrete values under grad

def _doubling(b):
    while jnp.linalg.norm(b) < 1000:
        b = b * 2
    if jnp.sum(b) > 0:
        return b
    return 100 * b


def test_python_control_flow_under_grad():
    x = np.array([1.0, 2.0, 3.0])
    # norm(x) = 3.74: 9 doublings reach 1915.6; sum > 0 so b = 512 x
    jac = trax.jacrev(_doubling)(x)
    np.testing.assert_allclose(jac, 512 * np.eye(3))
    g = trax.grad(lambda x: jnp.sum(_doubling(x)))(-x)
    np.testing.assert_allclose(g, np.full(3, 51200.0))


def test_python_control_flow_under_jvp_and_vmap_of_concrete_values():
    _, t = trax.jvp(_doubling, (np.array([1.0, 2.0, 3.0]),), (np.ones(3),))
    np.testing.assert_allclose(t, np.full(3, 512.0))


# ----------------------------------------------------------------------------
# check_grads itself

def _custom_sin(second_derivative_sign):
    """A ``sin`` primitive whose first derivative is right (``cos``) but
    whose cos' derivative is ``sign * sin`` (-1 is correct)."""
    sin_p, cos_p = Primitive("test_sin"), Primitive("test_cos")
    for prim, fn in ((sin_p, np.sin), (cos_p, np.cos)):
        prim.impl = lambda x, fn=fn: fn(x)
        prim.abstract_eval = lambda x: x
    defjvp(sin_p, lambda g, x: lax.mul(g, cos_p.bind(x)))
    defjvp(cos_p, lambda g, x: lax.mul(g, lax.mul(sin_p.bind(x), second_derivative_sign)))
    return sin_p.bind


def test_check_grads_passes_on_correct_rules_over_pytrees():
    def f(p, x):
        return {"out": jnp.tanh(p["w"] @ x) * p["s"], "n": jnp.sum(x ** 2)}
    p = {"w": np.array([[0.2, -0.4], [0.3, 0.1]]), "s": np.array(1.5)}
    check_grads(f, (p, np.array([0.5, -1.0])), order=2)
    check_grads(_custom_sin(-1.0), (np.array([0.3, 1.2]),), order=3)


def test_check_grads_passes_in_float32_with_loose_default_tolerance():
    check_grads(lambda x: jnp.exp(x) * jnp.sin(x), (np.linspace(-1, 1, 4).astype(F32),),
                order=2)


def test_check_grads_finds_a_wrong_second_derivative_only_at_order_2():
    wrong = _custom_sin(1.0)
    x = (np.array([0.3, 1.2]),)
    check_grads(wrong, x, order=1)
    with pytest.raises(AssertionError, match=r"order 2 fwd check \(JVP of JVP\).*max abs error"):
        check_grads(wrong, x, order=2, modes=("fwd",))
    with pytest.raises(AssertionError, match=r"order 2 rev check \(VJP of VJP\)"):
        check_grads(wrong, x, order=2, modes=("rev",))


def test_check_grads_finds_a_wrong_first_derivative_in_each_mode():
    sin_p = Primitive("test_bad_sin")
    sin_p.impl, sin_p.abstract_eval = np.sin, (lambda x: x)
    defjvp(sin_p, lambda g, x: lax.mul(g, lax.sin(x)))   # should be cos
    for modes, msg in ((("fwd",), "order 1 fwd check"), (("rev",), "order 1 rev check")):
        with pytest.raises(AssertionError, match=msg):
            check_grads(sin_p.bind, (np.array([0.3, 1.2]),), order=1, modes=modes)


def test_check_grads_rejects_integer_arguments_and_bad_options():
    with pytest.raises(TypeError, match="floating point"):
        check_grads(lambda x: x * 2, (np.arange(3),), order=1)
    with pytest.raises(ValueError, match="order"):
        check_grads(jnp.sin, (1.0,), order=0)
    with pytest.raises(ValueError, match="modes"):
        check_grads(jnp.sin, (1.0,), order=1, modes=("backward",))


# ----------------------------------------------------------------------------
# errors

def test_if_on_a_tracer_names_the_user_line():
    def f(x):
        if x > 0:
            return x
        return -x
    with pytest.raises(TracerBoolConversionError) as info:
        trax.make_jaxpr(f)(1.0)
    assert _line_of(f, 1) in str(info.value)
    assert "lax.cond" in str(info.value) or "where" in str(info.value)


def test_float_and_int_of_a_tracer():
    def f(x):
        return float(x)
    with pytest.raises(ConcretizationTypeError) as info:
        trax.make_jaxpr(f)(1.0)
    assert _line_of(f, 1) in str(info.value)
    with pytest.raises(TracerIntegerConversionError):
        trax.make_jaxpr(lambda x: int(x))(1)
    with pytest.raises(TracerIntegerConversionError):
        trax.make_jaxpr(lambda n: list(range(n)))(3)


def test_float_of_a_concrete_value_under_grad_is_allowed():
    seen = []

    def f(x):
        seen.append(float(x))
        return x * 2.0
    assert float(trax.grad(f)(3.0)) == 2.0 and seen == [3.0]


def test_boolean_mask_indexing_of_a_tracer():
    def f(x):
        return x[x > 0]
    np.testing.assert_array_equal(f(np.array([1.0, -1.0, 2.0])), [1.0, 2.0])
    with pytest.raises(NonConcreteBooleanIndexError) as info:
        trax.make_jaxpr(f)(np.array([1.0, -1.0, 2.0]))
    assert _line_of(f, 1) in str(info.value)


def test_grad_of_a_non_scalar_output():
    with pytest.raises(TypeError, match=r"scalar.*f64\[3\]"):
        trax.grad(lambda x: x * 2.0)(np.ones(3))


def test_grad_with_respect_to_an_integer():
    with pytest.raises(TypeError, match="i64"):
        trax.grad(lambda x: x * 2.0)(3)
    with pytest.raises(TypeError, match="i32"):
        trax.grad(lambda x, n: x * n, argnums=1)(1.0, np.int32(3))


def test_leaked_tracer_used_in_a_later_transformation():
    leaked = []

    def f(x):
        leaked.append(x)
        return lax.sin(x)
    trax.grad(f)(1.0)
    with pytest.raises(UnexpectedTracerError, match="leaked"):
        trax.grad(lambda y: lax.mul(y, leaked[0]))(2.0)
    with pytest.raises(UnexpectedTracerError):
        trax.make_jaxpr(lambda y: lax.mul(y, leaked[0]))(2.0)


def test_leaked_tracer_used_eagerly():
    leaked = []

    def f(x):
        leaked.append(x)
        return x
    trax.make_jaxpr(f)(1.0)
    with pytest.raises(UnexpectedTracerError):
        lax.sin(leaked[0])


def test_lax_shape_and_dtype_errors_name_the_shapes():
    with pytest.raises(TraxTypeError, match=r"f64\[2,3\].*f64\[3,2\]"):
        lax.add(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(TraxTypeError, match=r"f32\[3\].*f64\[3\]"):
        lax.mul(np.ones(3, F32), np.ones(3))
    with pytest.raises(TraxTypeError, match=r"f64\[3\].*\(2, 2\)"):
        lax.reshape(np.ones(3), (2, 2))
    with pytest.raises(TraxTypeError, match="int"):
        lax.sin(np.ones(3, np.int32))
    # the same checks run while tracing, naming the user's line
    with pytest.raises(TraxTypeError, match="test_core.py"):
        trax.make_jaxpr(lambda x: lax.add(x, np.ones(2)))(np.ones(3))


def test_vmap_mismatched_batch_sizes_names_arguments_and_sizes():
    with pytest.raises(ValueError) as info:
        trax.vmap(lambda a, b: a + b)(np.ones((2, 3)), np.ones((3, 3)))
    msg = str(info.value)
    assert "size 2" in msg and "size 3" in msg
    assert "argument 0" in msg and "argument 1" in msg
    with pytest.raises(ValueError, match=r"size 4.*\['y'\]"):
        trax.vmap(lambda p: p["x"] + p["y"])({"x": np.ones(3), "y": np.ones(4)})


def test_vmap_in_axes_must_match_the_arguments():
    with pytest.raises(ValueError, match="in_axes"):
        trax.vmap(lambda a, b: a + b, in_axes=(0,))(np.ones(2), np.ones(2))
    with pytest.raises(ValueError, match="in_axes"):
        trax.vmap(lambda p: p["a"] + p["b"], in_axes=({"a": 0},))(
            {"a": np.ones(2), "b": np.ones(2)})
    with pytest.raises(ValueError, match="out of range"):
        trax.vmap(lambda a: a, in_axes=1)(np.ones(3))
    with pytest.raises(ValueError, match=r"out of range for argument 0\['x'\] of shape \(\)"):
        trax.vmap(lambda p: p["x"])({"x": 1.0})


def test_vmap_out_axes_none_for_a_batched_output():
    with pytest.raises(ValueError, match="out_axes"):
        trax.vmap(lambda a: a * 2.0, out_axes=None)(np.ones(3))
    # an unbatched output may use out_axes=None
    out = trax.vmap(lambda a, c: (a * 2.0, c), in_axes=(0, None), out_axes=(0, None))(
        np.ones(3), np.array(5.0))
    assert out[0].shape == (3,) and float(out[1]) == 5.0


def test_jvp_argument_errors():
    with pytest.raises(TypeError, match="structure"):
        trax.jvp(jnp.sin, (1.0,), (1.0, 2.0))
    with pytest.raises(TypeError, match="shapes and dtypes"):
        trax.jvp(jnp.sin, (np.ones(3),), (np.ones(2),))


def test_shape_from_a_traced_value_names_the_line_and_the_fix():
    with pytest.raises(trax.errors.TracerIntegerConversionError,
                       match=r"test_core.py:\d+.*static"):
        trax.jit(lambda n: jnp.zeros(n))(3)
