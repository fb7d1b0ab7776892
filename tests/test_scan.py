"""lax.scan and lax.map: eager against a Python loop, make_jaxpr, jvp, grad
(any order), vmap, closures, and the bad-input errors."""
import numpy as np
import pytest

import trax
import trax.numpy as jnp
from trax import lax
from trax.interpreters import ad
from trax.test_util import check_grads
from trax.tree_util import tree_map

RNG = np.random.default_rng(0)


def unrolled(f, init, xs, reverse=False):
    """scan's meaning as a Python loop (stacking ys as scan does)."""
    n = len(trax.tree_util.tree_leaves(xs)[0])
    carry, ys = init, [None] * n
    for i in (reversed(range(n)) if reverse else range(n)):
        carry, ys[i] = f(carry, tree_map(lambda x: x[i], xs))
    return carry, tree_map(lambda *y: jnp.stack(y), *ys)


def body(c, x):
    return jnp.sin(c) * x["a"] + c * x["b"], (jnp.cos(c) * x["a"], c)


def run_scan(init, a, b, reverse=False):
    c, (y1, y2) = lax.scan(body, init, {"a": a, "b": b}, reverse=reverse)
    return c * 2.0 + jnp.sum(y1) + jnp.sum(y2 * y2)


def run_loop(init, a, b, reverse=False):
    c, (y1, y2) = unrolled(body, init, {"a": a, "b": b}, reverse)
    return c * 2.0 + jnp.sum(y1) + jnp.sum(y2 * y2)


ARGS = (RNG.normal(size=3), RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3)))


def assert_close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- eager

@pytest.mark.parametrize("reverse", [False, True])
def test_eager_matches_loop_with_pytrees(reverse):
    xs = {"a": ARGS[1], "b": ARGS[2]}
    got = lax.scan(body, ARGS[0], xs, reverse=reverse)
    want = unrolled(body, ARGS[0], xs, reverse)
    tree_map(assert_close, got, want)


def test_xs_none_with_length_and_no_ys():
    c, ys = lax.scan(lambda c, x: (c * 2.0 + 1.0, None), np.float64(1.0), None, length=5)
    assert float(c) == 63.0 and ys is None


def test_length_zero_gives_init_and_empty_ys():
    c, ys = lax.scan(lambda c, x: (c + x, c * x), np.ones(2), np.zeros((0, 2)))
    assert_close(c, np.ones(2))
    assert ys.shape == (0, 2) and ys.dtype == np.float64


def test_map_applies_to_each_slice():
    xs = RNG.normal(size=(5, 3))
    out = lax.map(lambda x: (jnp.sum(x), x * 2.0), xs)
    assert_close(out[0], xs.sum(1))
    assert_close(out[1], xs * 2)


def test_weak_typed_init_takes_the_body_type():
    c, _ = lax.scan(lambda c, x: (c + x, None), 0, np.arange(4, dtype=np.float32))
    assert c.dtype == np.float32 and float(c) == 6.0


def test_unroll_does_not_change_results():
    xs = {"a": ARGS[1], "b": ARGS[2]}
    for unroll in (2, True):
        got = lax.scan(body, ARGS[0], xs, unroll=unroll)
        tree_map(assert_close, got, lax.scan(body, ARGS[0], xs))


# ---------------------------------------------------------------- jaxpr

def test_make_jaxpr_prints_one_scan_with_its_body():
    text = str(trax.make_jaxpr(run_scan)(*ARGS))
    assert text.count("scan[") == 1
    for part in ("length=4", "num_carry=1", "num_consts=0", "reverse=False", "unroll=1",
                 "linear=(False, False, False)", "sin", "cos"):
        assert part in text, part
    assert text.index("jaxpr=") < text.index("sin")     # the body is nested


def test_closed_over_arrays_become_consts_operands():
    w = RNG.normal(size=3)
    closed = trax.make_jaxpr(lambda c, xs: lax.scan(lambda c, x: (c * w + x, None), c, xs))(
        ARGS[0], ARGS[1])
    eqn, = [e for e in closed.eqns if e.primitive.name == "scan"]
    assert eqn.params["num_consts"] == 1 and eqn.params["jaxpr"].consts == []


# ---------------------------------------------------------------- derivatives

def test_jvp_matches_loop():
    tangents = tuple(RNG.normal(size=np.shape(a)) for a in ARGS)
    got = trax.jvp(run_scan, ARGS, tangents)
    want = trax.jvp(run_loop, ARGS, tangents)
    tree_map(assert_close, got, want)


