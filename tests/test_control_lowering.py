"""Native lowering of control flow (trax/compiler/lower/control.py): cond,
while and scan compiled to branches and loops calling their sub-jaxprs'
entries, checked against eager evaluation.

The primitives come from trax.lax.control_flow; until that lands in this
branch, test-only stand-ins with the same names, operand order and params
(/work/prompts/cf-contract.md) take their place: they are created only when
no primitive of that name exists, so these tests use the real ones once
merged."""
import os
import sys

import numpy as np
import pytest
from child import run_python

import trax
from trax import core, lax
from trax.compiler import compile_jaxpr
from trax.core import ShapedArray, get_aval
from trax.interpreters.partial_eval import trace_to_jaxpr


def _primitive(name, impl, abstract_eval):
    prim = core.registered_primitives().get(name)
    if prim is None:
        prim = core.Primitive(name, multiple_results=True)
        prim.impl, prim.abstract_eval = impl, abstract_eval
    return prim


def _cond_impl(index, *ops, branches):
    return branches[int(np.clip(index, 0, len(branches) - 1))](*ops)


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cc, bc = args[:cond_nconsts], args[cond_nconsts:cond_nconsts + body_nconsts]
    carry = list(args[cond_nconsts + body_nconsts:])
    while cond_jaxpr(*cc, *carry)[0]:
        carry = body_jaxpr(*bc, *carry)
    return carry


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll=1, linear=None):
    consts, carry = args[:num_consts], list(args[num_consts:num_consts + num_carry])
    xs = args[num_consts + num_carry:]
    ys = [[] for _ in jaxpr.out_avals[num_carry:]]
    for t in (reversed(range(length)) if reverse else range(length)):
        outs = jaxpr(*consts, *carry, *[x[t] for x in xs])
        carry = outs[:num_carry]
        for y, out in zip(ys, outs[num_carry:]):
            y.append(np.asarray(out))
    if reverse:
        ys = [y[::-1] for y in ys]
    stacked = [np.stack(y) if y else np.empty((0, *a.shape), a.dtype)
               for y, a in zip(ys, jaxpr.out_avals[num_carry:])]
    return [*carry, *stacked]


def _scan_avals(*avals, jaxpr, length, num_carry, **_):
    outs = jaxpr.out_avals
    return [*outs[:num_carry],
            *[ShapedArray((length, *a.shape), a.dtype) for a in outs[num_carry:]]]


cond_p = _primitive("cond", _cond_impl, lambda *a, branches: list(branches[0].out_avals))
while_p = _primitive("while", _while_impl, lambda *a, body_jaxpr, **_: list(body_jaxpr.out_avals))
scan_p = _primitive("scan", _scan_impl, _scan_avals)
checkpoint_p = _primitive("checkpoint", lambda *a, jaxpr, **_: jaxpr(*a),
                          lambda *a, jaxpr, **_: list(jaxpr.out_avals))


def _avals(xs):
    return [get_aval(x) for x in xs]


def _traced(f, avals):
    """``(ClosedJaxpr, tracers)``: f traced, the tracers it closes over
    turned into its leading inputs (closure conversion)."""
    closed = trace_to_jaxpr(lambda *a: list(f(*a)), list(avals))
    j, consts = closed.jaxpr, closed.consts
    traced = [isinstance(c, core.Tracer) for c in consts]
    keep = [(v, c) for v, c, t in zip(j.constvars, consts, traced) if not t]
    moved = [(v, c) for v, c, t in zip(j.constvars, consts, traced) if t]
    jaxpr = core.Jaxpr([v for v, _ in keep], [v for v, _ in moved] + j.invars, j.eqns,
                       j.outvars)
    return core.ClosedJaxpr(jaxpr, [c for _, c in keep]), [c for _, c in moved]


def switch(index, branches, *ops):
    """cond over flat operands, each branch returning a list."""
    avals = _avals(ops)
    traced = [_traced(f, avals) for f in branches]
    assert not any(t for _, t in traced), "the test's branches close over no tracer"
    return cond_p.bind(index, *ops, branches=tuple(c for c, _ in traced))


def while_loop(cond_fun, body_fun, init):
    avals = _avals(init)
    c, cc = _traced(lambda *a: [cond_fun(*a)], avals)
    body, bc = _traced(body_fun, avals)
    return while_p.bind(*cc, *bc, *init, cond_jaxpr=c, body_jaxpr=body,
                        cond_nconsts=len(cc), body_nconsts=len(bc))


