"""trax.checkpoint / trax.remat: transparent eagerly and under jvp and vmap;
under reverse mode forward values are recomputed, not stored (counted as
the residuals of the linearized jaxpr)."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax
from trax.interpreters import ad
from trax.test_util import check_grads

RNG = np.random.default_rng(1)
W = RNG.normal(size=(3, 3))


def f(x):
    return jnp.sin(jnp.sin(jnp.sin(x)))


def mlp(x):
    return jnp.tanh(jnp.tanh(x @ W) @ W)


def residuals(fun, *args):
    """The values the linearized function keeps from the forward pass."""
    _, _, consts = ad.linearize_flat(fun, *args)
    return consts


def assert_close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


X = RNG.normal(size=(2, 3))


@pytest.mark.parametrize("wrap", [trax.checkpoint, trax.remat])
def test_transparent_eagerly_and_under_jvp_vmap_grad(wrap):
    g = wrap(f)
    assert_close(g(X), f(X))
    tree = trax.jvp(g, (X,), (X,)), trax.jvp(f, (X,), (X,))
    for a, b in zip(*tree):
        assert_close(a, b)
    assert_close(trax.vmap(g)(X), trax.vmap(f)(X))
    loss = lambda h: lambda x: jnp.sum(h(x))    # noqa: E731
    assert_close(trax.grad(loss(g))(X), trax.grad(loss(f))(X))
    assert_close(trax.grad(loss(wrap(mlp)))(X), trax.grad(loss(mlp))(X))


def test_check_grads_order_2_both_policies():
    check_grads(trax.checkpoint(f), (X,), order=2)
    check_grads(trax.checkpoint(mlp), (X,), order=2)
    check_grads(trax.checkpoint(mlp, policy=trax.checkpoint_policies.dots_saveable), (X,),
                order=2)


def test_reverse_mode_saves_only_the_inputs():
    assert len(residuals(f, X)) == 3                     # cos of each sin's input
    saved = residuals(trax.checkpoint(f), X)
    assert len(saved) == 1 and saved[0].shape == X.shape


def test_dots_policy_saves_the_matrix_products():
    x = RNG.normal(size=(1, 3))
    nothing = residuals(trax.checkpoint(mlp), x)
    dots = residuals(trax.checkpoint(mlp, policy="dots"), x)
    assert len(dots) == len(nothing) + 2                 # x @ W and tanh(.) @ W
    assert sorted(np.shape(d) for d in dots).count((1, 3)) == 3


def test_vjp_jaxpr_recomputes_in_the_backward_pass():
    jaxpr = trax.make_jaxpr(lambda x: trax.vjp(trax.checkpoint(f), x)[1](x))(X)
    outer = [e.primitive.name for e in jaxpr.eqns]
    assert outer.count("sin") == 3 and "cos" not in outer   # the forward pass
    eqn, = [e for e in jaxpr.eqns if e.primitive.name == "checkpoint"]
    inner = [e.primitive.name for e in eqn.params["jaxpr"].eqns]
    assert inner.count("cos") == 3 and inner.count("sin") >= 2
    assert "policy=None" in str(jaxpr)


def test_closure_over_a_traced_value():
    def loss(w):
        g = trax.checkpoint(lambda x: jnp.sin(x * w))
        return jnp.sum(g(X))
    w = np.float64(0.7)
    assert_close(trax.grad(loss)(w), np.sum(np.cos(X * w) * X))


def test_checkpointed_scan_body_grad():
    xs = RNG.normal(size=(4, 3))

    def run(h0, step):
        return jnp.sum(lax.scan(lambda h, x: (step(h, x), None), h0, xs)[0])
    step = lambda h, x: jnp.tanh(h @ W + x)    # noqa: E731
    h0 = RNG.normal(size=3)
    assert_close(trax.grad(run)(h0, trax.checkpoint(step)), trax.grad(run)(h0, step))


def test_bad_policy():
    with pytest.raises(ValueError, match="unknown policy"):
        trax.checkpoint(f, policy="everything")


def test_jit_of_grad_matches_grad():
    loss = lambda x: jnp.sum(trax.checkpoint(f)(x))    # noqa: E731
    assert_close(trax.jit(trax.grad(loss))(X), trax.grad(loss)(X))


def test_memory_kept_for_the_backward_pass():
    """The bytes a vjp keeps alive between its forward and backward passes:
    every intermediate of a chain of sines without checkpoint, about the
    input alone with it."""
    import gc
    import tracemalloc

    def chain(x):
        for _ in range(8):
            x = jnp.sin(x)
        return x

    x = np.linspace(0.0, 1.0, 1 << 18)          # 2 MiB

    def kept(fun):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        out, f_vjp = trax.vjp(fun, x)
        del out
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        g, = f_vjp(np.ones_like(x))
        assert_close(g, trax.vjp(chain, x)[1](np.ones_like(x))[0])
        return held

    plain, remat = kept(chain), kept(trax.checkpoint(chain))
    assert plain > 7 * x.nbytes               # the cosines of eight steps
    assert remat < 2 * x.nbytes               # (x itself is the caller's)