@pytest.mark.parametrize("reverse", [False, True])
def test_grad_matches_loop(reverse):
    for argnum in range(3):
        got = trax.grad(lambda *a: jnp.sum(run_scan(*a, reverse=reverse)), argnum)(*ARGS)
        want = trax.grad(lambda *a: jnp.sum(run_loop(*a, reverse=reverse)), argnum)(*ARGS)
        assert_close(got, want)


def test_check_grads_order_2():
    check_grads(lambda *a: run_scan(*a), ARGS, order=2)
    check_grads(lambda *a: run_scan(*a, reverse=True), ARGS, order=2)


def test_hessian_and_jacfwd_of_jacrev_match_loop():
    f_scan = lambda b: jnp.sum(run_scan(ARGS[0], ARGS[1], b))    # noqa: E731
    f_loop = lambda b: jnp.sum(run_loop(ARGS[0], ARGS[1], b))    # noqa: E731
    b = ARGS[2][:, :1]
    assert_close(trax.hessian(f_scan)(b), trax.hessian(f_loop)(b))
    assert_close(trax.jacfwd(trax.jacrev(f_scan))(b), trax.jacfwd(trax.jacrev(f_loop))(b))
    assert_close(trax.grad(trax.grad(lambda s: f_scan(b * s)))(1.5),
                 trax.grad(trax.grad(lambda s: f_loop(b * s)))(1.5))


def test_grad_through_closed_over_value_and_integer_carry():
    xs = RNG.normal(size=(6, 2))

    def f(w, use_scan):
        def step(c, x):
            i, h = c
            return (i + 1, jnp.tanh(h * w + x)), h * i
        run = lax.scan if use_scan else unrolled
        (i, h), ys = run(step, (np.int64(0), np.zeros(2)), xs)
        return jnp.sum(h) + jnp.sum(ys)
    w = np.array([0.5, -0.3])
    assert_close(f(w, True), f(w, False))
    assert_close(trax.grad(f)(w, True), trax.grad(f)(w, False))
    check_grads(lambda w: f(w, True), (w,), order=2)


def test_linearized_scan_stacks_residuals_and_keeps_consts_unstacked():
    w = RNG.normal(size=(3, 3))
    xs = RNG.normal(size=(5, 3))
    f = lambda h: lax.scan(lambda h, x: (jnp.tanh(h @ w + x), None), h, xs)[0]  # noqa: E731
    _, jaxpr, consts = ad.linearize_flat(f, np.zeros(3))
    shapes = sorted(np.shape(c) for c in consts)
    assert (5, 3) in shapes and (3, 3) in shapes, shapes      # stacked per step; w once
    assert not any(s[:1] == (5,) and len(s) == 3 for s in shapes), shapes


def test_nested_scans_grad_order_2_and_vmap_of_grad():
    xs = RNG.normal(size=(3, 4))

    def f(w):
        def outer(c, row):
            c2, ys = lax.scan(lambda d, x: (jnp.sin(d * w + x), d), c, row)
            return c2, jnp.sum(ys)
        c, ys = lax.scan(outer, 0.1, xs)
        return c + jnp.sum(ys)
    check_grads(f, (0.7,), order=2)
    ws = np.array([0.3, 0.7])
    assert_close(trax.vmap(trax.grad(f))(ws), [trax.grad(f)(w) for w in ws])


# ---------------------------------------------------------------- vmap

def test_vmap_batched_init_xs_and_consts_match_loop():
    inits = RNG.normal(size=(2, 3))
    a = RNG.normal(size=(4, 2, 3))      # batched along axis 1
    got = trax.vmap(run_scan, (0, 1, None))(inits, a, ARGS[2])
    want = np.stack([run_loop(inits[k], a[:, k], ARGS[2]) for k in range(2)])
    assert_close(got, want)
    ws = RNG.normal(size=(2, 3))
    g = lambda w: lax.scan(lambda c, x: (c * w + x, c), ARGS[0], ARGS[1])  # noqa: E731
    got = trax.vmap(g)(ws)
    for k in range(2):
        want = unrolled(lambda c, x: (c * ws[k] + x, c), ARGS[0], ARGS[1])
        tree_map(lambda u, v: assert_close(u[k], v), got, want)


def test_vmap_carry_batched_inside_the_body_only():
    # the init is not batched but x is: the carry must be batched from the start
    def f(xs):
        return lax.scan(lambda c, x: (c + x, c * 2.0), np.zeros(3), xs)
    xs = RNG.normal(size=(2, 4, 3))
    c, ys = trax.vmap(f)(xs)
    for k in range(2):
        wc, wys = unrolled(lambda c, x: (c + x, c * 2.0), np.zeros(3), xs[k])
        assert_close(c[k], wc)
        assert_close(ys[k], wys)