def scan(f, consts, init, xs, length=None, reverse=False):
    """f(consts, carry, x slices) -> (carry, ys), over flat lists."""
    length = length if length is not None else np.shape(xs[0])[0]
    nc, ncarry = len(consts), len(init)
    slices = [ShapedArray(np.shape(x)[1:], get_aval(x).dtype) for x in xs]

    def body(*a):
        carry, ys = f(list(a[:nc]), list(a[nc:nc + ncarry]), list(a[nc + ncarry:]))
        return [*carry, *ys]
    j, closed_over = _traced(body, [*_avals(consts), *_avals(init), *slices])
    return scan_p.bind(*closed_over, *consts, *init, *xs, jaxpr=j, length=length,
                       reverse=reverse, num_consts=len(closed_over) + nc, num_carry=ncarry,
                       unroll=1, linear=(False,) * (len(closed_over) + nc + ncarry + len(xs)))


def _check(f, *args, rtol=1e-6):
    """f compiled agrees with f evaluated eagerly; returns the Executable."""
    closed = trax.make_jaxpr(f)(*args)
    exe = compile_jaxpr(closed)
    want = core.eval_jaxpr(closed.jaxpr, closed.consts, *args)
    got = exe(*args)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol)
    return exe


# ---------------------------------------------------------------- cond

@pytest.mark.parametrize("index", [0, 1])
def test_cond_two_branches(index):
    x = np.linspace(-2, 2, 37, dtype=np.float32)
    y = np.float32(3.0)
    _check(lambda i, x, y: switch(i, [lambda x, y: [lax.sin(x) * y, x + 1.0],
                                      lambda x, y: [x * x, lax.exp(x) - y]], x, y),
           np.int32(index), x, y)


@pytest.mark.parametrize("index", [-1, 0, 1, 2, 7])
def test_cond_three_branches_with_constants(index):
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    w = np.linspace(0, 1, 12).reshape(3, 4)          # a constant of one branch
    _check(lambda i, x: switch(i, [lambda x: [x + w, np.int32(1) + 0 * x.astype(np.int32)],
                                   lambda x: [x * 2.0, (x > 3.0).astype(np.int32)],
                                   lambda x: [x - w * 5.0, -x.astype(np.int32)]], x),
           np.int32(index), x)


def test_cond_index_computed_from_a_predicate():
    def f(x):
        pred = (lax.reduce_sum(x, axes=(0,)) > 0.0).astype(np.int32)
        return switch(pred, [lambda x: [-x], lambda x: [x * 3.0]], x)
    for sign in (1.0, -1.0):
        _check(f, sign * np.arange(1.0, 5.0, dtype=np.float32))


# ---------------------------------------------------------------- while

def _newton_sqrt(a):
    """Newton's iteration for sqrt(a), until the step is small: a trip count
    that depends on the data."""
    def cond(x, n):
        return (lax.reduce_max(abs(x * x - a) / a, axes=(0,)) > 1e-13) & (n < 100)

    def body(x, n):
        return [0.5 * (x + a / x), n + 1]
    return while_loop(cond, body, [a, np.int32(0)])


def test_while_newton_iteration():
    for top in (2.0, 1e6):
        a = np.linspace(1.0, top, 1000)
        exe = _check(_newton_sqrt, a)
        x, n = exe(a)
        np.testing.assert_allclose(x, np.sqrt(a), rtol=1e-12)
        assert 0 < int(n) < 100


@pytest.mark.parametrize("trips", [0, 1, 2, 5])
def test_while_trip_counts_and_parity(trips):
    # the carry ends in the outputs or the spare buffers depending on parity
    def f(n, v):
        return while_loop(lambda i, v: i < n, lambda i, v: [i + 1, v * 2.0 + 1.0],
                          [np.int32(0), v])
    _check(f, np.int32(trips), np.arange(7, dtype=np.float32))


def test_cond_nested_in_while_body():
    def f(x):
        def body(i, x):
            new, = switch(i % 3, [lambda x: [x + 1.0], lambda x: [x * 2.0],
                                  lambda x: [lax.sqrt(x)]], x)
            return [i + 1, new]
        return while_loop(lambda i, x: i < 10, body, [np.int32(0), x])
    _check(f, np.linspace(1, 2, 300))


# ---------------------------------------------------------------- scan

def _rnn_step(consts, carry, xs):
    w, = consts
    h, k = carry
    x, m = xs
    h = lax.tanh(h @ w + x)
    return [h, k + m], [h, (h > 0.0), k * 2]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("length", [1, 2, 7])
