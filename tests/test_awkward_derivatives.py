"""Derivatives at the awkward points, where trax follows JAX's choices."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax


def test_max_min_ties_split_the_gradient():
    assert trax.grad(lambda x: jnp.maximum(x, 1.0))(1.0) == 0.5
    assert trax.grad(lambda x: jnp.minimum(x, 1.0))(1.0) == 0.5
    g = trax.grad(lambda x: jnp.max(x))(np.array([1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [0, 0.5, 0.5])


def test_abs_and_relu_at_zero_have_zero_gradient():
    assert trax.grad(jnp.abs)(0.0) == 0.0
    assert trax.grad(trax.nn.relu)(0.0) == 0.0
    assert trax.grad(trax.nn.relu)(2.0) == 1.0


def test_sqrt_at_zero_is_infinite_like_jax():
    assert np.isinf(trax.grad(jnp.sqrt)(0.0))


def test_integer_powers_at_zero():
    assert trax.grad(lambda x: x ** 0)(0.0) == 0.0
    assert trax.grad(lambda x: x ** 1)(0.0) == 1.0
    assert trax.grad(lambda x: x ** 2)(0.0) == 0.0
    assert trax.grad(lambda x: x ** 3)(-2.0) == 12.0
    assert trax.grad(trax.grad(lambda x: x ** 3))(0.0) == 0.0


def test_where_with_nan_in_the_unused_branch_and_the_double_where_idiom():
    x = np.array([-1.0, 4.0])
    naive = trax.grad(lambda x: jnp.sum(jnp.where(x > 0, jnp.sqrt(x), 0.0)))(x)
    assert np.isnan(naive[0]) and naive[1] == 0.25
    safe = trax.grad(lambda x: jnp.sum(
        jnp.where(x > 0, jnp.sqrt(jnp.where(x > 0, x, 1.0)), 0.0)))(x)
    np.testing.assert_allclose(safe, [0.0, 0.25])


def test_broadcasting_and_keepdims_gradients_sum_back():
    x = np.arange(6.0).reshape(2, 3)
    b = np.array([1.0, 2.0, 3.0])
    gx, gb = trax.grad(lambda x, b: jnp.sum((x + b) ** 2), argnums=(0, 1))(x, b)
    np.testing.assert_allclose(gb, np.sum(2 * (x + b), axis=0))
    g = trax.grad(lambda x: jnp.sum(x / jnp.sum(x, axis=1, keepdims=True)))(x + 1)
    np.testing.assert_allclose(g, np.zeros_like(x), atol=1e-12)


def test_gather_and_scatter_with_repeated_indices_accumulate():
    x = np.array([1.0, 2.0, 3.0])
    idx = np.array([0, 2, 0, 0])
    np.testing.assert_allclose(trax.grad(lambda x: jnp.sum(x[idx]))(x), [3.0, 0.0, 1.0])
    upd = np.array([1.0, 2.0, 3.0, 4.0])
    g = trax.grad(lambda u: jnp.sum(jnp.asarray(x).at[idx].add(u) ** 2))(upd)
    expected_x = x.copy()
    np.add.at(expected_x, idx, upd)
    np.testing.assert_allclose(g, 2 * expected_x[idx])


def test_dot_general_with_batch_dimensions():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 3, 5))
    f = lambda a, b: jnp.sum(jnp.sin(jnp.matmul(a, b)))
    ga, gb = trax.grad(f, argnums=(0, 1))(a, b)
    c = np.cos(a @ b)
    np.testing.assert_allclose(ga, c @ np.swapaxes(b, 1, 2))
    np.testing.assert_allclose(gb, np.swapaxes(a, 1, 2) @ c)
    trax.test_util.check_grads(lambda a, b: lax.dot_general(
        a, b, (((2,), (1,)), ((0,), (0,)))), (a, b), order=2)


def test_reverse_mode_is_one_backward_pass_whatever_the_input_size():
    """The program grad builds has the same equations for 10 and 1e6
    parameters: its cost grows with the work, not with the parameter count."""
    f = lambda w: jnp.sum(jnp.tanh(w) * w) / w.size
    sizes = [len(trax.make_jaxpr(trax.grad(f))(np.ones(n)).eqns) for n in (10, 1_000_000)]
    assert sizes[0] == sizes[1]
    g = trax.grad(f)(np.linspace(-1, 1, 1_000_000))
    assert g.shape == (1_000_000,)


def test_nested_grad_closure_counts_each_perturbation_once():
    f = lambda x: x * trax.grad(lambda y: x * y)(3.0)
    assert trax.grad(f)(2.0) == 4.0
    g = lambda x: trax.grad(lambda y: jnp.sin(x * y))(1.0)
    np.testing.assert_allclose(trax.grad(g)(0.5),
                               np.cos(0.5) - 0.5 * np.sin(0.5), rtol=1e-12)


@pytest.mark.parametrize("fn", [jnp.sin, jnp.tanh, trax.nn.sigmoid, trax.nn.softplus])
def test_fourth_derivatives_match_forward_over_reverse(fn):
    d4 = trax.grad(trax.grad(trax.grad(trax.grad(fn))))
    d4_mixed = trax.jacfwd(trax.jacrev(trax.jacfwd(trax.grad(fn))))
    np.testing.assert_allclose(d4(0.3), d4_mixed(0.3), rtol=1e-10)
