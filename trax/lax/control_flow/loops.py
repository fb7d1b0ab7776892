"""Loops: ``while_loop`` and ``fori_loop`` over the ``while`` primitive.

``while`` holds two closed sub-jaxprs: ``cond_jaxpr`` (consts, carry -> bool
scalar) and ``body_jaxpr`` (consts, carry -> carry). Its operands are
``(*cond_consts, *body_consts, *init)``. Values the user's functions close
over that are tracers of enclosing transformations become those const
operands (closure conversion), so the sub-jaxprs hold only concrete
constants.

Rules: eager (a Python loop over the sub-jaxprs), jvp (tangents ride along
as extra carries; the predicate sees only primals), vmap (a batched
predicate keeps looping until every member is done, holding finished
members fixed with a select), partial evaluation as in JAX (known carries
computed, the whole loop staged for the others: linearize works) and a
transpose rule raising JAX's reverse-mode error: a loop with a traced trip
count cannot be transposed.
"""
import numpy as np

from trax import core, dtypes
from trax.api_util import flatten_fun
from trax.core import ClosedJaxpr, Jaxpr, Tracer, Var, get_aval
from trax.errors import type_error
from trax.interpreters import ad, batching
from trax.interpreters import jaxpr_transforms as jt
from trax.interpreters import partial_eval as pe
from trax.lax.elementwise import add, convert_element_type, lt, select_n
from trax.lax.reductions import reduce_or
from trax.lax.shape_ops import broadcast_in_dim
from trax.tree_util import tree_flatten, tree_unflatten

REVERSE_MODE_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop "
    "with dynamic start/stop values. Try using lax.scan, or using fori_loop with "
    "static start/stop.")


# ----------------------------------------------------------------------------
# tracing user functions to closed jaxprs

def _run(closed):
    return lambda *args: core.eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _trace(fun, args_tree, avals):
    """Trace ``fun`` (called with the pytree of arguments ``args_tree``
    describes) to ``(closed_jaxpr, consts, out_tree)``; the jaxpr takes
    ``(*consts, *flat arguments)``."""
    flat, store = flatten_fun(fun, args_tree)
    (closed,), consts = jt.hoist_tracer_consts([pe.trace_to_jaxpr(flat, avals)])
    return closed, consts, store.val


def _with_unused_inputs(closed, avals):
    """``closed`` taking extra trailing inputs of ``avals`` it ignores."""
    j = closed.jaxpr
    return ClosedJaxpr(Jaxpr(j.constvars, j.invars + [Var(a) for a in avals], j.eqns,
                             j.outvars), closed.consts)


def _same_type(a, b):
    return a.shape == b.shape and a.dtype == b.dtype


# ----------------------------------------------------------------------------
# while_loop


def while_loop(cond_fun, body_fun, init_val):
    """Run ``val = body_fun(val)`` while ``cond_fun(val)`` is true, starting
    from ``init_val`` (a pytree of arrays); returns the final ``val``.

    ``body_fun`` must return a pytree of the structure, shapes and dtypes of
    ``init_val``; ``cond_fun`` must return a boolean scalar. Differentiable
    in forward mode (jvp) only, as in JAX."""
    if not callable(cond_fun) or not callable(body_fun):
        raise TypeError("while_loop: cond_fun and body_fun must be callable, got "
                        f"{type(cond_fun).__name__} and {type(body_fun).__name__}")
    init, in_tree = tree_flatten((init_val,))
    avals = [get_aval(x) for x in init]
    body, body_consts, out_tree = _trace(body_fun, in_tree, avals)
    _check_body(in_tree, out_tree, avals, body.out_avals)
    init, promoted = _promote_weak(init, avals, body.out_avals)
    if promoted:        # a weakly typed init (Python scalar) takes the body's dtype
        avals = [get_aval(x) for x in init]
        body, body_consts, out_tree = _trace(body_fun, in_tree, avals)
        _check_body(in_tree, out_tree, avals, body.out_avals)
    cond, cond_consts, _ = _trace(cond_fun, in_tree, avals)
    _check_cond(cond.out_avals)
    outs = while_p.bind(*cond_consts, *body_consts, *init, cond_jaxpr=cond,
                        body_jaxpr=body, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))
    return tree_unflatten(in_tree, outs)[0]


