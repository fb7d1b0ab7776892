"""``cond`` and ``switch``: the ``cond`` primitive applies one of several
branch jaxprs to its operands, picked by an int32 index.

Operands are ``(index, *ops)``; the param ``branches`` is a tuple of
ClosedJaxprs with identical input and output types (branch k maps ``ops``
to the outputs; for ``lax.cond`` branch 0 is ``false_fun``). Values that
the branch functions close over and that belong to enclosing
transformations (tracers) become leading ``ops`` (closure conversion, as in
JAX), so the consts of the branches are always concrete.

The rules transform every branch as a whole jaxpr: jvp adds tangent
operands and outputs; partial evaluation splits each branch into a known
and an unknown part, the residuals of all branches sharing slots by type;
transpose transposes each branch; vmap with a batched index runs every
branch and selects, with an unbatched index keeps one ``cond``.
"""
import numpy as np

from trax import core
from trax.api_util import flatten_fun
from trax.core import ClosedJaxpr, Jaxpr, Tracer, get_aval
from trax.errors import type_error
from trax.interpreters import ad, batching
from trax.interpreters import jaxpr_transforms as jt
from trax.interpreters import partial_eval as pe
from trax.jit import _memoized
from trax.tree_util import tree_flatten, tree_unflatten

_NO_OPERAND = object()     # JAX's single ``operand=`` keyword was not given


# ----------------------------------------------------------------------------
# the API

