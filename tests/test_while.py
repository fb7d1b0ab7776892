"""lax.while_loop and lax.fori_loop: eager, make_jaxpr, jvp, vmap, jit, the
reverse-mode error and the bad-input errors.

CASES is this file's op table: each row is a function of float arrays
built on a loop, and a NumPy reference written as a plain Python loop.
"""
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import trax
import trax.numpy as jnp
from trax import lax
from trax.errors import TraxTypeError
from trax.test_util import check_grads



# ----------------------------------------------------------------------------
# the table


def _newton_sqrt(a):
    def body(c):
        x, _ = c
        nxt = 0.5 * (x + a / x)
        return nxt, x
    def cond(c):
        x, prev = c
        return jnp.any(jnp.abs(x - prev) > 1e-12 * jnp.abs(x))
    return lax.while_loop(cond, body, (a, a + 1.0))[0]


def _newton_sqrt_ref(a):
    x, prev = a.copy(), a + 1.0
    while np.any(np.abs(x - prev) > 1e-12 * np.abs(x)):
        x, prev = 0.5 * (x + a / x), x
    return x


def _doubling(x):
    """Doubles x until its sum exceeds 10: the trip count depends on x."""
    return lax.while_loop(lambda y: jnp.sum(y) < 10.0, lambda y: y * 2.0, x)


def _doubling_ref(x):
    while np.sum(x) < 10.0:
        x = x * 2.0
    return x


def _poly_fori(x):
    """Horner's rule over a closed-over coefficient array, with the index."""
    coeffs = jnp.array([0.5, -1.0, 2.0, 0.25])
    return lax.fori_loop(0, 4, lambda i, acc: acc * x + coeffs[i], jnp.zeros_like(x))


def _poly_fori_ref(x):
    acc = np.zeros_like(x)
    for c in [0.5, -1.0, 2.0, 0.25]:
        acc = acc * x + c
    return acc


def _pytree_carry(x, w):
    """A dict carry with an integer counter, closing over ``w``."""
    def body(c):
        return {"n": c["n"] + 1, "h": jnp.tanh(c["h"] * w + 0.1)}
    return lax.while_loop(lambda c: c["n"] < 3, body, {"n": 0, "h": x})["h"]


def _pytree_carry_ref(x, w):
    h = x
    for _ in range(3):
        h = np.tanh(h * w + 0.1)
    return h


@dataclass
class Row:
    name: str
    fn: object
    ref: object
    shapes: tuple
    lo: float = -1.0
    hi: float = 1.0
    grad_tol: float = None

    def args(self, dtype=np.float64, batch=()):
        rng = np.random.default_rng(len(self.name))
        return [rng.uniform(self.lo, self.hi, batch + s).astype(dtype) for s in self.shapes]


CASES = [
    Row("newton_sqrt", _newton_sqrt, _newton_sqrt_ref, ((4,),), 0.5, 4.0),
    Row("doubling", _doubling, _doubling_ref, ((3,),), 0.2, 1.0),
    Row("poly_fori", _poly_fori, _poly_fori_ref, ((5,),)),
    Row("pytree_carry", _pytree_carry, _pytree_carry_ref, ((3,), ())),
]
ROWS = pytest.mark.parametrize("row", CASES, ids=lambda r: r.name)


@ROWS
def test_eager_matches_python_loop(row):
    args = row.args()
    np.testing.assert_allclose(row.fn(*args), row.ref(*args), rtol=1e-12)


@ROWS
def test_forward_mode_matches_finite_differences_to_order_2(row):
    check_grads(row.fn, tuple(row.args()), order=2, modes=("fwd",))


@ROWS
def test_vmap_matches_a_loop_over_members(row):
    args = row.args(batch=(3,))
    out = trax.vmap(row.fn)(*args)
    for k in range(3):
        np.testing.assert_allclose(out[k], row.ref(*[a[k] for a in args]), rtol=1e-12)