def test_scan_carries_and_stacked_outputs(reverse, length):
    rng = np.random.default_rng(length)
    w = rng.normal(size=(5, 5)).astype(np.float32) * 0.5
    h0 = rng.normal(size=(3, 5)).astype(np.float32)
    xs = rng.normal(size=(length, 3, 5)).astype(np.float32)
    ms = np.arange(length, dtype=np.int64)
    _check(lambda w, h0, xs, ms: scan(_rnn_step, [w], [h0, np.int64(1)], [xs, ms],
                                      reverse=reverse),
           w, h0, xs, ms, rtol=1e-5)


def test_scan_with_closed_over_constants():
    table = np.linspace(-1, 1, 40).reshape(8, 5)
    bias = np.float64(0.25)

    def step(consts, carry, xs):
        c, = carry
        x, = xs
        return [c * 0.5 + x * table + bias], [lax.reduce_sum(c, axes=(0, 1)) + x]
    xs = np.arange(6.0)
    _check(lambda xs: scan(step, [], [np.zeros((8, 5))], [xs]), xs)


def test_zero_length_scan():
    def step(consts, carry, xs):
        c, = carry
        x, = xs
        return [c + x], [c * x, x > 0.0]
    c0 = np.arange(4, dtype=np.float32)
    exe = _check(lambda c, xs: scan(step, [], [c], [xs]), c0, np.zeros((0, 4), np.float32))
    c, ys, pos = exe(c0, np.zeros((0, 4), np.float32))
    assert ys.shape == (0, 4) and pos.shape == (0, 4)
    np.testing.assert_array_equal(c, c0)


def test_scan_without_xs_and_without_carry():
    def counter(consts, carry, xs):
        n, = carry
        return [n + 1], [n * n]
    _check(lambda n: scan(counter, [], [n], [], length=9), np.int32(2))

    def only_ys(consts, carry, xs):
        x, = xs
        return [], [lax.exp(x)]
    _check(lambda xs: scan(only_ys, [], [], [xs]), np.linspace(0, 1, 12).reshape(4, 3))


def _long_scan(length):
    def step(consts, carry, xs):
        h, = carry
        x, = xs
        return [0.9 * h + x], [h]
    return lambda h, xs: scan(step, [], [h], [xs])


def _python_calls(fn, *args):
    """How many Python functions run during ``fn(*args)``."""
    calls = [0]

    def count(frame, event, arg):
        calls[0] += event == "call"
    sys.setprofile(count)
    try:
        fn(*args)
    finally:
        sys.setprofile(None)
    return calls[0]


def test_long_scan_runs_natively():
    """1000 steps match eager evaluation, and the loop runs natively: the
    body's entry is called from one place in the parent's code, and a call
    runs as much Python for 1000 steps as for 10."""
    h = np.zeros(16, np.float32)
    calls = {}
    for length in (10, 1000):
        xs = np.ones((length, 16), np.float32)
        exe = _check(_long_scan(length), h, xs, rtol=1e-5)
        ir_text = exe.as_text("llvm")
        body, = exe.compiled.fn.children
        assert ir_text.count(f'call void @"{body.name}"') == 1 and "scan.body" in ir_text
        calls[length] = _python_calls(exe, h, xs)
    assert calls[1000] == calls[10]


def test_jaxprs_differing_only_inside_a_sub_jaxpr_compile_apart():
    def f(c):
        return lambda x: switch(np.int32(1), [lambda x: [x], lambda x: [x * c]], x)
    x = np.arange(3.0)
    np.testing.assert_array_equal(compile_jaxpr(trax.make_jaxpr(f(2.0))(x))(x)[0], x * 2.0)
    np.testing.assert_array_equal(compile_jaxpr(trax.make_jaxpr(f(3.0))(x))(x)[0], x * 3.0)


# ---------------------------------------------------------------- checkpoint

def test_checkpoint_is_inlined():
    inner, _ = _traced(lambda x: [lax.sin(x) * 2.0], [ShapedArray((5,), np.float32)])

    def f(x):
        y, = checkpoint_p.bind(x, jaxpr=inner, policy=None, prevent_cse=True)
        return y + 1.0
    exe = _check(f, np.arange(5, dtype=np.float32))
    assert "checkpoint" not in exe.as_text("jaxpr")


# ---------------------------------------------------------------- disk cache

_CHILD = """
import sys, numpy as np, trax
sys.path.insert(0, {tests!r})
import test_control_lowering as t
from trax.compiler import compile_jaxpr
from trax.compiler.runtime import cache
a = np.linspace(1.0, 50.0, 100)
x, n = compile_jaxpr(trax.make_jaxpr(t._newton_sqrt)(a))(a)
np.testing.assert_allclose(x, np.sqrt(a), rtol=1e-12)
h, xs = np.zeros(4, np.float32), np.ones((30, 4), np.float32)
c, ys = compile_jaxpr(trax.make_jaxpr(t._long_scan(30))(h, xs))(h, xs)
np.testing.assert_allclose(c, (1 - 0.9 ** 30) / 0.1, rtol=1e-5)
print(cache.stats["disk_hits"], cache.stats["misses"], "llvmlite.binding" in sys.modules)
"""