def test_vmap_of_grad_and_grad_of_vmap():
    bs = RNG.normal(size=(2, 4, 3))
    f = lambda b: jnp.sum(run_scan(ARGS[0], ARGS[1], b))    # noqa: E731
    g = lambda b: jnp.sum(run_loop(ARGS[0], ARGS[1], b))    # noqa: E731
    assert_close(trax.vmap(trax.grad(f))(bs), trax.vmap(trax.grad(g))(bs))
    assert_close(trax.grad(lambda bs: jnp.sum(trax.vmap(f)(bs)))(bs),
                 trax.grad(lambda bs: jnp.sum(trax.vmap(g)(bs)))(bs))


# ---------------------------------------------------------------- errors

def test_carry_shape_change_names_both_types():
    with pytest.raises(TypeError, match=r"f64\[3\].*f64\[1,3\]"):
        lax.scan(lambda c, x: (c[None], x), np.zeros(3), np.zeros((2, 3)))


def test_carry_dtype_change_names_both_types():
    with pytest.raises(TypeError, match=r"i32\[\].*f64\[\]"):
        lax.scan(lambda c, x: (c * x, x), np.int32(1), np.zeros(2))


def test_carry_structure_change():
    with pytest.raises(TypeError, match="same pytree structure"):
        lax.scan(lambda c, x: ((c, c), x), np.zeros(3), np.zeros((2, 3)))


def test_xs_with_mismatched_leading_axes():
    with pytest.raises(TypeError, match=r"leading axis sizes.*f64\[2,3\].*f64\[4\]"):
        lax.scan(lambda c, x: (c, x), 0.0, (np.zeros((2, 3)), np.zeros(4)))


def test_length_that_disagrees_with_xs():
    with pytest.raises(TypeError, match="length 5 disagrees .* size 3"):
        lax.scan(lambda c, x: (c, x), 0.0, np.zeros(3), length=5)


def test_scalar_xs_and_missing_length():
    with pytest.raises(TypeError, match="no leading axis"):
        lax.scan(lambda c, x: (c, x), 0.0, np.float64(1.0))
    with pytest.raises(ValueError, match="length must be given"):
        lax.scan(lambda c, x: (c, x), 0.0, None)


def test_body_must_return_a_pair():
    with pytest.raises(TypeError, match="pair"):
        lax.scan(lambda c, x: c, 0.0, np.zeros(3))


def test_error_names_the_users_line():
    with pytest.raises(TypeError, match="test_scan.py"):
        lax.scan(lambda c, x: (c[None], x), np.zeros(3), np.zeros((2, 3)))


def test_abstract_eval_rejects_a_bad_bind():
    closed = trax.make_jaxpr(lambda c, xs: lax.scan(lambda c, x: (c + x, None), c, xs))(
        0.0, np.zeros(3))
    eqn, = closed.eqns[-1:]
    with pytest.raises(TypeError, match="leading axis of length 3"):
        lax.scan_p.bind(np.float64(0.0), np.zeros(4), **eqn.params)


# ---------------------------------------------------------------- jit

def test_jit_matches_eager_and_jit_of_grad():
    assert_close(trax.jit(run_scan)(*ARGS), run_scan(*ARGS))
    loss = lambda *args: jnp.sum(run_scan(*args))
    assert_close(trax.jit(trax.grad(loss, 2))(*ARGS), trax.grad(loss, 2)(*ARGS))
    assert_close(trax.jit(lambda *a: run_scan(*a, reverse=True))(*ARGS),
                 run_scan(*ARGS, reverse=True))


def test_disable_jit_gives_the_same_result():
    with trax.disable_jit():
        assert_close(trax.jit(run_scan)(*ARGS), run_scan(*ARGS))


# ---------------------------------------------------------------- examples/rnn.py

def _rnn_example():
    import os
    import runpy
    return runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "examples", "rnn.py"),
                          run_name="not_main")


def test_rnn_example_learns_eagerly():
    train, test, var = _rnn_example()["main"](steps=100, jit=False, log=False)
    assert test < 0.3 * var and train < 0.3 * var


def test_rnn_example_learns_under_jit():
    train, test, var = _rnn_example()["main"](steps=100, jit=True, log=False)
    assert test < 0.3 * var