def _check_body(in_tree, out_tree, in_avals, out_avals):
    carry_tree = in_tree.children[0]
    if out_tree != carry_tree:
        raise type_error(f"while_loop: body_fun must return a value of the structure of "
                         f"the carry (init_val) {carry_tree}, got {out_tree}")
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if _same_type(a, b) or (a.weak_type and a.shape == b.shape):
            continue
        what = "shape" if a.shape != b.shape else "dtype"
        raise type_error(f"while_loop: body_fun output and input must have identical "
                         f"types: carry component {i} (of {len(in_avals)} leaves of "
                         f"init_val) is {a.str_short()} in init_val but body_fun returns "
                         f"{b.str_short()} (the {what} changed)")


def _check_cond(out_avals):
    if len(out_avals) != 1 or out_avals[0].shape != () or out_avals[0].dtype != bool:
        got = ", ".join(a.str_short() for a in out_avals) or "nothing"
        raise type_error(f"while_loop: cond_fun must return a boolean scalar, but got "
                         f"output type(s) [{got}]")


def _promote_weak(init, in_avals, out_avals):
    """Weakly typed inits whose body output has another dtype are converted
    to the promoted dtype (as JAX does). Returns ``(init, changed)``."""
    out, changed = list(init), False
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if a.weak_type and not _same_type(a, b):
            dtype, weak = dtypes.result_type(a, b)
            out[i] = convert_element_type(init[i], dtype, weak_type=weak)
            changed = True
    return out, changed


# ----------------------------------------------------------------------------
# fori_loop