def cond(pred, true_fun, false_fun, *operands, operand=_NO_OPERAND):
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)``,
    traced as one ``cond`` primitive (JAX's ``lax.cond``).

    ``pred`` is a scalar boolean or number (nonzero is true); both functions
    take the operands (pytrees of arrays) and must return the same pytree
    structure of the same shapes and dtypes. JAX's older forms are accepted:
    a single ``operand=`` keyword, and ``cond(pred, true_operand, true_fun,
    false_operand, false_fun)``."""
    if (operand is _NO_OPERAND and len(operands) == 2 and callable(false_fun)
            and callable(operands[1])):
        true_op, true_f, false_op, false_f = true_fun, false_fun, *operands
        return cond(pred, lambda ops: true_f(ops[0]), lambda ops: false_f(ops[1]),
                    (true_op, false_op))
    operands = _operands("cond", operands, operand)
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError(f"lax.cond: true_fun and false_fun must be callable, got "
                        f"{type(true_fun).__name__} and {type(false_fun).__name__}")
    from trax import lax
    aval = _scalar_aval(pred, "cond", "predicate", "biuf", "a boolean or a number")
    if aval.dtype.kind != "b":
        pred = lax.ne(pred, np.zeros((), aval.dtype))
    if core.thread_state.jit_disabled:
        value = _concrete(pred)
        if value is not None:
            return (true_fun if value else false_fun)(*operands)
    index = lax.convert_element_type(pred, np.int32)
    return _bind(index, (false_fun, true_fun), ("false_fun", "true_fun"), "cond", operands)


def switch(index, branches, *operands, operand=_NO_OPERAND):
    """``branches[index](*operands)`` with ``index`` clamped to
    ``[0, len(branches) - 1]``, traced as one ``cond`` primitive (JAX's
    ``lax.switch``). ``index`` is an integer scalar; every branch must return
    the same pytree structure of the same shapes and dtypes."""
    operands = _operands("switch", operands, operand)
    try:
        branches = tuple(branches)
    except TypeError:
        raise TypeError(f"lax.switch: branches must be a sequence of callables, got "
                        f"{type(branches).__name__}") from None
    if not all(callable(b) for b in branches):
        raise TypeError("lax.switch: branches must be a sequence of callables, got "
                        + ", ".join(type(b).__name__ for b in branches))
    if not branches:
        raise ValueError("lax.switch: the sequence of branches is empty")
    aval = _scalar_aval(index, "switch", "index", "iu", "an integer")
    if len(branches) == 1:
        return branches[0](*operands)
    from trax import lax
    # clamped before the conversion, so a huge int64 index picks the last branch
    hi = min(len(branches) - 1, np.iinfo(aval.dtype).max)
    index = lax.clamp(np.zeros((), aval.dtype), index, np.array(hi, aval.dtype))
    index = lax.convert_element_type(index, np.int32)
    if core.thread_state.jit_disabled:
        value = _concrete(index)
        if value is not None:
            return branches[int(value)](*operands)
    labels = tuple(f"branch {k}" for k in range(len(branches)))
    return _bind(index, branches, labels, "switch", operands)


def _operands(api, operands, operand):
    if operand is _NO_OPERAND:
        return operands
    if operands:
        raise TypeError(f"lax.{api}: when the 'operand' keyword is given, no operands "
                        f"may be given by position (got {len(operands)})")
    return (operand,)


def _scalar_aval(x, api, what, kinds, expected):
    """The aval of the predicate or index ``x``, checked to be a scalar of
    one of the dtype ``kinds``."""
    bad = type_error(f"lax.{api}: the {what} must be a scalar ({expected}), got "
                     f"{type(x).__name__} {x!r}")
    if x is None or isinstance(x, (list, tuple, str)):
        raise bad
    try:
        aval = get_aval(x)
    except TypeError:
        raise bad from None
    if aval.shape != ():
        raise type_error(f"lax.{api}: the {what} must be a scalar, got an array "
                         f"{aval.str_short()}")
    if aval.dtype.kind not in kinds:
        raise type_error(f"lax.{api}: the {what} must be {expected}, got "
                         f"{aval.str_short()}")
    return aval


def _concrete(x):
    return x.concrete_value() if isinstance(x, Tracer) else x


def _bind(index, funs, labels, api, operands):
    ops, ops_tree = tree_flatten(operands)
    for k, x in enumerate(ops):
        if not core.is_array_like(x):
            raise type_error(f"lax.{api}: operand leaf {k} is {type(x).__name__} "
                             f"{x!r}, not an array")
    branches, consts, out_tree = _trace_branches(funs, labels, api, ops, ops_tree)
    outs = cond_p.bind(index, *consts, *ops, branches=branches)
    return tree_unflatten(out_tree, outs)


def _trace_branches(funs, labels, api, ops, ops_tree):
    """Trace each branch function on the operands' types. Returns ``(branches,
    consts, out_tree)``: closed-over tracers (``consts``) become leading
    inputs of every branch."""
    avals = [get_aval(x) for x in ops]
    traced = []
    for fun in funs:
        flat_f, store = flatten_fun(fun, ops_tree)
        traced.append((pe.trace_to_jaxpr(flat_f, avals), store.val))
    first, tree0 = traced[0]
    for (closed, tree), label in zip(traced[1:], labels[1:]):
        if tree != tree0:
            raise type_error(f"lax.{api}: {labels[0]} and {label} must return the same "
                             f"pytree structure, got {tree0} and {tree}")
        for k, (a, b) in enumerate(zip(first.out_avals, closed.out_avals)):
            if (a.shape, a.dtype) != (b.shape, b.dtype):
                raise type_error(f"lax.{api}: {labels[0]} and {label} must return the "
                                 f"same types, but output leaf {k} is {a.str_short()} "
                                 f"in {labels[0]} and {b.str_short()} in {label}")
    branches = _join_weak_types([closed for closed, _ in traced])
    branches, consts = jt.hoist_tracer_consts(branches)
    return branches, consts, tree0


def _join_weak_types(branches):
    """The branches with their outputs' weak types made equal: an output
    weakly typed in some branches only is made strongly typed in all."""
    weak = [all(avals) for avals in zip(*([a.weak_type for a in b.out_avals]
                                          for b in branches))]
    return tuple(b if all(a.weak_type == w for a, w in zip(b.out_avals, weak))
                 else _strengthen(b, weak) for b in branches)


def _strengthen(closed, weak):
    from trax import lax

    def f(*args):
        return [o if w else lax.convert_element_type(o, a.dtype)
                for o, a, w in zip(closed(*args), closed.out_avals, weak)]
    return pe.trace_to_jaxpr(f, closed.in_avals)


# ----------------------------------------------------------------------------
# the primitive: impl and abstract_eval

cond_p = core.Primitive("cond", multiple_results=True)


def _cond_impl(index, *ops, branches):
    b = branches[min(max(int(index), 0), len(branches) - 1)]
    return core.eval_jaxpr(b.jaxpr, b.consts, *ops)


def _same_types(avals, others):
    return len(avals) == len(others) and all(
        (a.shape, a.dtype) == (b.shape, b.dtype) for a, b in zip(avals, others))


def _types(avals):
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _cond_abstract_eval(index, *ops, branches):
    if not (isinstance(branches, tuple) and branches
            and all(isinstance(b, ClosedJaxpr) for b in branches)):
        raise type_error(f"cond: branches must be a non-empty tuple of ClosedJaxprs, "
                         f"got {type(branches).__name__}")
    if index.shape != () or index.dtype != np.int32:
        raise type_error(f"cond: the branch index must be an int32 scalar, got "
                         f"{index.str_short()}")
    b0 = branches[0]
    for k, b in enumerate(branches[1:], 1):
        if not (_same_types(b.in_avals, b0.in_avals)
                and _same_types(b.out_avals, b0.out_avals)):
            raise type_error(
                f"cond: branch {k} maps {_types(b.in_avals)} -> {_types(b.out_avals)} "
                f"but branch 0 maps {_types(b0.in_avals)} -> {_types(b0.out_avals)}; "
                f"all branches must have the same types")
    if not _same_types(ops, b0.in_avals):
        raise type_error(f"cond: the branches take {_types(b0.in_avals)} but the "
                         f"operands are {_types(ops)}")
    return list(b0.out_avals)


cond_p.impl = _cond_impl
cond_p.abstract_eval = _cond_abstract_eval


# ----------------------------------------------------------------------------
# jvp

def _jvp_branch(closed, nonzero):
    """``(*ops, *nonzero tangents) -> (*outs, *out tangents)``."""
    n = len(closed.in_avals)
    t_avals = [a.strip_weak_type() for a, nz in zip(closed.in_avals, nonzero) if nz]

    def f(*args):
        it = iter(args[n:])
        tangents = [next(it) if nz else ad.Zero(a.strip_weak_type())
                    for a, nz in zip(closed.in_avals, nonzero)]
        primals, tangents = ad.jvp_flat(closed, args[:n], tangents)
        return [*primals, *tangents]
    return pe.trace_to_jaxpr(f, [*closed.in_avals, *t_avals])


def _cond_jvp(primals, tangents, branches):
    index, *ops = primals
    nonzero = tuple(not isinstance(t, ad.Zero) for t in tangents[1:])
    jvps = _memoized("cond_jvp", branches, nonzero, lambda: _join_weak_types(
        [_jvp_branch(b, nonzero) for b in branches]))
    live = [t for t, nz in zip(tangents[1:], nonzero) if nz]
    outs = cond_p.bind(index, *ops, *live, branches=jvps)
    n = len(outs) // 2
    return outs[:n], outs[n:]


_cond_jvp.symbolic_zeros = True
cond_p.jvp = _cond_jvp


# ----------------------------------------------------------------------------
# vmap

def _cond_batch(vals, dims, axis_size, branches):
    index, *ops = vals
    index_dim, *op_dims = dims
    if index_dim is not None:
        return _select_branches(index, index_dim, ops, op_dims, axis_size, branches)
    key = (tuple(op_dims), axis_size)
    batched = _memoized("cond_batch", branches, key, lambda: _join_weak_types(
        [jt.batch_jaxpr(b, op_dims, axis_size) for b in branches]))
    outs = cond_p.bind(index, *ops, branches=batched)
    return outs, [0] * len(outs)


def _select_branches(index, index_dim, ops, op_dims, axis_size, branches):
    """A batched index: run every branch on the whole batch and select each
    member's outputs. A branch sees its inputs through stop_gradient where
    it is not taken, so its derivative there (maybe nan) does not leak."""
    from trax import lax
    n = len(branches)
    index = batching.moveaxis(index, index_dim, 0)
    index = lax.clamp(np.zeros((), np.int32), index, np.array(n - 1, np.int32))
    ops = [batching.bdim_at_front(x, d, axis_size) for x, d in zip(ops, op_dims)]
    key = (axis_size,)
    batched = _memoized("cond_batch_all", branches, key, lambda: _join_weak_types(
        [jt.batch_jaxpr(b, [0] * len(ops), axis_size) for b in branches]))

    def spread(which, like):
        shape = get_aval(like).shape
        return lax.broadcast_in_dim(which, shape, (0,)) if len(shape) > 1 else which

    outs = []
    for k, b in enumerate(batched):
        taken = lax.eq(index, np.full(axis_size, k, np.int32))
        outs.append(b(*[lax.select_n(spread(taken, x), lax.stop_gradient(x), x)
                        for x in ops]))
    result = [lax.select_n(spread(index, cases[0]), *cases) for cases in zip(*outs)]
    return result, [0] * len(result)


cond_p.batch = _cond_batch


# ----------------------------------------------------------------------------
# partial evaluation (the forward pass of reverse mode)

def _pe_branch(closed, in_unknowns, force_unknown):
    """Split one branch. Returns ``(known, unknown, out_unknowns,
    res_avals)``: ``known`` maps the known inputs to the known outputs and
    the residuals; ``unknown`` maps ``(*residuals, *unknown inputs)`` to the
    unknown outputs. Outputs in ``force_unknown`` are unknown even if known."""
    box = {}

    def f_known(*known_args):
        it = iter(known_args)
        pvals = [pe.PartialVal.unknown(a) if uk else pe.PartialVal.known(next(it))
                 for a, uk in zip(closed.in_avals, in_unknowns)]
        jaxpr, pvals_out, res = pe.partial_eval_flat(closed, pvals)
        unknown = [not pv.is_known or force for pv, force in zip(pvals_out, force_unknown)]
        if any(pv.is_known and uk for pv, uk in zip(pvals_out, unknown)):
            jaxpr, res = ad._instantiate_known_outputs(
                jaxpr, res, [pv for pv, uk in zip(pvals_out, unknown) if uk])
        box.update(jaxpr=jaxpr, unknown=unknown, num_res=len(res))
        return [pv.const for pv, uk in zip(pvals_out, unknown) if not uk] + list(res)

    known = pe.trace_to_jaxpr(f_known, [a for a, uk in zip(closed.in_avals, in_unknowns)
                                        if not uk])
    j = box["jaxpr"]
    unknown = ClosedJaxpr(Jaxpr([], [*j.constvars, *j.invars], j.eqns, j.outvars), [])
    n_out = len(known.out_avals)
    return known, unknown, box["unknown"], known.out_avals[n_out - box["num_res"]:]


def _merge_residuals(res_avals):
    """One list of residual slots for all branches, a branch's k-th residual
    of a type reusing the k-th slot of that type. Returns ``(slots, where)``,
    ``where[b]`` the slot of each residual of branch b."""
    slots, where = [], []
    for avals in res_avals:
        used, places = set(), []
        for a in avals:
            k = next((i for i, s in enumerate(slots) if s == a and i not in used), None)
            if k is None:
                slots.append(a)
                k = len(slots) - 1
            used.add(k)
            places.append(k)
        where.append(places)
    return slots, where


def _known_to_slots(known, num_known_out, slots, places):
    def f(*args):
        outs = known(*args)
        res = [None] * len(slots)
        for k, r in zip(places, outs[num_known_out:]):
            res[k] = r
        return [*outs[:num_known_out],
                *[ad.zeros_like_aval(a) if r is None else r for r, a in zip(res, slots)]]
    return pe.trace_to_jaxpr(f, known.in_avals)


def _unknown_from_slots(unknown, num_res, slots, places):
    def f(*args):
        res = args[:len(slots)]
        return unknown(*[res[k] for k in places], *args[len(slots):])
    return pe.trace_to_jaxpr(f, [*slots, *unknown.in_avals[num_res:]])


def _partial_eval_branches(branches, in_unknowns):
    """``(known branches, unknown branches, out_unknowns, num_res)``."""
    n_out = len(branches[0].out_avals)
    splits = [_pe_branch(b, in_unknowns, [False] * n_out) for b in branches]
    out_unknowns = [any(s[2][k] for s in splits) for k in range(n_out)]
    if any(s[2] != out_unknowns for s in splits):
        splits = [_pe_branch(b, in_unknowns, out_unknowns) for b in branches]
    slots, where = _merge_residuals([s[3] for s in splits])
    num_known_out = n_out - sum(out_unknowns)
    known = [_known_to_slots(s[0], num_known_out, slots, places)
             for s, places in zip(splits, where)]
    unknown = [_unknown_from_slots(s[1], len(s[3]), slots, places)
               for s, places in zip(splits, where)]
    return _join_weak_types(known), _join_weak_types(unknown), out_unknowns, len(slots)


def _staged_cond(trace, in_tracers, branches, avals):
    """Unknown output tracers of a ``cond`` equation staged on ``in_tracers``."""
    return trace.stage(cond_p, in_tracers, dict(branches=branches), avals)


def _cond_partial_eval(trace, tracers, branches):
    index, *ops = tracers
    if not index.pval.is_known:      # nothing can run now: stage it all
        return _staged_cond(trace, [trace.instantiate_const(t) for t in tracers],
                            branches, list(branches[0].out_avals))
    in_unknowns = tuple(not t.pval.is_known for t in ops)
    known, unknown, out_unknowns, num_res = _memoized(
        "cond_pe", branches, in_unknowns,
        lambda: _partial_eval_branches(branches, in_unknowns))
    outs = []
    if known[0].out_avals:
        outs = cond_p.bind(index.pval.const, *[t.pval.const for t in ops if t.pval.is_known],
                           branches=known)
    known_outs, res = outs[:len(outs) - num_res], outs[len(outs) - num_res:]
    unk_outs = []
    if any(out_unknowns):
        ins = [trace.instantiate_const(index),
               *[trace.instantiate_const(trace.pure(r)) for r in res],
               *[t for t in ops if not t.pval.is_known]]
        unk_outs = _staged_cond(trace, ins, unknown, list(unknown[0].out_avals))
    known_it, unk_it = iter(known_outs), iter(unk_outs)
    return [next(unk_it) if uk else trace.pure(next(known_it)) for uk in out_unknowns]


cond_p.partial_eval = _cond_partial_eval


# ----------------------------------------------------------------------------
# transpose

def _cond_transpose(cts, index, *ops, branches):
    if ad.is_undefined(index):
        raise TypeError("cond: cannot transpose with respect to the branch index")
    linear = tuple(ad.is_undefined(x) for x in ops)
    transposed = _memoized("cond_transpose", branches, linear, lambda: _join_weak_types(
        [jt.transpose_jaxpr(b, linear) for b in branches]))
    cts = [ad.zeros_like_aval(a.strip_weak_type()) if ct is None else ct
           for ct, a in zip(cts, branches[0].out_avals)]
    nonlinear = [x for x in ops if not ad.is_undefined(x)]
    cts_in = iter(cond_p.bind(index, *nonlinear, *cts, branches=transposed))
    return [None, *[next(cts_in) if lin else None for lin in linear]]


cond_p.transpose = _cond_transpose