@ROWS
def test_disable_jit_changes_nothing(row):
    args = row.args()
    with trax.disable_jit():
        np.testing.assert_array_equal(row.fn(*args), row.fn(*args))
        np.testing.assert_array_equal(trax.jit(row.fn)(*args), row.fn(*args))


@ROWS
def test_jit_matches_eager(row):
    args = row.args()
    np.testing.assert_allclose(trax.jit(row.fn)(*args), row.fn(*args), rtol=1e-12)


@ROWS
def test_jit_of_jvp_matches_jvp(row):
    args = row.args()
    tangents = [np.ones_like(a) for a in args]
    f = lambda *a: trax.jvp(row.fn, a, tangents)[1]
    np.testing.assert_allclose(trax.jit(f)(*args), f(*args), rtol=1e-10)


# ----------------------------------------------------------------------------
# eager semantics


def test_while_loop_counts_and_keeps_dtypes():
    out = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2),
                         (np.int32(0), np.float32(1.5)))
    assert int(out[0]) == 5 and out[0].dtype == np.int32
    assert float(out[1]) == 1.5 * 32 and out[1].dtype == np.float32


def test_while_loop_whose_predicate_starts_false_returns_init():
    x = np.arange(3.0)
    np.testing.assert_array_equal(lax.while_loop(lambda x: False, lambda x: x + 1, x), x)


def test_fori_loop_bounds():
    body = lambda i, acc: acc + i
    assert int(lax.fori_loop(2, 6, body, 0)) == 2 + 3 + 4 + 5
    assert int(lax.fori_loop(5, 2, body, 7)) == 7      # no iterations
    assert int(lax.fori_loop(np.int32(1), 4, body, np.int32(0))) == 6


def test_fori_loop_counter_keeps_float_carry_dtype():
    # a Python-int counter is weakly typed: adding it keeps float32
    out = lax.fori_loop(0, 3, lambda i, x: x + i, np.zeros(2, np.float32))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [3.0, 3.0])


def test_fori_loop_with_traced_bounds():
    f = lambda n, x: lax.fori_loop(0, n, lambda i, x: x * 2.0, x)
    assert float(f(np.int64(4), 1.0)) == 16.0
    assert "while[" in str(trax.make_jaxpr(f)(np.int64(4), 1.0))


def test_weakly_typed_init_takes_the_body_dtype():
    w = np.float32(0.5)
    out = lax.while_loop(lambda x: x > 0.1, lambda x: x * w, 1.0)
    assert out.dtype == np.float32
    assert float(out) == pytest.approx(0.0625)
    out = lax.while_loop(lambda x: x < 3, lambda x: x + np.float32(1.5), 0)
    assert out.dtype == np.float32 and float(out) == 3.0


def test_nested_loops():
    def f(x):
        inner = lambda i, y: lax.fori_loop(0, i, lambda j, z: z + x, y)
        return lax.fori_loop(0, 4, inner, 0.0)   # sum of i*x for i < 4
    assert float(f(2.0)) == 12.0
    assert float(trax.jvp(f, (2.0,), (1.0,))[1]) == 6.0
    np.testing.assert_allclose(trax.vmap(f)(np.array([1.0, 2.0])), [6.0, 12.0])


def test_the_carry_is_not_aliased_to_the_callers_array():
    x = np.ones(3)
    lax.fori_loop(0, 3, lambda i, y: y * 2.0, x)
    np.testing.assert_array_equal(x, np.ones(3))


# ----------------------------------------------------------------------------
# make_jaxpr


def test_make_jaxpr_prints_the_while_like_jax():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * x), (0, x))
    text = str(trax.make_jaxpr(f)(2.0))
    head = text[text.index("while["):]
    for param in ("body_jaxpr=", "body_nconsts=1", "cond_jaxpr=", "cond_nconsts=0"):
        assert param in head
    order = [head.index(p) for p in ("body_jaxpr=", "body_nconsts", "cond_jaxpr=",
                                     "cond_nconsts")]
    assert order == sorted(order)
    assert "lt" in text and "mul" in text