def fori_loop(lower, upper, body_fun, init_val, unroll=None):
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``;
    returns the final ``val``.

    With bounds known at trace time (Python or NumPy integers) the loop is a
    ``scan`` of ``upper - lower`` steps (so reverse mode works); with traced
    bounds it is a ``while_loop`` (forward mode only, as in JAX). ``unroll`` (an int >= 1 or a
    bool) is accepted for static bounds, as in JAX."""
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be callable, got "
                        f"{type(body_fun).__name__}")
    dtype, weak = _counter_type(lower, upper)
    static = not isinstance(lower, Tracer) and not isinstance(upper, Tracer)
    if unroll is not None:
        if not static:
            raise ValueError("fori_loop: unroll needs loop bounds known at trace time "
                             "(Python or NumPy integers), not traced values")
        if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
            raise ValueError(f"fori_loop: unroll must be a positive int or a bool, "
                             f"got {unroll!r}")
    if not weak:
        lower = convert_element_type(lower, dtype)
        upper = convert_element_type(upper, dtype)
    if static:
        return _fori_loop_static(lower, upper, body_fun, init_val, unroll)
    return _fori_loop_while(lower, upper, body_fun, init_val)


def _counter_type(lower, upper):
    """The loop counter's ``(dtype, weak_type)``: the promoted type of the
    bounds, which must be integer scalars."""
    avals = []
    for name, x in (("lower", lower), ("upper", upper)):
        a = get_aval(x)
        if a.shape != () or not dtypes.is_int(a.dtype):
            raise type_error(f"fori_loop: {name} must be an integer scalar, got "
                             f"{a.str_short()}")
        avals.append(a)
    return dtypes.result_type(*avals)


def _fori_loop_static(lower, upper, body_fun, init_val, unroll):
    """fori_loop with a trip count known at trace time: a ``scan`` over
    ``(i, val)`` of ``upper - lower`` steps, so it is reverse-differentiable
    (as in JAX). ``unroll=True`` unrolls every step."""
    from trax.lax.control_flow.scan import scan
    length = max(int(upper) - int(lower), 0)
    unroll = 1 if unroll is None or unroll is False else \
        max(length, 1) if unroll is True else unroll

    def step(carry, _):
        i, x = carry
        return (add(i, 1), body_fun(i, x)), None
    (_, out), _ = scan(step, (lower, init_val), None, length=length, unroll=unroll)
    return out


def _fori_loop_while(lower, upper, body_fun, init_val):
    def cond(carry):
        i, stop, _ = carry
        return lt(i, stop)

    def body(carry):
        i, stop, x = carry
        return add(i, 1), stop, body_fun(i, x)
    return while_loop(cond, body, (lower, upper, init_val))[2]


# ----------------------------------------------------------------------------
# the while primitive and its rules

def _split(args, cond_nconsts, body_nconsts):
    n = cond_nconsts + body_nconsts
    return list(args[:cond_nconsts]), list(args[cond_nconsts:n]), list(args[n:])


def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts, carry = _split(args, cond_nconsts, body_nconsts)
    while _run(cond_jaxpr)(*cond_consts, *carry)[0]:
        carry = _run(body_jaxpr)(*body_consts, *carry)
    return carry


def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_avals, body_avals, carry = _split(avals, cond_nconsts, body_nconsts)
    _check_inputs("cond_jaxpr", cond_jaxpr, cond_avals + carry)
    _check_inputs("body_jaxpr", body_jaxpr, body_avals + carry)
    _check_cond(cond_jaxpr.out_avals)
    for i, (a, b) in enumerate(zip(carry, body_jaxpr.out_avals)):
        if not _same_type(a, b):
            raise type_error(f"while: body_jaxpr returns {b.str_short()} for carry {i}, "
                             f"which is {a.str_short()}")
    return carry


def _check_inputs(name, closed, avals):
    expected = closed.in_avals
    if len(expected) != len(avals) or not all(map(_same_type, expected, avals)):
        raise type_error(f"while: {name} takes "
                         f"({', '.join(a.str_short() for a in expected)}), got operands "
                         f"({', '.join(a.str_short() for a in avals)})")


def _bind_while(cond, cond_consts, body, body_consts, init):
    return while_p.bind(*cond_consts, *body_consts, *init, cond_jaxpr=cond,
                        body_jaxpr=body, cond_nconsts=len(cond_consts),
                        body_nconsts=len(body_consts))


# ---- jvp

def _jvp_traced(f, primals, tangents):
    """Forward mode of ``f`` keeping symbolic zeros: ``(primals_out,
    tangents_out)`` where a tangent that is zero is an ``ad.Zero``."""
    with core.new_main(ad.JVPTrace) as main:
        trace = ad.JVPTrace(main)
        outs = f(*[ad.JVPTracer(trace, p, t) for p, t in zip(primals, tangents)])
        outs = [core.full_raise(trace, o) for o in outs]
        return ([core.full_lower(o.primal) for o in outs],
                [o.tangent if isinstance(o.tangent, ad.Zero) else core.full_lower(o.tangent)
                 for o in outs])


def _jvp_body(body, nconsts, const_nz, carry_nz):
    """The body's jvp as a jaxpr over ``(*consts, *const tangents, *carry,
    *carry tangents)`` (tangents only where nonzero) returning ``(*carry,
    *carry tangents where carry_nz)``; also which output tangents are
    nonzero."""
    avals = body.in_avals
    nonzero = list(const_nz) + list(carry_nz)
    t_avals = [a.strip_weak_type() for a, nz in zip(avals, nonzero) if nz]
    n_ct = sum(const_nz)
    in_avals = [*avals[:nconsts], *t_avals[:n_ct], *avals[nconsts:], *t_avals[n_ct:]]
    box = []

    def f(*args):
        consts, const_t = args[:nconsts], args[nconsts:nconsts + n_ct]
        rest = args[nconsts + n_ct:]
        carry, carry_t = rest[:len(carry_nz)], rest[len(carry_nz):]
        given = iter([*const_t, *carry_t])
        tangents = [next(given) if nz else ad.Zero(a.strip_weak_type())
                    for a, nz in zip(avals, nonzero)]
        p_out, t_out = _jvp_traced(_run(body), [*consts, *carry], tangents)
        box.append([not isinstance(t, ad.Zero) for t in t_out])
        return [*p_out, *(ad.instantiate(t) for t, nz in zip(t_out, carry_nz) if nz)]
    return pe.trace_to_jaxpr(f, in_avals), box[0]


def _while_jvp(primals, tangents, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts, init = _split(primals, cond_nconsts, body_nconsts)
    _, body_t, init_t = _split(tangents, cond_nconsts, body_nconsts)
    const_nz = [not isinstance(t, ad.Zero) for t in body_t]
    carry_nz = [not isinstance(t, ad.Zero) for t in init_t]
    while True:     # a carry's tangent is nonzero if any iteration can make it so
        body, out_nz = _jvp_body(body_jaxpr, body_nconsts, const_nz, carry_nz)
        grown = [a or b for a, b in zip(carry_nz, out_nz)]
        if grown == carry_nz:
            break
        carry_nz = grown
    outs_zero = [ad.Zero(a.strip_weak_type()) for a in body_jaxpr.out_avals]
    if not any(carry_nz):
        return while_p.bind(*primals, cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                            cond_nconsts=cond_nconsts, body_nconsts=body_nconsts), outs_zero
    t_avals = [a.strip_weak_type() for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz]
    cond = _with_unused_inputs(cond_jaxpr, t_avals)
    consts_t = [t for t, nz in zip(body_t, const_nz) if nz]
    init_t = [ad.instantiate(t) for t, nz in zip(init_t, carry_nz) if nz]
    outs = _bind_while(cond, cond_consts, body, [*body_consts, *consts_t], [*init, *init_t])
    n = len(init)
    out_t = iter(outs[n:])
    return outs[:n], [next(out_t) if nz else z for nz, z in zip(carry_nz, outs_zero)]


_while_jvp.symbolic_zeros = True


# ---- vmap

def _batched_aval(a, axis_size):
    return a.update(shape=(axis_size, *a.shape))


def _batch_jaxpr(closed, in_batched, axis_size, force_out):
    """``closed`` over inputs batched along axis 0 where ``in_batched``;
    outputs batched along axis 0 where they must be or ``force_out`` asks.
    Returns the jaxpr and which outputs are batched without forcing."""
    in_avals = [_batched_aval(a, axis_size) if b else a
                for a, b in zip(closed.in_avals, in_batched)]
    box = []

    def f(*args):
        outs, dims = batching.vmap_flat(_run(closed), axis_size,
                                        [0 if b else None for b in in_batched], args)
        box.append([d is not None for d in dims])
        return [batching.bdim_at_front(o, d, axis_size) if d is not None or force else o
                for o, d, force in zip(outs, dims, force_out)]
    return pe.trace_to_jaxpr(f, in_avals), box[0]


def _while_batch(vals, dims, axis_size, cond_jaxpr, body_jaxpr, cond_nconsts,
                 body_nconsts):
    vals = [v if d is None else batching.moveaxis(v, d, 0) for v, d in zip(vals, dims)]
    cond_consts, body_consts, init = _split(vals, cond_nconsts, body_nconsts)
    cond_b, body_b, carry_b = [[d is not None for d in ds]
                               for ds in _split(dims, cond_nconsts, body_nconsts)]
    while True:     # a carry is batched if any iteration can make it so
        cond, (pred_batched,) = _batch_jaxpr(cond_jaxpr, cond_b + carry_b, axis_size,
                                             [False])
        body, out_b = _batch_jaxpr(body_jaxpr, body_b + carry_b, axis_size, carry_b)
        # members that stop at different times make every carry batched
        grown = [pred_batched or a or b for a, b in zip(carry_b, out_b)]
        if grown == carry_b:
            break
        carry_b = grown
    init = [batching.bdim_at_front(x, None, axis_size) if b and d is None else x
            for x, b, d in zip(init, carry_b, dims[cond_nconsts + body_nconsts:])]
    out_dims = [0 if b else None for b in carry_b]
    if not pred_batched:
        return _bind_while(cond, cond_consts, body, body_consts, init), out_dims
    any_cond, masked_body = _masked_loop(cond, body, cond_nconsts)
    return _bind_while(any_cond, cond_consts, masked_body, [*cond_consts, *body_consts],
                       init), out_dims


def _masked_loop(cond, body, cond_nconsts):
    """For a batched predicate: a cond that holds while any member's does,
    and a body over ``(*cond consts, *body consts, *carry)`` that keeps the
    carry of finished members unchanged."""
    nc = len(cond.in_avals) - cond_nconsts

    def any_pred(*args):
        return [reduce_or(_run(cond)(*args)[0], (0,))]

    def masked(*args):
        cond_consts, rest = args[:cond_nconsts], args[cond_nconsts:]
        carry = rest[len(rest) - nc:]
        pred = _run(cond)(*cond_consts, *carry)[0]
        new = _run(body)(*rest)
        return [select_n(broadcast_in_dim(pred, get_aval(old).shape, (0,)), old, x)
                for old, x in zip(carry, new)]
    any_cond = pe.trace_to_jaxpr(any_pred, cond.in_avals)
    masked_body = pe.trace_to_jaxpr(
        masked, [*cond.in_avals[:cond_nconsts], *body.in_avals])
    return any_cond, masked_body


# ---- reverse mode

def _while_partial_eval(trace, tracers, cond_jaxpr, body_jaxpr, cond_nconsts,
                        body_nconsts):
    """As in JAX: the carries that stay known (their new values never depend
    on unknown ones, nor does the predicate) are computed now by a loop of
    their own; the whole loop is staged for the unknown ones. Such a staged
    loop cannot be transposed (see _while_transpose), so linearize works
    and reverse mode raises JAX's error."""
    params = dict(cond_jaxpr=cond_jaxpr, body_jaxpr=body_jaxpr,
                  cond_nconsts=cond_nconsts, body_nconsts=body_nconsts)
    unknown = [not t.pval.is_known for t in tracers]
    cond_uk, body_uk, carry_uk = _split(unknown, cond_nconsts, body_nconsts)
    while True:
        out_uk = jt.partial_eval_jaxpr(body_jaxpr, (*body_uk, *carry_uk))[2]
        grown = [a or b for a, b in zip(carry_uk, out_uk)]
        if grown == carry_uk:
            break
        carry_uk = grown
    pred_uk = jt.partial_eval_jaxpr(cond_jaxpr, (*cond_uk, *carry_uk))[2][0]
    staged = _stage(trace, tracers, params)
    if pred_uk or all(carry_uk):
        return staged
    cond_consts, body_consts, init = _split([t.pval.const if t.pval.is_known else None
                                             for t in tracers], cond_nconsts, body_nconsts)
    known = _known_loop(cond_jaxpr, body_jaxpr, cond_consts, body_consts, init, carry_uk)
    return trace.merge(known, [s for s, uk in zip(staged, carry_uk) if uk], carry_uk)