def test_a_new_process_loads_control_flow_from_the_disk_cache(tmp_path):
    code = _CHILD.format(tests=os.path.dirname(__file__))
    hits, misses, llvm = run_python(code, tmp_path / "cache").split()
    assert (hits, llvm) == ("0", "True")
    assert int(misses) == 5         # two parents, while's cond and body, scan's body
    assert run_python(code, tmp_path / "cache").split() == [misses, "0", "False"]


# ---------------------------------------------------------------- jit and memory

def test_jit_calls_the_native_loop_repeatedly():
    f = trax.jit(_newton_sqrt)
    for top in (2.0, 9.0, 100.0):           # the second call on builds the dispatcher
        a = np.linspace(1.0, top, 64)
        x, n = f(a)
        np.testing.assert_allclose(x, np.sqrt(a), rtol=1e-12)


def test_sub_entries_live_as_long_as_their_parent(monkeypatch):
    """The parent's code holds the code of the sub-entries it calls: they
    are unmapped with it, not before."""
    import gc
    from trax.compiler import driver
    from trax.compiler.runtime import cache, elfload
    if not elfload.supported():
        pytest.skip("x86-64 Linux only")
    monkeypatch.setattr(driver, "_loaded", type(driver._loaded)())
    cache.clear_memory()
    gc.collect()
    before = elfload.live()
    h, xs = np.zeros(3), np.arange(12.0).reshape(4, 3)
    closed = trax.make_jaxpr(_long_scan(4))(h, xs)
    exe = compile_jaxpr(closed)
    assert elfload.live() == before + 2         # the parent and the body's entry
    cache.clear_memory()
    gc.collect()
    want = core.eval_jaxpr(closed.jaxpr, closed.consts, h, xs)
    for got, w in zip(exe(h, xs), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)   # (FMA contraction)
    del exe
    gc.collect()
    assert elfload.live() == before


def test_code_llvm_loads_keeps_its_sub_entries(monkeypatch):
    """Where our loader refuses an object, LLVM loads it and keeps it for the
    process: the sub-entries it calls are kept too."""
    from trax.compiler import driver
    from trax.compiler.runtime import cache, elfload

    def refuse(*args):
        raise elfload.UnsupportedObject("refused by the test")
    monkeypatch.setattr(elfload, "load", refuse)
    cache.clear_memory()
    h, xs = np.full(5, 0.5), np.linspace(0, 1, 35).reshape(7, 5)
    closed = trax.make_jaxpr(_long_scan(7))(h, xs)
    exe = compile_jaxpr(closed)
    assert exe.compiled.fn.memory is None
    assert driver._pinned[exe.compiled.name] == list(exe.compiled.fn.children)
    want = core.eval_jaxpr(closed.jaxpr, closed.consts, h, xs)
    for got, w in zip(exe(h, xs), want):
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_a_traced_trip_count_compiles_once_for_all_bounds():
    from trax import lax
    f = trax.jit(lambda n, x: lax.fori_loop(0, n, lambda i, y: y * 1.5 + 1.0, x))
    x = np.float32(1.0)
    for n in (0, 1, 5, 40):
        want = x
        for _ in range(n):
            want = np.float32(want * 1.5 + 1.0)
        np.testing.assert_allclose(f(np.int32(n), x), want, rtol=1e-6)
    assert f.cache_info()["misses"] == 1


def test_real_primitives_compile_under_jit_and_grad():
    """The front end's cond, while_loop, fori_loop and scan, through grad and
    vmap, compiled: the same numbers as eagerly."""
    from trax import lax
    import trax.numpy as jnp

    def f(x):
        y = lax.cond(jnp.sum(x) > 0, lambda v: jnp.sin(v) * 2.0, lambda v: v * v, x)
        c, ys = lax.scan(lambda c, v: (c * 0.9 + v, jnp.tanh(c)), jnp.zeros(()), y)
        z = lax.fori_loop(0, 3, lambda i, v: v * 0.5 + c, ys)
        return jnp.sum(z * z)

    x = np.linspace(-1.0, 2.0, 6)
    for g, arg in ((f, x), (trax.grad(f), x), (trax.vmap(trax.grad(f)), np.stack([x, -x]))):
        np.testing.assert_allclose(trax.jit(g)(arg), g(arg), rtol=1e-12, atol=1e-12)
