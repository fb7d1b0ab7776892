"""``scan`` and ``map``: a loop over the leading axis of arrays, carrying a
state, as one primitive holding the loop body as a closed jaxpr.

``scan_p`` takes operands ``(*consts, *init_carry, *xs)`` and params
``jaxpr`` (consts, carry, x slices -> carry, y slices), ``length``,
``reverse``, ``num_consts``, ``num_carry``, ``unroll`` and ``linear``; it
returns ``(*final_carry, *stacked_ys)``. Its rules transform the body
jaxpr: jvp adds tangent carries, partial evaluation splits the body into a
known scan (which stacks its residuals per iteration) and an unknown one,
the transpose runs the loop the other way over the stacked residuals, and
batching batches the body (carries batched to a fixed point, as in JAX).
"""
import operator

import numpy as np

from trax import core, dtypes
from trax.core import ClosedJaxpr, Jaxpr, ShapedArray, get_aval
from trax.custom_derivatives import _closure_convert
from trax.errors import TraxTypeError, user_source_line
from trax.interpreters import ad, batching
from trax.interpreters import jaxpr_transforms as jt
from trax.interpreters import partial_eval as pe
from trax.tree_util import tree_flatten, tree_unflatten


# ----------------------------------------------------------------------------
# helpers on body jaxprs

def _split(seq, *sizes):
    """``seq`` cut into consecutive pieces of ``sizes`` and the rest."""
    out, i = [], 0
    for n in sizes:
        out.append(list(seq[i:i + n]))
        i += n
    out.append(list(seq[i:]))
    return out


def _reorder(closed, in_order, out_order):
    """``closed`` with its inputs and outputs permuted (index lists)."""
    j = closed.jaxpr
    return ClosedJaxpr(Jaxpr(j.constvars, [j.invars[i] for i in in_order], j.eqns,
                             [j.outvars[i] for i in out_order]), closed.consts)


def _run(closed):
    return lambda *args: core.eval_jaxpr(closed.jaxpr, closed.consts, *args)


def _same_type(a, b):
    return a.shape == b.shape and a.dtype == b.dtype


def _where():
    line = user_source_line()
    return f" (at {line})" if line else ""


def _stacked(aval, length):
    return ShapedArray((length, *aval.shape), aval.dtype, aval.weak_type)


def _unstacked(aval):
    return ShapedArray(aval.shape[1:], aval.dtype, aval.weak_type)


# ----------------------------------------------------------------------------
# the primitive: impl and abstract_eval

scan_p = core.Primitive("scan", multiple_results=True)


def _scan_impl(*args, jaxpr, length, reverse, num_consts, num_carry, unroll, linear):
    consts, carry, xs = _split(args, num_consts, num_carry)
    ys = []
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        outs = core.eval_jaxpr(jaxpr.jaxpr, jaxpr.consts, *consts, *carry,
                               *[x[i] for x in xs])
        carry, y = outs[:num_carry], outs[num_carry:]
        ys.append(y)
    if reverse:
        ys.reverse()
    y_avals = jaxpr.out_avals[num_carry:]
    stacked = [np.stack([y[k] for y in ys]) if ys else np.zeros((0, *a.shape), a.dtype)
               for k, a in enumerate(y_avals)]
    return [*carry, *stacked]