def test_closed_over_outer_tracers_become_operands():
    # x is a tracer of make_jaxpr's trace: it must be an operand of the
    # while, not a constant of its sub-jaxprs
    def f(x):
        return lax.while_loop(lambda y: y < x, lambda y: y + x, 0.0)
    closed = trax.make_jaxpr(f)(3.0)
    eqn, = closed.eqns
    assert eqn.params["cond_nconsts"] == 1 and eqn.params["body_nconsts"] == 1
    for name in ("cond_jaxpr", "body_jaxpr"):
        assert not any(isinstance(c, trax.core.Tracer) for c in eqn.params[name].consts)


def test_jvp_carries_only_the_tangents_that_can_be_nonzero():
    # the integer counter gets no tangent carry; the float carry does
    f = lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x),
                                 (0, 1.0))[1]
    eqn = next(e for e in trax.make_jaxpr(lambda x: trax.jvp(f, (x,), (1.0,)))(2.0).eqns
               if e.primitive.name == "while")
    body = eqn.params["body_jaxpr"]
    assert [a.dtype.kind for a in body.out_avals] == ["i", "f", "f"]
    assert [a.dtype.kind for a in eqn.params["cond_jaxpr"].in_avals] == ["i", "f", "f"]


# ----------------------------------------------------------------------------
# forward mode


def test_jvp_of_a_function_closing_over_its_argument():
    f = lambda x: lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] * x),
                                 (0, 1.0))[1]
    y, t = trax.jvp(f, (1.5,), (1.0,))
    assert float(y) == pytest.approx(1.5 ** 4)
    assert float(t) == pytest.approx(4 * 1.5 ** 3)


def test_jvp_with_a_tangent_only_in_the_cond_consts():
    # the trip count depends on x, but the value returned does not
    f = lambda x: lax.while_loop(lambda y: y < x, lambda y: y + 1.0, 0.0)
    y, t = trax.jvp(f, (3.5,), (1.0,))
    assert float(y) == 4.0 and float(t) == 0.0


def test_jacfwd_and_vmap_of_jvp():
    f = lambda x: lax.fori_loop(0, 3, lambda i, y: jnp.sin(y) * x, x)
    x = np.array([0.3, -0.7, 1.1])
    jac = trax.jacfwd(f)(x)
    eps = 1e-6
    num = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(3)], 1)
    np.testing.assert_allclose(jac, num, atol=1e-7)
    per_member = trax.vmap(lambda v: trax.jvp(f, (x,), (v,))[1])(np.eye(3))
    np.testing.assert_allclose(per_member.T, jac, atol=1e-12)



def test_jvp_and_vmap_compose_with_a_batched_predicate():
    def f(n, x):
        body = lambda c: (c[0] + 1, jnp.sin(c[1]) * x)
        return lax.while_loop(lambda c: c[0] < n, body, (0, x))[1]
    n, x = np.array([0, 2, 5]), np.array([0.3, 0.5, 0.7])
    _, jvp_of_vmap = trax.jvp(lambda x: trax.vmap(f)(n, x), (x,), (np.ones(3),))
    vmap_of_jvp = trax.vmap(lambda n, x: trax.jvp(lambda x: f(n, x), (x,), (1.0,))[1])(n, x)
    eps = 1e-6
    numeric = [(f(k, v + eps) - f(k, v - eps)) / (2 * eps) for k, v in zip(n, x)]
    np.testing.assert_allclose(jvp_of_vmap, numeric, rtol=1e-7)
    np.testing.assert_allclose(vmap_of_jvp, jvp_of_vmap, rtol=1e-12)


# ----------------------------------------------------------------------------
# reverse mode


