"""custom_jvp, custom_vjp and stop_gradient: the transformations use the
user's rule instead of the function's body, through grad, jvp, vmap, jit and
their compositions, with JAX's semantics as the reference."""
import functools

import numpy as np
import pytest

import trax
import trax.numpy as jnp

F32 = np.float32


# ----------------------------------------------------------------------------
# custom_jvp fixtures

@trax.custom_jvp
def sin_x100(x):
    """sin, but its derivative is declared as 100 * tangent (not cos)."""
    return jnp.sin(x)


@sin_x100.defjvp
def _sin_x100_jvp(primals, tangents):
    (x,), (tx,) = primals, tangents
    return sin_x100(x), 100.0 * tx


@trax.custom_jvp
def log1pexp(x):
    return jnp.log(1.0 + jnp.exp(x))


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (tx,) = primals, tangents
    # numerically stable: sigmoid(x), written with trax ops (so differentiable)
    return log1pexp(x), tx * (1.0 - 1.0 / (1.0 + jnp.exp(x)))


@trax.custom_jvp
def mul_rule(x, y):
    """x * y whose rule weights the two tangents differently."""
    return x * y


@mul_rule.defjvp
def _mul_rule_jvp(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return mul_rule(x, y), 10.0 * tx * y + 1000.0 * ty * x


# ----------------------------------------------------------------------------
# custom_jvp

def test_custom_jvp_value_is_the_body():
    x = np.linspace(-1, 1, 5).astype(F32)
    np.testing.assert_allclose(sin_x100(x), np.sin(x), rtol=1e-6)
    np.testing.assert_allclose(mul_rule(2.0, 3.0), 6.0)


def test_custom_jvp_grad_and_jvp_use_the_rule():
    assert float(trax.grad(sin_x100)(0.3)) == pytest.approx(100.0)
    p, t = trax.jvp(sin_x100, (F32(0.5),), (F32(2.0),))
    assert float(p) == pytest.approx(np.sin(0.5), rel=1e-6)
    assert float(t) == pytest.approx(200.0)
    assert float(trax.grad(mul_rule)(2.0, 3.0)) == pytest.approx(30.0)
    assert float(trax.grad(mul_rule, argnums=1)(2.0, 3.0)) == pytest.approx(2000.0)


def test_custom_jvp_numerically_stable_rule():
    # the body's own derivative, exp(x) / (1 + exp(x)), is inf/inf = nan here
    g = trax.grad(log1pexp)(F32(100.0))
    assert np.isfinite(g) and float(g) == pytest.approx(1.0)
    assert float(trax.grad(log1pexp)(0.0)) == pytest.approx(0.5)


def test_custom_jvp_second_order_through_rule_written_with_trax_ops():
    # d2/dx2 log1pexp = sigmoid'(x) = s(1 - s)
    for x in (0.0, 1.5, -2.0):
        s = 1 / (1 + np.exp(-x))
        assert float(trax.grad(trax.grad(log1pexp))(x)) == pytest.approx(s * (1 - s), rel=1e-10)
    h = trax.hessian(lambda v: jnp.sum(log1pexp(v)))(np.array([0.0, 1.0]))
    s = 1 / (1 + np.exp(-np.array([0.0, 1.0])))
    np.testing.assert_allclose(h, np.diag(s * (1 - s)), rtol=1e-10)


def test_custom_jvp_make_jaxpr_shows_the_call_and_its_body():
    text = str(trax.make_jaxpr(sin_x100)(F32(1.0)))
    assert "custom_jvp_call" in text
    assert "call_jaxpr=" in text and "d:f32[] = sin c" in text   # the sub-jaxpr, named on
    assert "jvp=" in text                              # the rule, as a param


def test_custom_jvp_vmap_values():
    x = np.linspace(0, 1, 4).astype(F32)
    np.testing.assert_allclose(trax.vmap(sin_x100)(x), np.sin(x), rtol=1e-6)
    np.testing.assert_allclose(trax.vmap(mul_rule, in_axes=(0, None))(x, F32(3.0)), 3 * x,
                               rtol=1e-6)


def test_custom_jvp_grad_of_vmap_and_vmap_of_grad_use_the_rule():
    x = np.linspace(0, 1, 3).astype(F32)
    g1 = trax.grad(lambda v: jnp.sum(trax.vmap(sin_x100)(v)))(x)
    g2 = trax.vmap(trax.grad(sin_x100))(x)
    np.testing.assert_allclose(g1, [100.0] * 3)
    np.testing.assert_allclose(g2, [100.0] * 3)
    xs = np.arange(3.0)
    gx, gy = trax.grad(lambda v, y: jnp.sum(trax.vmap(mul_rule, in_axes=(0, None))(v, y)),
                       argnums=(0, 1))(xs, 3.0)
    np.testing.assert_allclose(gx, [30.0] * 3)
    assert float(gy) == pytest.approx(1000.0 * xs.sum())
    gx, gy = trax.vmap(trax.grad(mul_rule, argnums=(0, 1)), in_axes=(0, None))(xs, 3.0)
    np.testing.assert_allclose(gx, [30.0] * 3)
    np.testing.assert_allclose(gy, 1000.0 * xs)


def test_custom_jvp_under_jit_agrees_with_eager():
    x = np.linspace(-2, 2, 5).astype(F32)
    np.testing.assert_allclose(trax.jit(log1pexp)(x), log1pexp(x), rtol=1e-6)
    np.testing.assert_allclose(trax.jit(sin_x100)(x), np.sin(x), rtol=1e-6)
    assert float(trax.jit(trax.grad(sin_x100))(F32(0.2))) == pytest.approx(100.0)
    assert float(trax.jit(trax.grad(log1pexp))(F32(100.0))) == pytest.approx(1.0)
    assert float(trax.grad(trax.jit(mul_rule))(2.0, 3.0)) == pytest.approx(30.0)
    np.testing.assert_allclose(trax.jit(trax.vmap(trax.grad(log1pexp)))(x),
                               trax.vmap(trax.grad(log1pexp))(x), rtol=1e-6)


def test_custom_jvp_nondiff_argnums_passes_the_static_value_first():
    seen = []

    @functools.partial(trax.custom_jvp, nondiff_argnums=(0,))
    def power(n, x):
        return x ** n

    @power.defjvp
    def power_jvp(n, primals, tangents):
        seen.append(n)
        (x,), (tx,) = primals, tangents
        return power(n, x), 7.0 * n * tx      # deliberately not n x^(n-1)

    assert float(power(3, 2.0)) == 8.0
    assert float(trax.grad(power, argnums=1)(3, 2.0)) == pytest.approx(21.0)
    assert float(trax.grad(lambda x: power(2, x))(5.0)) == pytest.approx(14.0)
    assert seen and all(type(n) is int for n in seen)   # a plain Python value
    assert float(trax.jit(trax.grad(lambda x: power(4, x)))(1.0)) == pytest.approx(28.0)


def test_custom_jvp_pytree_inputs_and_outputs():
    @trax.custom_jvp
    def f(d):
        return {"prod": d["x"] * d["y"], "sum": (d["x"] + d["y"],)}

    @f.defjvp
    def f_jvp(primals, tangents):
        (d,), (td,) = primals, tangents
        return f(d), {"prod": 2.0 * td["x"], "sum": (3.0 * td["y"],)}

    d = {"x": 1.5, "y": 2.0}
    out = f(d)
    assert float(out["prod"]) == 3.0 and float(out["sum"][0]) == 3.5
    g = trax.grad(lambda d: f(d)["prod"] + f(d)["sum"][0])(d)
    assert set(g) == {"x", "y"}
    assert float(g["x"]) == pytest.approx(2.0) and float(g["y"]) == pytest.approx(3.0)
    p, t = trax.jvp(f, (d,), ({"x": 1.0, "y": 1.0},))
    assert float(t["prod"]) == pytest.approx(2.0) and float(t["sum"][0]) == pytest.approx(3.0)


def test_custom_jvp_rule_with_wrong_structure_raises():
    @trax.custom_jvp
    def f(x):
        return jnp.sin(x), jnp.cos(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        return f(*primals), tangents[0]        # tangent should be a pair

    with pytest.raises(TypeError, match="structure"):
        trax.grad(lambda x: f(x)[0])(1.0)

    @trax.custom_jvp
    def g(x):
        return jnp.sin(x)

    @g.defjvp
    def g_jvp(primals, tangents):
        return g(*primals)                     # not a (primal, tangent) pair

    with pytest.raises(TypeError, match="pair"):
        trax.jvp(g, (np.ones(2),), (np.ones(2),))


def test_custom_jvp_rule_with_wrong_primal_shape_raises():
    @trax.custom_jvp
    def total(x):
        return jnp.sum(x)

    @total.defjvp
    def total_jvp(primals, tangents):
        return primals[0], tangents[0]          # shape (3,), not ()

    with pytest.raises(TypeError, match="shape"):
        trax.grad(total)(np.ones(3))


def test_custom_jvp_without_rule_raises():
    @trax.custom_jvp
    def f(x):
        return x * 2

    with pytest.raises(AttributeError, match="defjvp"):
        f(1.0)
    with pytest.raises(AttributeError, match="defjvp"):
        trax.grad(f)(1.0)


# ----------------------------------------------------------------------------
# custom_vjp fixtures

@trax.custom_vjp
def sin_mul(x, y):
    return jnp.sin(x) * y


def _sin_mul_fwd(x, y):
    return sin_mul(x, y), (jnp.cos(x), jnp.sin(x), y)


def _sin_mul_bwd(res, g):
    c, s, y = res
    return 100.0 * c * y * g, s * g        # x's cotangent scaled by 100


sin_mul.defvjp(_sin_mul_fwd, _sin_mul_bwd)


@trax.custom_vjp
def clip_gradient(x):
    return x


def _clip_fwd(x):
    return x, None


def _clip_bwd(_, g):
    return (jnp.clip(g, -1.0, 1.0),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def _bad_vjp(bwd):
    @trax.custom_vjp
    def f(x):
        return x * 2.0
    f.defvjp(lambda x: (f(x), None), bwd)
    return f


# ----------------------------------------------------------------------------
# custom_vjp

def test_custom_vjp_value_and_grad_use_bwd():
    x, y = F32(0.5), F32(2.0)
    assert float(sin_mul(x, y)) == pytest.approx(np.sin(0.5) * 2, rel=1e-6)
    gx, gy = trax.grad(sin_mul, argnums=(0, 1))(x, y)
    assert float(gx) == pytest.approx(100 * np.cos(0.5) * 2, rel=1e-6)
    assert float(gy) == pytest.approx(np.sin(0.5), rel=1e-6)
    out, vjp_fn = trax.vjp(sin_mul, x, y)
    ct = vjp_fn(F32(3.0))
    assert float(ct[0]) == pytest.approx(300 * np.cos(0.5) * 2, rel=1e-6)


def test_custom_vjp_make_jaxpr_shows_the_call():
    text = str(trax.make_jaxpr(sin_mul)(F32(1.0), F32(2.0)))
    assert "custom_vjp_call" in text and "= sin d" in text   # the sub-jaxpr, named on


def test_custom_vjp_nondiff_argnums():
    seen = []

    @functools.partial(trax.custom_vjp, nondiff_argnums=(0,))
    def scale(k, x):
        return k * x

    def scale_fwd(k, x):
        return scale(k, x), None

    def scale_bwd(k, res, g):
        seen.append(k)
        assert res is None
        return (10.0 * k * g,)

    scale.defvjp(scale_fwd, scale_bwd)
    assert float(scale(3.0, 2.0)) == 6.0
    assert float(trax.grad(scale, argnums=1)(3.0, 2.0)) == pytest.approx(30.0)
    assert float(trax.grad(lambda x: scale(2.0, x))(1.0)) == pytest.approx(20.0)
    assert seen == [3.0, 2.0]


def test_custom_vjp_pytree_args_and_residuals():
    @trax.custom_vjp
    def f(d, t):
        return {"o": d["a"] * t[0] + t[1]}

    def f_fwd(d, t):
        return f(d, t), {"a": d["a"], "t": t}      # residuals: a pytree

    def f_bwd(res, g):
        a, (t0, _) = res["a"], res["t"]
        return {"a": 10.0 * g["o"] * t0}, (g["o"] * a, 2.0 * g["o"])

    f.defvjp(f_fwd, f_bwd)
    assert float(f({"a": 2.0}, (3.0, 4.0))["o"]) == 10.0
    gd, gt = trax.grad(lambda d, t: f(d, t)["o"], argnums=(0, 1))({"a": 2.0}, (3.0, 4.0))
    assert float(gd["a"]) == pytest.approx(30.0)
    assert float(gt[0]) == pytest.approx(2.0) and float(gt[1]) == pytest.approx(2.0)


def test_custom_vjp_grad_of_vmap_uses_the_rule():
    xs = np.linspace(0, 1, 3).astype(F32)
    y = F32(2.0)
    gx, gy = trax.grad(lambda v, w: jnp.sum(trax.vmap(sin_mul, in_axes=(0, None))(v, w)),
                       argnums=(0, 1))(xs, y)
    np.testing.assert_allclose(gx, 200 * np.cos(xs), rtol=1e-5)
    # y is unbatched: its cotangent is summed over the batch
    assert float(gy) == pytest.approx(np.sin(xs).sum(), rel=1e-5)


def test_custom_vjp_vmap_of_grad_uses_the_rule():
    xs = np.linspace(0, 1, 3).astype(F32)
    gx, gy = trax.vmap(trax.grad(sin_mul, argnums=(0, 1)), in_axes=(0, None))(xs, F32(2.0))
    np.testing.assert_allclose(gx, 200 * np.cos(xs), rtol=1e-5)
    np.testing.assert_allclose(gy, np.sin(xs), rtol=1e-5)
    np.testing.assert_allclose(trax.vmap(sin_mul, in_axes=(None, 0))(F32(0.5), xs),
                               np.sin(0.5) * xs, rtol=1e-6)


def test_custom_vjp_under_jit_agrees_with_eager():
    x, y = F32(0.7), F32(-1.5)
    want = trax.grad(sin_mul, argnums=(0, 1))(x, y)
    got = trax.jit(trax.grad(sin_mul, argnums=(0, 1)))(x, y)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert float(trax.jit(sin_mul)(x, y)) == pytest.approx(float(sin_mul(x, y)), rel=1e-6)
    assert float(trax.grad(trax.jit(sin_mul))(x, y)) == pytest.approx(float(want[0]), rel=1e-6)


def test_custom_vjp_gradient_clipping():
    assert float(trax.grad(lambda x: 5.0 * clip_gradient(x))(2.0)) == 1.0
    assert float(trax.grad(lambda x: -5.0 * clip_gradient(x))(2.0)) == -1.0
    w = np.array([5.0, 0.5, -3.0])
    g = trax.grad(lambda x: jnp.sum(w * clip_gradient(x)))(np.ones(3))
    np.testing.assert_allclose(g, [1.0, 0.5, -1.0])
    np.testing.assert_allclose(trax.jit(trax.grad(lambda x: jnp.sum(w * clip_gradient(x))))(
        np.ones(3)), [1.0, 0.5, -1.0])
    # the forward value is untouched
    np.testing.assert_allclose(clip_gradient(np.arange(3.0)), np.arange(3.0))


def test_custom_vjp_bwd_returning_non_tuple_raises():
    f = _bad_vjp(lambda res, g: g)
    with pytest.raises(TypeError, match="must return a tuple"):
        trax.grad(f)(1.0)


def test_custom_vjp_bwd_returning_wrong_number_of_cotangents_raises():
    f = _bad_vjp(lambda res, g: (g, g))
    with pytest.raises(TypeError, match="structure"):
        trax.grad(f)(1.0)


def test_custom_vjp_bwd_returning_wrong_structure_raises():
    @trax.custom_vjp
    def f(d):
        return d["a"] + d["b"]
    f.defvjp(lambda d: (f(d), None), lambda res, g: ({"a": g},))   # "b" missing
    with pytest.raises(TypeError, match="structure"):
        trax.grad(f)({"a": 1.0, "b": 2.0})


def test_custom_vjp_bwd_returning_wrong_shape_raises():
    f = _bad_vjp(lambda res, g: (jnp.ones(3),))
    with pytest.raises(TypeError, match=r"shape \(3,\)"):
        trax.grad(f)(1.0)


def test_custom_vjp_forward_mode_raises_type_error():
    with pytest.raises(TypeError, match="custom_vjp"):
        trax.jvp(clip_gradient, (1.0,), (1.0,))
    with pytest.raises(TypeError, match="custom_vjp"):
        trax.jacfwd(clip_gradient)(np.ones(2))
    with pytest.raises(TypeError, match="custom_vjp"):
        trax.vmap(lambda x: trax.jvp(clip_gradient, (x,), (x,)))(np.ones(2))
    # reverse mode over the same function is fine
    np.testing.assert_allclose(trax.jacrev(clip_gradient)(np.ones(2)), np.eye(2))


def test_custom_vjp_forward_mode_under_jit_raises_type_error():
    with pytest.raises(TypeError, match="custom_vjp"):
        trax.jit(lambda x: trax.jvp(clip_gradient, (x,), (x,)))(1.0)


def test_custom_vjp_without_rule_raises():
    @trax.custom_vjp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="defvjp"):
        f(1.0)


# ----------------------------------------------------------------------------
# stop_gradient

def test_stop_gradient_has_zero_derivative():
    sg = trax.stop_gradient
    assert float(trax.grad(lambda x: sg(x) * 3.0 + x)(2.0)) == 1.0
    assert float(trax.grad(lambda x: jnp.sum(sg(jnp.sin(x))))(np.ones(3)).sum()) == 0.0
    p, t = trax.jvp(sg, (2.0,), (1.0,))
    assert float(p) == 2.0 and float(t) == 0.0


def test_grad_of_x_times_stop_gradient_x_is_x():
    f = lambda x: x * trax.stop_gradient(x)
    for x in (3.0, -1.25):
        assert float(trax.grad(f)(x)) == x
    assert float(trax.grad(trax.grad(lambda x: x ** 2 * trax.stop_gradient(x)))(3.0)) == 6.0


def test_stop_gradient_pytree():
    d = {"a": np.arange(3.0), "b": np.ones(3)}
    out = trax.stop_gradient(d)
    assert set(out) == {"a", "b"}
    np.testing.assert_array_equal(out["a"], d["a"])
    g = trax.grad(lambda d: jnp.sum(trax.stop_gradient(d)["a"] * d["b"])
                  + jnp.sum(trax.stop_gradient(d)["b"]))(d)
    np.testing.assert_array_equal(g["a"], np.zeros(3))
    np.testing.assert_array_equal(g["b"], np.arange(3.0))


def test_stop_gradient_under_jit_and_vmap():
    f = lambda x: x * trax.stop_gradient(x)
    xs = np.arange(4.0)
    assert float(trax.jit(trax.grad(f))(3.0)) == 3.0
    np.testing.assert_array_equal(trax.vmap(trax.grad(f))(xs), xs)
    np.testing.assert_array_equal(trax.jit(trax.vmap(trax.grad(f)))(xs), xs)
    np.testing.assert_array_equal(trax.vmap(trax.stop_gradient)(xs), xs)
    np.testing.assert_array_equal(trax.jit(trax.stop_gradient)(xs), xs)
    g = trax.grad(lambda x: jnp.sum(trax.vmap(trax.stop_gradient)(x) * x))(xs)
    np.testing.assert_array_equal(g, xs)
    assert "stop_gradient" in str(trax.make_jaxpr(trax.stop_gradient)(1.0))


# ----------------------------------------------------------------------------
# closing over values of an outer vmap / jit

def test_custom_rules_closing_over_outer_vmap_and_jit_values():
    def via_jvp(y):
        @trax.custom_jvp
        def f(x):
            return x * y

        f.defjvp(lambda p, t: (f(*p), 5.0 * y * t[0]))
        return trax.grad(f)(2.0)

    def via_vjp(y):
        @trax.custom_vjp
        def f(x):
            return x * y

        f.defvjp(lambda x: (f(x), None), lambda res, g: (5.0 * y * g,))
        return trax.grad(f)(2.0)

    for fn in (via_jvp, via_vjp):
        np.testing.assert_allclose(trax.vmap(fn)(np.arange(3.0)), [0.0, 5.0, 10.0])
        assert float(trax.jit(fn)(3.0)) == pytest.approx(15.0)


def test_closing_over_a_differentiated_value_is_a_clear_error():
    def outer(y):
        @trax.custom_jvp
        def f(x):
            return jnp.sin(x) * y

        @f.defjvp
        def f_jvp(primals, tangents):
            return f(primals[0]), tangents[0] * jnp.cos(primals[0]) * y
        return f(2.0)
    with pytest.raises(TypeError, match="closes over a value"):
        trax.grad(outer)(3.0)