def _scan_abstract_eval(*avals, jaxpr, length, reverse, num_consts, num_carry, unroll,
                        linear):
    body_in = jaxpr.in_avals
    if len(avals) != len(body_in) or len(linear) != len(avals):
        raise TraxTypeError(f"scan: the body takes {len(body_in)} inputs but the scan has "
                            f"{len(avals)} operands ({len(linear)} linear flags)")
    consts, carry, xs = _split(avals, num_consts, num_carry)
    b_consts, b_carry, b_xs = _split(body_in, num_consts, num_carry)
    for i, (a, b) in enumerate(zip(consts, b_consts)):
        if not _same_type(a, b):
            raise TraxTypeError(f"scan: constant {i} has type {a.str_short()} but the body "
                                f"takes {b.str_short()}")
    for i, (a, b) in enumerate(zip(xs, b_xs)):
        if a.ndim == 0 or a.shape[0] != length:
            raise TraxTypeError(f"scan: xs[{i}] of type {a.str_short()} does not have the "
                                f"leading axis of length {length} that the scan runs over")
        if not _same_type(_unstacked(a), b):
            raise TraxTypeError(f"scan: a slice of xs[{i}] has type "
                                f"{_unstacked(a).str_short()} but the body takes "
                                f"{b.str_short()}")
    _check_carry(carry, b_carry, jaxpr.out_avals[:num_carry])
    ys = [_stacked(a, length) for a in jaxpr.out_avals[num_carry:]]
    return [*b_carry, *ys]


def _check_carry(init, body_in, body_out, where=""):
    for i, (a, b, c) in enumerate(zip(init, body_in, body_out)):
        if not _same_type(a, b):
            raise TraxTypeError(f"scan: the initial carry component {i} has type "
                                f"{a.str_short()} but the body takes {b.str_short()}{where}")
        if not _same_type(b, c):
            raise TraxTypeError(
                f"scan body function carry input and carry output must have equal types: "
                f"the input carry component {i} has type {b.str_short()} but the "
                f"corresponding output carry component has type {c.str_short()}{where}")


scan_p.impl = _scan_impl
scan_p.abstract_eval = _scan_abstract_eval


# ----------------------------------------------------------------------------
# the API

def _trace_body(f, in_tree, carry_avals, x_avals):
    """Trace ``f(carry, x)`` to a closure-converted ClosedJaxpr. Returns
    ``(jaxpr over (*consts, *carry, *x), consts, carry_tree, y_tree)``."""
    trees = []

    def flat_f(*leaves):
        carry, x = tree_unflatten(in_tree, leaves)
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TraxTypeError(f"scan body function must return a pair (carry, y), got "
                                f"{type(out).__name__}{_where()}")
        c_leaves, c_tree = tree_flatten(out[0])
        y_leaves, y_tree = tree_flatten(out[1])
        trees.append((c_tree, y_tree))
        return [*c_leaves, *y_leaves]
    closed = pe.trace_to_jaxpr(flat_f, [*carry_avals, *x_avals])
    jaxpr, consts = _closure_convert(closed)
    return ClosedJaxpr(jaxpr, []), consts, *trees[0]


def _check_leaves(leaves, what):
    for x in leaves:
        if not core.is_array_like(x):
            raise TraxTypeError(f"scan: {what} must be a pytree of arrays, got a leaf of "
                                f"type {type(x).__name__} ({x!r})")


def _scan_length(xs_leaves, length):
    if length is not None:
        try:
            length = operator.index(length)
        except TypeError:
            raise TraxTypeError(f"scan: length must be an int, got {length!r}") from None
        if length < 0:
            raise ValueError(f"scan: length must be >= 0, got {length}")
    sizes = []
    for i, x in enumerate(xs_leaves):
        a = get_aval(x)
        if a.ndim == 0:
            raise TraxTypeError(f"scan: xs leaf {i} is a scalar ({a.str_short()}), which has "
                                f"no leading axis to scan over{_where()}")
        sizes.append(a.shape[0])
    if len(set(sizes)) > 1:
        listed = ", ".join(f"xs leaf {i}: {get_aval(x).str_short()}"
                           for i, x in enumerate(xs_leaves))
        raise TraxTypeError(f"scan: xs have different leading axis sizes ({listed}){_where()}")
    if sizes and length is not None and sizes[0] != length:
        raise TraxTypeError(f"scan: length {length} disagrees with the leading axis size "
                            f"{sizes[0]} of xs{_where()}")
    if not sizes and length is None:
        raise ValueError("scan: with no xs to scan over, length must be given")
    return sizes[0] if sizes else length