def test_reverse_mode_raises_jaxs_error():
    f = lambda x: lax.while_loop(lambda y: y < 10.0, lambda y: y * x, 1.0)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for "
                                        "lax.while_loop or lax.fori_loop with dynamic "
                                        r"start/stop values. Try using lax.scan"):
        trax.grad(f)(2.0)
    g = trax.jit(lambda n, x: lax.fori_loop(0, n, lambda i, y: y * x, 1.0))
    with pytest.raises(ValueError, match="Reverse-mode differentiation"):
        trax.grad(lambda x: g(np.int64(3), x))(2.0)         # n traced: a while loop


def test_grad_of_a_loop_not_depending_on_the_input_works():
    f = lambda x: x * lax.fori_loop(0, 3, lambda i, y: y * 2.0, 1.0)
    assert float(trax.grad(f)(1.0)) == 8.0
    # the trip count depends on x, the carries do not: no tangent is carried
    g = lambda x: lax.while_loop(lambda y: y < x, lambda y: y + 1.0, 0.0)
    assert float(trax.grad(g)(3.5)) == 0.0


def test_grad_of_fori_loop_with_static_bounds():
    check_grads(_poly_fori, (np.linspace(-1, 1, 5),), order=2)


# ----------------------------------------------------------------------------
# vmap


def test_batched_predicate_holds_finished_members_fixed():
    # member k runs n[k] iterations; the others go on until the last is done
    def f(n, x):
        return lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0 + 1.0),
                              (0, x))
    n = np.array([0, 3, 1, 5])
    x = np.array([1.0, 2.0, 3.0, 4.0])
    counts, vals = trax.vmap(f)(n, x)
    np.testing.assert_array_equal(counts, n)
    np.testing.assert_array_equal(vals, [f(k, v)[1] for k, v in zip(n, x)])


def test_unbatched_predicate_batches_only_the_body():
    f = lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * x),
                                 (0, x))[1]
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(trax.vmap(f)(x), x ** 4)
    closed = trax.make_jaxpr(trax.vmap(f))(x)
    eqn = next(e for e in closed.eqns if e.primitive.name == "while")
    # the counter stays unbatched: no masking select in the body
    assert eqn.params["cond_jaxpr"].out_avals[0].shape == ()
    assert all(e.primitive.name != "select_n" for e in eqn.params["body_jaxpr"].eqns)


def test_vmap_with_in_axes_and_a_batched_const_only_in_cond():
    def f(limit, x):
        return lax.while_loop(lambda y: jnp.sum(y) < limit, lambda y: y + 1.0, x)
    x = np.zeros((2, 3))        # batched along axis 1
    limits = np.array([1.0, 4.0, 7.0])
    out = trax.vmap(f, in_axes=(0, 1))(limits, x)
    np.testing.assert_array_equal(out, [f(l, x[:, k]) for k, l in enumerate(limits)])


def test_vmap_of_vmap_with_differing_trip_counts():
    f = lambda n: lax.fori_loop(0, n, lambda i, acc: acc + i, 0)
    n = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(trax.vmap(trax.vmap(f))(n), n * (n - 1) // 2)



@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-2, 6), min_size=1, max_size=5),
       st.floats(-2.0, 2.0), st.integers(0, 3))
def test_vmap_over_random_trip_counts_matches_a_loop(counts, x0, start):
    def f(n, x):
        return lax.fori_loop(start, n, lambda i, y: jnp.cos(y) + i, x)
    n = np.array(counts)
    xs = x0 + np.arange(len(counts), dtype=np.float64)
    expected = []
    for k, x in zip(n, xs):
        for i in range(start, k):
            x = np.cos(x) + i
        expected.append(x)
    np.testing.assert_allclose(trax.vmap(f)(n, xs), expected, rtol=1e-12)


# ----------------------------------------------------------------------------
# bad input


def test_carry_whose_shape_changes_names_both_types():
    with pytest.raises(TraxTypeError, match=r"f64\[3\] in init_val but body_fun returns "
                                            r"f64\[4\] \(the shape changed\).*test_while"):
        lax.while_loop(lambda x: True, lambda x: jnp.concatenate([x, x[:1]]), np.zeros(3))


