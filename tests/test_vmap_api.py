"""vmap's API: axes specs, compositions with other transformations, errors."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp

rng = np.random.default_rng(0)


def loop(f, *args, in_axes, out_axis=0):
    size = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)])
            for i in range(size)]
    return np.stack(outs, axis=out_axis)


def test_arguments_batched_along_different_and_negative_axes():
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    f = lambda a, b: jnp.sum(a) * b
    out = trax.vmap(f, in_axes=(-1, 1))(x, y)
    np.testing.assert_allclose(out, loop(f, x, y, in_axes=(1, 1)))


def test_out_axes_moves_the_batch_axis():
    x = rng.normal(size=(5, 2, 3))
    out = trax.vmap(lambda a: a * 2, out_axes=-1)(x)
    np.testing.assert_allclose(out, np.moveaxis(x * 2, 0, -1))


def test_pytree_in_axes_and_out_axes():
    params = {"w": rng.normal(size=(3,)), "b": 1.5}
    xs = rng.normal(size=(4, 3))
    f = lambda p, x: {"y": jnp.dot(p["w"], x) + p["b"], "w": p["w"]}
    out = trax.vmap(f, in_axes=({"w": None, "b": None}, 0),
                    out_axes={"y": 0, "w": None})(params, xs)
    np.testing.assert_allclose(out["y"], xs @ params["w"] + 1.5)
    np.testing.assert_allclose(out["w"], params["w"])


def test_keyword_arguments_pass_through_unbatched():
    xs = rng.normal(size=(4, 3))
    out = trax.vmap(lambda x, scale=1.0: x * scale)(xs, scale=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, xs * [1, 2, 3])


def test_unbatched_output_is_broadcast_and_axis_size():
    out = trax.vmap(lambda x: 3.0, axis_size=4, in_axes=None)(np.ones(2))
    np.testing.assert_allclose(out, [3.0] * 4)


def test_vmap_of_vmap_is_an_outer_product():
    a, b = rng.normal(size=3), rng.normal(size=4)
    out = trax.vmap(trax.vmap(lambda x, y: x * y, in_axes=(None, 0)), in_axes=(0, None))(a, b)
    np.testing.assert_allclose(out, np.outer(a, b))


def test_grad_of_vmap_and_vmap_of_grad():
    x = rng.normal(size=5)
    f = lambda x: jnp.sin(x) * x
    np.testing.assert_allclose(trax.grad(lambda x: jnp.sum(trax.vmap(f)(x)))(x),
                               np.sin(x) + x * np.cos(x))
    np.testing.assert_allclose(trax.vmap(trax.grad(f))(x), np.sin(x) + x * np.cos(x))


def test_jvp_of_vmap_and_vmap_of_jvp():
    x, t = rng.normal(size=5), rng.normal(size=5)
    _, tan = trax.jvp(trax.vmap(jnp.tanh), (x,), (t,))
    np.testing.assert_allclose(tan, (1 - np.tanh(x) ** 2) * t)
    _, tan2 = trax.vmap(lambda a, b: trax.jvp(jnp.tanh, (a,), (b,)))(x, t)
    np.testing.assert_allclose(tan2, tan)


def test_vmap_composes_with_jit_both_ways():
    x = rng.normal(size=(4, 3))
    f = lambda a: jnp.sum(jnp.exp(a) * a)
    want = np.sum(np.exp(x) * x, axis=1)
    np.testing.assert_allclose(trax.jit(trax.vmap(f))(x), want, rtol=1e-12)
    np.testing.assert_allclose(trax.vmap(trax.jit(f))(x), want, rtol=1e-12)
    np.testing.assert_allclose(trax.jit(trax.vmap(trax.grad(f)))(x),
                               np.exp(x) * (1 + x), rtol=1e-12)


def test_per_example_gradients_match_a_loop():
    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss = lambda p, x, y: jnp.sum((jnp.tanh(x @ p["w"] + p["b"]) - y) ** 2)
    batched = trax.vmap(trax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    for i in range(6):
        g = trax.grad(loss)(params, xs[i], ys[i])
        np.testing.assert_allclose(batched["w"][i], g["w"])
        np.testing.assert_allclose(batched["b"][i], g["b"])


def test_jacobians_use_one_batched_pass():
    f = lambda x: jnp.sin(x) * jnp.sum(x ** 2)
    x = rng.normal(size=4)
    text = str(trax.make_jaxpr(trax.jacfwd(f))(x))
    assert "f64[4,4]" in text        # the whole basis flows through at once
    np.testing.assert_allclose(trax.jacfwd(f)(x), trax.jacrev(f)(x), rtol=1e-12)


def test_out_axes_structure_must_match_the_outputs():
    with pytest.raises(ValueError, match="out_axes"):
        trax.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(np.ones(3))


def test_in_axes_out_of_range_names_the_argument():
    with pytest.raises(ValueError, match=r"argument 1.*shape \(3,\)"):
        trax.vmap(lambda a, b: a + b, in_axes=(0, 1))(np.ones(3), np.ones(3))