def _unroll(unroll, length):
    if isinstance(unroll, bool):
        return max(length, 1) if unroll else 1
    unroll = operator.index(unroll)
    if unroll < 1:
        raise ValueError(f"scan: unroll must be >= 1 (or a bool), got {unroll}")
    return unroll


def _promote_carry(init, body_out):
    """Weakly typed initial carries (Python scalars) take the type the body
    gives them, as JAX does; returns the new init leaves, or None if no
    leaf changed."""
    changed = False
    new = []
    for x, out in zip(init, body_out):
        a = get_aval(x)
        if a.weak_type and a.shape == out.shape and (
                a.dtype != out.dtype or not out.weak_type) and \
                dtypes.result_type(a, out.strip_weak_type())[0] == out.dtype:
            from trax.lax import convert_element_type
            x = convert_element_type(x, out.dtype, out.weak_type)
            changed = True
        new.append(x)
    return new if changed else None


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs``
    (pytrees), as JAX's ``lax.scan``: returns ``(final carry, stacked ys)``.

    Semantically ``for x in xs: carry, y = f(carry, x)`` (from the end with
    ``reverse=True``); ``length`` is needed when ``xs`` is None. The carry
    must keep its structure, shapes and dtypes. ``unroll`` is a hint for the
    compiler (iterations per loop trip).
    """
    xs_leaves, xs_tree = tree_flatten(xs)
    init_leaves, init_tree = tree_flatten(init)
    _check_leaves(xs_leaves, "xs")
    _check_leaves(init_leaves, "init")
    length = _scan_length(xs_leaves, length)
    unroll = _unroll(unroll, length)
    x_avals = [_unstacked(get_aval(x)) for x in xs_leaves]
    _, in_tree = tree_flatten((init, xs))

    def trace(leaves):
        return _trace_body(f, in_tree, [get_aval(x) for x in leaves], x_avals)
    jaxpr, consts, carry_tree, y_tree = trace(init_leaves)
    if carry_tree != init_tree:
        raise TraxTypeError(f"scan body function carry input and carry output must have "
                            f"the same pytree structure, but the input is {init_tree} "
                            f"and the output is {carry_tree}{_where()}")
    n = len(init_leaves)
    promoted = _promote_carry(init_leaves, jaxpr.out_avals[:n])
    if promoted is not None:
        init_leaves = promoted
        jaxpr, consts, carry_tree, y_tree = trace(init_leaves)
    _check_carry([get_aval(x) for x in init_leaves], jaxpr.in_avals[len(consts):][:n],
                 jaxpr.out_avals[:n], _where())
    outs = scan_p.bind(*consts, *init_leaves, *xs_leaves, jaxpr=jaxpr, length=length,
                       reverse=bool(reverse), num_consts=len(consts), num_carry=n,
                       unroll=unroll, linear=(False,) * (len(consts) + n + len(xs_leaves)))
    return tree_unflatten(carry_tree, outs[:n]), tree_unflatten(y_tree, outs[n:])


def map(f, xs):  # noqa: A001  (JAX's name)
    """``f`` applied to each slice of ``xs`` along its leading axis, results
    stacked (JAX's ``lax.map``), as a scan with no carry."""
    return scan(lambda _, x: ((), f(x)), (), xs)[1]


# ----------------------------------------------------------------------------
# jvp: tangents of the nonzero operands ride along as extra consts, carries
# and xs; a carry whose tangent becomes nonzero in the body is given one from
# the start (iterated to a fixed point)

def jvp_body(closed, nonzeros, instantiate):
    """A jaxpr from ``(*primals, *nonzero tangents)`` to ``(*primals_out,
    *nonzero tangents_out)``, and which output tangents are nonzero
    (``instantiate`` forces some to be)."""
    n = len(closed.in_avals)
    t_avals = [a.strip_weak_type() for a, nz in zip(closed.in_avals, nonzeros) if nz]
    box = []

    def f(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else ad.Zero(a.strip_weak_type())
                    for a, nz in zip(closed.in_avals, nonzeros)]
        with core.new_main(ad.JVPTrace) as main:
            trace = ad.JVPTrace(main)
            outs = _run(closed)(*[ad.JVPTracer(trace, p, t)
                                  for p, t in zip(args[:n], tangents)])
            outs = [core.full_raise(trace, o) for o in outs]
            primals = [core.full_lower(o.primal) for o in outs]
            tangents = [o.tangent for o in outs]
        nz_out = [inst or not isinstance(t, ad.Zero) for t, inst in zip(tangents, instantiate)]
        box.append(nz_out)
        return [*primals, *[core.full_lower(ad.instantiate(t))
                            for t, nz in zip(tangents, nz_out) if nz]]
    return pe.trace_to_jaxpr(f, [*closed.in_avals, *t_avals]), box[0]


def _scan_jvp(primals, tangents, jaxpr, length, reverse, num_consts, num_carry, unroll,
              linear):
    nz = [not isinstance(t, ad.Zero) for t in tangents]
    const_nz, init_nz, xs_nz = _split(nz, num_consts, num_carry)
    num_ys = len(jaxpr.out_avals) - num_carry
    carry_nz = init_nz
    while True:
        jvp_j, out_nz = jvp_body(jaxpr, [*const_nz, *carry_nz, *xs_nz],
                                  [*carry_nz, *[False] * num_ys])
        if out_nz[:num_carry] == carry_nz:
            break
        carry_nz = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
    ys_nz = out_nz[num_carry:]
    # jvp_j: (consts, carry, xs, const_t, carry_t, xs_t) -> (carry, ys, carry_t, ys_t)
    nc, nx = num_consts, len(xs_nz)
    nct, ncat, nxt = sum(const_nz), sum(carry_nz), sum(xs_nz)
    ins = list(range(nc + num_carry + nx + nct + ncat + nxt))
    c, ca, x, ct, cat, xt = _split(ins, nc, num_carry, nx, nct, ncat)
    outs = list(range(num_carry + num_ys + ncat + sum(ys_nz)))
    o_ca, o_y, o_cat, o_yt = _split(outs, num_carry, num_ys, ncat)
    body = _reorder(jvp_j, [*c, *ct, *ca, *cat, *x, *xt], [*o_ca, *o_cat, *o_y, *o_yt])

    consts, init, xs = _split(primals, num_consts, num_carry)
    t_consts, t_init, t_xs = _split(tangents, num_consts, num_carry)
    lin_c, lin_i, lin_x = _split(linear, num_consts, num_carry)
    t_consts = [t for t, z in zip(t_consts, const_nz) if z]
    t_init = [ad.instantiate(t) for t, z in zip(t_init, carry_nz) if z]
    t_xs = [t for t, z in zip(t_xs, xs_nz) if z]
    outs = scan_p.bind(*consts, *t_consts, *init, *t_init, *xs, *t_xs, jaxpr=body,
                       length=length, reverse=reverse, num_consts=nc + nct,
                       num_carry=num_carry + ncat, unroll=unroll,
                       linear=(*lin_c, *[True] * nct, *lin_i, *[True] * ncat,
                               *lin_x, *[True] * nxt))
    carry, carry_t, ys, ys_t = _split(outs, num_carry, ncat, num_ys)
    carry_t, ys_t = iter(carry_t), iter(ys_t)
    y_avals = [_stacked(a, length).strip_weak_type() for a in jaxpr.out_avals[num_carry:]]
    return ([*carry, *ys],
            [*[next(carry_t) if z else ad.Zero(get_aval(p).strip_weak_type())
               for z, p in zip(carry_nz, carry)],
             *[next(ys_t) if z else ad.Zero(a) for z, a in zip(ys_nz, y_avals)]])


_scan_jvp.symbolic_zeros = True
scan_p.jvp = _scan_jvp


# ----------------------------------------------------------------------------
# partial evaluation: the known scan computes the known outputs and stacks
# the residuals the unknown part needs, one slice per iteration (residuals
# that are known consts themselves are passed once instead)

def _partial_eval_body(closed, in_unknowns, instantiate):
    """Like ``jaxpr_transforms.partial_eval_jaxpr``, with the outputs in
    ``instantiate`` made unknown even when they are known."""
    known_avals = [a for a, uk in zip(closed.in_avals, in_unknowns) if not uk]
    box = {}

    def f_known(*known_args):
        it = iter(known_args)
        pvals = [pe.PartialVal.unknown(a) if uk else pe.PartialVal.known(next(it))
                 for a, uk in zip(closed.in_avals, in_unknowns)]

        def f(*args):
            trace = next(a._trace for a in args if isinstance(a, pe.PartialEvalTracer))
            outs = [core.full_raise(trace, o) for o in _run(closed)(*args)]
            return [trace.instantiate_const(o) if inst else o
                    for o, inst in zip(outs, instantiate)]
        jaxpr_unk, pvals_out, residuals = pe.partial_eval_flat(f, pvals)
        box.update(jaxpr=jaxpr_unk, out_unknowns=[not pv.is_known for pv in pvals_out],
                   num_res=len(residuals))
        return [pv.const for pv in pvals_out if pv.is_known] + list(residuals)

    known = pe.trace_to_jaxpr(f_known, known_avals)
    j = box["jaxpr"]
    unknown = ClosedJaxpr(Jaxpr([], [*j.constvars, *j.invars], j.eqns, j.outvars), [])
    return known, unknown, box["out_unknowns"], box["num_res"]


def _scan_partial_eval(trace, tracers, jaxpr, length, reverse, num_consts, num_carry,
                       unroll, linear):
    unknowns = [not t.pval.is_known for t in tracers]
    const_uk, init_uk, xs_uk = _split(unknowns, num_consts, num_carry)
    num_ys = len(jaxpr.out_avals) - num_carry
    carry_uk = init_uk
    while True:
        known, unknown, out_uk, num_res = _partial_eval_body(
            jaxpr, [*const_uk, *carry_uk, *xs_uk], [*carry_uk, *[False] * num_ys])
        if out_uk[:num_carry] == carry_uk:
            break
        carry_uk = [a or b for a, b in zip(carry_uk, out_uk[:num_carry])]
    ys_uk = out_uk[num_carry:]

    # residuals that are known consts of the scan are loop-invariant
    kj = known.jaxpr
    n_known_consts = num_consts - sum(const_uk)
    const_vars = kj.invars[:n_known_consts]
    res_vars = kj.outvars[len(kj.outvars) - num_res:]
    invariant = [v in const_vars for v in res_vars]
    consts_t, init_t, xs_t = _split(tracers, num_consts, num_carry)
    known_consts = [t.pval.const for t, uk in zip(consts_t, const_uk) if not uk]
    known_init = [t.pval.const for t, uk in zip(init_t, carry_uk) if not uk]
    known_xs = [t.pval.const for t, uk in zip(xs_t, xs_uk) if not uk]
    n_known_out = len(kj.outvars) - num_res
    extensive = [i for i, inv in enumerate(invariant) if not inv]
    known_body = _reorder(known, list(range(len(kj.invars))),
                          [*range(n_known_out), *(n_known_out + i for i in extensive)])
    n_kcarry = num_carry - sum(carry_uk)
    outs = scan_p.bind(*known_consts, *known_init, *known_xs, jaxpr=known_body,
                       length=length, reverse=reverse, num_consts=n_known_consts,
                       num_carry=n_kcarry, unroll=unroll,
                       linear=(False,) * len(kj.invars))
    known_outs, stacked_res = outs[:n_known_out], outs[n_known_out:]
    inv_res = [known_consts[const_vars.index(v)] for v, inv in zip(res_vars, invariant)
               if inv]

    # the unknown scan: (invariant res, unknown consts, unknown carry, unknown
    # xs, stacked res); its body takes (res, unknown inputs) in res order
    n_inv, n_ext = len(inv_res), len(extensive)
    res_idx = list(range(num_res))
    inv_idx = [i for i in res_idx if invariant[i]]
    uk_in = list(range(num_res, len(unknown.in_avals)))
    u_c, u_ca, u_x = _split(uk_in, sum(const_uk), sum(carry_uk))
    body_u = _reorder(unknown, [*inv_idx, *u_c, *u_ca, *u_x, *extensive],
                      list(range(len(unknown.out_avals))))
    inst = trace.instantiate_const
    res_tracers = [inst(trace.pure(r)) for r in [*inv_res, *stacked_res]]
    uk_consts = [t for t, uk in zip(consts_t, const_uk) if uk]
    uk_init = [inst(t) for t, uk in zip(init_t, carry_uk) if uk]
    uk_xs = [t for t, uk in zip(xs_t, xs_uk) if uk]
    in_tracers = [*res_tracers[:n_inv], *uk_consts, *uk_init, *uk_xs, *res_tracers[n_inv:]]
    params = dict(jaxpr=body_u, length=length, reverse=reverse,
                  num_consts=n_inv + len(uk_consts), num_carry=len(uk_init), unroll=unroll,
                  linear=(False,) * len(in_tracers))
    del n_ext
    out_avals = _scan_abstract_eval(*[t.aval for t in in_tracers], **params)
    unk_outs = trace.stage(scan_p, in_tracers, params, out_avals)
    return trace.merge(known_outs, unk_outs, [*carry_uk, *ys_uk])


scan_p.partial_eval = _scan_partial_eval


# ----------------------------------------------------------------------------
# transpose: the loop runs the other way; the carry holds the cotangents of
# the carry and the accumulated cotangents of the linear consts, and the
# cotangents of the linear xs are stacked

def _scan_transpose(cts, *args, jaxpr, length, reverse, num_consts, num_carry, unroll,
                    linear):
    consts, init, xs = _split(args, num_consts, num_carry)
    lin_c = [ad.is_undefined(a) for a in consts]
    lin_x = [ad.is_undefined(a) for a in xs]
    # every carry of a linear scan is linear (a concrete one is a zero tangent)
    mask = [*lin_c, *[True] * num_carry, *lin_x]
    t_body = jt.transpose_jaxpr(jaxpr, mask)
    c_avals, ca_avals, x_avals = _split(jaxpr.in_avals, num_consts, num_carry)
    nl_c_avals = [a for a, l in zip(c_avals, lin_c) if not l]
    l_c_avals = [a.strip_weak_type() for a, l in zip(c_avals, lin_c) if l]
    nl_x_avals = [a for a, l in zip(x_avals, lin_x) if not l]
    ct_ca_avals = [a.strip_weak_type() for a in ca_avals]
    ct_y_avals = [a.strip_weak_type() for a in jaxpr.out_avals[num_carry:]]
    n_nlc, n_lc = len(nl_c_avals), len(l_c_avals)

    def body(*a):
        nl_c, acc, ct_carry, ct_y, nl_x = _split(a, n_nlc, n_lc, num_carry, len(ct_y_avals))
        cts_in = _run(t_body)(*nl_c, *nl_x, *ct_carry, *ct_y)
        ct_c, ct_carry_in, ct_x = _split(cts_in, n_lc, num_carry)
        from trax.lax import add
        return [*[add(s, c) for s, c in zip(acc, ct_c)], *ct_carry_in, *ct_x]
    body_j = pe.trace_to_jaxpr(
        body, [*nl_c_avals, *l_c_avals, *ct_ca_avals, *ct_y_avals, *nl_x_avals])

    ct_carry, ct_ys = _split(cts, num_carry)
    ct_carry = [ad.zeros_like_aval(a) if ct is None else ct
                for ct, a in zip(ct_carry, ct_ca_avals)]
    ct_ys = [ad.zeros_like_aval(_stacked(a, length)) if ct is None else ct
             for ct, a in zip(ct_ys, ct_y_avals)]
    nl_consts = [a for a in consts if not ad.is_undefined(a)]
    nl_xs = [a for a in xs if not ad.is_undefined(a)]
    acc0 = [ad.zeros_like_aval(a) for a in l_c_avals]
    outs = scan_p.bind(*nl_consts, *acc0, *ct_carry, *ct_ys, *nl_xs, jaxpr=body_j,
                       length=length, reverse=not reverse, num_consts=n_nlc,
                       num_carry=n_lc + num_carry, unroll=unroll,
                       linear=(*[False] * n_nlc, *[True] * (n_lc + num_carry + len(ct_ys)),
                               *[False] * len(nl_xs)))
    ct_c, ct_init, ct_x = _split(outs, n_lc, num_carry)
    ct_c, ct_x = iter(ct_c), iter(ct_x)
    return [*[next(ct_c) if l else None for l in lin_c],
            *[ct if ad.is_undefined(a) else None for ct, a in zip(ct_init, init)],
            *[next(ct_x) if l else None for l in lin_x]]


scan_p.transpose = _scan_transpose


# ----------------------------------------------------------------------------
# batching: batched consts and carries at axis 0, batched xs at axis 1 (so
# their slices are batched at 0); a carry the body batches is batched from
# the start (iterated to a fixed point)

def _batch_body(closed, batched, axis_size, force):
    """The body batched at axis 0 for the ``batched`` inputs, and which
    outputs are batched (those in ``force`` always are)."""
    in_avals = [a.update(shape=(axis_size, *a.shape)) if b else a
                for a, b in zip(closed.in_avals, batched)]
    box = []

    def f(*args):
        outs, dims = batching.vmap_flat(_run(closed), axis_size,
                                        [0 if b else None for b in batched], args)
        out_b = [d is not None or fo for d, fo in zip(dims, force)]
        box.append(out_b)
        return [batching.bdim_at_front(o, d, axis_size) if b else o
                for o, d, b in zip(outs, dims, out_b)]
    return pe.trace_to_jaxpr(f, in_avals), box[0]


def _scan_batch(vals, dims, axis_size, jaxpr, length, reverse, num_consts, num_carry,
                unroll, linear):
    consts, init, xs = _split(vals, num_consts, num_carry)
    c_d, i_d, x_d = _split(dims, num_consts, num_carry)
    c_b = [d is not None for d in c_d]
    x_b = [d is not None for d in x_d]
    carry_b = [d is not None for d in i_d]
    num_ys = len(jaxpr.out_avals) - num_carry
    while True:
        body, out_b = _batch_body(jaxpr, [*c_b, *carry_b, *x_b], axis_size,
                                  [*carry_b, *[False] * num_ys])
        if out_b[:num_carry] == carry_b:
            break
        carry_b = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
    consts = [batching.moveaxis(v, d, 0) if d is not None else v for v, d in zip(consts, c_d)]
    init = [batching.bdim_at_front(v, d, axis_size) if b else v
            for v, d, b in zip(init, i_d, carry_b)]
    xs = [batching.moveaxis(v, d, 1) if d is not None else v for v, d in zip(xs, x_d)]
    outs = scan_p.bind(*consts, *init, *xs, jaxpr=body, length=length, reverse=reverse,
                       num_consts=num_consts, num_carry=num_carry, unroll=unroll,
                       linear=linear)
    out_dims = [0 if b else None for b in carry_b] + \
               [1 if b else None for b in out_b[num_carry:]]
    return outs, out_dims


scan_p.batch = _scan_batch