def _known_loop(cond, body, cond_consts, body_consts, init, carry_uk):
    """The known carries' final values: the loop with the unknown inputs
    (which the known carries and the predicate do not depend on) as zeros."""
    def zeros(avals, vals):
        return [np.zeros(a.shape, a.dtype) if v is None else v for a, v in zip(avals, vals)]
    carry_avals = body.out_avals
    init = zeros(carry_avals, init)
    cond_consts = zeros(cond.in_avals[:len(cond_consts)], cond_consts)
    body_consts = zeros(body.in_avals[:len(body_consts)], body_consts)
    keep = [not uk for uk in carry_uk]

    def only_known(f):
        def g(*known):
            it = iter(known)
            full = [next(it) if k else z for k, z in zip(keep, init)]
            return f(full)
        return g
    known_avals = [a for a, k in zip(carry_avals, keep) if k]
    cond_k = pe.trace_to_jaxpr(only_known(lambda c: _run(cond)(*cond_consts, *c)), known_avals)
    body_k = pe.trace_to_jaxpr(
        only_known(lambda c: [x for x, k in zip(_run(body)(*body_consts, *c), keep) if k]),
        known_avals)
    (cond_k,), cc = jt.hoist_tracer_consts([cond_k])
    (body_k,), bc = jt.hoist_tracer_consts([body_k])
    return _bind_while(cond_k, cc, body_k, bc, [x for x, k in zip(init, keep) if k])


def _stage(trace, tracers, params):
    """The whole loop as an equation of the jaxpr being built (every output unknown)."""
    tracers_in = [trace.instantiate_const(t) for t in tracers]
    return trace.stage(while_p, tracers_in, params, list(params["body_jaxpr"].out_avals))


def _while_transpose(cts, *args, **params):
    # a loop whose trip count is traced cannot run backwards
    raise ValueError(REVERSE_MODE_ERROR)


while_p = core.Primitive("while", multiple_results=True)
while_p.impl = _while_impl
while_p.abstract_eval = _while_abstract_eval
while_p.jvp = _while_jvp
while_p.batch = _while_batch
while_p.partial_eval = _while_partial_eval
while_p.transpose = _while_transpose