def test_carry_whose_dtype_changes_names_both_types():
    with pytest.raises(TraxTypeError, match=r"i32\[\] in init_val but body_fun returns "
                                            r"f64\[\] \(the dtype changed\)"):
        lax.while_loop(lambda x: x < 3, lambda x: x * 1.5, np.int32(0))
    with pytest.raises(TraxTypeError, match=r"f32\[2\].* f64\[2\]"):      # static: a scan
        lax.fori_loop(0, 2, lambda i, x: x + np.ones(2), np.zeros(2, np.float32))


def test_carry_whose_structure_changes():
    with pytest.raises(TraxTypeError, match="body_fun must return a value of the "
                                            "structure of the carry"):
        lax.while_loop(lambda c: True, lambda c: (c[0], c[1], c[0]), (1.0, 2.0))


@pytest.mark.parametrize("cond, got", [
    (lambda x: x, r"\[f64\[2\]\]"),
    (lambda x: x[0], r"\[f64\[\]\]"),
    (lambda x: x > 0, r"\[bool\[2\]\]"),
    (lambda x: (x[0] > 0, x[1] > 0), r"\[bool\[\], bool\[\]\]"),
])
def test_predicate_that_is_not_a_boolean_scalar(cond, got):
    with pytest.raises(TraxTypeError, match="cond_fun must return a boolean scalar, but "
                                            "got output type" + r"\(s\) " + got):
        lax.while_loop(cond, lambda x: x, np.ones(2))


def test_fori_loop_bad_bounds_and_unroll():
    body = lambda i, x: x
    with pytest.raises(TraxTypeError, match=r"lower must be an integer scalar, got f64\[\]"):
        lax.fori_loop(0.0, 3, body, 1.0)
    with pytest.raises(TraxTypeError, match=r"upper must be an integer scalar, got i64\[2\]"):
        lax.fori_loop(0, np.array([1, 2]), body, 1.0)
    with pytest.raises(ValueError, match="unroll must be a positive int"):
        lax.fori_loop(0, 3, body, 1.0, unroll=0)
    with pytest.raises(ValueError, match="unroll needs loop bounds known at trace time"):
        trax.make_jaxpr(lambda n: lax.fori_loop(0, n, body, 1.0, unroll=2))(np.int64(3))
    assert float(lax.fori_loop(0, 3, lambda i, x: x + 1.0, 0.0, unroll=2)) == 3.0


def test_functions_that_are_not_callable():
    with pytest.raises(TypeError, match="cond_fun and body_fun must be callable"):
        lax.while_loop(True, lambda x: x, 1.0)
    with pytest.raises(TypeError, match="body_fun must be callable"):
        lax.fori_loop(0, 1, None, 1.0)


# ----------------------------------------------------------------------------
# examples/newton.py


def _newton_example():
    import os
    import runpy
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "newton.py")
    return runpy.run_path(path, run_name="not_main")


def test_newton_example_finds_roots_and_their_derivative(capsys):
    a, root, droot = _newton_example()["main"](use_jit=False)
    np.testing.assert_allclose(root, np.sqrt(a), rtol=1e-6)
    np.testing.assert_allclose(droot, 0.5 / np.sqrt(a), rtol=1e-5)
    assert "square roots" in capsys.readouterr().out


def test_newton_example_under_jit():
    a, root, _ = _newton_example()["main"](use_jit=True)
    np.testing.assert_allclose(root, np.sqrt(a), rtol=1e-6)


def test_linearize_through_a_while_loop_works_and_only_transposing_fails():
    f = lambda x: lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] * x),
                                 (0, 1.0))[1]
    y, f_lin = trax.linearize(f, 1.5)
    assert float(y) == pytest.approx(1.5 ** 4)
    assert float(f_lin(2.0)) == pytest.approx(2.0 * 4 * 1.5 ** 3)
    assert float(f_lin(1.0)) == pytest.approx(float(trax.jvp(f, (1.5,), (1.0,))[1]))
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        trax.vjp(f, 1.5)[1](1.0)
